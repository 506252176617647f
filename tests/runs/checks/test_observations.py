"""The observation files under runs/data/ parse, carry valid units and dates, and cite a source on every row.

The format is documented in runs/data/README.md. This module imports nothing from the project: it reads the CSV
files as plain text tables, so it stays valid however the code that consumes them is arranged.
"""

import datetime
import math
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

DATA_DIR = Path(__file__).resolve().parents[3] / "runs" / "data"

REQUIRED_COLUMNS = ("series", "date", "window_start", "value", "unit", "low", "high", "interval", "entity",
                    "method", "source", "dataset", "locator", "note")
UNITS = frozenset({"FLOP", "FLOP/s/USD", "USD", "USD2023", "USD/year", "count", "fraction", "months", "years",
                   "x/year"})
INTERVALS = frozenset({"80%CI", "90%CI", "95%CI", "range"})
METHODS = frozenset({"reported", "derived", "fitted"})
FILE_NAME = re.compile(r"^(?P<stem>[a-z0-9]+(?:_[a-z0-9]+)*)_v(?P<version>[1-9][0-9]*)\.csv$")
SERIES_ID = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EARLIEST_DATE = datetime.date(2010, 1, 1)
LATEST_DATE = datetime.date(2027, 12, 31)
EARLIEST_WINDOW_START = datetime.date(2000, 1, 1)

# The seven series the brief of issue 17 asks for, each met by at least one series id.
REQUIRED_SERIES = {
    "frontier training compute by year": ("largest_training_run_flop", "training_compute_growth_frontier"),
    "models and developers above 1e25 FLOP": ("models_above_1e25_flop", "developers_above_1e25_flop"),
    "algorithmic progress": ("algorithmic_progress_halving_time",),
    "hardware price-performance": ("gpu_flops_per_usd_doubling_time_all", "gpu_flops_per_usd_doubling_time_ml"),
    "cost of the largest training runs": ("largest_training_run_cost", "training_cost_growth"),
    "frontier labs' revenue": ("lab_annualized_revenue",),
    "LLM API market shares": ("llm_enterprise_api_share",),
}


def _parse_date(text: str) -> datetime.date | None:
    if not ISO_DATE.match(text):
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def _parse_number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _row_problems(row: dict[str, str]) -> list[str]:
    """Everything wrong with one row, each problem naming the column."""
    problems = []
    for column in ("series", "date", "value", "unit", "method", "source", "locator"):
        if not row[column].strip():
            problems.append(f"empty {column}")
    if row["series"] and not SERIES_ID.match(row["series"]):
        problems.append(f"series {row['series']!r} is not snake_case")
    if row["unit"] and row["unit"] not in UNITS:
        problems.append(f"unit {row['unit']!r} is not in the vocabulary")
    if row["method"] and row["method"] not in METHODS:
        problems.append(f"method {row['method']!r} is not one of {sorted(METHODS)}")
    date = _parse_date(row["date"])
    if row["date"] and date is None:
        problems.append(f"date {row['date']!r} is not an ISO date")
    elif date is not None and not EARLIEST_DATE <= date <= LATEST_DATE:
        problems.append(f"date {row['date']} lies outside {EARLIEST_DATE} to {LATEST_DATE}")
    if row["window_start"]:
        start = _parse_date(row["window_start"])
        if start is None:
            problems.append(f"window_start {row['window_start']!r} is not an ISO date")
        elif start < EARLIEST_WINDOW_START or (date is not None and start > date):
            problems.append(f"window_start {row['window_start']} is not between {EARLIEST_WINDOW_START} and date")
    elif row["method"] == "fitted":
        problems.append("a fitted trend has no window_start")
    if row["method"] == "derived" and not (row["dataset"].strip() and row["note"].strip()):
        problems.append("a derived value must name its dataset and say how it was derived in note")
    value = _parse_number(row["value"])
    if row["value"] and value is None:
        problems.append(f"value {row['value']!r} is not a finite number")
    elif value is not None:
        if row["unit"] == "count":
            if value < 0 or value != int(value):
                problems.append(f"count {row['value']} is not a non-negative integer")
        elif value <= 0:
            problems.append(f"value {row['value']} must be positive in unit {row['unit']}")
        if row["unit"] == "fraction" and value > 1:
            problems.append(f"fraction {row['value']} exceeds 1")
    bounds = {}
    for column in ("low", "high"):
        if row[column]:
            bound = _parse_number(row[column])
            if bound is None:
                problems.append(f"{column} {row[column]!r} is not a finite number")
            else:
                bounds[column] = bound
    has_bound = bool(row["low"] or row["high"])
    if row["interval"] and not has_bound:
        problems.append("interval given without low or high")
    if has_bound and not row["interval"]:
        problems.append("low/high given without their interval")
    if row["interval"] and row["interval"] not in INTERVALS:
        problems.append(f"interval {row['interval']!r} is not one of {sorted(INTERVALS)}")
    if value is not None and not bounds.get("low", value) <= value <= bounds.get("high", value):
        problems.append(f"value {row['value']} lies outside [{row['low']}, {row['high']}]")
    return problems


