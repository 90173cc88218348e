"""Optional gentle sound (off by default): a soft tone at each phase change, and a quiet
chime (two soft rising notes) on a completed repetition.

Tones are generated with numpy (a sine with raised-cosine fades, quiet); playing them needs an
audio backend. :func:`open_sound` uses ``sounddevice`` when it is installed and an output
device exists, and otherwise returns a silent player (logged once), so a station without
speakers still runs the session. A device that fails in the middle of a session (unplugged
headphones) makes the player go silent, logged once: sound never stops a session.
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


def _audio_errors(sd) -> tuple[type[BaseException], ...]:
    """What ``sounddevice`` raises when there is no usable device: ``PortAudioError`` (not an
    OSError), and OSError / ValueError from the library and device lookups."""
    port_audio = getattr(sd, "PortAudioError", None)
    errors: tuple[type[BaseException], ...] = (OSError, ValueError)
    if isinstance(port_audio, type) and issubclass(port_audio, BaseException):
        errors += (port_audio,)
    return errors


class SoundDevicePlayer:
    """Plays through ``sounddevice`` (``sd``: the module, injectable); silent from the first
    playback error on (logged once)."""

    def __init__(self, sd) -> None:
        self._sd = sd
        self._errors = _audio_errors(sd)
        self._tones = {p: compute_tone(f, TONE_S) for p, f in PHASE_TONES_HZ.items()}
        self._chime = compute_chime()
        self.failed = False

    def _play(self, samples: np.ndarray) -> None:
        if self.failed:
            return
        try:
            self._sd.play(samples, SAMPLE_RATE_HZ, blocking=False)
        except self._errors as exc:
            self.failed = True
            log.warning("sound is off for the rest of the session: the audio output failed (%s)", exc)

    def phase_change(self, phase: str) -> None:
        tone = self._tones.get(phase)
        if tone is not None:
            self._play(tone)

    def chime(self) -> None:
        self._play(self._chime)


def open_sound(*, backend=None) -> SoundPlayer:
    """The sounddevice player when usable, else a silent one. ``backend``: a module with
    sounddevice's ``query_devices``/``play`` (the hardware seam; default ``sounddevice``)."""
    sd = backend
    try:
        if sd is None:
            import sounddevice as sd
    except (ImportError, OSError) as exc:  # not installed, or no PortAudio library
        log.warning("sound is off: no audio output available (%s)", exc)
        return SilentPlayer()
    try:
        sd.query_devices(kind="output")
    except _audio_errors(sd) as exc:
        log.warning("sound is off: no audio output available (%s)", exc)
        return SilentPlayer()
    return SoundDevicePlayer(sd)
