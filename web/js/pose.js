// Pose in the patient's browser: MediaPipe's web build (installed from the npm registry with
// `npm ci`, served by the clinic's server, never a CDN) and the clinic's offline-built model.
// Only landmarks leave this module: never an image.
import { FilesetResolver, PoseLandmarker } from "/vendor/tasks-vision/vision_bundle.mjs";

const N_LANDMARKS = 33;
// The same options as the clinic's Python estimator (sensing.pose.TasksPoseEstimator): one
// person, 0.5 confidences, VIDEO mode; the CPU path (WebAssembly XNNPACK), as in Python.
const OPTIONS = {
  baseOptions: { modelAssetPath: "/model/pose_landmarker.task", delegate: "CPU" },
  runningMode: "VIDEO",
  numPoses: 1,
  minPoseDetectionConfidence: 0.5,
  minPosePresenceConfidence: 0.5,
  minTrackingConfidence: 0.5,
};

export async function createLandmarker() {
  const fileset = await FilesetResolver.forVisionTasks("/vendor/tasks-vision/wasm");
  return PoseLandmarker.createFromOptions(fileset, OPTIONS);
}

function round(value, digits) {
  const k = 10 ** digits;
  return Math.round(value * k) / k;
}

// A detection result -> the wire's pose: 99 world metres, 66 normalised image x/y, 33 visibilities
// (MediaPipe's landmark order), or null when nobody was found.
export function toWirePose(result) {
  if (!result || !result.landmarks || result.landmarks.length === 0 || !result.worldLandmarks.length) {
    return null;
  }
  const image = result.landmarks[0];
  const world = result.worldLandmarks[0];
  if (image.length !== N_LANDMARKS || world.length !== N_LANDMARKS) return null;
  const w = new Array(3 * N_LANDMARKS);
  const i = new Array(2 * N_LANDMARKS);
  const v = new Array(N_LANDMARKS);
  for (let k = 0; k < N_LANDMARKS; k++) {
    w[3 * k] = round(world[k].x, 5);
    w[3 * k + 1] = round(world[k].y, 5);
    w[3 * k + 2] = round(world[k].z, 5);
    i[2 * k] = round(Math.max(-9.9, Math.min(9.9, image[k].x)), 5);
    i[2 * k + 1] = round(Math.max(-9.9, Math.min(9.9, image[k].y)), 5);
    v[k] = round(Math.max(0, Math.min(1, image[k].visibility ?? 0)), 4);
  }
  return { w, i, v };
}
