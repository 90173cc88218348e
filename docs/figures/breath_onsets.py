"""Draw docs/figures/breath_onsets.png: where MindMove puts inhale and exhale onsets.

    .venv/bin/python docs/figures/breath_onsets.py

Three panels: an impedance-like wave (synthetic, known onsets) with a long flat pause at its
exhaled level and a heartbeat ripple, where the inhale onset is the END of the pause and not
its lowest sample; the real belt resp3 (../shared/data) with rounded turns; the real
capnogram resp4, whose onsets are the feet of its edges (CO2 falls as inhalation starts).
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from feedback.breath import analyze_breath  # noqa: E402
from synthetic.breathing import SimBreath, simulate_breathing  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "breath"


def _panel(ax, t, x, a, *, window, title, truth=None, lowest=False):
    m = (t >= window[0]) & (t <= window[1])
    ax.plot(t[m], x[m], color="0.35", lw=1.0)
    for kind, colour, marker, label in (("inhale_onset", "tab:green", "v", "inhale onset"),
                                         ("exhale_onset", "tab:red", "^", "exhale onset")):
        ts = np.array([e.t_s for e in a.events if e.kind == kind and window[0] <= e.t_s <= window[1]])
        ax.plot(ts, np.interp(ts, t, x), marker, color=colour, ms=9, label=label, ls="none")
    if truth is not None:
        ts = truth[(truth >= window[0]) & (truth <= window[1])]
        ax.vlines(ts, *ax.get_ylim(), colors="tab:green", linestyles=":", lw=1, label="true inhale onset")
    if lowest:  # the lowest sample of each pause: where a "trough" rule would put the onset
        lows = []
        for e in a.events:
            if e.kind == "inhale_onset" and window[0] + 3 <= e.t_s <= window[1]:
                seg = (t > e.t_s - 2.8) & (t <= e.t_s)
                lows.append(t[seg][np.argmin(x[seg])])
        lows = np.array(lows)
        ax.plot(lows, np.interp(lows, t, x), "x", color="tab:orange", ms=9, mew=2, label="lowest sample of the pause")
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_xlim(*window)
    ax.set_xlabel("s")
    ax.legend(fontsize=8, loc="upper right", ncols=4)


def main() -> None:
    fig, axes = plt.subplots(3, 1, figsize=(11, 9))
    wave = simulate_breathing([SimBreath(0.8, 1.5, 1.0, pause_s=2.5)] * 12, exhale_shape="passive",
                              cardiac=0.06, seed=1)
    a = analyze_breath(wave.t_s, wave.values, rate_hz=25.0, signal="impedance")
    _panel(axes[0], wave.t_s, wave.values, a, window=(8, 32), truth=wave.inhale_onsets_s, lowest=True,
           title="impedance-like (synthetic): fast rise, passive exhale, long pause at the exhaled level, heartbeat")
    x = np.load(DATA / "resp3_belt.npy")[::20]
    t = np.arange(x.size) / 50.0
    a = analyze_breath(t, x, rate_hz=50.0, signal="belt")
    _panel(axes[1], t, x, a, window=(120, 140), title="belt (resp3_belt, real): rounded turns and short pauses")
    x = np.load(DATA / "resp4_CO2.npy")
    t = np.arange(x.size) / 60.0
    a = analyze_breath(t, x, rate_hz=60.0, signal="co2")
    _panel(axes[2], t, x, a, window=(20, 36), title="capnogram (resp4_CO2, real): CO2 falls as inhalation starts")
    fig.tight_layout()
    out = Path(__file__).with_suffix(".png")
    fig.savefig(out, dpi=80)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
