"""Scene affect: valence and arousal of a whole image from a frozen EfficientNet-Lite0 backbone and ridge heads.

The backbone (Tan and Le 2019; ImageNet weights, Apache-2.0) is run by onnxruntime on the image resized to 224x224
and on its mirror image; the two pooled 1280-d feature vectors are averaged, standardised, and each head is a ridge
regression (Hoerl and Kennard 1970) fitted by ``scripts/train_scene_heads.py``. There is no category head: no
image data with emotion categories can be shipped here, so the rows carry valence and arousal and no emotions.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from affectkit.labels import LabelSet
from affectkit.media.base import MAX_IMAGE_PIXELS, MediaAnalyzer, MediaError, open_image
from affectkit.schema import BatchPrediction
from affectkit.vad import CANONICAL, DIMENSIONS

MODEL_DIR = Path(__file__).resolve().parent.parent / "pretrained" / "scene"
SIDE = 224


class SceneBackbone:
    """Pooled EfficientNet-Lite0 features of images (flip-averaged), ``(n, 1280)``."""

    def __init__(self, folder: Path = MODEL_DIR, threads: int | None = None, flip: bool = True) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(folder / "backbone.onnx"), opts, providers=["CPUExecutionProvider"])
        self.flip = flip
        self.lock = threading.Lock()

    @staticmethod
    def pixels(path: str, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
        """The image as a (3, 224, 224) float array in 0..255 (the whole image, squashed to the square)."""
        from PIL import Image

        im = open_image(path, "RGB", max_pixels, draft_size=SIDE)
        return np.asarray(im.resize((SIDE, SIDE), Image.Resampling.BILINEAR), np.float32).transpose(2, 0, 1)

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        if len(pixels) == 0:
            return np.zeros((0, 1280))
        x = np.concatenate([pixels, pixels[..., ::-1]]) if self.flip else pixels
        with self.lock:
            feats = self.session.run(["features"], {"rgb": np.ascontiguousarray(x, dtype=np.float32)})[0]
        n = len(pixels)
        return ((feats[:n] + feats[n:]) / 2 if self.flip else feats).astype(np.float64)

    def features(self, paths: Sequence[str], batch: int = 16) -> np.ndarray:
        """Features of image files (raises :class:`MediaError` on the first bad one)."""
        out = [self(np.stack([self.pixels(p) for p in paths[i : i + batch]])) for i in range(0, len(paths), batch)]
        return np.concatenate(out) if out else np.zeros((0, 1280))


class RidgeHeads:
    """Linear heads on standardised features: ``y = ((x - mean) / scale) @ coef.T + intercept``, on -1..1."""

    def __init__(self, mean: np.ndarray, scale: np.ndarray, coef: np.ndarray, intercept: np.ndarray,
                 dims: Sequence[str]) -> None:
        self.mean, self.scale, self.coef, self.intercept = mean, scale, coef, intercept
        self.dims = list(dims)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """``(n, 3)`` valence, arousal, dominance on -1..1 (NaN for a dimension without a head)."""
        pred = ((features - self.mean) / self.scale) @ self.coef.T + self.intercept
        out = np.full((len(features), 3), np.nan)
        for j, dim in enumerate(self.dims):
            out[:, DIMENSIONS.index(dim)] = np.clip(pred[:, j], -1.0, 1.0)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"dims": self.dims, "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "coef": self.coef.tolist(), "intercept": self.intercept.tolist(), "vad_scale": CANONICAL.name}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RidgeHeads:
        return cls(np.asarray(d["mean"]), np.asarray(d["scale"]), np.asarray(d["coef"]), np.asarray(d["intercept"]),
                   d["dims"])


class SceneAnalyzer(MediaAnalyzer):
    """Valence and arousal of whole images; no emotion categories (the ``emotion_k`` and ``p_`` columns stay
    empty)."""

    name = "scene"
    modality = "image"
    accepts: ClassVar[tuple[str, ...]] = ("image",)

    def __init__(self, model: str | Path | None = None, threads: int | None = None, flip: bool = True,
                 labelset: str = "ekman", max_pixels: int = MAX_IMAGE_PIXELS) -> None:
        folder = Path(model) if model else MODEL_DIR
        self.config = json.loads((folder / "affectkit_media.json").read_text("utf-8"))
        self.backbone = SceneBackbone(folder, threads and int(threads), bool(flip) and str(flip) not in ("0", "false"))
        self.heads = RidgeHeads.from_json(json.loads((folder / self.config["heads"]).read_text("utf-8")))
        self.max_pixels = int(max_pixels)
        super().__init__(labelset)

    def _rows(self, pixels: np.ndarray) -> BatchPrediction:
        n = len(pixels)
        vad = self.heads(self.backbone(pixels))
        dist = np.full((n, len(self.labelset)), np.nan)  # no category head
        return BatchPrediction(self.labelset, dist, vad=vad, intensity=np.full(n, np.nan), model=self.name)

    def analyze_segments(self, path: str) -> BatchPrediction:
        return self._rows(self.backbone.pixels(path, self.max_pixels)[None])

    def predict_batch(self, items: list[Any], labels: LabelSet | None = None) -> BatchPrediction:
        """All images of a batch through the backbone in one call."""
        loaded: list[np.ndarray | str] = []
        for path in items:
            try:
                loaded.append(self.backbone.pixels(str(path), self.max_pixels))
            except MediaError as e:
                loaded.append(str(e))
        good = [x for x in loaded if not isinstance(x, str)]
        rows = self._rows(np.stack(good)) if good else None
        out, at = [], 0
        for x in loaded:
            if isinstance(x, str):
                out.append(self._with_fields(BatchPrediction.failed(self.labelset, [x], self.name)))
            else:
                assert rows is not None
                row = rows.take([at])
                row.n_segments = np.array([1])
                out.append(self._with_fields(row))
                at += 1
        return self._finish(out, labels)
