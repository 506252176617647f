"""The policy lab in a real headless Chromium (Debian's, installed by .ci/browser-deps), one server per module.

Each test drives the page the way a user does (sliders, check boxes, buttons, links) and checks what the page
shows; the times a user waits (page ready, a control change answered) are printed (run with ``-s``) and
reported in docs/views.md.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from benchmarks.processes import cpu_seconds, descendants, free_port

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = shutil.which("chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
WAIT_MS = 90_000

if CHROMIUM is None and os.environ.get("CI"):
    pytest.fail("CI must have Debian's chromium (.ci/browser-deps installs it)", pytrace=False)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (run .ci/browser-deps)"),
]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class Server:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.started = time.monotonic()
        command = [str(Path(sys.executable).with_name("multipolar")), "dashboard", "--port", str(self.port)]
        self.proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.page_ready_seconds: float | None = None

    def wait_http(self) -> None:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(self.proc.stderr.read().decode()) from None
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.25)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
        self.proc.stderr.close()


@pytest.fixture(scope="module")
def server():
    srv = Server()
    try:
        srv.wait_http()
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def _open(browser, url: str):
    context = browser.new_context(viewport={"width": 1500, "height": 1800}, accept_downloads=True)
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(url)
    page.locator(".mp-hhi img").wait_for(timeout=WAIT_MS)
    page.locator(".mp-ready").wait_for(timeout=WAIT_MS)
    return page


@pytest.fixture(scope="module")
def page(server, browser):
    pg = _open(browser, server.url)
    server.page_ready_seconds = time.monotonic() - server.started
    print(f"\npage ready {server.page_ready_seconds:.1f} s after the command started")
    yield pg
    pg.context.close()


def _src(page, css: str) -> str:
    return page.locator(css).first.get_attribute("src")


def _status(page) -> str:
    return page.locator(".mp-status").inner_text(timeout=WAIT_MS)


def _hhi(page) -> float:
    match = re.search(r"HHI ([\d,]+)", _status(page))
    assert match, _status(page)
    return float(match.group(1).replace(",", ""))


def _wait_changed(page, css: str, before: str) -> float:
    from playwright.sync_api import expect

    t0 = time.monotonic()
    expect(page.locator(css).first).not_to_have_attribute("src", before, timeout=WAIT_MS)
    page.locator(".mp-ready").wait_for(timeout=WAIT_MS)
    return time.monotonic() - t0


def test_page_loads_with_its_controls_and_no_console_errors(page) -> None:
    from playwright.sync_api import expect

    expect(page.locator(".mp-status")).to_contain_text("baseline 2045.00: HHI")
    expect(page.get_by_text("Winner-take-all gamma: 10 1/quality unit")).to_be_visible()
    expect(page.get_by_text(re.compile(r"logit weight on quality.*Unit: 1/quality unit; allowed \[0, 200\]"))) \
        .to_be_visible()
    expect(page.get_by_text("Time: the whole horizon")).to_be_visible()
    assert "PAGE 0" not in page.content()
    assert page.errors == []


def test_winner_take_all_recomputes_and_changes_the_hhi_plot(page) -> None:
    from playwright.sync_api import expect

    before_plot, before_hhi = _src(page, ".mp-hhi img"), _hhi(page)
    slider = page.get_by_role("slider", name="Winner-take-all gamma")
    slider.focus()
    page.keyboard.press("End")
    expect(slider).to_have_attribute("aria-valuenow", "40")
    seconds = _wait_changed(page, ".mp-hhi img", before_plot)
    print(f"\nwinner-take-all 10 -> 40 answered in {seconds:.2f} s ({page.locator('.mp-ready').inner_text()})")
    expect(page.get_by_text("Winner-take-all gamma: 40 1/quality unit (changed)")).to_be_visible()
    assert _hhi(page) > before_hhi + 100
    assert "market.winner_take_all=40" in page.url
    slider.focus()
    page.keyboard.press("Home")
    expect(slider).to_have_attribute("aria-valuenow", "0")
    seconds = _wait_changed(page, ".mp-hhi img", _src(page, ".mp-hhi img"))
    print(f"winner-take-all 40 -> 0 answered in {seconds:.2f} s ({page.locator('.mp-ready').inner_text()})")
    assert page.errors == []


def test_step_and_play_watch_the_run_unfold(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("button", name="Reset").click()
    expect(page.locator(".mp-time")).to_have_text(re.compile(r"^Time: 2025\.00 \(step 0 of 240\)"), timeout=WAIT_MS)
    for k in range(1, 4):
        page.get_by_role("button", name="Step", exact=True).click()
        expect(page.locator(".mp-time")).to_contain_text(f"(step {k} of 240)", timeout=WAIT_MS)
    page.get_by_role("button", name="Play").click()
    expect(page.locator(".mp-time")).not_to_contain_text("(step 3 of 240)", timeout=WAIT_MS)
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Whole run").click()
    expect(page.locator(".mp-time")).to_have_text("Time: the whole horizon", timeout=WAIT_MS)
    assert page.errors == []


def test_a_policy_toggle_shows_baseline_and_policy_side_by_side(page) -> None:
    from playwright.sync_api import expect

    assert page.locator(".mp-shares img").count() == 1
    before = _src(page, ".mp-hhi img")
    page.get_by_text("compute cap: Cap of 1e28").click()
    _wait_changed(page, ".mp-hhi img", before)
    expect(page.locator(".mp-shares img")).to_have_count(2, timeout=WAIT_MS)
    expect(page.locator(".mp-outcomes")).to_contain_text("with policies")
    expect(page.locator(".mp-status")).to_contain_text("with policies")
    expect(page.get_by_text("max training flop: 1e+28 FLOP (physical)")).to_be_visible()
    assert "policies=compute_cap" in page.url
    assert page.errors == []


def test_the_url_state_round_trips(page, browser) -> None:
    from playwright.sync_api import expect

    url = page.url
    assert "policies=compute_cap" in url and "scenario=baseline" in url
    other = _open(browser, url)
    try:
        slider = other.get_by_role("slider", name="Winner-take-all gamma")
        expect(slider).to_have_attribute("aria-valuenow", page.get_by_role("slider", name="Winner-take-all gamma")
                                         .get_attribute("aria-valuenow"))
        expect(other.locator(".mp-shares img")).to_have_count(2, timeout=WAIT_MS)
        expect(other.locator(".mp-status")).to_have_text(_status(page), timeout=WAIT_MS)
        assert other.url == url
        assert other.errors == []
    finally:
        other.context.close()


def test_two_browser_contexts_hold_independent_states(server, browser) -> None:
    from playwright.sync_api import expect

    first = _open(browser, server.url)
    second = _open(browser, server.url)
    try:
        slider = first.get_by_role("slider", name="Winner-take-all gamma")
        before = _src(first, ".mp-hhi img")
        slider.focus()
        first.keyboard.press("End")
        _wait_changed(first, ".mp-hhi img", before)
        first.get_by_role("button", name="Step", exact=True).click()
        expect(first.locator(".mp-time")).to_contain_text("(step 1 of 240)", timeout=WAIT_MS)
        expect(second.get_by_role("slider", name="Winner-take-all gamma")).to_have_attribute("aria-valuenow", "10")
        expect(second.locator(".mp-time")).to_have_text("Time: the whole horizon")
        assert _hhi(second) < _hhi(first) - 100
        assert "winner_take_all" not in second.url
    finally:
        first.context.close()
        second.context.close()


def test_a_download_is_a_valid_parquet_file(page) -> None:
    with page.expect_download(timeout=WAIT_MS) as info:
        page.get_by_role("button", name="baseline-market.parquet").click()
    download = info.value
    assert download.suggested_filename == "baseline-market.parquet"
    table = pq.read_table(io.BytesIO(Path(download.path()).read_bytes()))
    assert {"year", "hhi", "top1_share"} <= set(table.column_names)
    assert table.num_rows == 241
    with page.expect_download(timeout=WAIT_MS) as info:
        page.locator(".mp-hhi").get_by_role("button", name="SVG").click()
    assert Path(info.value.path()).read_bytes().lstrip().startswith(b"<?xml")


def test_the_ensemble_mode_shows_a_fan_chart(server, browser) -> None:
    from playwright.sync_api import expect

    pg = _open(browser, server.url + "?scenario=baseline&mode=ensemble&runs=6&policies=compute_cap")
    try:
        expect(pg.locator(".mp-fan img")).to_be_visible(timeout=WAIT_MS)
        expect(pg.locator(".mp-ensemble-status")).to_contain_text("6 of 6 runs per arm", timeout=WAIT_MS)
        expect(pg.locator(".mp-ensemble-status")).to_contain_text(re.compile(
            r"baseline: P\(unipolar\) \d+% \[\d+%, \d+%\]; with policies: P\(unipolar\)"))
        assert pg.errors == []
    finally:
        pg.context.close()


def test_a_closed_context_leaves_the_server_idle_within_10_seconds(server, browser) -> None:
    pg = _open(browser, server.url + "?scenario=baseline&mode=ensemble&runs=400")
    pg.locator(".mp-fan img").wait_for(timeout=WAIT_MS)  # the ensemble is computing
    pids = [server.proc.pid, *descendants(server.proc.pid)]
    busy0 = cpu_seconds(pids)
    time.sleep(1.0)
    assert cpu_seconds(pids) - busy0 > 0.3, "the ensemble keeps the server busy while the page is open"
    pg.context.close()
    closed = time.monotonic()
    idle_after = None
    while time.monotonic() - closed < 15:
        t0 = cpu_seconds(pids)
        time.sleep(1.0)
        if cpu_seconds(pids) - t0 < 0.1:
            idle_after = time.monotonic() - closed
            break
    print(f"\nserver idle {idle_after} s after the context closed")
    assert idle_after is not None and idle_after <= 10.0


def test_sigterm_stops_the_server_and_frees_the_port(server) -> None:
    children = descendants(server.proc.pid)
    assert children and _listening(server.port)
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=20) == 0
    deadline = time.monotonic() + 5
    while _listening(server.port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _listening(server.port)
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists() and
                "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()]
