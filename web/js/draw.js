// Drawing on the patient's screen: the skeleton over the live camera image, the gauge against
// the comfortable range, and the breathing guide. Colours: Okabe-Ito (colour-blind safe), the
// zone also told by the needle's position, never by colour alone (as at the clinic's station).
const GREEN = "#009e73", ORANGE = "#e69f00", VERMILLION = "#d55e00", BLUE = "#56b4e9";
const EDGES = [
  [11, 12], [23, 24], [11, 23], [12, 24], [11, 13], [13, 15], [12, 14], [14, 16],
  [23, 25], [25, 27], [24, 26], [26, 28], [27, 29], [29, 31], [27, 31], [28, 30], [30, 32], [28, 32],
  [0, 2], [0, 5], [2, 7], [5, 8],
];
const VISIBLE = 0.5;
const GAUGE_PAD_DEG = 20;

// The camera's current frame onto the screen's canvas (sized to the camera); returns the canvas.
export function drawFrame(canvas, video) {
  const width = video.videoWidth || canvas.width, height = video.videoHeight || canvas.height;
  if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
  canvas.getContext("2d", { willReadFrequently: true }).drawImage(video, 0, 0, width, height);
  return canvas;
}

// The skeleton over the frame already on the canvas (landmarks in normalised image coordinates).
export function drawSkeleton(canvas, pose) {
  const { width, height } = canvas;
  const ctx = canvas.getContext("2d");
  if (!pose) return;
  const at = (k) => [pose.i[2 * k] * width, pose.i[2 * k + 1] * height];
  const seen = (k) => pose.v[k] >= VISIBLE;
  const line = Math.max(3, Math.round(Math.min(width, height) / 110));
  ctx.lineCap = "round";
  for (const [a, b] of EDGES) {
    if (!seen(a) || !seen(b)) continue;
    const [ax, ay] = at(a), [bx, by] = at(b);
    ctx.strokeStyle = "#000"; ctx.lineWidth = line + 4;
    ctx.beginPath(); ctx.moveTo(ax, ay); ctx.lineTo(bx, by); ctx.stroke();
    ctx.strokeStyle = "#fff"; ctx.lineWidth = line;
    ctx.beginPath(); ctx.moveTo(ax, ay); ctx.lineTo(bx, by); ctx.stroke();
  }
  for (let k = 11; k < 33; k++) {
    if (!seen(k)) continue;
    const [x, y] = at(k);
    ctx.fillStyle = BLUE; ctx.beginPath(); ctx.arc(x, y, line * 1.3, 0, 2 * Math.PI); ctx.fill();
  }
}

function arc(ctx, cx, cy, r, lo, hi, a, b, colour, width) {
  const angle = (v) => Math.PI + Math.PI * Math.min(1, Math.max(0, (v - lo) / (hi - lo)));
  ctx.strokeStyle = colour; ctx.lineWidth = width;
  ctx.beginPath(); ctx.arc(cx, cy, r, angle(a), angle(b)); ctx.stroke();
  return angle;
}

export function drawGauge(canvas, gauge) {
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  if (!gauge) return;
  const cx = width / 2, cy = height * 0.78, r = Math.min(width / 2, height) * 0.72, thick = r / 5;
  const lo = gauge.min_deg - GAUGE_PAD_DEG, hi = gauge.max_deg + GAUGE_PAD_DEG, m = gauge.caution_margin_deg;
  ctx.fillStyle = "rgba(0,0,0,0.8)";
  ctx.beginPath(); ctx.arc(cx, cy, r + thick, Math.PI, 2 * Math.PI); ctx.fill();
  const angle = arc(ctx, cx, cy, r, lo, hi, lo, gauge.max_deg, GREEN, thick);
  if (gauge.limits === "upper" || gauge.limits === "both") {
    arc(ctx, cx, cy, r, lo, hi, gauge.max_deg - m, gauge.max_deg, ORANGE, thick);
    arc(ctx, cx, cy, r, lo, hi, gauge.max_deg, hi, VERMILLION, thick);
  }
  if (gauge.limits === "lower" || gauge.limits === "both") {
    arc(ctx, cx, cy, r, lo, hi, gauge.min_deg, gauge.min_deg + m, ORANGE, thick);
    arc(ctx, cx, cy, r, lo, hi, lo, gauge.min_deg, VERMILLION, thick);
  }
  if (gauge.value_deg === null || gauge.value_deg === undefined) return;
  const a = angle(gauge.value_deg);
  const tip = [cx + (r + thick / 2) * Math.cos(a), cy + (r + thick / 2) * Math.sin(a)];
  ctx.lineCap = "round";
  ctx.strokeStyle = "#000"; ctx.lineWidth = thick / 2 + 6;
  ctx.beginPath(); ctx.moveTo(cx, cy); ctx.lineTo(...tip); ctx.stroke();
  ctx.strokeStyle = "#fff"; ctx.lineWidth = thick / 2;
  ctx.beginPath(); ctx.moveTo(cx, cy); ctx.lineTo(...tip); ctx.stroke();
  ctx.fillStyle = "#fff"; ctx.font = `bold ${Math.round(r / 2.4)}px system-ui, sans-serif`;
  ctx.textAlign = "center"; ctx.fillText(`${Math.round(gauge.value_deg)}°`, cx, cy + r / 3.2);
}

// The breathing guide: a circle that grows on the inhale and shrinks on the exhale (size 0..1).
export function drawPacer(canvas, pacer) {
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  if (!pacer) return;
  const cx = width / 2, cy = height / 2, rMax = Math.min(width, height) * 0.46, rMin = rMax * 0.35;
  ctx.fillStyle = "rgba(20,24,28,0.85)";
  ctx.beginPath(); ctx.arc(cx, cy, rMax + 6, 0, 2 * Math.PI); ctx.fill();
  ctx.strokeStyle = BLUE; ctx.lineWidth = 4;
  ctx.beginPath(); ctx.arc(cx, cy, rMax, 0, 2 * Math.PI); ctx.stroke();
  ctx.fillStyle = BLUE;
  ctx.beginPath(); ctx.arc(cx, cy, rMin + (rMax - rMin) * pacer.size, 0, 2 * Math.PI); ctx.fill();
}
