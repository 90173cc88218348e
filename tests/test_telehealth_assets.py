"""The home practice page's web assets: pinned, checked, served by the clinic, never from a CDN."""

from __future__ import annotations

import json
import re
from importlib.metadata import version
from pathlib import Path

WEB = Path(__file__).resolve().parents[1] / "web"


def test_tasks_vision_is_pinned_to_the_python_mediapipe_with_its_integrity_hash():
    package = json.loads((WEB / "package.json").read_text())
    lock = json.loads((WEB / "package-lock.json").read_text())
    assert package["dependencies"] == {"@mediapipe/tasks-vision": version("mediapipe")} == \
        {"@mediapipe/tasks-vision": "0.10.21"}
    entry = lock["packages"]["node_modules/@mediapipe/tasks-vision"]
    assert entry["version"] == "0.10.21" and re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", entry["integrity"])
    assert (WEB / ".gitignore").read_text().strip() == "node_modules/"


def test_the_page_loads_nothing_from_another_site():
    for path in [WEB / "index.html", *sorted((WEB / "js").glob("*.js")), *sorted((WEB / "css").glob("*.css"))]:
        text = path.read_text()
        assert not re.search(r"https?://|//cdn|jsdelivr|unpkg|googleapis", text), path.name
    imports = re.findall(r'from "([^"]+)"', "".join(p.read_text() for p in (WEB / "js").glob("*.js")))
    assert all(i.startswith("/") for i in imports)  # this server's own files
