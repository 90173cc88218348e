"""What "safe" and "neutral" mean for one patient.

- :mod:`calibration.limits`: physiological limits (AAOS normal range of motion) and
  conservative defaults;
- :mod:`calibration.profile`: versioned per-patient profiles in the store;
- :mod:`calibration.capture`: guided range and neutral-posture capture (streaming, pure);
- :mod:`calibration.scale`: metres per pixel for a camera set-up.
"""
