"""--sound never stops a session (review item 8). sounddevice is faked at the hardware seam
(``open_sound(backend=...)``): PortAudio with no output device, and a device that fails
in the middle of a session."""

from __future__ import annotations

import logging

from feedback.sound import SAMPLE_RATE_HZ, SilentPlayer, SoundDevicePlayer, open_sound


class PortAudioError(Exception):
    """sounddevice.PortAudioError is an Exception, not an OSError."""


class FakeSoundDevice:
    PortAudioError = PortAudioError

    def __init__(self, *, has_output: bool = True, fail_after: int | None = None):
        self.has_output, self.fail_after = has_output, fail_after
        self.played: list[tuple[int, int]] = []
        self.calls = 0

    def query_devices(self, kind=None):
        if not self.has_output:
            raise PortAudioError("Error querying device -1")
        return {"name": "fake", "max_output_channels": 2}

    def play(self, samples, rate_hz, blocking=False):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise PortAudioError("Error starting stream: Device unavailable [PaErrorCode -9985]")
        self.played.append((len(samples), rate_hz))


def test_portaudio_without_output_device_gives_a_silent_player():
    player = open_sound(backend=FakeSoundDevice(has_output=False))
    assert isinstance(player, SilentPlayer)
    player.phase_change("inhale")
    player.chime()


def test_device_plays_tones_and_chimes():
    sd = FakeSoundDevice()
    player = open_sound(backend=sd)
    assert isinstance(player, SoundDevicePlayer)
    player.phase_change("inhale")
    player.phase_change("not_a_phase")  # no tone for it
    player.chime()
    assert [rate for _, rate in sd.played] == [SAMPLE_RATE_HZ, SAMPLE_RATE_HZ]
    assert sd.played[0][0] == round(0.35 * SAMPLE_RATE_HZ)


def test_device_failing_mid_session_goes_silent_and_logs_once(caplog):
    sd = FakeSoundDevice(fail_after=2)
    player = open_sound(backend=sd)
    with caplog.at_level(logging.WARNING, logger="feedback.sound"):
        for _ in range(5):
            player.phase_change("exhale")
            player.chime()
    assert len(sd.played) == 2 and sd.calls == 3  # silent after the first failure: no retry each frame
    assert player.failed
    assert len([r for r in caplog.records if "sound is off" in r.getMessage()]) == 1


def test_missing_portaudio_library_is_silent(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_portaudio(name, *args, **kwargs):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_portaudio)
    assert isinstance(open_sound(), SilentPlayer)
