"""Archetype codes: the ``kind`` column of the lab state (MODEL.md "Labs")."""

KIND_NAMES: tuple[str, ...] = (
    "frontier",
    "open_weights",
    "fast_follower",
    "safety_focused",
    "state_programme",
    "startup",
)
KIND_CODE: dict[str, int] = {name: code for code, name in enumerate(KIND_NAMES)}

FUNDING_INVESTORS = 0
FUNDING_STATE = 1
