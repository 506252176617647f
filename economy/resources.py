"""Resource bounds: the memory a scenario's runs will need, checked against what the machine has before any run
starts (docs/cli.md, "Bad input").

:func:`memory_estimate` adds up, for a batch of runs computed together, what grows with the scenario:

- the lab state: every lab slot (starting labs and entrant capacity) times the bytes of one slot in the state,
  draw, scratch and network arrays (measured by allocating them for a few slots, :mod:`economy.state`);
- the record: the market series (steps x columns) and, when the lab table is kept, one row per lab slot per
  recorded step for each of :data:`economy.engine.LAB_COLUMNS` (and :data:`economy.engine.COMPLIANCE_LAB_COLUMNS`
  with enforcement.evasion on), held about :data:`LAB_TABLE_COPIES` times
  (the records, the long table built from them, the Parquet writer's buffers);
- the network: its expected number of undirected edges for ``network.kind`` (the complete graph's
  n (n - 1) / 2, so n (n - 1) CSR entries) times the bytes one edge costs while the graph is built
  (:data:`EDGE_BYTES`, measured with tracemalloc: networkx's adjacency dictionaries hold about 140 bytes per
  edge, converting them to CSR arrays peaks at about 250).

:func:`available_memory` is the least of the kernel's ``MemAvailable``, the cgroup's limit less its usage and
the address-space limit less what this process maps.  :func:`check_memory` refuses (a
:class:`economy.params.ScenarioError`) a scenario whose estimate exceeds it, or exceeds an explicit limit
(``--max-memory``), naming both numbers, so that ``labs.n = 100000`` on a complete graph is refused at once
instead of growing until the machine gives out.
"""

from __future__ import annotations

import math
import os
import resource
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from economy.engine import COMPLIANCE_LAB_COLUMNS, LAB_COLUMNS
from economy.kernels.layout import EVENT_FIELDS, N_MARKET
from economy.params import Scenario, ScenarioError
from economy.state import allocate_draws, allocate_labs, allocate_network, allocate_work

__all__ = [
    "EDGE_BYTES",
    "LAB_TABLE_COPIES",
    "MemoryEstimate",
    "available_memory",
    "check_memory",
    "expected_edges",
    "format_bytes",
    "memory_estimate",
    "parse_size",
]

EDGE_BYTES: dict[str, int] = {"networkx": 260, "erdos_renyi": 48, "file": 1000}
"""Bytes per undirected edge while a run's graph is built: a networkx graph converted to CSR arrays (complete,
Barabasi-Albert, Watts-Strogatz, stochastic block), Erdos-Renyi sampled straight into CSR arrays, and a file
parsed by networkx (its XML tree or edge list, the graph read, the graph mapped onto labs)."""
CSR_BYTES_PER_EDGE = 24
"""The batch's own CSR arrays: two entries (int32 column, float64 weight) per undirected edge."""
LAB_TABLE_COPIES = 3
EDGE_LIST_MIN_LINE_BYTES = 4
"""A network file's edges are at most its size over the shortest edge line, ``"0 1\\n"``."""
_SLOTS = 64
_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}


@dataclass(frozen=True)
class MemoryEstimate:
    """The estimated peak memory of a batch of ``runs`` runs, in bytes, and its parts."""

    runs: int
    labs: int
    lab_slots: int
    state_bytes: int
    record_bytes: int
    edges: int
    network_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.state_bytes + self.record_bytes + self.network_bytes

    def describe(self, scenario: Scenario) -> str:
        """The estimate and where it comes from, in one line."""
        labs = f"labs.n = {self.labs}" if scenario.labs.n is not None else f"{self.labs} listed labs"
        parts = [f"{labs} and {self.lab_slots - self.labs} entrant slots: "
                 f"{format_bytes(self.state_bytes + self.record_bytes)} of state and records"]
        if self.edges:
            parts.append(f"network.kind = {scenario.network.kind!r} with about {self.edges:,} edges: "
                         f"{format_bytes(self.network_bytes)}")
        per = "" if self.runs == 1 else f" for a batch of {self.runs} runs"
        return f"about {format_bytes(self.total_bytes)}{per} ({'; '.join(parts)})"


def memory_estimate(scenario: Scenario, runs: int = 1, *, record_labs: bool = True) -> MemoryEstimate:
    """The peak memory of ``runs`` runs of ``scenario`` computed as one batch (see the module docs)."""
    n = scenario.n_labs
    slots = n + scenario.labs.max_entrants
    per_slot = _bytes_per_lab_slot()
    steps = scenario.sim.n_steps
    event_slots = min(scenario.output.max_events_per_step, 6 * slots + 64)
    state = runs * (slots * per_slot + event_slots * EVENT_FIELDS * 8)
    records = runs * (steps + 1) * N_MARKET * 8
    if record_labs:
        recorded = steps // scenario.output.labs_every + 2
        columns = len(LAB_COLUMNS) + (len(COMPLIANCE_LAB_COLUMNS) if scenario.enforcement.evasion else 0)
        records += runs * recorded * slots * (8 * columns + 2) * LAB_TABLE_COPIES
    edges = expected_edges(scenario)
    kind = scenario.network.kind
    per_edge = EDGE_BYTES.get(kind, EDGE_BYTES["networkx"])
    network = edges * per_edge + runs * edges * CSR_BYTES_PER_EDGE  # one graph built at a time, every run's CSR kept
    return MemoryEstimate(runs, n, slots, state, records, edges, network)


