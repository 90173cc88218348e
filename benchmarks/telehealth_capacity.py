"""Capacity of one `mindmove serve`: N simulated patients streaming recorded landmarks at 30 Hz.

    .venv/bin/python benchmarks/telehealth_capacity.py [--patients 50] [--seconds 30] [--workers N]
        [--video ../shared/data/video/pose2sim_lunge_cam01.mp4] [--no-browser]

1. Records landmarks once: MediaPipe (the offline .task bundle the server serves to browsers)
   over VIDEO, downscaled to 360 px wide as a webcam page would see it.
2. Seeds a throw-away clinic (SQLite in a temporary folder): N patients, each with a home
   programme and a bound device; starts ``mindmove serve`` on loopback (the server process and
   its pipeline workers; ``--workers 0`` runs the pipelines in the server process itself).
3. N WebSocket clients (asyncio, in this process) each start a session and send one frame a
   message at ``--rate-hz``, the recorded landmarks looped, for ``--seconds`` (the first
   ``--warmup-s`` not counted). Prints the server-side latency of each frame (``srv_ms``: from
   the message being read to the reply being ready, worker round trip included), the round
   trip the clients saw (an upper bound: the clients share the 2 cores), the CPU seconds of
   the server and its workers per patient, and the load average before and after.
4. Unless ``--no-browser``: the in-browser pose time per frame in headless Chromium (the page's
   own ``detectForVideo`` timings, fake camera playing VIDEO), against bare MediaPipe in
   Python on the same frames.

Target (issue 13): at least 50 concurrent patients, p95 server-side latency under 50 ms.
Bounded: at most 200 patients and 300 s; loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

MAX_PATIENTS, MAX_SECONDS = 200, 300.0
EXERCISE = "standing_shoulder_flexion"


def record_landmarks(video: Path, bundle: Path, *, width: int = 360) -> list[dict | None]:
    """The wire poses of every frame of ``video`` (MediaPipe Tasks, VIDEO mode, Python)."""
    import cv2

    from sensing.pose import TasksPoseEstimator
    from telehealth_support import wire_pose

    cap = cv2.VideoCapture(str(video))
    poses = []
    with TasksPoseEstimator(bundle) as estimator:
        k = 0
        while True:
            ok, image = cap.read()
            if not ok:
                break
            h, w = image.shape[:2]
            size = (width, int(round(h * width / w / 2)) * 2)
            pose = estimator.estimate(cv2.resize(image, size, interpolation=cv2.INTER_AREA), k / 30.0)
            poses.append(wire_pose(pose, size))
            k += 1
    cap.release()
    return poses


def seed(url: str, n: int) -> list[str]:
    """N patients with a programme and a bound device; returns their device cookies."""
    from mindmove.auth import create_patient, create_team
    from mindmove.programme import HomeProgrammePlan, parse_prescription, save_programme
    from mindmove.store import open_store
    from mindmove.telehealth.access import create_invitation, redeem_invitation

    store = open_store(url)
    cookies = []
    try:
        create_team(store, "bench", by="bench")
        plan = HomeProgrammePlan(items=(parse_prescription(f"{EXERCISE}=2x8"),), days_per_week=5)
        for k in range(n):
            code = f"B{k:03d}"
            create_patient(store, code, team="bench", by="bench")
            save_programme(store, code, plan, by="bench")
            grant = redeem_invitation(store, create_invitation(store, code, by="bench").token, label="bench")
            cookies.append(f"mindmove_device={grant.token}")
    finally:
        store.dispose()
    return cookies


def cpu_seconds(pid: int) -> dict[int, float]:
    """User + system CPU seconds of ``pid`` and of its children alive now, by pid (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            out[p] = (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError):
            pass
    return out


async def open_patient(ws_url: str, cookie: str, results: dict):
    """A connected patient with a started session (None when refused)."""
    from websockets.asyncio.client import connect

    ws = await connect(ws_url, additional_headers={"Cookie": cookie}, max_size=None, open_timeout=120)
    await ws.send(json.dumps({"type": "start", "exercise": EXERCISE}))
    reply = json.loads(await ws.recv())
    if reply.get("type") != "started":
        results["errors"].append(reply)
        await ws.close()
        return None
    return ws


async def stream(ws, poses_json: list[str], *, rate_hz: float, t0: float, until: float, measure_from: float,
                 results: dict, offset: int) -> None:
    """One frame a message at ``rate_hz`` from ``t0`` (the loop's clock) until ``until``."""
    loop = asyncio.get_running_loop()
    seq = 0
    while True:
        due = t0 + seq / rate_hz
        if due >= until:
            break
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        p = poses_json[(seq + offset) % len(poses_json)]
        sent = loop.time()
        await ws.send(f'{{"type":"frames","frames":[{{"seq":{seq},"t":{seq / rate_hz:.4f},"p":{p}}}]}}')
        reply = json.loads(await ws.recv())
        if sent >= measure_from:
            if reply.get("type") == "view":
                results["srv_ms"].append(reply["srv_ms"])
                results["rtt_ms"].append((loop.time() - sent) * 1000.0)
            else:
                results["refused"].append(reply.get("code"))
        seq += 1
    await ws.send(json.dumps({"type": "finish"}))
    await ws.recv()
    await ws.close()
    results["frames"] += seq


async def run_clients(ws_url: str, cookies: list[str], poses: list, *, rate_hz: float, seconds: float,
                      warmup_s: float, server_pid: int) -> dict:
    loop = asyncio.get_running_loop()
    results = {"srv_ms": [], "rtt_ms": [], "refused": [], "errors": [], "frames": 0, "server_pid": server_pid}
    poses_json = [json.dumps(p, separators=(",", ":")) for p in poses]
    sockets = await asyncio.gather(*[open_patient(ws_url, c, results) for c in cookies])  # every session started
    start = loop.time() + 0.5
    until, measure_from = start + seconds, start + warmup_s

    async def measure_cpu():
        await asyncio.sleep(max(0.0, measure_from - loop.time()))
        results["cpu0"], results["load0"], results["client0"] = cpu_seconds(server_pid), os.getloadavg(), time.process_time()
        await asyncio.sleep(max(0.0, until - loop.time()))
        results["cpu1"], results["load1"], results["client1"] = cpu_seconds(server_pid), os.getloadavg(), time.process_time()

    # each patient's frames start at its own phase of the 33 ms tick, as independent cameras would
    await asyncio.gather(measure_cpu(), *[
        stream(ws, poses_json, rate_hz=rate_hz, t0=start + (k % 33) / 1000.0, until=until, measure_from=measure_from,
               results=results, offset=k * 7) for k, ws in enumerate(sockets) if ws is not None])
    results["measured_s"] = until - measure_from
    return results


def browser_pose_times(server, cookie_token: str, video: Path, bundle: Path, tmp: Path, *, seconds: float = 15.0):
    """The page's own detectForVideo times in headless Chromium, and bare Python MediaPipe."""
    from playwright.sync_api import sync_playwright

    from sensing.pose import TasksPoseEstimator
    from telehealth_support import read_y4m, write_y4m

    clip = tmp / "clip.y4m"
    write_y4m(video, clip, width=360)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=[
            "--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={clip}"])
        try:
            page = browser.new_page()
            page.set_default_timeout(120_000)
            page.goto(f"{server.base}/join#{cookie_token}")
            page.wait_for_selector("#screen-plan:not([hidden])")
            page.locator("#plan-items button").first.click()
            page.locator("#checkin-skip").click()
            page.locator("#checkin-skip").click()
            page.wait_for_selector("#screen-practice:not([hidden])")
            page.wait_for_timeout(seconds * 1000)
            browser_ms = page.evaluate("window.mindmove.stats.detectMs.slice()")
        finally:
            browser.close()
    frames = read_y4m(clip)
    bare = []
    with TasksPoseEstimator(bundle) as estimator:
        for k, image in enumerate(frames * 2):
            t = time.perf_counter()
            estimator.estimate(image, k / 30.0)
            bare.append((time.perf_counter() - t) * 1000.0)
    return np.array(browser_ms[5:]), np.array(bare[len(frames):])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--warmup-s", type=float, default=5.0)
    ap.add_argument("--rate-hz", type=float, default=30.0)
    ap.add_argument("--workers", type=int, default=None, help="pipeline processes (default: one per core)")
    ap.add_argument("--video", type=Path, default=REPO.parent / "shared/data/video/pose2sim_lunge_cam01.mp4")
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    if not 1 <= args.patients <= MAX_PATIENTS or not 5 < args.seconds <= MAX_SECONDS:
        ap.error(f"--patients is 1-{MAX_PATIENTS} and --seconds 5-{MAX_SECONDS:g}")
    tmp = Path(tempfile.mkdtemp(prefix="mindmove-telehealth-bench-"))
    os.environ["MINDMOVE_DATA_DIR"] = str(tmp / "data")
    from sensing.pose import offline_task_bundle
    from telehealth_support import ServeProcess

    bundle = offline_task_bundle(tmp / "data")
    poses = record_landmarks(args.video, bundle)
    print(f"recorded landmarks: {len(poses)} frames of {args.video.name}, a person in {sum(p is not None for p in poses)}")
    url = f"sqlite:///{tmp / 'clinic.db'}"
    cookies = seed(url, args.patients + 1)
    workers = args.workers if args.workers is not None else _default_workers()
    server = ServeProcess(tmp / "data", url, workers=workers, bundle=bundle).start()
    try:
        results = asyncio.run(run_clients(server.ws_url, cookies[:args.patients], poses, rate_hz=args.rate_hz,
                                          seconds=args.seconds, warmup_s=args.warmup_s, server_pid=server.proc.pid))
        report(args, results, workers=server.workers)
        if not args.no_browser:
            from mindmove.store import open_store
            from mindmove.telehealth.access import create_invitation

            store = open_store(url)
            try:
                token = create_invitation(store, f"B{args.patients:03d}", by="bench").token
            finally:
                store.dispose()
            browser_ms, bare_ms = browser_pose_times(server, token, args.video, bundle, tmp)
            print(f"in-browser pose (headless Chromium, CPU WebAssembly, 360x640): {len(browser_ms)} frames, "
                  f"p50 {np.percentile(browser_ms, 50):.1f} ms, p95 {np.percentile(browser_ms, 95):.1f} ms per frame")
            print(f"bare MediaPipe in Python on the same frames: p50 {np.percentile(bare_ms, 50):.1f} ms, "
                  f"p95 {np.percentile(bare_ms, 95):.1f} ms; ratio browser/Python p50 "
                  f"{np.percentile(browser_ms, 50) / np.percentile(bare_ms, 50):.2f}")
    finally:
        server.stop()
    return 0


