"""Services on loopback and TLS to a remote scheduler (issue 21 item 3, runs/experiments/execution.py): no socket
the program opens listens beyond 127.0.0.1; a TLS ensemble gives the local one's runs; a TLS scheduler without
credentials exits 2 within 10 s."""

from __future__ import annotations

import ipaddress
import logging
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
from typer.testing import CliRunner

from runs.cli import app

ROOT = Path(__file__).resolve().parents[3]
BASELINE = ROOT / "runs" / "baseline.toml"
ENSEMBLE = ("ensemble", BASELINE, "--runs", 4, "--chunk", 2, "--seed", 3, "--set", "sim.years=1")

pytestmark = pytest.mark.slow


def _listening(process: psutil.Process) -> set[tuple[str, int]]:
    """The (address, port) pairs on which ``process`` and its descendants listen (TCP)."""
    found = set()
    for proc in [process, *process.children(recursive=True)]:
        try:
            found |= {(c.laddr.ip, c.laddr.port) for c in proc.net_connections(kind="tcp")
                      if c.status == psutil.CONN_LISTEN}
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _watch(args: list[object], until: float, log: Path) -> tuple[int, set[tuple[str, int]]]:
    """Run ``python -m runs.cli ARGS`` (stderr into ``log``), collecting its listening sockets every 0.1 s; return
    its exit code and what was seen."""
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "runs.cli", *map(str, args)], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=err)
        watched = psutil.Process(proc.pid)
        seen: set[tuple[str, int]] = set()
        deadline = time.monotonic() + until
        while proc.poll() is None and time.monotonic() < deadline:
            seen |= _listening(watched)
            time.sleep(0.1)
        return proc.wait(timeout=until), seen


def _loopback(address: str) -> bool:
    return ipaddress.ip_address(address).is_loopback


def test_run_opens_no_listening_socket(tmp_path: Path) -> None:
    code, seen = _watch(["run", BASELINE, "--set", "sim.years=2", "--out", tmp_path / "run"], 300, tmp_path / "log")
    assert code == 0, (tmp_path / "log").read_text()
    assert seen == set()


def test_an_ensemble_on_a_local_cluster_listens_on_loopback_only(tmp_path: Path) -> None:
    code, seen = _watch([*ENSEMBLE, "--workers", 2, "--out", tmp_path / "ens"], 600, tmp_path / "log")
    assert code == 0, (tmp_path / "log").read_text()
    assert len(seen) >= 3  # the scheduler, its HTTP endpoint, the workers and nannies were seen
    assert all(_loopback(ip) for ip, _ in seen), seen


def test_the_dashboard_listens_on_loopback_only(tmp_path: Path) -> None:
    pytest.importorskip("solara")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "runs.cli", "dashboard", "--port", str(port)], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    watched = psutil.Process(proc.pid)
    seen: set[tuple[str, int]] = set()
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline and port not in {p for _, p in seen}:
            seen |= _listening(watched)
            time.sleep(0.2)
        time.sleep(1.0)
        seen |= _listening(watched)
    finally:
        children = watched.children(recursive=True)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for child in children:
            if child.is_running():
                child.kill()
    assert port in {p for _, p in seen}, seen
    assert all(_loopback(ip) for ip, _ in seen), seen


@pytest.fixture(scope="module")
def tls_scheduler(tmp_path_factory: pytest.TempPathFactory):
    """A TLS scheduler on 127.0.0.1 with one worker process, certificates from ``Security.temporary()``, and
    the client's PEM files."""
    from distributed import LocalCluster
    from distributed.security import Security

    security = Security.temporary()
    folder = tmp_path_factory.mktemp("tls")
    (folder / "ca.pem").write_text(security.tls_ca_file)
    (folder / "cert.pem").write_text(security.tls_client_cert)
    (folder / "key.pem").write_text(security.tls_client_key)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", protocol="tls",
                      security=security, dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        yield cluster.scheduler_address, folder


def test_a_tls_ensemble_gives_the_local_runs(tmp_path: Path, tls_scheduler: tuple[str, Path]) -> None:
    address, pem = tls_scheduler
    assert address.startswith("tls://127.0.0.1:")
    local = CliRunner().invoke(app, [*map(str, ENSEMBLE), "--workers", "1", "--out", str(tmp_path / "local")])
    assert local.exit_code == 0, local.stderr
    remote = CliRunner().invoke(app, [*map(str, ENSEMBLE), "--scheduler", address, "--tls-ca-file",
                                      str(pem / "ca.pem"), "--tls-cert", str(pem / "cert.pem"), "--tls-key",
                                      str(pem / "key.pem"), "--out", str(tmp_path / "tls")])
    assert remote.exit_code == 0, remote.stderr
    columns = lambda frame: frame.drop(columns=[c for c in frame if "seconds" in c])  # noqa: E731
    pd.testing.assert_frame_equal(columns(pd.read_parquet(tmp_path / "tls" / "runs.parquet")),
                                  columns(pd.read_parquet(tmp_path / "local" / "runs.parquet")), check_exact=True)


def test_a_tls_scheduler_without_credentials_exits_2_quickly(tmp_path: Path, tls_scheduler: tuple[str, Path]) -> None:
    address, pem = tls_scheduler
    cases = [
        ([], "no credentials were given"),
        (["--tls-ca-file", str(pem / "ca.pem")], "needs --tls-ca-file and --tls-cert"),
        (["--tls-ca-file", str(pem / "ca.pem"), "--tls-cert", str(tmp_path / "missing.pem")], "missing.pem"),
    ]
    for extra, needle in cases:
        started = time.perf_counter()
        result = CliRunner().invoke(app, [*map(str, ENSEMBLE), "--scheduler", address, *extra, "--out",
                                          str(tmp_path / "x")])
        assert result.exit_code == 2 and needle in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and time.perf_counter() - started < 10
        assert not (tmp_path / "x").exists()
    started = time.perf_counter()
    plain = CliRunner().invoke(app, [*map(str, ENSEMBLE), "--scheduler", address.replace("tls://", "tcp://"),
                                     "--out", str(tmp_path / "x")])
    assert plain.exit_code == 2 and "cannot connect within" in plain.stderr, plain.stderr
    assert time.perf_counter() - started < 10 and not (tmp_path / "x").exists()