def expected_edges(scenario: Scenario) -> int:
    """The expected number of undirected edges of one run's starting graph (an upper bound for the stochastic
    block model and for a file)."""
    net, n = scenario.network, scenario.n_labs
    pairs = n * (n - 1) // 2
    k = net.mean_degree
    if net.kind == "none" or n < 2:
        return 0
    if net.kind == "complete":
        return pairs
    if net.kind == "erdos_renyi":
        return math.ceil(min(1.0, k / (n - 1)) * pairs)
    if net.kind == "barabasi_albert":
        m = min(n - 1, max(1, round(k / 2)))
        return m * (n - m)
    if net.kind == "watts_strogatz":
        return n * (min(n - 1, round(k)) // 2)
    if net.kind == "stochastic_block":
        return math.ceil(max(net.within_bloc_density, net.cross_bloc_density) * pairs)
    try:
        size = Path(net.file or "").stat().st_size
    except OSError:
        return 0  # the loader says what is wrong with the file
    return min(pairs, size // EDGE_LIST_MIN_LINE_BYTES)


def _bytes_per_lab_slot() -> int:
    arrays = [*allocate_labs(1, _SLOTS), *allocate_draws(1, _SLOTS), *allocate_work(1, _SLOTS),
              *allocate_network(1, _SLOTS, 0)]
    return math.ceil(sum(a.nbytes for a in arrays if isinstance(a, np.ndarray) and a.size >= _SLOTS) / _SLOTS)


def available_memory() -> int | None:
    """Bytes this process can still use: the least of the kernel's available memory (``MemAvailable``), the
    cgroup's limit less its usage, and the address-space limit less what this process maps; None if unknown."""
    candidates = [_meminfo_available(), _cgroup_headroom(), _address_space_headroom()]
    known = [c for c in candidates if c is not None]
    return max(0, min(known)) if known else None


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def _cgroup_headroom() -> int | None:
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            limit_text = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit_text == "max" or int(limit_text) >= 1 << 60:
            return None
        return int(limit_text) - usage
    return None


def _address_space_headroom() -> int | None:
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return soft - int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return soft


def check_memory(scenario: Scenario, runs: int = 1, *, record_labs: bool = True, limit: int | None = None,
                 batches: int = 1) -> MemoryEstimate:
    """Refuse a scenario whose ``batches`` concurrent batches of ``runs`` runs would need more memory than
    ``limit`` bytes (``--max-memory``) or, without one, than this machine has available now.

    Raises :class:`economy.params.ScenarioError` naming the estimate and the memory; returns the estimate.
    """
    estimate = memory_estimate(scenario, runs, record_labs=record_labs)
    needed = estimate.total_bytes * batches
    allowed = available_memory() if limit is None else limit
    if allowed is not None and needed > allowed:
        what = (f"--max-memory allows {format_bytes(allowed)}" if limit is not None
                else f"this machine has {format_bytes(allowed)} available")
        times = f", {batches} batches at once: {format_bytes(needed)}" if batches > 1 else ""
        raise ScenarioError(
            f"scenario {scenario.name!r} needs {estimate.describe(scenario)}{times}, but {what}; use fewer labs, "
            "a sparser network, a smaller --chunk or fewer "
            "--workers, or give --max-memory SIZE (e.g. 64G) to allow more"
        )
    return estimate


def format_bytes(n: float) -> str:
    """``n`` bytes in binary units, e.g. ``1.5 GiB``."""
    if abs(n) < 1024:
        return f"{n:.0f} B"
    power = min(4, int(math.log(abs(n), 1024)))
    return f"{n / 1024 ** power:.1f} {('KiB', 'MiB', 'GiB', 'TiB')[power - 1]}"


def parse_size(text: str) -> int:
    """Bytes of a size such as ``64G``, ``512M``, ``1.5T``, ``2GiB`` or ``1000000`` (units are powers of 1024).

    Raises ValueError naming the text.
    """
    cleaned = text.strip().upper().removesuffix("IB").removesuffix("B")
    number, unit = cleaned, ""
    if cleaned and cleaned[-1] in _UNITS:
        number, unit = cleaned[:-1], cleaned[-1]
    try:
        value = float(number) * _UNITS[unit]
    except ValueError:
        raise ValueError(f"{text!r} is not a size; write e.g. 64G, 512M or 1.5T") from None
    if not (math.isfinite(value) and value >= 1):
        raise ValueError(f"{text!r} is not a positive size; write e.g. 64G, 512M or 1.5T")
    return int(value)
