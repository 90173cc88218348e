"""How fast the dashboard's two busiest queries are on a large clinic.

Seeds 1,000 patients x one year of daily practice sessions (365,000 sessions, one
``session_metrics`` row each, bulk inserted), then times ``list_patients`` (as an admin, who
sees all 1,000) and one patient's ``compute_mobility``, each the median of several runs
(the audit write each query makes is included). SQLite always; PostgreSQL with
``--pg-url`` (a fresh schema is created and dropped). Target: each under 1 s.

    python benchmarks/dashboard_scale.py [--pg-url postgresql+psycopg://...] [--patients N] [--days N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import create_engine, text

from dashboard import queries as q
from mindmove.auth import SignedInUser, create_team, create_user
from mindmove.store import open_store
from mindmove.store.models import Patient, Session, SessionMetric, User

NOW = datetime(2026, 6, 30, 18, 0, tzinfo=timezone.utc)
BATCH = 20_000
RUNS = 5


def seed(store, *, patients: int, days: int) -> float:
    t0 = time.perf_counter()
    create_team(store, "all", by="benchmark")
    create_user(store, "bench-admin", "benchmark-password", role="admin", by="benchmark")
    rng = random.Random(1)
    with store.engine.begin() as c:
        team_id = c.execute(text("SELECT id FROM care_teams")).scalar()
        c.execute(Patient.__table__.insert(), [{"id": i + 1, "code": f"P{i + 1:05d}", "display_name": "",
                                                 "care_team_id": team_id, "created_at": NOW} for i in range(patients)])
    sid = 0
    sessions, metrics = [], []

    def flush(c):
        c.execute(Session.__table__.insert(), sessions)
        c.execute(SessionMetric.__table__.insert(), metrics)
        sessions.clear()
        metrics.clear()

    with store.engine.begin() as c:
        for p in range(1, patients + 1):
            for d in range(days):
                sid += 1
                started = NOW - timedelta(days=d, hours=rng.random() * 8)
                sessions.append({"id": sid, "patient_id": p, "kind": "practice", "exercise": "knee",
                                 "started_at": started, "ended_at": started + timedelta(minutes=10),
                                 "status": "completed", "station": "bench", "summary": {}})
                rom = 60 + 20 * (days - d) / days + rng.gauss(0, 3)
                metrics.append({"session_id": sid, "name": "right_knee_flexion_deg", "min_deg": 5.0,
                                "max_deg": 5.0 + rom, "rom_deg": rom, "safe_min_deg": 0.0, "safe_max_deg": 95.0,
                                "time_in_range_pct": 95.0, "range_exceeded": rom > 90})
                if len(sessions) >= BATCH:
                    flush(c)
        if sessions:
            flush(c)
    with store.engine.begin() as c:
        c.execute(text("ANALYZE"))
    return time.perf_counter() - t0


def timed(fn) -> tuple[float, object]:
    times, result = [], None
    for _ in range(RUNS):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def run(url: str, label: str, *, patients: int, days: int) -> None:
    store = open_store(url)
    try:
        seed_s = seed(store, patients=patients, days=days)
        with store.session() as db:
            uid = db.query(User.id).filter(User.username == "bench-admin").scalar()
        admin = SignedInUser(id=uid, username="bench-admin", role="admin", client="benchmark")
        list_s, df = timed(lambda: q.list_patients(store, admin, now=NOW))
        mob_s, mob = timed(lambda: q.compute_mobility(store, admin, "P00500"))
        print(f"{label}: seeded {patients} patients x {days} days = {patients * days} sessions in {seed_s:.1f} s")
        print(f"{label}: patient list   {list_s * 1000:8.1f} ms  ({len(df)} rows)   target < 1000 ms")
        print(f"{label}: mobility       {mob_s * 1000:8.1f} ms  ({len(mob)} rows)   target < 1000 ms")
    finally:
        store.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-url", help="a PostgreSQL URL (postgresql+psycopg://...) to benchmark as well")
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--days", type=int, default=365)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{Path(tmp) / 'scale.db'}", "SQLite", patients=args.patients, days=args.days)
    if args.pg_url:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg_url)
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            sep = "&" if "?" in args.pg_url else "?"
            run(f"{args.pg_url}{sep}options=-csearch_path%3D{schema}", "PostgreSQL",
                patients=args.patients, days=args.days)
        finally:
            with admin.begin() as c:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
