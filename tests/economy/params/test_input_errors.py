"""Input errors name the key and value and blame the right --set flag (issue 21 item 5, economy/params/loading.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from economy.params import Capability, ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[3]
BASELINE = ROOT / "runs" / "baseline.toml"


def _error(path: Path, overrides: tuple[str, ...] = ()) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return str(info.value)


def test_a_step_longer_than_the_horizon_is_refused() -> None:
    text = _error(BASELINE, ("sim.dt=0.5", "sim.years=0.25"))
    assert "sim.dt = 0.5 is longer than sim.years = 0.25" in text
    assert load_scenario(BASELINE, ("sim.dt=0.25", "sim.years=0.25"))[0].sim.n_steps == 1


def test_an_unknown_policy_kind_is_one_line_naming_the_kind_and_the_choices(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BASELINE.read_text() + '\n[[policies]]\nkind = "compute_capp"\nstart_year = 2027.0\n')
    text = _error(path)
    assert "policies.0.kind = 'compute_capp' is not a policy kind" in text and "'compute_cap'" in text
    assert "Input tag" not in text and "\n" not in text
    path.write_text(BASELINE.read_text() + "\n[[policies]]\nstart_year = 2027.0\n")
    assert "policies.0 has no kind: give one of 'compute_cap'" in _error(path)


def test_a_cross_field_error_blames_the_flag_it_names_not_its_neighbour() -> None:
    loss = Capability.model_fields["loss_scale_flop"].default
    text = _error(BASELINE, (f"capability.loss_scale_flop={loss!r}", "capability.par_human_log10_flop=40"))
    assert text.endswith("(from --set capability.par_human_log10_flop=40)"), text
    both = _error(BASELINE, ("capability.superhuman_log10_flop=30", "capability.par_human_log10_flop=40"))
    assert both.endswith("(from --set capability.superhuman_log10_flop=30, --set capability.par_human_log10_flop=40)")
