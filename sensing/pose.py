"""Pose estimators: an image in, one person's 33 landmarks out, behind one Protocol.

Two MediaPipe back ends, both offline:

- :class:`MediaPipePoseEstimator`: the legacy ``mediapipe.solutions.pose.Pose`` with
  ``model_complexity=1``, whose models (``pose_detection.tflite``,
  ``pose_landmark_full.tflite``) ship in the ``mediapipe==0.10.21`` wheel. Complexity 0 and 2
  would download a model at run time, which fails offline, so they are not offered.
- :class:`TasksPoseEstimator`: MediaPipe Tasks' ``PoseLandmarker`` from a ``.task`` bundle
  (a user's official lite/full/heavy bundle, or one built offline from the shipped models by
  :func:`build_offline_task_bundle`), in VIDEO mode with strictly increasing millisecond
  timestamps (IMAGE mode for stills).

Both track ONE person. With several people in view the legacy tracker may jump from one to
another without warning (see ``docs/analyze.md``).

Each estimator returns a :class:`~sensing.landmarks.PoseFrame`: ``world_m`` (33, 3) in
metres (MediaPipe's hip-centred world frame, y down), ``visibility`` (33,), and ``pixel_px``
(33, 2) = normalised x * image width, y * image height (pixels, aspect ratio kept), or
``None`` when nobody is found. MediaPipe is imported lazily, when an estimator is created.
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from core.errors import InputError, SourceError
from core.timing import NO_TIMER
from sensing.landmarks import N_LANDMARKS, PoseFrame

log = logging.getLogger(__name__)

# Paths of the models inside the mediapipe package that the offline path needs.
BUNDLED_MODEL_FILES = (
    "modules/pose_detection/pose_detection.tflite",
    "modules/pose_landmark/pose_landmark_full.tflite",
)
MODEL_COMPLEXITY = 1  # the only complexity whose model ships in the wheel
OFFLINE_BUNDLE_NAME = "pose_landmarker_offline_full.task"
# Image normalisation the two shipped models expect (see docs/analyze.md):
DETECTOR_NORM = (127.5, 127.5)  # mean, std: input in [-1, 1]
LANDMARKER_NORM = (0.0, 255.0)  # mean, std: input in [0, 1]

DEFAULT_MIN_DETECTION_CONFIDENCE = 0.5
DEFAULT_MIN_TRACKING_CONFIDENCE = 0.5
# Stills at least this much wider than tall are also searched in square crops.
WIDE_IMAGE_ASPECT = 1.3
# The landmark model looks at a 256x256 crop around the person: an input shrunk below this
# on its long side would leave the crop nothing to look at.
MIN_INPUT_PX = 256


@runtime_checkable
class PoseEstimator(Protocol):
    """One image (BGR) and its time in, one person's landmarks (or None) out."""

    name: str

    def estimate(self, image_bgr: np.ndarray, t_s: float) -> PoseFrame | None: ...

    def close(self) -> None: ...

    def __enter__(self) -> "PoseEstimator": ...

    def __exit__(self, *exc) -> None: ...


def _mediapipe_dir() -> Path:
    import mediapipe

    return Path(mediapipe.__file__).parent


def bundled_pose_model_files() -> dict[str, bool]:
    """Each model file the offline estimator needs, and whether it is installed."""
    root = _mediapipe_dir()
    return {rel: (root / rel).is_file() for rel in BUNDLED_MODEL_FILES}


def _to_rgb(image_bgr: np.ndarray, *, input_max_px: int | None = None) -> np.ndarray:
    """The model's input: RGB, and no longer than ``input_max_px`` on its long side when given
    (shrunk with pixel-area averaging before the conversion, so the conversion is cheaper too).
    The landmarks are normalised to the image, so the caller's pixels stay right."""
    import cv2

    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
        raise InputError(
            f"Expected a colour image of shape (height, width, 3), but got {image_bgr.shape}."
        )
    if input_max_px is not None:
        height, width = image_bgr.shape[:2]
        k = input_max_px / max(height, width)
        if k < 1.0:
            size = (max(1, round(width * k)), max(1, round(height * k)))
            image_bgr = cv2.resize(image_bgr, size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)


def _check_input_max_px(input_max_px: int | None) -> int | None:
    if input_max_px is not None and not (isinstance(input_max_px, int) and input_max_px >= MIN_INPUT_PX):
        raise InputError(f"Expected the pose model's input size to be a whole number of pixels of at least "
                         f"{MIN_INPUT_PX}, but got {input_max_px!r}.")
    return input_max_px


