// The patient's home practice page: today's plan, the practice with the camera, check-ins.
// The camera image is drawn here and never leaves the device: only landmarks and times are sent.
import { Link } from "/js/connection.js";
import { drawFrame, drawGauge, drawPacer, drawSkeleton } from "/js/draw.js";
import { createLandmarker, toWirePose } from "/js/pose.js";

const BREATHING_TICK_MS = 100;      // guided breathing without a camera: the pacer's clock, 10 per second
const $ = (id) => document.getElementById(id);
let texts = {};
let landmarker = null;
const stats = { detectMs: [], frames: 0, found: 0 };
window.mindmove = { stats, link: null, state: "loading" };  // read by the tests and the benchmark

function t(key, params = {}) {
  let text = texts[key] ?? "";
  for (const [k, v] of Object.entries(params)) text = text.replaceAll(`{${k}}`, String(v));
  return text;
}

function show(screen) {
  for (const s of document.querySelectorAll(".screen")) s.hidden = s.id !== `screen-${screen}`;
  window.mindmove.state = screen;
}

function say(text) {
  $("message-text").textContent = text;
  show("message");
}

function fillTexts() {
  for (const el of document.querySelectorAll("[data-text]")) el.textContent = t(el.dataset.text);
}

async function getJSON(url, options) {
  const response = await fetch(url, { credentials: "same-origin", ...options });
  const body = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, body };
}

// --- joining with the clinic's one-time link ----------------------------------------------------
async function join() {
  const token = location.hash.slice(1);
  history.replaceState(null, "", "/");   // the link's token leaves the address bar at once
  if (!token) return true;
  say(t("home.connecting"));
  const { ok, body } = await getJSON("/api/join", {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ token, label: navigator.userAgent.slice(0, 150) }),
  });
  if (!ok) say(body.text || t("home.link_refused"));
  return ok;
}

// --- today's plan -------------------------------------------------------------------------------
function card(title, detail, done, onStart, doneText) {
  const li = document.createElement("li");
  li.className = "card";
  const text = document.createElement("div");
  const h = document.createElement("div");
  h.className = "title";
  h.textContent = title;
  const p = document.createElement("div");
  p.textContent = detail;
  const d = document.createElement("div");
  d.className = done ? "done" : "calm";
  d.textContent = doneText;
  text.append(h, p, d);
  const button = document.createElement("button");
  button.textContent = t("home.start");
  button.addEventListener("click", onStart);
  li.append(text, button);
  return li;
}

async function showPlan() {
  const { ok, status, body } = await getJSON("/api/me");
  if (!ok) {
    say(status === 401 ? t("home.no_device") : (body.text || t("home.server_busy")));
    return;
  }
  const plan = body.plan;
  const list = $("plan-items");
  list.replaceChildren();
  if (!plan) {
    say(t("home.no_programme"));
    return;
  }
  $("plan-day").textContent = `${t("home.today")}, ${plan.day}`;
  for (const item of plan.items) {
    const doneText = item.done ? t("home.all_done")
      : t("home.done_of", { done: item.repetitions_done, planned: item.repetitions_planned });
    list.append(card(item.title, t("home.sets_of", { sets: item.sets, repetitions: item.repetitions }), item.done,
                     () => practise({ exercise: item.exercise, side: item.side, target: item.repetitions }),
                     doneText));
  }
  if (plan.breathing_planned > 0) {
    const done = plan.breathing_done >= plan.breathing_planned;
    list.append(card(t("home.breathing", { minutes: plan.breathing_minutes }), "", done,
                     () => practise({ breathing: true, minutes: plan.breathing_minutes }),
                     t("home.breathing_done_of", { done: plan.breathing_done, planned: plan.breathing_planned })));
  }
  $("plan-week").textContent = t("home.days_this_week", { days: plan.practice_days_this_week,
                                                          planned: plan.days_per_week });
  const recent = $("recent");
  recent.replaceChildren();
  for (const s of body.sessions) {
    const li = document.createElement("li");
    const where = s.location === "home" ? t("home.at_home") : t("home.at_clinic");
    const reps = s.repetitions !== null ? `, ${t("repetitions.count_label", { count: s.repetitions })}` : "";
    li.textContent = `${s.date}: ${s.what} (${where})${reps}, ${t("home.minutes", { minutes: s.minutes })}`;
    recent.append(li);
  }
  show("plan");
}

// --- check-ins ----------------------------------------------------------------------------------
function ask(questionKey, scaleKey, low, high) {
  return new Promise((resolve) => {
    $("checkin-question").textContent = t(questionKey);
    $("checkin-scale").textContent = t(scaleKey);
    const choices = $("checkin-choices");
    choices.replaceChildren();
    for (let v = low; v <= high; v++) {
      const b = document.createElement("button");
      b.textContent = String(v);
      b.addEventListener("click", () => resolve(v));
      choices.append(b);
    }
    $("checkin-skip").onclick = () => resolve(null);
    show("checkin");
  });
}

async function checkin() {
  const pain = await ask("home.pain_question", "home.pain_scale", 0, 10);
  const mood = await ask("home.mood_question", "home.mood_scale", 1, 5);
  return { pain, mood };
}

