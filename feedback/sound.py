"""Optional gentle sound (off by default): a soft tone at each phase change, and a quiet
chime (two soft rising notes) on a completed repetition.

Tones are generated with numpy (a sine with raised-cosine fades, quiet); playing them needs an
audio backend. :func:`open_sound` uses ``sounddevice`` when it is installed and an output
device exists, and otherwise returns a silent player (logged once), so a station without
speakers still runs the session.
"""

from __future__ import annotations

import logging
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 22050
TONE_VOLUME = 0.15  # of full scale: soft
FADE_S = 0.08
PHASE_TONES_HZ = {"inhale": 392.0, "exhale": 329.6, "hold_after_inhale": 440.0, "hold_after_exhale": 293.7}
TONE_S = 0.35
CHIME_HZ = (523.3, 784.0)  # C5 then G5, soft
CHIME_NOTE_S = 0.22
CHIME_VOLUME = 0.08  # quieter than the breath tones


def compute_chime(*, rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """The repetition chime: two short faded notes, quieter than the phase tones."""
    return np.concatenate([compute_tone(f, CHIME_NOTE_S, rate_hz=rate_hz, volume=CHIME_VOLUME) for f in CHIME_HZ])


def compute_tone(freq_hz: float, duration_s: float, /, *, rate_hz: int = SAMPLE_RATE_HZ,
                 volume: float = TONE_VOLUME, fade_s: float = FADE_S) -> np.ndarray:
    """A float32 sine of ``duration_s`` with raised-cosine fade in and out (no clicks)."""
    n = int(round(duration_s * rate_hz))
    t = np.arange(n) / rate_hz
    tone = volume * np.sin(2 * np.pi * freq_hz * t)
    nf = min(n // 2, int(round(fade_s * rate_hz)))
    if nf > 0:
        ramp = (1 - np.cos(np.linspace(0, np.pi, nf))) / 2
        tone[:nf] *= ramp
        tone[n - nf:] *= ramp[::-1]
    return tone.astype(np.float32)


class SoundPlayer(Protocol):
    def phase_change(self, phase: str) -> None: ...

    def chime(self) -> None: ...


class SilentPlayer:
    """Plays nothing (no audio device or backend)."""

    def phase_change(self, phase: str) -> None:
        return None

    def chime(self) -> None:
        return None


class SoundDevicePlayer:
    def __init__(self, sd) -> None:
        self._sd = sd
        self._tones = {p: compute_tone(f, TONE_S) for p, f in PHASE_TONES_HZ.items()}
        self._chime = compute_chime()

    def phase_change(self, phase: str) -> None:
        tone = self._tones.get(phase)
        if tone is not None:
            self._sd.play(tone, SAMPLE_RATE_HZ, blocking=False)

    def chime(self) -> None:
        self._sd.play(self._chime, SAMPLE_RATE_HZ, blocking=False)


def open_sound() -> SoundPlayer:
    """The sounddevice player when usable, else a silent one."""
    try:
        import sounddevice as sd

        sd.query_devices(kind="output")
    except (ImportError, OSError, ValueError) as exc:
        log.warning("sound is off: no audio output available (%s)", exc)
        return SilentPlayer()
    return SoundDevicePlayer(sd)
