"""Camera set-ups in the store: one distance scale (metres per pixel) per named set-up.

The scale is measured by :mod:`calibration.scale` (which knows nothing of the database);
this module stores it (one row per name, replaced when measured again) and reads it back.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from sqlalchemy import select

from calibration.scale import CameraSetupRecord, validate_camera_setup
from mindmove.store.models import CameraSetup, as_utc

log = logging.getLogger(__name__)


def _record(row: CameraSetup) -> CameraSetupRecord:
    return CameraSetupRecord(name=row.name, metres_per_pixel=row.metres_per_pixel, method=row.method,
                             detail=dict(row.detail or {}), created_by=row.created_by, created_at=as_utc(row.created_at))


def save_camera_setup(store, name: str, metres_per_pixel: float, *, method: str, by: str,
                      detail: dict | None = None) -> CameraSetupRecord:
    """Store (or replace) the scale of the camera set-up ``name``."""
    name = validate_camera_setup(name, metres_per_pixel, method=method, by=by)
    with store.session() as db:
        row = db.scalar(select(CameraSetup).where(CameraSetup.name == name))
        if row is None:
            row = CameraSetup(name=name)
            db.add(row)
        row.metres_per_pixel = float(metres_per_pixel)
        row.method = method
        row.detail = dict(detail or {})
        row.created_by = by.strip()
        row.created_at = datetime.now(timezone.utc)
        db.flush()
        record = _record(row)
    log.info("Stored camera set-up %s: %.6f m/px (%s)", name, metres_per_pixel, method)
    return record


def load_camera_setup(store, name: str, /) -> CameraSetupRecord | None:
    """The stored scale of set-up ``name``, or None."""
    with store.session() as db:
        row = db.scalar(select(CameraSetup).where(CameraSetup.name == name))
        return None if row is None else _record(row)
