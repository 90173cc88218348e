"""How fast the breath analyzer runs on the real recordings (prints figures; no assertions).

    .venv/bin/python benchmarks/breath_analysis.py

Streams each file in 0.1 s chunks (as a belt delivers) and in one block, and prints the
seconds of breathing analysed per second of compute.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from feedback.breath import BreathAnalyzer, analyze_breath
from sensing.breath_source import load_breath_file

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "breath"
FILES = [("resp4_CO2.npy", 60.0), ("resp3_belt.npy", 1000.0), ("resp1_airflow.npy", 1000.0),
         ("biosppy_chest_belt.txt", None)]
CHUNK_S = 0.1


def main() -> None:
    for name, rate in FILES:
        t, x, rate_hz = load_breath_file(DATA / name, rate_hz=rate)
        start = time.perf_counter()
        analyze_breath(t, x, rate_hz=rate_hz)
        block_s = time.perf_counter() - start
        n = max(1, int(CHUNK_S * rate_hz))
        a = BreathAnalyzer(rate_hz=rate_hz)
        per_chunk = []
        for i in range(0, t.size, n):
            c0 = time.perf_counter()
            a.update(t[i:i + n], x[i:i + n])
            per_chunk.append(time.perf_counter() - c0)
        stream_s = sum(per_chunk)
        print(f"{name:24s} {t[-1]:6.0f} s at {rate_hz:6.0f} Hz: block {t[-1] / block_s:7.0f}x real time, "
              f"streamed in {CHUNK_S} s chunks {t[-1] / stream_s:6.0f}x real time, "
              f"chunk p99 {1000 * np.percentile(per_chunk, 99):.2f} ms")


if __name__ == "__main__":
    main()
