"""MindMove and NeuroKit2 side by side on every shared breathing recording (prints; no asserts).

    .venv/bin/python benchmarks/breath_vs_neurokit.py

For each record: breaths counted, median breath-by-breath rate, median inhale and exhale onset
error, against the reference named in the last column (``benchmarks/breath_references.py``
says how each is derived: CO2 edges, or a breath list checked by eye with the timing rule of
docs/breath.md). Methods: MindMove's ``analyze_breath`` with the record's ``signal`` kind;
NeuroKit2 ``rsp_clean`` + ``rsp_peaks`` with ``khodadad2018`` and with ``biosppy`` (its troughs
are inhale onsets, its peaks exhale onsets), fed the same signal turned inhalation-up (airflow
integrated, CO2 negated, since NeuroKit2 expects a belt). The two NeuroKit files carry ECG:
their ECG-derived respiration rate (NeuroKit2 ``ecg_rsp``, vangent2019) is printed as a
cross-check of the rate. Onsets are matched to the nearest reference onset within half the
median reference breath; stretches marked unscored in a reference are left out.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from breath_references import DATA, RECORDS, co2_reference, inhalation_up, load_record, load_reference  # noqa: E402

from feedback.breath import analyze_breath  # noqa: E402

SIGNALS = {"resp4_CO2": "co2", "resp3_belt": "belt", "resp1_airflow": "airflow", "biosppy_chest_belt": "belt",
           "bio_resting_5min": "belt", "bio_resting_8min": "belt"}
REFERENCE_KIND = {"resp4_CO2": "CO2 edges (midpoint crossings)", "bio_resting_5min": "by eye + rule; ECG-derived rate",
                  "bio_resting_8min": "by eye + rule; ECG-derived rate"}


def record_signal(name: str) -> tuple[np.ndarray, float]:
    if name == "resp4_CO2":
        return np.load(DATA / "resp4_CO2.npy").astype(float), 60.0
    return load_record(name)


def reference(name: str, x: np.ndarray, rate_hz: float) -> dict:
    return co2_reference(x, rate_hz) if name == "resp4_CO2" else load_reference(name)


def _scored(times: np.ndarray, ref: dict, span: tuple[float, float]) -> np.ndarray:
    keep = (times >= span[0]) & (times <= span[1])
    for a, b in ref["unscored"]:
        keep &= ~((times >= a) & (times <= b))
    return times[keep]


def score(inhale: np.ndarray, exhale: np.ndarray, ref: dict) -> dict:
    """Count, median rate and onset errors of detected onsets against ``ref``."""
    r_in = ref["inhale"]
    period = float(np.median(np.diff(r_in)))
    span = (r_in[0] - period / 2, r_in[-1] + period / 2)
    r_in_s, d_in_s = _scored(r_in, ref, span), _scored(np.asarray(inhale, float), ref, span)

    def errors(found, truth):
        found = np.asarray(found, float)
        if found.size == 0:
            return np.array([np.nan])
        e = np.array([found[np.argmin(np.abs(found - r))] - r for r in _scored(truth, ref, span)])
        return e[np.abs(e) <= period / 2]

    def median_rate(onsets):
        d = np.diff(onsets)
        mids = onsets[:-1] + d / 2
        ok = np.ones(d.size, bool)
        for a, b in ref["unscored"]:
            ok &= ~((onsets[1:] > a) & (onsets[:-1] < b))
        return float(np.median(60.0 / d[ok & (mids > span[0])])) if ok.any() else np.nan

    e_in, e_ex = errors(d_in_s, r_in), errors(exhale, ref["exhale"])
    return {"count": int(d_in_s.size), "ref_count": int(r_in_s.size),
            "count_err_pct": 100.0 * (d_in_s.size - r_in_s.size) / r_in_s.size,
            "rate": median_rate(np.sort(np.asarray(inhale, float))), "ref_rate": median_rate(r_in),
            "inhale_err_s": float(np.median(np.abs(e_in))), "exhale_err_s": float(np.median(np.abs(e_ex))),
            "matched": int(np.isfinite(e_in).sum())}


def run_mindmove(name: str, x: np.ndarray, rate_hz: float):
    a = analyze_breath(np.arange(x.size) / rate_hz, x, rate_hz=rate_hz, signal=SIGNALS[name])
    return ([e.t_s for e in a.events if e.kind == "inhale_onset"],
            [e.t_s for e in a.events if e.kind == "exhale_onset"])


def run_neurokit(name: str, x: np.ndarray, rate_hz: float, method: str):
    import neurokit2 as nk

    u = -x if name == "resp4_CO2" else inhalation_up(name, x, rate_hz)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean = nk.rsp_clean(u, sampling_rate=int(rate_hz), method=method)
        _, info = nk.rsp_peaks(clean, sampling_rate=int(rate_hz), method=method)
    return np.asarray(info["RSP_Troughs"]) / rate_hz, np.asarray(info["RSP_Peaks"]) / rate_hz


def ecg_derived_rate(name: str) -> float | None:
    """Median rate of NeuroKit2's ECG-derived respiration (vangent2019), or None without ECG."""
    if not name.startswith("bio_resting"):
        return None
    import neurokit2 as nk
    import pandas as pd

    ecg = pd.read_csv(DATA / RECORDS[name][0])["ECG"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        signals, _ = nk.ecg_process(ecg, sampling_rate=100)
        edr = nk.ecg_rsp(signals["ECG_Rate"], sampling_rate=100, method="vangent2019")
        _, info = nk.rsp_peaks(nk.rsp_clean(edr, sampling_rate=100), sampling_rate=100)
    troughs = np.asarray(info["RSP_Troughs"]) / 100.0
    return float(np.median(60.0 / np.diff(troughs)))


def main() -> None:
    names = ["resp4_CO2", *RECORDS]
    print(f"{'record':20s} {'method':14s} {'breaths':>12s} {'err%':>6s} {'rate':>13s} {'inhale s':>9s} "
          f"{'exhale s':>9s}  reference")
    for name in names:
        x, rate_hz = record_signal(name)
        ref = reference(name, x, rate_hz)
        for method in ("mindmove", "khodadad2018", "biosppy"):
            t0 = time.perf_counter()
            found = run_mindmove(name, x, rate_hz) if method == "mindmove" else run_neurokit(name, x, rate_hz, method)
            s = score(*found, ref)
            print(f"{name:20s} {method:14s} {s['count']:5d}/{s['ref_count']:<5d} {s['count_err_pct']:+6.1f} "
                  f"{s['rate']:6.2f}/{s['ref_rate']:<6.2f} {s['inhale_err_s']:9.3f} {s['exhale_err_s']:9.3f}  "
                  f"{REFERENCE_KIND.get(name, 'by eye + timing rule')} ({time.perf_counter() - t0:.1f} s)")
        edr = ecg_derived_rate(name)
        if edr is not None:
            print(f"{name:20s} {'ECG-derived':14s} {'':12s} {'':6s} {edr:6.2f}{'':7s} (NeuroKit2 ecg_rsp, vangent2019)")


if __name__ == "__main__":
    main()
