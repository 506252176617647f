"""Generated Markdown blocks in the docs: the validation and calibration tables live between markers."""

from __future__ import annotations

__all__ = ["replace_block"]


def replace_block(text: str, marker: str, block: str) -> str:
    """``text`` with ``block`` between ``<!-- marker:begin -->`` and ``<!-- marker:end -->`` (both must exist)."""
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    head, found, rest = text.partition(begin)
    _, found_end, tail = rest.partition(end)
    if not (found and found_end):
        raise ValueError(f"markers {begin} / {end} not found")
    return f"{head}{begin}\n{block.strip()}\n{end}{tail}"
