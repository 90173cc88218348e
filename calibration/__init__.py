"""What "safe" and "neutral" mean for one patient.

- :mod:`calibration.limits`: physiological limits (AAOS normal range of motion) and
  conservative defaults;
- :mod:`calibration.profile`: the per-patient profile (value types, validation, JSON form;
  stored by :mod:`mindmove.store.profiles`);
- :mod:`calibration.capture`: guided range and neutral-posture capture (streaming, pure);
- :mod:`calibration.scale`: metres per pixel for a camera set-up (stored by
  :mod:`mindmove.store.camera_setups`).

Nothing here imports the database, the settings or the command line.
"""
