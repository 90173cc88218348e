"""End to end in a real browser: Debian's Chromium (driven by Playwright) against
``streamlit run dashboard/app.py`` on a seeded SQLite file.

Chromium is the system package at /usr/bin/chromium (``.ci/run`` installs it); Playwright's
own browser download is never used. In CI a missing Chromium fails the test; elsewhere it
skips. Screenshots go to the test's tmp directory and are copied to ``test-output/``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dashboard_support import PASSWORD, seed_dashboard_clinic

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SERVER_START_TIMEOUT_S = 60.0
PAGE_TIMEOUT_MS = 30_000
VIEWPORT = {"width": 1400, "height": 1000}
FULL_PAGE_HEIGHT_PX = 2300


def _chromium() -> Path:
    if not CHROMIUM.exists():
        msg = f"{CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dashboard_url(tmp_path):
    """A running ``streamlit run dashboard/app.py`` on a seeded database; stopped afterwards."""
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    seed_dashboard_clinic(url)
    port = _free_port()
    env = {**os.environ, "MINDMOVE_DB_URL": url, "MINDMOVE_DATA_DIR": str(tmp_path)}
    log = open(tmp_path / "streamlit.log", "w")  # noqa: SIM115 - closed in the teardown below
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"streamlit did not start: {(tmp_path / 'streamlit.log').read_text()[-2000:]}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_sign_in_and_open_mobility_chart(dashboard_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    chromium = _chromium()
    shots = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            expect.set_options(timeout=PAGE_TIMEOUT_MS)  # assertions wait as long as actions (5 s: short under load)
            page.goto(dashboard_url)
            page.get_by_role("textbox", name="Username").fill("thera")
            page.get_by_role("textbox", name="Password").fill(PASSWORD)
            body = page.locator("body")
            expect(body).not_to_contain_text("Northcott")  # no patient data before sign-in
            shots.append(tmp_path / "01_sign_in.png")
            page.screenshot(path=str(shots[-1]), full_page=True)
            page.get_by_role("button", name="Sign in").click()

            expect(page.get_by_role("heading", name="Patients")).to_be_visible()
            expect(body).to_contain_text("Ada Northcott")
            expect(body).not_to_contain_text("Southgate")  # the south team's patient
            shots.append(tmp_path / "02_patients.png")
            page.screenshot(path=str(shots[-1]), full_page=True)

            page.get_by_role("link", name="Mobility").click()
            expect(page.get_by_role("heading", name="Mobility")).to_be_visible()
            charts = page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot")
            expect(charts.first).to_be_visible()
            assert charts.count() == 4
            # the first motion (left knee, never beyond its range): the band's two edges and the
            # highest and lowest angle lines, with the axis title, in the SVG Plotly drew
            first = charts.first
            expect(first.locator(".scatterlayer .trace")).to_have_count(4)
            expect(first.locator(".ytitle")).to_have_text("Angle (deg)")
            expect(page.get_by_role("button", name="Sign out")).to_be_visible()
            assert "patient=N1" in page.url
            # Streamlit scrolls inside its own container, so a taller window shows the whole page
            page.set_viewport_size({"width": VIEWPORT["width"], "height": FULL_PAGE_HEIGHT_PX})
            page.wait_for_timeout(1000)  # let Plotly redraw at the new size before the picture
            shots.append(tmp_path / "03_mobility.png")
            page.screenshot(path=str(shots[-1]), full_page=True)

            page.get_by_role("link", name="Session detail").click()
            expect(page.get_by_role("heading", name="Session detail")).to_be_visible()
            session_chart = page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot").first
            expect(session_chart).to_be_visible()
            expect(session_chart.locator(".legendtext", has_text="Cue given")).to_have_count(1)
            page.wait_for_timeout(1000)
            shots.append(tmp_path / "04_session_detail.png")
            page.screenshot(path=str(shots[-1]), full_page=True)
        finally:
            browser.close()
    out = REPO / "test-output"
    out.mkdir(exist_ok=True)
    for shot in shots:
        assert shot.stat().st_size > 10_000
        shutil.copy(shot, out / f"browser_{shot.name}")
