"""Shared test fixtures.

Real recordings live in ``../shared/data`` beside the repository (never copied in). A test
that needs them fails in CI (``CI=true``) when they are missing, and skips elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO.parent / "shared" / "data").resolve()


def shared_file(relative: str) -> Path:
    """Path of a file under ../shared/data: fail in CI, skip elsewhere, when it is missing."""
    path = SHARED_DATA / relative
    if not path.exists():
        msg = f"shared recording {path} is missing (../shared/data beside the repository)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture
def shared():
    """``shared("video/sports2d_demo.mp4")`` -> Path, see :func:`shared_file`."""
    return shared_file


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory, monkeypatch):
    """Every test gets its own data directory and SQLite file; the user's are never touched."""
    data_dir = tmp_path_factory.mktemp("mindmove-data")
    monkeypatch.setenv("MINDMOVE_DATA_DIR", str(data_dir))
    monkeypatch.delenv("MINDMOVE_DB_URL", raising=False)
    monkeypatch.delenv("MINDMOVE_MESSAGES", raising=False)
    yield data_dir