# How far outside the image (as a fraction of its width or height) a landmark may be placed
# and still count as seen: joints right at the edge are often placed just beyond it.
OUTSIDE_IMAGE_MARGIN = 0.02


def _pose_frame(image_landmarks, world_landmarks, width: int, height: int) -> PoseFrame:
    """Copy MediaPipe landmark lists (normalised image and world) into a PoseFrame."""
    img = np.array([(p.x, p.y, p.visibility) for p in image_landmarks], dtype=float)
    world = np.array([(p.x, p.y, p.z) for p in world_landmarks], dtype=float)
    if img.shape != (N_LANDMARKS, 3) or world.shape != (N_LANDMARKS, 3):
        raise SourceError(
            f"Expected {N_LANDMARKS} pose landmarks from MediaPipe, but got {img.shape[0]}; "
            f"use a MediaPipe Pose model with 33 landmarks."
        )
    return compute_pose_frame(img[:, :2], img[:, 2], world, size=(width, height))


def compute_pose_frame(image_xy: np.ndarray, visibility: np.ndarray, world_m: np.ndarray, /, *,
                       size: tuple[int, int] | None = None) -> PoseFrame:
    """A PoseFrame from MediaPipe's normalised image landmarks (33, 2), visibilities (33,) and
    world landmarks (33, 3), wherever the model ran (here, or in a patient's browser, whose
    landmarks reach the telehealth server). ``size`` (width, height) gives pixel coordinates.

    MediaPipe extrapolates landmarks it cannot see (hips below the edge of a webcam image)
    and can still call them visible; a landmark placed outside the image is not seen."""
    image_xy = np.asarray(image_xy, dtype=float)
    vis = np.array(visibility, dtype=float)
    outside = ((image_xy < -OUTSIDE_IMAGE_MARGIN) | (image_xy > 1.0 + OUTSIDE_IMAGE_MARGIN)).any(axis=1)
    vis[outside] = 0.0
    pixel = None if size is None else image_xy * (float(size[0]), float(size[1]))
    return PoseFrame(world_m=np.asarray(world_m, dtype=float), visibility=vis, pixel_px=pixel)


