"""Guided range capture and neutral capture on synthetic streams with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from calibration.capture import NeutralCapture, RangeCapture
from core.errors import ValidationError

RATE_HZ = 30.0


def _reps(peaks_deg, *, rest_deg=5.0, rep_s=4.0, pause_s=1.0, noise_deg=1.0, seed=0):
    """Angles of slow raise-and-lower repetitions (raised cosine) with rests between them."""
    rng = np.random.default_rng(seed)
    parts = [np.full(int(pause_s * RATE_HZ), rest_deg)]
    for peak in peaks_deg:
        phase = np.linspace(0, 2 * np.pi, int(rep_s * RATE_HZ))
        parts.append(rest_deg + (peak - rest_deg) * (1 - np.cos(phase)) / 2)
        parts.append(np.full(int(pause_s * RATE_HZ), rest_deg))
    angle = np.concatenate(parts) + rng.normal(0, noise_deg, sum(p.size for p in parts))
    return np.arange(angle.size) / RATE_HZ, angle


def _feed(capture, t_s, angle):
    for t, a in zip(t_s, angle):
        capture.update(float(t), float(a))
    return capture


def test_proposal_is_the_median_of_peaks_and_ignores_a_spike():
    t, angle = _reps([100.0, 112.0, 106.0])
    spike_at = int(np.argmin(np.abs(t - 3.0)))  # on the way up of the first repetition
    angle[spike_at] = 175.0
    cap = _feed(RangeCapture(motion="right_shoulder_flexion"), t, angle)
    proposal = cap.proposal()
    assert len(proposal.peaks_deg) == 3
    assert proposal.range.max_deg == pytest.approx(106.0, abs=2.0)
    assert proposal.range.min_deg == pytest.approx(5.0, abs=2.0)
    assert proposal.observed_max_deg < 120.0  # the spike never reached the smoothed angle
    assert cap.propose() == proposal.range


def test_a_spike_at_the_top_of_one_repetition_cannot_move_the_proposal():
    t, angle = _reps([90.0, 90.0, 90.0], noise_deg=0.5)
    peak_frames = np.argsort(angle)[-1]
    angle[peak_frames - 1: peak_frames + 2] = 160.0  # three wrong frames at a peak
    proposal = _feed(RangeCapture(motion="left_shoulder_abduction"), t, angle).proposal()
    assert proposal.range.max_deg == pytest.approx(90.0, abs=2.0)


def test_proposal_refused_when_visible_less_than_most_of_the_time():
    t, angle = _reps([100.0, 100.0, 100.0])
    angle[: int(0.4 * angle.size)] = np.nan
    cap = _feed(RangeCapture(motion="right_shoulder_flexion"), t, angle)
    assert cap.visible_fraction == pytest.approx(0.6, abs=0.01)
    with pytest.raises(ValidationError, match=r"visible in 60% of \d+ frames, expected at least 70%"):
        cap.propose()


def test_short_gaps_in_visibility_are_tolerated():
    t, angle = _reps([100.0, 104.0, 102.0])
    angle[::5] = np.nan  # 20% unseen, spread out
    assert _feed(RangeCapture(), t, angle).propose().max_deg == pytest.approx(102.0, abs=2.0)


def test_proposal_refused_with_too_few_repetitions_or_no_movement():
    t, angle = _reps([100.0])
    with pytest.raises(ValidationError, match=r"Expected 3 slow repetitions of right_elbow_flexion, but found 1"):
        _feed(RangeCapture(motion="right_elbow_flexion"), t, angle).propose()
    still = np.full(300, 40.0)
    with pytest.raises(ValidationError, match="but found 0"):
        _feed(RangeCapture(), np.arange(300) / RATE_HZ, still).propose()
    assert _feed(RangeCapture(min_repetitions=1), t, angle).propose().max_deg == pytest.approx(100.0, abs=2.0)


def test_proposal_beyond_physiological_limit_is_refused():
    t, angle = _reps([165.0, 166.0, 164.0])
    with pytest.raises(ValidationError, match="physiological limit of 150 deg"):
        _feed(RangeCapture(motion="left_knee_flexion"), t, angle).propose()


def test_two_directions_motion_gets_both_ends():
    # neck rotation: turn right to +50, back through 0 to -40, three times
    t = np.arange(0, 15, 1 / RATE_HZ)
    angle = 45 * np.sin(2 * np.pi * t / 5) + 5
    rng = _feed(RangeCapture(motion="neck_rotation"), t, angle).propose()
    assert rng.max_deg == pytest.approx(50.0, abs=2.0)
    assert rng.min_deg == pytest.approx(-40.0, abs=2.0)


def _neutral_frames(moving: bool, *, duration_s=5.0, seed=1):
    rng = np.random.default_rng(seed)
    for t in np.arange(0, duration_s + 1e-9, 1 / RATE_HZ):
        sway = 20 * math.sin(2 * math.pi * t / 2.5) if moving else 0.0
        yield t, {"trunk_forward_lean": 3.0 + rng.normal(0, 0.8) + sway,
                  "neck_flexion": 10.0 + rng.normal(0, 1.0),
                  "right_knee_flexion": 2.0 + rng.normal(0, 1.0)}


def test_neutral_accepted_when_still():
    cap = NeutralCapture(duration_s=5.0)
    for t, a in _neutral_frames(False):
        cap.update(t, a)
    result = cap.result()
    assert result["trunk_forward_lean"] == pytest.approx(3.0, abs=0.5)
    assert result["neck_flexion"] == pytest.approx(10.0, abs=0.5)
    assert set(result) == {"trunk_forward_lean", "neck_flexion", "right_knee_flexion"}


def test_neutral_refused_when_moving():
    cap = NeutralCapture(duration_s=5.0)
    for t, a in _neutral_frames(True):
        cap.update(t, a)
    with pytest.raises(ValidationError, match=r"moved during the neutral capture: trunk_forward_lean varied by \d+ deg"):
        cap.result()


def test_neutral_refused_when_too_short_or_not_visible():
    cap = NeutralCapture(duration_s=5.0)
    for t, a in _neutral_frames(False, duration_s=2.0):
        cap.update(t, a)
    with pytest.raises(ValidationError, match=r"Expected 5 s of stillness, but got 2.0 s"):
        cap.result()
    cap = NeutralCapture(duration_s=5.0)
    for i, (t, a) in enumerate(_neutral_frames(False)):
        cap.update(t, a if i % 2 else {k: math.nan for k in a})
    with pytest.raises(ValidationError, match="not visible enough"):
        cap.result()
    cap = NeutralCapture(duration_s=5.0, required=("left_knee_flexion",))
    for t, a in _neutral_frames(False):
        cap.update(t, a)
    with pytest.raises(ValidationError, match=r"left_knee_flexion visible in only 0% of frames"):
        cap.result()



SHELL_PACKAGES = ("sqlalchemy", "alembic", "mindmove", "dashboard")


def _shell_packages_loaded_by(module: str) -> list[str]:
    """Which of SHELL_PACKAGES a fresh interpreter has loaded after ``import module``."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    probe = f"import sys, {module}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({SHELL_PACKAGES!r}))))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=repo, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin"})
    return out.stdout.split()


@pytest.mark.parametrize("module", ["calibration.capture", "calibration.profile", "calibration.scale",
                                    "calibration.guided", "calibration.limits"])
def test_importing_calibration_loads_no_database_settings_or_shell(module):
    """Importing the pure calibration code pulls in neither SQLAlchemy nor the store, auth or settings."""
    assert _shell_packages_loaded_by(module) == []


def test_the_import_probe_sees_the_database_when_it_is_loaded():
    assert _shell_packages_loaded_by("mindmove.store.profiles") == ["mindmove", "sqlalchemy"]
