"""The dashboard is a real page in a real headless Chromium (Debian's, installed by .ci/browser-deps)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = shutil.which("chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]

if CHROMIUM is None and os.environ.get("CI"):
    pytest.fail("CI must have Debian's chromium (.ci/browser-deps installs it)", pytrace=False)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (run .ci/browser-deps)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard_url():
    port = _free_port()
    command = [str(Path(sys.executable).with_name("multipolar")), "dashboard", "--port", str(port)]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(proc.stderr.read().decode()) from None
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(timeout=20)
        proc.stderr.close()


@pytest.fixture(scope="module")
def page(dashboard_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1600})
        pg.errors = []
        pg.on("console", lambda m: m.type == "error" and pg.errors.append(m.text))
        pg.on("pageerror", lambda e: pg.errors.append(str(e)))
        pg.goto(dashboard_url)
        pg.get_by_role("button", name="Step", exact=True).wait_for(timeout=90_000)
        yield pg
        browser.close()


def _status_locator(page):
    return page.locator(".mp-status")


def _status(page) -> str:
    return _status_locator(page).inner_text(timeout=60_000)


def _hhi(page) -> float:
    match = re.search(r"HHI ([\d,]+)", _status(page))
    assert match, _status(page)
    return float(match.group(1).replace(",", ""))


def _step(page, n: int) -> None:
    from playwright.sync_api import expect

    step = page.get_by_role("button", name="Step", exact=True)
    for _ in range(n):
        before = _status(page)
        step.click()
        expect(_status_locator(page)).not_to_have_text(before, timeout=30_000)


def _hhi_image(page) -> str:
    return page.locator("img").nth(1).get_attribute("src")


def test_page_loads_steps_and_responds_to_winner_take_all(page):
    from playwright.sync_api import expect

    page.get_by_role("button", name="Reset").click()
    expect(_status_locator(page)).to_have_text(re.compile(r"^Year 2025\.00"), timeout=60_000)
    _step(page, 1)
    expect(_status_locator(page)).to_have_text(re.compile(r"^Year 2025\.08"))
    _step(page, 23)
    expect(_status_locator(page)).to_have_text(re.compile(r"^Year 2027\.00"))
    default_hhi, default_plot = _hhi(page), _hhi_image(page)

    slider = page.get_by_role("slider", name="Winner-take-all gamma")
    slider.focus()
    page.keyboard.press("End")
    expect(slider).to_have_attribute("aria-valuenow", "40")
    page.get_by_role("button", name="Reset").click()
    expect(_status_locator(page)).to_have_text(re.compile(r"^Year 2025\.00"), timeout=60_000)
    _step(page, 24)
    expect(_status_locator(page)).to_have_text(re.compile(r"^Year 2027\.00"))
    strong_hhi = _hhi(page)
    assert strong_hhi > default_hhi + 100, (default_hhi, strong_hhi)
    assert _hhi_image(page) != default_plot
    assert page.errors == []