def observation_problems(directory: Path) -> list[str]:
    """Every problem in the observation files of ``directory``, as "file:line: problem"; empty when all is valid."""
    paths = sorted(directory.glob("*.csv"))
    if not paths:
        return [f"{directory}: no CSV files"]
    problems = []
    versions: dict[str, list[str]] = {}
    for path in paths:
        match = FILE_NAME.match(path.name)
        if match is None:
            problems.append(f"{path.name}: name is not <snake_case>_v<N>.csv")
        else:
            versions.setdefault(match["stem"], []).append(path.name)
        try:
            path.read_bytes().decode("ascii")
        except UnicodeDecodeError as error:
            problems.append(f"{path.name}: not ASCII ({error})")
            continue
        try:
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            problems.append(f"{path.name}: does not parse ({error})")
            continue
        missing = [column for column in REQUIRED_COLUMNS if column not in table.columns]
        if missing:
            problems.append(f"{path.name}: missing columns {missing}")
            continue
        if table.empty:
            problems.append(f"{path.name}: no rows")
        identity = [column for column in REQUIRED_COLUMNS if column not in ("locator", "note")]
        for line in table.index[table.duplicated(subset=identity)]:
            problems.append(f"{path.name}:{line + 2}: duplicates an earlier row")
        for line, row in enumerate(table.to_dict("records"), start=2):
            problems.extend(f"{path.name}:{line}: {problem}" for problem in _row_problems(row))
    for stem, names in versions.items():
        if len(names) > 1:
            problems.append(f"{stem}: several versions present {names}; keep only the newest")
    return problems


def _all_series(directory: Path) -> set[str]:
    return {series for path in directory.glob("*.csv")
            for series in pd.read_csv(path, dtype=str, keep_default_na=False)["series"]}


def test_observation_files_are_valid():
    assert observation_problems(DATA_DIR) == []


def test_every_required_series_is_present():
    present = _all_series(DATA_DIR)
    for topic, series_ids in REQUIRED_SERIES.items():
        for series in series_ids:
            assert series in present, f"{topic}: series {series} is missing"


def test_every_series_is_documented_in_the_readme():
    readme = (DATA_DIR / "README.md").read_text()
    for series in _all_series(DATA_DIR):
        assert f"`{series}`" in readme, series
    for unit in UNITS:
        assert f"`{unit}`" in readme, unit


@pytest.mark.parametrize(
    ("column", "bad_value", "expected"),
    [
        ("source", "", "empty source"),
        ("source", "   ", "empty source"),
        ("unit", "parsec", "not in the vocabulary"),
        ("date", "2031-01-01", "outside"),
        ("date", "2023/05/01", "not an ISO date"),
        ("value", "nan", "not a finite number"),
        ("value", "-3", "must be positive"),
        ("high", "1e-30", "lies outside"),
        ("method", "guessed", "method"),
    ],
)
def test_a_bad_row_makes_the_check_fail(tmp_path, column, bad_value, expected):
    """A synthetic row, broken in one column and appended to a copy of a data file, is caught and named."""
    target = tmp_path / "training_cost_v1.csv"
    shutil.copy(DATA_DIR / target.name, target)
    table = pd.read_csv(target, dtype=str, keep_default_na=False)
    synthetic = table.iloc[0].copy()
    synthetic["entity"] = "synthetic row"
    synthetic[column] = bad_value
    if column == "high":
        synthetic["interval"] = "90%CI"
    pd.concat([table, synthetic.to_frame().T]).to_csv(target, index=False)
    problems = observation_problems(tmp_path)
    bad_line = len(table) + 2
    assert any(problem.startswith(f"training_cost_v1.csv:{bad_line}:") and expected in problem
               for problem in problems), problems


def test_two_versions_of_one_file_fail(tmp_path):
    (current,) = DATA_DIR.glob("lab_revenue_v*.csv")
    shutil.copy(current, tmp_path / "lab_revenue_v1.csv")
    shutil.copy(current, tmp_path / "lab_revenue_v2.csv")
    assert observation_problems(tmp_path) == ["lab_revenue: several versions present "
                                              "['lab_revenue_v1.csv', 'lab_revenue_v2.csv']; keep only the newest"]
