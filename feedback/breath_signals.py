"""What a breathing signal is, and so which way an inhalation goes: the physics, not a guess.

Each kind names how the sensor responds to an inhalation (``polarity``: ``"normal"`` = the
recorded value rises, ``"inverted"`` = it falls, ``"auto"`` = no fixed sign, decided from the
waveform's shape with a stated confidence, see :mod:`feedback.breath_polarity`) and what the
waveform looks like (``shape``), which decides how onsets are timed
(:mod:`feedback.breath_detect`):

- ``volume``: follows lung volume (a stretch or force belt, impedance); onsets at the turning
  points, the inhale onset at the end of the end-expiratory pause;
- ``flow``: follows airflow (a pneumotachograph, a nasal pressure cannula); integrated to a
  volume-like signal before detection, so onsets are the flow reversals;
- ``edge``: flat stretches joined by sharp edges (capnography); onsets at the foot of each edge.
"""

from __future__ import annotations

from typing import Literal, get_args

from dataclasses import dataclass

from core.errors import ValidationError
from core.signals import BREATH_SIGNALS

Polarity = Literal["auto", "normal", "inverted"]  # normal: a rise is an inhalation
POLARITIES: tuple[str, ...] = get_args(Polarity)


@dataclass(frozen=True)
class SignalKind:
    name: str
    polarity: str  # "normal" | "inverted" | "auto"
    shape: str  # "volume" | "flow" | "edge"
    why: str  # the physics, shown in docs and the summary


SIGNAL_KINDS: dict[str, SignalKind] = {k.name: k for k in (
    SignalKind("belt", "normal", "volume",
               "a chest or abdominal belt stretches on inhalation: its force or length rises"),
    SignalKind("impedance", "normal", "volume",
               "transthoracic impedance rises as the lungs fill with air (impedance pneumography)"),
    SignalKind("airflow", "inverted", "flow",
               "nasal airflow by pressure: inhaling draws the pressure at the nostrils below "
               "ambient, so inspiratory flow points down (use --polarity normal for a flow "
               "meter that records inspiration as positive)"),
    SignalKind("co2", "inverted", "edge",
               "exhaled CO2 drops to the inspired level when inhalation starts and rises when "
               "alveolar gas is breathed out"),
    SignalKind("thermistor", "inverted", "volume",
               "a nasal thermistor cools as room air is drawn in and warms on exhalation"),
    SignalKind("accelerometer", "auto", "volume",
               "a chest accelerometer sees the chest tilt against gravity, whose sign depends on "
               "posture and on how the sensor sits, so no sign is fixed: the shape decides"),
    SignalKind("auto", "auto", "volume",
               "an unknown signal: treated as volume-like, its polarity decided from its shape"),
)}
SIGNALS = BREATH_SIGNALS  # the same names, in the same order, as SIGNAL_KINDS (a test checks)


def signal_kind(name: str, /) -> SignalKind:
    """The :class:`SignalKind` called ``name``; a one-line error for any other name."""
    kind = SIGNAL_KINDS.get(str(name).strip().lower())
    if kind is None:
        raise ValidationError(f"Breath signal is one of {', '.join(SIGNALS)}, but got {name!r}: "
                              "say what the sensor measures (auto if unknown).")
    return kind


def resolve_polarity(kind: SignalKind, polarity: str | None, /) -> str:
    """The polarity to use: ``polarity`` when given (an override for an unusual device or
    sign convention), else the kind's own."""
    if polarity is None:
        return kind.polarity
    if polarity not in POLARITIES:
        raise ValidationError(f"Breath polarity is one of {', '.join(POLARITIES)}, but got {polarity!r}.")
    return polarity
