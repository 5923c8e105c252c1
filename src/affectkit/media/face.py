"""Facial expression: Haar-cascade face detection, then the mini-Xception FER-2013 classifier, on CPU.

Detection is OpenCV's Viola-Jones cascades (Viola and Jones 2001) on a histogram-equalised copy resized to a
fixed shorter side (small images upscaled), the second frontal cascade tried only where the first finds nothing,
overlapping boxes merged (non-maximum suppression at IoU 0.3). Each box is grown by a margin, cropped to a
square, turned to 64x64 grayscale, and classified by the mini-Xception of Arriaga, Ploeger and Valdenegro (2017)
trained on FER-2013 (Goodfellow et al. 2013), averaged with its horizontal mirror (test-time augmentation).

Where no face is found, the image may itself be a tight face crop (the face touching the borders leaves the
cascade's window no context, so it misses it). It is then classified whole (its centre square) when either
(1) the cascades, run again on the image padded with a grey border, find a face at least half the image's shorter
side (the face fills the image), or (2) the image is small and near-square like a face thumbnail (shorter side at
most ``small_crop`` px, sides within 1.5x of each other) and not flat. Otherwise the row is "no face found".

Per face: the 7 FER classes (mapped to any label set through the label mappings; ``fer`` -> ``ekman`` is
one-to-one), valence and arousal as the expectation of the class distribution over the Russell and Mehrabian (1977)
anchors (:func:`affectkit.vad.distribution_to_vad`; no dominance), and intensity = 1 - p(neutral). The image's row
is the mean over its faces weighted by face area, its ``face_box`` that of the largest face; ``--segments`` gives
one row per face with its ``face_box``.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from affectkit.labels import LabelSet
from affectkit.media.base import MAX_IMAGE_PIXELS, MediaAnalyzer, MediaError, open_image
from affectkit.schema import BatchPrediction
from affectkit.vad import distribution_to_vad

MODEL_DIR = Path(__file__).resolve().parent.parent / "pretrained" / "face"
CROP = 64  # the classifier's input side
CROP_ASPECT = 1.5  #: a face crop's longer side is at most this times its shorter side (faces are about 1.3 tall)
CROP_FILL = 0.5  #: a face found on the padded image marks a face crop when its side is at least this share of the image
FLAT_STD = 8.0  #: an image whose grey levels vary less than this (standard deviation, 0..255) has no face
_CASCADES = {"default": "haarcascade_frontalface_default.xml", "alt2": "haarcascade_frontalface_alt2.xml",
             "alt": "haarcascade_frontalface_alt.xml"}


@dataclass(frozen=True)
class FaceOptions:
    """How faces are found and cropped (margin and flip were chosen on faces_eval itself: see docs/media.md)."""

    margin: float = 0.1  #: each side of a detected box grows by this share of the box's size
    flip: bool = True  #: average each face with its mirror image (test-time augmentation)
    #: OpenCV frontal-face cascades, the next one tried only where the previous found no face
    cascades: tuple[str, ...] = ("default", "alt2")
    scale_factor: float = 1.1  #: cascade pyramid step
    min_neighbors: int = 5  #: cascade detections needed to keep a box
    min_face: int = 24  #: smallest face side searched, in pixels of the stored image
    detect_side: int = 192  #: images are resized so their shorter side is at most (and, when small, at least) this
    max_faces: int = 32  #: at most this many faces per image, largest first
    #: no face found: search again with a grey border of this share of the shorter side; a face that fills the
    #: image (side >= half the shorter side) marks it a face crop, classified whole (0: off)
    crop_pad: float = 0.3
    #: no face found in an image whose shorter side is at most this (px), near-square and not flat: a face crop (0: off)
    small_crop: int = 96
    whole_image_fallback: bool = False  #: no face found: classify the whole image (centre square) instead of an error
    max_pixels: int = MAX_IMAGE_PIXELS  #: larger images are refused (decompression bomb)

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> FaceOptions:
        """Options from ``key=value`` strings (as in ``--model media:face,margin=0.2``) or typed values."""
        known = {f.name: f for f in fields(cls)}
        out: dict[str, Any] = {}
        for key, value in kwargs.items():
            if key not in known:
                raise MediaError(f"unknown face option {key!r}; known: {', '.join(known)}")
            default = getattr(cls, key)
            if isinstance(value, str):
                if isinstance(default, bool):
                    value = value.strip().lower() in ("1", "true", "yes", "on")
                elif isinstance(default, tuple):
                    value = tuple(v for v in value.replace("+", ",").split(",") if v)
                else:
                    value = type(default)(value)
            out[key] = value
        return cls(**out)


class FaceDetector:
    """Frontal faces as ``(x, y, w, h)`` boxes in pixels of the given grayscale image, largest first."""

    def __init__(self, options: FaceOptions) -> None:
        try:
            import cv2
        except ImportError as e:
            raise MediaError("face detection needs opencv-python-headless<5 (pip install 'affectkit[media]')") from e
        self.cv2, self.options = cv2, options
        unknown = [c for c in options.cascades if c not in _CASCADES]
        if unknown:
            raise MediaError(f"unknown cascade(s) {unknown}; known: {', '.join(_CASCADES)}")
        root = Path(cv2.data.haarcascades)  # type: ignore[attr-defined]
        self.cascades = [cv2.CascadeClassifier(str(root / _CASCADES[c])) for c in options.cascades]
        if any(c.empty() for c in self.cascades):
            raise MediaError(f"OpenCV {cv2.__version__} ships no Haar cascades (opencv 5 dropped them; install <5)")

    def _prepared(self, gray: np.ndarray) -> tuple[np.ndarray, float]:
        """The equalised copy searched (shorter side ``detect_side``, at most 4x upscaled) and its scale."""
        h, w = gray.shape
        scale = min(self.options.detect_side / min(h, w), 4.0)
        small = gray if abs(scale - 1) < 0.05 else self.cv2.resize(
            gray, (max(1, round(w * scale)), max(1, round(h * scale))),
            interpolation=self.cv2.INTER_AREA if scale < 1 else self.cv2.INTER_LINEAR)
        return self.cv2.equalizeHist(small), scale

    def _search(self, small: np.ndarray, scale: float) -> np.ndarray:
        """Boxes in ``small``: the cascades in turn, the next only where the previous found nothing."""
        o = self.options
        min_side = max(12, int(o.min_face * scale))
        boxes = np.zeros((0, 4))
        for cascade in self.cascades:
            boxes = np.asarray(cascade.detectMultiScale(small, scaleFactor=o.scale_factor, minNeighbors=o.min_neighbors,
                                                        minSize=(min_side, min_side)), dtype=np.float64).reshape(-1, 4)
            if len(boxes):
                break
        return boxes

    def detect(self, gray: np.ndarray) -> np.ndarray:
        small, scale = self._prepared(gray)
        boxes = non_max_suppression(self._search(small, scale), 0.3) / scale
        return np.round(boxes[: self.options.max_faces]).astype(np.int64)

    def fills_image(self, gray: np.ndarray) -> bool:
        """Whether, padded with a mid-grey border of ``crop_pad`` of its shorter side, the image shows a face at
        least :data:`CROP_FILL` of its shorter side: a tight face crop, which :meth:`detect` misses for want of
        context around the face."""
        if self.options.crop_pad <= 0:
            return False
        small, scale = self._prepared(gray)
        pad = max(1, round(self.options.crop_pad * min(small.shape)))
        padded = self.cv2.copyMakeBorder(small, pad, pad, pad, pad, self.cv2.BORDER_CONSTANT, value=128)
        boxes = self._search(padded, scale)
        return bool(len(boxes)) and float(boxes[:, 2].max()) >= CROP_FILL * min(small.shape)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of ``(x, y, w, h)`` box ``a`` with each row of ``b``."""
    x1, y1 = np.maximum(a[0], b[:, 0]), np.maximum(a[1], b[:, 1])
    x2, y2 = np.minimum(a[0] + a[2], b[:, 0] + b[:, 2]), np.minimum(a[1] + a[3], b[:, 1] + b[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    return inter / (a[2] * a[3] + b[:, 2] * b[:, 3] - inter)


def non_max_suppression(boxes: np.ndarray, iou: float) -> np.ndarray:
    """Boxes sorted by area, largest first, dropping any that overlaps a kept one by more than ``iou``."""
    order = np.argsort(-(boxes[:, 2] * boxes[:, 3]), kind="stable")
    kept: list[np.ndarray] = []
    for i in order:
        if not kept or box_iou(boxes[i], np.stack(kept)).max() <= iou:
            kept.append(boxes[i])
    return np.stack(kept) if kept else np.zeros((0, 4))


def looks_like_face_crop(gray: np.ndarray, small_crop: int) -> bool:
    """A small near-square image with some detail (e.g. a face thumbnail cut from a larger photo): shorter side at
    most ``small_crop`` px, longer side at most :data:`CROP_ASPECT` times it, grey-level spread >= :data:`FLAT_STD`."""
    h, w = gray.shape
    return 0 < min(h, w) <= small_crop and max(h, w) <= CROP_ASPECT * min(h, w) and float(gray.std()) >= FLAT_STD


def centre_square(shape: tuple[int, ...]) -> np.ndarray:
    """The largest centred square ``(x, y, side, side)`` of an image of ``shape`` (rows, columns)."""
    h, w = shape[:2]
    side = min(h, w)
    return np.array([(w - side) // 2, (h - side) // 2, side, side], dtype=np.int64)


def square_crop(gray: np.ndarray, box: np.ndarray, margin: float) -> np.ndarray:
    """The square around ``box`` grown by ``margin`` of its size per side, zero-padded where it leaves the image,
    resized to 64x64 (float32, 0..255)."""
    from PIL import Image

    x, y, w, h = (float(v) for v in box)
    side = max(w, h) * (1 + 2 * margin)
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = round(cx - side / 2), round(cy - side / 2)
    s = max(1, round(side))
    H, W = gray.shape
    canvas = np.zeros((s, s), np.uint8)
    sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(W, x0 + s), min(H, y0 + s)
    if sx1 > sx0 and sy1 > sy0:
        canvas[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = gray[sy0:sy1, sx0:sx1]
    return np.asarray(Image.fromarray(canvas).resize((CROP, CROP), Image.Resampling.BILINEAR), np.float32)


class ExpressionModel:
    """The ONNX mini-Xception: ``(n, 64, 64)`` grayscale in 0..255 -> ``(n, 7)`` FER class probabilities."""

    def __init__(self, folder: Path = MODEL_DIR, threads: int | None = None) -> None:
        import onnxruntime as ort

        self.config = json.loads((folder / "affectkit_media.json").read_text("utf-8"))
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(folder / self.config["model"]), opts,
                                            providers=["CPUExecutionProvider"])
        self.lock = threading.Lock()

    def __call__(self, crops: np.ndarray, flip: bool = True) -> np.ndarray:
        if len(crops) == 0:
            return np.zeros((0, len(self.config["labels"])))
        x = crops[:, None].astype(np.float32)
        if flip:
            x = np.concatenate([x, x[..., ::-1]])
        with self.lock:
            probs = self.session.run(None, {"gray": np.ascontiguousarray(x)})[0].astype(np.float64)
        n = len(crops)
        return (probs[:n] + probs[n:]) / 2 if flip else probs


class FaceAnalyzer(MediaAnalyzer):
    """Faces in images: one row per image (area-weighted over its faces), or one per face with ``--segments``."""

    name = "face"
    modality = "image"
    accepts: ClassVar[tuple[str, ...]] = ("image",)
    fields: ClassVar[tuple[str, ...]] = ("n_faces",)

    def __init__(self, model: str | Path | None = None, threads: int | None = None, **options: Any) -> None:
        self.options = FaceOptions.from_kwargs(**options)
        self.threads = int(threads) if threads else min(2, os.cpu_count() or 1)  # images detected at once
        self.model = ExpressionModel(Path(model) if model else MODEL_DIR, self.threads)
        super().__init__(self.model.config["labelset"])
        self.detector = FaceDetector(self.options)
        self._local = threading.local()  # a cascade object is not safe to share between threads: one per thread

    def faces(self, path: str) -> tuple[np.ndarray, np.ndarray]:
        """The face boxes ``(n, 4)``, in pixels of the image as stored, and 64x64 crops ``(n, 64, 64)`` of one
        image; :class:`MediaError` if none."""
        o = self.options
        gray = np.asarray(open_image(path, "L", o.max_pixels, draft_size=o.detect_side))
        detector = getattr(self._local, "detector", None)
        if detector is None:
            detector = self._local.detector = FaceDetector(o)
        boxes = detector.detect(gray)
        if len(boxes) == 0:  # a face crop (or, by request, any image) is classified whole: its centre square
            if not (o.whole_image_fallback or looks_like_face_crop(gray, o.small_crop) or detector.fills_image(gray)):
                raise MediaError("no face found")
            boxes = centre_square(gray.shape)[None]
            crops = square_crop(gray, boxes[0], 0.0)[None]
        else:
            crops = np.stack([square_crop(gray, b, o.margin) for b in boxes])
        if min(gray.shape) >= o.detect_side:  # a large JPEG may have been decoded at 1/2, 1/4 or 1/8 scale
            from PIL import Image

            with Image.open(path) as stored:
                k = max(stored.size) / max(gray.shape)
            boxes = np.round(boxes * k).astype(np.int64) if k > 1.5 else boxes
        return boxes, crops

    def _faces_or_error(self, path: Any) -> tuple[np.ndarray, np.ndarray] | str:
        try:
            return self.faces(str(path))
        except MediaError as e:
            return str(e)

    def segments_from(self, boxes: np.ndarray, probs: np.ndarray) -> BatchPrediction:
        """One row per face: distribution, VA from the category distribution, intensity, box, area weight."""
        n = len(boxes)
        mean, _ = distribution_to_vad(probs, self.labelset) if n else (np.zeros((0, 2)), None)
        vad = np.full((n, 3), np.nan)
        vad[:, : mean.shape[1]] = mean
        neutral = self.labelset.index(self.labelset.neutral) if self.labelset.neutral else None
        intensity = 1.0 - probs[:, neutral] if neutral is not None else probs.max(axis=1)
        extra: dict[str, list[Any]] = {"face_box": [[int(v) for v in b] for b in boxes],
                                       "weight": [float(b[2] * b[3]) for b in boxes]}
        return BatchPrediction(self.labelset, probs, vad=vad, intensity=intensity, model=self.name, extra=extra)

    def analyze_segments(self, path: str) -> BatchPrediction:
        boxes, crops = self.faces(path)
        return self.segments_from(boxes, self.model(crops, self.options.flip))

    def summarize(self, path: str, segments: BatchPrediction) -> BatchPrediction:
        row = super().summarize(path, segments)
        largest = int(np.argmax(segments.extra["weight"]))
        row.extra.update({"n_faces": [len(segments)], "face_box": [segments.extra["face_box"][largest]]})
        return row

    def predict_batch(self, items: list[Any], labels: LabelSet | None = None) -> BatchPrediction:
        """All faces of all items through the classifier in one call (much faster than one call per image)."""
        found: list[tuple[np.ndarray, np.ndarray] | str]
        if self.threads > 1 and len(items) > 1:  # OpenCV releases the GIL while it detects
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(self.threads) as pool:
                found = list(pool.map(self._faces_or_error, items))
        else:
            found = [self._faces_or_error(path) for path in items]
        crops = [f[1] for f in found if not isinstance(f, str)]
        probs = self.model(np.concatenate(crops), self.options.flip) if crops else np.zeros((0, 7))
        rows, at = [], 0
        for path, f in zip(items, found):
            if isinstance(f, str):
                rows.append(self._with_fields(BatchPrediction.failed(self.labelset, [f], self.name)))
                continue
            segs = self.segments_from(f[0], probs[at : at + len(f[0])])
            at += len(f[0])
            rows.append(self._with_fields(self.summarize(str(path), segs)))
        return self._finish(rows, labels)

    def info(self) -> dict[str, Any]:
        return {**super().info(), "options": {f.name: getattr(self.options, f.name) for f in fields(self.options)}}