def _default_workers() -> int:
    from mindmove.telehealth.server import default_workers

    return default_workers()


def report(args, r: dict, *, workers: int) -> None:
    srv, rtt = np.array(r["srv_ms"]), np.array(r["rtt_ms"])
    by_pid = {p: r["cpu1"][p] - r["cpu0"].get(p, 0.0) for p in r["cpu1"]}
    cpu = sum(by_pid.values())
    server_pid = r["server_pid"]
    expected = args.patients * args.rate_hz * r["measured_s"]
    print(f"patients {args.patients} at {args.rate_hz:g} Hz for {r['measured_s']:.0f} s (after {args.warmup_s:g} s "
          f"warm-up), pipeline workers {workers}: {len(srv)} frames answered of {expected:.0f} due, "
          f"{len(r['refused'])} refused, {len(r['errors'])} sessions not started")
    if len(srv):
        print(f"server-side latency (srv_ms): p50 {np.percentile(srv, 50):.2f} ms, p95 {np.percentile(srv, 95):.2f} ms, "
              f"p99 {np.percentile(srv, 99):.2f} ms (target p95 < 50 ms)")
        print(f"client round trip on loopback: p50 {np.percentile(rtt, 50):.2f} ms, p95 {np.percentile(rtt, 95):.2f} ms")
    print(f"CPU of the server and its workers: {cpu / r['measured_s']:.2f} cores, "
          f"{100.0 * cpu / r['measured_s'] / args.patients:.2f}% of a core per patient "
          f"(the server's network process {by_pid.get(server_pid, 0.0) / r['measured_s']:.2f} cores, "
          f"pipeline workers {(cpu - by_pid.get(server_pid, 0.0)) / r['measured_s']:.2f})")
    print(f"CPU of the simulated patients (this process, on the same cores): "
          f"{(r['client1'] - r['client0']) / r['measured_s']:.2f} cores")
    print(f"load average (1 min) before {r['load0'][0]:.2f}, after {r['load1'][0]:.2f}; cores {os.cpu_count()}")


if __name__ == "__main__":
    sys.exit(main())
