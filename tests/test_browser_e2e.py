"""End to end in a real browser: Debian's Chromium (driven by Playwright) against
``streamlit run dashboard/server.py`` (as ``mindmove dashboard`` serves it) on a seeded
SQLite file.

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
DB_URLS: dict[Path, str] = {}  # the seeded database of each test's server, by its tmp_path
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
    """A running ``streamlit run dashboard/server.py`` on a seeded database; stopped afterwards."""
    from playwright.sync_api import expect

    expect.set_options(timeout=PAGE_TIMEOUT_MS)  # a shared, loaded machine: assertions wait as long as pages
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    seed_dashboard_clinic(url)
    DB_URLS[tmp_path] = url
    port = _free_port()
    env = {**os.environ, "MINDMOVE_DB_URL": url, "MINDMOVE_DATA_DIR": str(tmp_path)}
    log = open(tmp_path / "streamlit.log", "w")  # noqa: SIM115 - closed in the teardown below
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/server.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none", "--client.showErrorDetails", "none",
         "--client.disableDataExport", "true"],
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


# --- issue 15: sign-in throttling and downloads, in the real browser against the real server ---

def _launch(pw):
    return pw.chromium.launch(executable_path=str(_chromium()), headless=True, args=CHROMIUM_ARGS)


def _browser_tab(browser, base: str, *, on_download=None):
    """A new browser (its own cookies, as another computer or profile would have) at the sign-in form.

    ``on_download(download)`` is called for each download of any of its tabs (registered on
    every tab before the first opens: Chromium may report a download a new tab starts on the
    tab that opened it)."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    if on_download is not None:
        context.on("page", lambda tab: tab.on("download", on_download))
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(base)
    return context, page


def _sign_in(page, username: str, password: str) -> None:
    from playwright.sync_api import expect

    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    if password == PASSWORD:
        return
    expect(page.locator("[data-testid='stAlertContentError']")).to_be_visible()


def _audit(tmp_path, sql: str) -> list[tuple]:
    import sqlite3

    with sqlite3.connect(DB_URLS[tmp_path].removeprefix("sqlite:///")) as db:
        return db.execute(sql).fetchall()


def test_five_wrong_passwords_for_one_user_do_not_stop_another_user(dashboard_url, tmp_path):
    """Every browser here is on the same computer (the client "local", as behind a proxy):
    five wrong passwords for thera pause thera on unknown browsers only. The admin and a
    clinician still sign in, and thera still signs in from the browser she used before."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = _launch(pw)
        try:
            own, own_page = _browser_tab(browser, dashboard_url)  # thera's usual browser
            _sign_in(own_page, "thera", PASSWORD)
            expect(own_page.get_by_role("heading", name="Patients")).to_be_visible()
            own_page.get_by_role("button", name="Sign out").click()
            expect(own_page.get_by_role("textbox", name="Username")).to_be_visible()

            other, page = _browser_tab(browser, dashboard_url)  # someone else's browser
            for _ in range(5):
                _sign_in(page, "thera", "not the password")
                page.reload()
            page.get_by_role("textbox", name="Username").fill("thera")
            page.get_by_role("textbox", name="Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.locator("body")).to_contain_text("Sign-in is paused")

            for username in ("boss", "clin"):  # other users, other browsers on the same computer
                _, their_page = _browser_tab(browser, dashboard_url)
                _sign_in(their_page, username, PASSWORD)
                expect(their_page.get_by_role("heading", name="Patients")).to_be_visible()
                expect(their_page.get_by_role("button", name="Sign out")).to_be_visible()

            _sign_in(own_page, "thera", PASSWORD)  # her own browser: her own count, never locked by others
            expect(own_page.get_by_role("heading", name="Patients")).to_be_visible()
            expect(own_page.locator("body")).to_contain_text("Ada Northcott")
        finally:
            browser.close()
    locks = _audit(tmp_path, "SELECT username, client, detail FROM audit_log WHERE action = 'sign_in_lock'")
    assert locks == [("thera", "local", "key=user:thera failures=5 lock_s=30")]
    signed_in = [u for (u,) in _audit(tmp_path, "SELECT username FROM audit_log WHERE action = 'sign_in'")]
    assert signed_in == ["thera", "boss", "clin", "thera"]


def test_a_csv_is_never_served_at_media_and_its_link_works_once_in_its_browser(dashboard_url, tmp_path):
    """The download works for the signed-in user in her own browser, once. The same file at
    Streamlit's /media/<hash>.csv (where st.download_button would have put it), the link a
    second time, the link without the cookie, and a link after sign-out all fail; every fetch
    is in the audit log."""
    import urllib.error

    from playwright.sync_api import expect, sync_playwright
    from streamlit.runtime.memory_media_file_storage import _calculate_file_id

    downloaded: list[tuple[str, bytes]] = []
    with sync_playwright() as pw:
        browser = _launch(pw)
        try:
            context, page = _browser_tab(browser, dashboard_url, on_download=lambda d: downloaded.append(
                (d.suggested_filename, Path(d.path()).read_bytes())))
            _sign_in(page, "thera", PASSWORD)
            page.get_by_role("link", name="Exports").click()
            page.get_by_role("button", name="Prepare N1's tables").click()
            checkins = page.get_by_role("link", name="Check-ins (CSV, 8 rows)")
            expect(checkins).to_be_visible()
            used = checkins.get_attribute("href")
            unused = page.get_by_role("link", name="Gait (CSV, 3 rows)").get_attribute("href")
            checkins.click()
            expect(page.get_by_role("link", name="Check-ins (CSV, 8 rows)")).not_to_have_attribute("href", used)
            for _ in range(50):  # the download opens in a tab of its own, which closes at once
                if downloaded:
                    break
                page.wait_for_timeout(200)
            assert [name for name, _ in downloaded] == ["N1_checkins.csv"]
            data = downloaded[0][1]
            assert data.decode().startswith("session_id,started_at,pain_before,pain_after")

            media = f"{dashboard_url}/media/{_calculate_file_id(data, 'text/csv', 'N1_checkins.csv')}.csv"
            assert context.request.get(media).status == 404  # not with the cookie...
            with pytest.raises(urllib.error.HTTPError) as no_cookie:  # ...nor without
                urllib.request.urlopen(media, timeout=10)
            assert no_cookie.value.code == 404
            assert context.request.get(dashboard_url + used).status == 410  # a second time
            with pytest.raises(urllib.error.HTTPError) as stranger:  # another browser, no cookie
                urllib.request.urlopen(dashboard_url + unused, timeout=10)
            assert stranger.value.code == 403
            page.get_by_role("button", name="Sign out").click()
            expect(page.get_by_role("textbox", name="Username")).to_be_visible()
            after = context.request.get(dashboard_url + unused)  # her own browser, after sign-out
            assert after.status == 410 and after.headers["cache-control"] == "no-store"
        finally:
            browser.close()
    fetches = _audit(tmp_path, "SELECT username, success, detail FROM audit_log WHERE action = 'export_csv' ORDER BY id")
    assert fetches == [
        ("thera", 1, "downloaded N1_checkins.csv; table=checkins rows=8"),
        ("thera", 0, "download refused: link already used"),
        ("thera", 0, "download refused: not the browser that prepared it"),
        ("thera", 0, "download refused: link withdrawn at sign-out"),
    ]
