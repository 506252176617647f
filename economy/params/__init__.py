"""Scenario parameters: frozen, validated data with unit, range, provenance and route, and the one loader.

The schema is one pydantic model per section, grouped by what the sections describe (:mod:`.sim`, :mod:`.labs`,
:mod:`.production`, :mod:`.market`, :mod:`.behaviour`, :mod:`.network`, :mod:`.policies`) under the root
:class:`Scenario`; :mod:`.distributions` holds the ``[uncertain]`` distributions, :mod:`.keys` the one walker of
dotted keys, :mod:`.loading` the TOML loader with its one-line errors, :mod:`.policy_files` the ``--policy``
files, and :mod:`.packing` the packed row the kernels read.  Import from here: the modules may move.
"""

from economy.params.behaviour import Acquisitions, Adaptation, Entry, Incidents, Safety
from economy.params.distributions import (
    Choice,
    Distribution,
    LogNormal,
    LogUniform,
    Normal,
    Triangular,
    Uniform,
    check_support,
)
from economy.params.fields import Packing, Route, Section, Transform, packing_of, param, setting
from economy.params.keys import BadKey, Location, index_key, item_label, leaves, locate, split_key, walk
from economy.params.labs import Archetype, Archetypes, Kind, Labs, LabSpec
from economy.params.loading import (
    Override,
    PolicyTables,
    ScenarioError,
    load_scenario,
    parse_override,
    parse_toml,
    read_toml,
    scenario_dict_with_overrides,
    validate_scenario,
    with_policy_files,
)
from economy.params.market import Market, Money
from economy.params.network import Network
from economy.params.packing import pack_parameters
from economy.params.policies import (
    MAX_LAG_YEARS,
    POLICY_KINDS,
    TRIGGER_FIELDS,
    TRIGGER_OBSERVABLES,
    Breakup,
    ComputeCap,
    ComputeTax,
    ConditionalPause,
    ExportControls,
    MergerReview,
    OpenPublication,
    Policy,
    RndSubsidy,
    SafetyStandard,
    Trigger,
    WindfallTax,
    policy_label,
)
from economy.params.policy_files import POLICY_FILE_KEYS, PolicyFile, load_policy_file
from economy.params.production import Capability, Compute, Research, Training
from economy.params.scenario import Scenario, uncertain_parameter_range
from economy.params.sim import Output, Sim

__all__ = [
    "MAX_LAG_YEARS",
    "POLICY_FILE_KEYS",
    "POLICY_KINDS",
    "TRIGGER_FIELDS",
    "TRIGGER_OBSERVABLES",
    "Acquisitions",
    "Adaptation",
    "Archetype",
    "Archetypes",
    "BadKey",
    "Breakup",
    "Capability",
    "Choice",
    "Compute",
    "ComputeCap",
    "ComputeTax",
    "ConditionalPause",
    "Distribution",
    "Entry",
    "ExportControls",
    "Incidents",
    "Kind",
    "LabSpec",
    "Labs",
    "Location",
    "LogNormal",
    "LogUniform",
    "Market",
    "MergerReview",
    "Money",
    "Network",
    "Normal",
    "OpenPublication",
    "Output",
    "Override",
    "Packing",
    "Policy",
    "PolicyFile",
    "PolicyTables",
    "Research",
    "RndSubsidy",
    "Route",
    "Safety",
    "SafetyStandard",
    "Scenario",
    "ScenarioError",
    "Section",
    "Sim",
    "Training",
    "Transform",
    "Triangular",
    "Trigger",
    "Uniform",
    "WindfallTax",
    "check_support",
    "index_key",
    "item_label",
    "leaves",
    "load_policy_file",
    "load_scenario",
    "locate",
    "pack_parameters",
    "packing_of",
    "param",
    "parse_override",
    "parse_toml",
    "policy_label",
    "read_toml",
    "scenario_dict_with_overrides",
    "setting",
    "split_key",
    "uncertain_parameter_range",
    "validate_scenario",
    "walk",
    "with_policy_files",
]
