"""Process helpers shared by the dashboard's latency benchmark (benchmarks/dashboard_latency.py) and its browser
test (tests/runs/views/test_dashboard.py): a free loopback port, a process's descendants and their CPU time, read
from /proc (Linux)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

__all__ = ["cpu_seconds", "descendants", "free_port"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (the OS's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """Every descendant process of ``pid``."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
        for kid in kids:
            out += [kid, *descendants(kid)]
    return out


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU seconds of the processes ``pids`` (those that have exited count nothing)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total
