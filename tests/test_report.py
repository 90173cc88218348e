"""The PDF progress report, read back with pypdf (an independent PDF parser)."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from dashboard.report import render_progress_report
from dashboard_support import N1_SESSIONS, PASSWORD, seed_dashboard_clinic
from mindmove.auth import authenticate
from core.errors import AccessDenied
from mindmove.store import open_store
from mindmove.store.models import AuditEntry


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('report') / 'clinic.db'}"
    seed_dashboard_clinic(url)
    store = open_store(url)
    yield store, {name: authenticate(store, name, PASSWORD) for name in ("thera", "clin")}
    store.dispose()


def _images(reader: PdfReader) -> list:
    return [img for page in reader.pages for img in page.images]


def test_report_has_pages_the_patient_code_summary_and_plot_images(clinic, tmp_path):
    store, users = clinic
    pdf = render_progress_report(store, users["thera"], "N1")
    assert pdf.startswith(b"%PDF-")
    (tmp_path / "N1_report.pdf").write_bytes(pdf)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "patient N1" in text
    assert f"Sessions recorded {len(N1_SESSIONS)}" in text.replace("\n", " ")
    first_rom, last_rom = N1_SESSIONS[0][3] - 4.0, N1_SESSIONS[-1][3] - 4.0  # highest minus lowest (4 deg)
    assert f"{first_rom:.1f} / {last_rom:.1f}" in text
    assert f"Pain before session, first / latest (0-10) {N1_SESSIONS[0][1]} / {N1_SESSIONS[-1][1]}" in text.replace("\n", " ")
    assert "moved beyond the safe range last session" in text
    # two motions (left and right knee), pain, breath and walking: five PNG plots of a readable size
    images = _images(reader)
    assert len(images) == 5
    for img in images:
        assert img.image.width >= 800 and img.image.height >= 300
    with store.session() as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "prepare_report")
                           .order_by(AuditEntry.id.desc())).first()
    assert entry.patient_code == "N1" and entry.username == "thera" and "plots=5" in entry.detail


def test_report_for_a_patient_of_another_team_is_refused(clinic):
    store, users = clinic
    with pytest.raises(AccessDenied) as err:
        render_progress_report(store, users["clin"], "N1")
    assert "N1" not in str(err.value)
    with store.session() as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.username == "clin")
                           .order_by(AuditEntry.id.desc())).first()
    assert entry.success is False and entry.patient_code == "N1"


def test_report_without_measurements_still_renders(clinic):
    store, users = clinic
    reader = PdfReader(io.BytesIO(render_progress_report(store, users["thera"], "N2")))
    text = reader.pages[0].extract_text()
    assert "patient N2" in text and "No sessions with measurements recorded yet." in text
    assert not _images(reader)


def test_csv_export_reads_back_with_the_database_figures(clinic):
    import json

    import pandas as pd

    from dashboard import queries
    from dashboard.report import render_csv
    from dashboard_support import N1_GAIT

    store, users = clinic
    gait = queries.compute_gait_trends(store, users["thera"], "N1")
    back = pd.read_csv(io.BytesIO(render_csv(gait)))
    assert list(back.columns) == list(gait.columns)
    assert list(back["cadence_steps_per_min"]) == [g[1] for g in N1_GAIT]
    assert [json.loads(q)["flags"] for q in back["quality"]] == [g[5] for g in N1_GAIT]
    assert pd.to_datetime(back["started_at"], utc=True).tolist() == gait["started_at"].tolist()
    assert render_csv(gait.iloc[0:0]).decode().strip() == ",".join(gait.columns)  # empty: header only