// --- practice -----------------------------------------------------------------------------------
function onView(view, target) {
  // guided breathing has no cue of its own: the guide's words fill the cue line
  $("cue").textContent = view.cue_text || (view.gauge ? "" : view.pacer?.text || "");
  drawGauge($("gauge"), view.gauge);
  $("reps").textContent = view.repetitions !== null && view.repetitions !== undefined
    ? t("repetitions.count_label", { count: view.repetitions }) + (target ? ` / ${target}` : "") : "";
  const pacer = view.pacer;
  $("pacer").hidden = !pacer;
  $("pacer-text").hidden = !pacer;
  if (pacer) {
    drawPacer($("pacer"), pacer);
    $("pacer-text").textContent = pacer.text;
  }
}

function onStatus(state) {
  const line = $("status-line");
  line.hidden = state === "live";
  line.textContent = state === "paused" ? t("home.paused_offline") : t("home.reconnecting");
}

async function startCamera(video) {
  say(t("home.camera_ask"));
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  video.srcObject = stream;
  await video.play();
  return stream;
}

// The next camera frame and the time it was captured (the camera's clock, in performance.now()
// time), so the movement is timed by the camera, not by when this page got round to it.
function nextFrame(video) {
  return new Promise((resolve) => {
    if (video.requestVideoFrameCallback) {
      video.requestVideoFrameCallback((now, meta) => resolve(meta.captureTime ?? meta.expectedDisplayTime ?? now));
    } else {
      requestAnimationFrame((now) => resolve(now));
    }
  });
}

async function poseLoop(video, link, running) {
  let lastT = -1;
  let frameT0 = null;
  while (running.on) {
    const frameT = await nextFrame(video);
    if (!running.on) break;
    if (frameT <= lastT) continue;   // the same frame again: MediaPipe's VIDEO mode needs new times
    // The frame is copied to the screen's canvas and the pose found on that very copy, so the
    // skeleton always lies on the picture it was found in (the live video runs on meanwhile).
    const canvas = drawFrame($("skeleton"), video);
    const t0 = performance.now();
    const result = landmarker.detectForVideo(canvas, frameT);
    stats.detectMs.push(performance.now() - t0);
    if (stats.detectMs.length > 2000) stats.detectMs.shift();
    const pose = toWirePose(result);
    stats.frames += 1;
    stats.found += pose ? 1 : 0;
    drawSkeleton(canvas, pose);
    if (running.record) {
      frameT0 = frameT0 ?? frameT;
      link.push((frameT - frameT0) / 1000, pose);
    }
    lastT = frameT;
  }
}

async function breathingLoop(link, running, minutes) {
  const endAt = running.t0 + minutes * 60000;
  while (running.on && performance.now() < endAt) {
    await new Promise((r) => setTimeout(r, BREATHING_TICK_MS));
    const now = performance.now();
    link.push((now - running.t0) / 1000, null);
    const left = Math.max(0, Math.round((endAt - now) / 1000));
    $("time-left").textContent = t("home.time_left", { minutes: Math.floor(left / 60),
                                                       seconds: String(left % 60).padStart(2, "0") });
  }
}

function newLink(target, ended) {
  return new Link({
    onView: (view) => onView(view, target),
    onStatus,
    onRefused: (text) => { $("cue").textContent = text; },
    onEnded: (text) => ended(text || t("home.device_refused")),
    replacedText: t("home.other_window"),
  });
}

async function practise(item) {
  const before = await checkin();
  const running = { on: true, record: false, t0: performance.now() };
  let stream = null;
  let endedText = null;
  const link = newLink(item.target, (text) => { endedText = text; running.on = false; });
  window.mindmove.link = link;
  const video = $("camera");
  try {
    $("screen-practice").classList.toggle("breathing", Boolean(item.breathing));
    $("time-left").hidden = !item.breathing;
    $("reps").textContent = "";
    if (!item.breathing) {
      try {
        stream = await startCamera(video);
      } catch (err) {
        say(t("home.camera_unavailable"));
        return;
      }
      if (!landmarker) {
        say(t("home.model_loading"));
        landmarker = await createLandmarker();
      }
    }
    await link.connect();
    const started = await link.start(item.breathing ? { type: "start", breathing: true, ...before }
                                                    : { type: "start", exercise: item.exercise, side: item.side, ...before });
    if (!started) {
      link.stop();
      await showPlan();
      return;
    }
    $("cue").textContent = "";
    show("practice");
    running.t0 = performance.now();
    running.record = true;
    const finishClicked = new Promise((resolve) => { $("finish").onclick = resolve; });
    const loop = item.breathing ? breathingLoop(link, running, item.minutes) : poseLoop(video, link, running);
    await Promise.race([finishClicked, loop]);
    running.record = false;
    if (endedText) throw new Error("ended");
    const after = await checkin();
    say(t("home.loading"));
    const finished = await link.finish(after);
    running.on = false;
    link.stop();
    $("finished-text").textContent = finished ? finished.text : t("home.session_gone");
    $("finished-detail").textContent = finished && finished.repetitions !== null && finished.repetitions !== undefined
      ? t("repetitions.count_label", { count: finished.repetitions }) : "";
    $("back").onclick = () => showPlan();
    show("finished");
  } catch (err) {
    running.on = false;
    link.stop();
    say(endedText || t("home.server_busy"));
  } finally {
    running.on = false;
    if (stream) for (const track of stream.getTracks()) track.stop();
  }
}

async function main() {
  const response = await getJSON("/api/texts");
  texts = response.body;
  fillTexts();
  say(t("home.loading"));
  if (location.pathname === "/join" && !(await join())) return;
  await showPlan();
}

main();
