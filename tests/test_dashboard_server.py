"""`mindmove dashboard` and `mindmove demo` started as a real process: stopping it (SIGTERM,
as a service manager or `kill` does) stops the Streamlit server it started, which frees the
port; nothing is left running."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mindmove.auth import audit
from mindmove.demo import SEEDED_ACTION
from mindmove.store import open_store

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 120.0  # Streamlit's start on a loaded machine; a safety bound only
STOP_TIMEOUT_S = 30.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _descendants(pid: int) -> set[int]:
    """Every living process under ``pid`` (Linux /proc)."""
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = {int(c) for c in (task / "children").read_text().split()}
            except OSError:
                continue
            todo.extend(children - found)
            found |= children
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def demo_url(tmp_path):
    """A demo database marked complete, so `mindmove demo` goes straight to the server."""
    from mindmove.auth import create_patient, create_team

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with open_store(url) as store:
        create_team(store, "Riverside", by="demo")
        create_patient(store, "D001", team="Riverside", by="demo")  # the home-practice link is made for D001
        audit(store, "demo", SEEDED_ACTION, detail="test")
    return url


@pytest.mark.parametrize("command", ["dashboard", "demo"])
def test_sigterm_stops_the_server_it_started(command, request, _isolated_data_dir):
    if not Path("/proc/self/task").exists():
        pytest.skip("needs Linux /proc to see the server process")
    port = _free_port()
    argv = [sys.executable, "-m", "mindmove", command, "--port", str(port)]
    if command == "demo":
        argv += ["--db-url", request.getfixturevalue("demo_url"), "--home-port", str(_free_port())]
    env = {**os.environ, "MINDMOVE_DATA_DIR": str(_isolated_data_dir)}
    env.pop("DISPLAY", None)  # headless: no browser is opened
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    server: set[int] = set()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _listening(port):
            assert proc.poll() is None, proc.communicate(timeout=STOP_TIMEOUT_S)
            assert time.monotonic() < deadline, "the dashboard never listened on its port"
            time.sleep(0.5)
        server = _descendants(proc.pid)
        assert server, "the command started no server process"
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(STOP_TIMEOUT_S)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while any(_alive(pid) for pid in server) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [pid for pid in server if _alive(pid)]
        out = "" if left else proc.communicate(timeout=STOP_TIMEOUT_S)[0]  # a live server would hold the pipe
    finally:
        for pid in [proc.pid, *server]:  # whatever happened, nothing this test started outlives it
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert not left, "the Streamlit server was left running"
    assert rc == 0, out
    assert f"Dashboard at http://localhost:{port}" in out
    assert not _listening(port)