def square_crop_offsets(width: int, height: int, /, *, min_aspect: float = WIDE_IMAGE_ASPECT) -> list[int]:
    """Left edges of the square crops (left, centre, right) tried on a wide still.

    The person detector letterboxes the whole image into a small square, so in a wide frame
    a person far from the camera can be too small to detect; a square crop gives them the
    detector's full resolution. Empty for images that are not wide (or are tall).
    """
    if height <= 0 or width < min_aspect * height:
        return []
    return sorted({0, (width - height) // 2, width - height})


def _estimate_still(estimate_one, image_bgr: np.ndarray) -> PoseFrame | None:
    """Whole image first; on a wide still with nobody found, the square crops in turn."""
    found = estimate_one(image_bgr)
    if found is not None:
        return found
    height, width = image_bgr.shape[:2]
    for x0 in square_crop_offsets(width, height):
        found = estimate_one(image_bgr[:, x0:x0 + height])
        if found is not None:
            log.debug("person found in the square crop at x=%d", x0)
            return PoseFrame(world_m=found.world_m, visibility=found.visibility,
                             pixel_px=found.pixel_px + (float(x0), 0.0))
    return None


class _ClosingMixin:
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class MediaPipePoseEstimator(_ClosingMixin):
    """The legacy MediaPipe Pose solution (full model, offline).

    ``input_max_px`` shrinks larger images to that long side before the model (a station's
    explicit choice, see ``docs/practice.md``; None: the image as it comes). ``timer`` (a
    :class:`core.timing.StageTimer`; off by default) receives the stages ``colour`` (resize and
    BGR->RGB), ``inference`` and ``landmarks`` (copying them out)."""

    def __init__(self, *, static_images: bool = False,
                 min_detection_confidence: float = DEFAULT_MIN_DETECTION_CONFIDENCE,
                 min_tracking_confidence: float = DEFAULT_MIN_TRACKING_CONFIDENCE,
                 input_max_px: int | None = None) -> None:
        missing = [rel for rel, ok in bundled_pose_model_files().items() if not ok]
        if missing:
            raise SourceError(
                f"The pose model files {', '.join(missing)} are missing from the mediapipe "
                f"package; reinstall it with 'pip install mediapipe==0.10.21'."
            )
        from mediapipe.python.solutions import pose as mp_pose

        self.static_images = static_images
        self.input_max_px = _check_input_max_px(input_max_px)
        self.timer = NO_TIMER
        self.name = f"mediapipe-pose-full (solutions, model_complexity={MODEL_COMPLEXITY})"
        if input_max_px is not None:
            self.name += f", input <= {input_max_px} px"
        self._pose = mp_pose.Pose(
            static_image_mode=static_images,
            model_complexity=MODEL_COMPLEXITY,
            smooth_landmarks=True,
            enable_segmentation=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )

    def estimate(self, image_bgr: np.ndarray, t_s: float) -> PoseFrame | None:
        # The legacy graph keeps its own clock; t_s is accepted for the shared interface.
        if self.static_images:
            return _estimate_still(self._estimate_one, image_bgr)
        return self._estimate_one(image_bgr)

    def _estimate_one(self, image_bgr: np.ndarray) -> PoseFrame | None:
        timer = self.timer
        started = timer.start()
        rgb = _to_rgb(image_bgr, input_max_px=self.input_max_px)
        timer.stop("colour", started)
        started = timer.start()
        result = self._pose.process(rgb)
        timer.stop("inference", started)
        if result.pose_landmarks is None or result.pose_world_landmarks is None:
            return None
        started = timer.start()
        height, width = image_bgr.shape[:2]
        pose = _pose_frame(result.pose_landmarks.landmark, result.pose_world_landmarks.landmark,
                           width, height)
        timer.stop("landmarks", started)
        return pose

    def close(self) -> None:
        self._pose.close()


class TasksPoseEstimator(_ClosingMixin):
    """MediaPipe Tasks ``PoseLandmarker`` from a ``.task`` bundle.

    ``num_poses`` people at most: :meth:`estimate` returns the first one found,
    :meth:`estimate_all` every one (in the model's order, which is not an identity: see
    :mod:`sensing.people`). In VIDEO mode MediaPipe runs its person detector only while it
    follows fewer than ``num_poses`` people, so with ``num_poses=1`` and one person in view
    only the landmark model runs; every extra pose costs one more landmark-model run.
    """

    def __init__(self, model_path: str | Path, /, *, static_images: bool = False, num_poses: int = 1,
                 min_detection_confidence: float = DEFAULT_MIN_DETECTION_CONFIDENCE,
                 min_tracking_confidence: float = DEFAULT_MIN_TRACKING_CONFIDENCE,
                 input_max_px: int | None = None) -> None:
        self.input_max_px = _check_input_max_px(input_max_px)
        self.timer = NO_TIMER  # stages as for MediaPipePoseEstimator
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise InputError(f"Pose model not found: {self.model_path}. Give the path of a .task bundle.")
        if not zipfile.is_zipfile(self.model_path):
            raise InputError(
                f"Expected a MediaPipe .task bundle (a zip of tflite models), but "
                f"{self.model_path} is not one; use pose_landmarker_lite/full/heavy.task."
            )
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions
        from mediapipe.tasks.python.vision import (PoseLandmarker, PoseLandmarkerOptions,
                                                   RunningMode)

        if num_poses < 1:
            raise InputError(f"Expected num_poses of at least 1, but got {num_poses}.")
        self._mp = mp
        self.static_images = static_images
        self.num_poses = int(num_poses)
        people = "" if num_poses == 1 else f", up to {num_poses} people"
        self.name = f"mediapipe-tasks-pose-landmarker ({self.model_path.name}{people})"
        options = PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=RunningMode.IMAGE if static_images else RunningMode.VIDEO,
            num_poses=self.num_poses,
            min_pose_detection_confidence=min_detection_confidence,
            min_pose_presence_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        try:
            self._landmarker = PoseLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as exc:
            raise InputError(
                f"MediaPipe cannot load {self.model_path} as a pose landmarker bundle ({exc}); "
                f"use an official pose_landmarker .task file."
            ) from exc
        self._last_ms = -1

    def _timestamp_ms(self, t_s: float) -> int:
        ms = int(round(t_s * 1000.0))
        if ms <= self._last_ms:  # VIDEO mode needs strictly increasing timestamps
            ms = self._last_ms + 1
        self._last_ms = ms
        return ms

    def estimate(self, image_bgr: np.ndarray, t_s: float) -> PoseFrame | None:
        if self.static_images:
            return _estimate_still(self._estimate_one, image_bgr)
        return self._estimate_one(image_bgr, self._timestamp_ms(t_s))

    def estimate_all(self, image_bgr: np.ndarray, t_s: float) -> list[PoseFrame]:
        """Every person found (at most ``num_poses``), in no particular order."""
        return self._estimate(image_bgr, None if self.static_images else self._timestamp_ms(t_s))

    def _estimate_one(self, image_bgr: np.ndarray, timestamp_ms: int | None = None) -> PoseFrame | None:
        found = self._estimate(image_bgr, timestamp_ms)
        return found[0] if found else None

    def _estimate(self, image_bgr: np.ndarray, timestamp_ms: int | None) -> list[PoseFrame]:
        mp, timer = self._mp, self.timer
        started = timer.start()
        rgb = np.ascontiguousarray(_to_rgb(image_bgr, input_max_px=self.input_max_px))
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        timer.stop("colour", started)
        started = timer.start()
        if timestamp_ms is None:
            result = self._landmarker.detect(image)
        else:
            result = self._landmarker.detect_for_video(image, timestamp_ms)
        timer.stop("inference", started)
        height, width = image_bgr.shape[:2]
        return [_pose_frame(img, world, width, height)
                for img, world in zip(result.pose_landmarks or [], result.pose_world_landmarks or [])]

    def close(self) -> None:
        self._landmarker.close()


def _with_metadata(model: bytes, *, name: str, norm: tuple[float, float], n_outputs: int) -> bytes:
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer

    writer = metadata_writer.MetadataWriter.create(bytearray(model))
    writer.add_general_info(name, "Converted offline by MindMove from the mediapipe wheel.")
    writer.add_image_input(norm_mean=[norm[0]], norm_std=[norm[1]])
    for k in range(n_outputs):
        writer.add_feature_output(name=f"output_{k}")
    model_with_metadata, _ = writer.populate()
    return bytes(model_with_metadata)


def build_offline_task_bundle(dest: str | Path, /) -> Path:
    """Build a PoseLandmarker ``.task`` bundle from the wheel's shipped models.

    ``dest`` is the bundle's file path (a folder gets ``pose_landmarker_offline_full.task``
    inside it). An existing bundle is reused. Needs nothing but the installed mediapipe.
    """
    from mediapipe.tasks.python.metadata.metadata_writers import writer_utils

    dest = Path(dest)
    if dest.is_dir() or dest.suffix != ".task":
        dest = dest / OFFLINE_BUNDLE_NAME
    if dest.is_file() and zipfile.is_zipfile(dest):
        return dest
    root = _mediapipe_dir()
    detector_path, landmarker_path = (root / rel for rel in BUNDLED_MODEL_FILES)
    for path in (detector_path, landmarker_path):
        if not path.is_file():
            raise SourceError(
                f"Cannot build the offline pose bundle: {path} is missing; "
                f"reinstall mediapipe==0.10.21."
            )
    parts = {}
    for entry, path, norm in (("pose_detector.tflite", detector_path, DETECTOR_NORM),
                              ("pose_landmarks_detector.tflite", landmarker_path, LANDMARKER_NORM)):
        model = path.read_bytes()
        n_outputs = len(writer_utils.get_output_tensor_names(model))
        parts[entry] = _with_metadata(model, name=entry.removesuffix(".tflite"), norm=norm,
                                      n_outputs=n_outputs)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".task.partial")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as bundle:
        for entry, data in parts.items():
            bundle.writestr(entry, data)
    tmp.replace(dest)
    log.info("built offline pose bundle %s", dest)
    return dest


def offline_task_bundle(data_dir: str | Path, /) -> Path:
    """The offline bundle cached under ``data_dir/models`` (built on first use).

    The caller names the folder (the data folder is ``mindmove.settings.ensure_data_dir()``):
    sensing reads no settings of its own.
    """
    return build_offline_task_bundle(Path(data_dir) / "models" / OFFLINE_BUNDLE_NAME)


def create_pose_estimator(model_path: str | Path | None = None, *,
                          static_images: bool = False, input_max_px: int | None = None) -> PoseEstimator:
    """The legacy offline estimator, or the Tasks one when a ``.task`` bundle is given."""
    if model_path is None:
        return MediaPipePoseEstimator(static_images=static_images, input_max_px=input_max_px)
    path = Path(model_path)
    if path.suffix.lower() != ".task":
        raise InputError(
            f"Expected a MediaPipe .task bundle for --pose-model, but got '{path.name}'; "
            f"use pose_landmarker_lite/full/heavy.task."
        )
    return TasksPoseEstimator(path, static_images=static_images, input_max_px=input_max_px)
