"""Fitting and checking the scene valence/arousal heads: rated-image corpora, feature caching, ridge, k-fold r.

Corpora (read from their folders; nothing is copied): OASIS (Kurdi, Lozano and Banaji 2017; 900 photos, valence
and arousal on 1..7; the authors allow research use) and BASS (Hovhannisyan et al.; 583 silhouettes, 1..9 ratings
by US raters; CC BY 4.0). Targets are converted to -1..1.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from affectkit.hashing import digest_text
from affectkit.media.scene import MODEL_DIR, RidgeHeads, SceneBackbone
from affectkit.vad import convert

ALPHAS = tuple(float(a) for a in np.logspace(0, 5, 11))


@dataclass
class RatedImages:
    name: str
    paths: list[str]
    valence: np.ndarray  # on -1..1
    arousal: np.ndarray


def load_oasis(folder: str | Path) -> RatedImages:
    """OASIS.csv (``Theme``, ``Valence_mean``, ``Arousal_mean`` on 1..7; image ``images/<Theme>.jpg``)."""
    folder = Path(folder)
    with open(folder / "OASIS.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    paths = [str(folder / "images" / f"{r['Theme'].strip()}.jpg") for r in rows]
    v = convert(np.array([float(r["Valence_mean"]) for r in rows]), "1..7", "-1..1")
    a = convert(np.array([float(r["Arousal_mean"]) for r in rows]), "1..7", "-1..1")
    return RatedImages("oasis", paths, v, a)


def load_bass(folder: str | Path) -> RatedImages:
    """BASS_data.csv (``file_name``, US raters' ``val_mean_us`` / ``aro_mean_us`` on 1..9)."""
    folder = Path(folder)
    with open(folder / "BASS_data.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    paths = [str(folder / "images" / r["file_name"].strip()) for r in rows]
    v = convert(np.array([float(r["val_mean_us"]) for r in rows]), "1..9", "-1..1")
    a = convert(np.array([float(r["aro_mean_us"]) for r in rows]), "1..9", "-1..1")
    return RatedImages("bass", paths, v, a)


def cached_features(data: RatedImages, backbone: SceneBackbone, cache_dir: str | Path | None) -> np.ndarray:
    """Backbone features of every image, cached in ``cache_dir`` under a hash of the path list."""
    return image_features(data.name, data.paths, backbone, cache_dir)


def image_features(name: str, paths: Sequence[str], backbone: SceneBackbone,
                   cache_dir: str | Path | None) -> np.ndarray:
    """Backbone features of image files, cached in ``cache_dir`` under ``name`` and a hash of the path list."""
    key = digest_text("\n".join(paths), 16)
    cache = Path(cache_dir) / f"scene_features_{name}_{key}.npy" if cache_dir else None
    if cache is not None and cache.exists():
        return np.load(cache)
    feats = backbone.features(list(paths))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, feats)
    return feats


def fit_heads(features: np.ndarray, targets: np.ndarray, dims: list[str],
              alphas: tuple[float, ...] = ALPHAS) -> RidgeHeads:
    """Standardise features, then one ridge regression per target column with its penalty chosen by efficient
    leave-one-out cross-validation on the training data only (scikit-learn ``RidgeCV``, generalised
    cross-validation of Golub, Heath and Wahba 1979)."""
    from sklearn.linear_model import RidgeCV

    mean, scale = features.mean(axis=0), features.std(axis=0)
    scale = np.where(scale > 1e-8, scale, 1.0)
    z = (features - mean) / scale
    coefs, intercepts = [], []
    for j in range(targets.shape[1]):
        model = RidgeCV(alphas=alphas).fit(z, targets[:, j])
        coefs.append(model.coef_)
        intercepts.append(float(model.intercept_))
    return RidgeHeads(mean, scale, np.stack(coefs), np.array(intercepts), dims)


def scene_config(training_data: str, licence: str, spdx: str, dims: Sequence[str] = ("valence", "arousal"),
                 description: str | None = None, name: str = "scene") -> dict[str, Any]:
    """The ``affectkit_media.json`` of a scene model folder (what :class:`~affectkit.media.scene.SceneAnalyzer`
    reads): the shipped backbone plus ridge heads fitted on ``training_data``."""
    return {
        "format": 1, "name": name, "kind": "scene-va",
        "description": description or "EfficientNet-Lite0 ImageNet backbone (frozen, ONNX) + ridge "
                                      f"{'/'.join(dims)} heads on flip-averaged pooled features.",
        "backbone": "backbone.onnx", "heads": "heads.json", "input": "RGB 224x224, 0..255 (whole image resized)",
        "dims": list(dims), "vad_scale": "-1..1", "categories": None,
        "training_data": training_data, "licence": licence, "spdx": spdx,
    }


def write_scene_folder(out: str | Path, heads: RidgeHeads, config: dict[str, Any],
                       backbone_from: str | Path = MODEL_DIR) -> Path:
    """Write ``heads.json`` and ``affectkit_media.json`` into ``out`` and copy the frozen backbone there unless it
    is already there (``media:scene,model=OUT`` then loads the folder)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    source = Path(backbone_from) / "backbone.onnx"
    if not (out / "backbone.onnx").exists():
        shutil.copyfile(source, out / "backbone.onnx")
    (out / "heads.json").write_text(json.dumps(heads.to_json()) + "\n", encoding="utf-8")
    (out / "affectkit_media.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return out


def predict_heads(heads: RidgeHeads, features: np.ndarray) -> np.ndarray:
    """The heads' raw predictions, one column per head dimension (not clipped)."""
    return ((features - heads.mean) / heads.scale) @ heads.coef.T + heads.intercept


def cross_validated_r(features: np.ndarray, targets: np.ndarray, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Pearson r per target column of out-of-fold predictions (``folds``-fold, shuffled with ``seed``); the heads
    of each fold see only that fold's training part."""
    rng = np.random.default_rng(seed)
    fold_of = rng.permutation(len(features)) % folds
    pred = np.zeros_like(targets)
    dims = [f"d{j}" for j in range(targets.shape[1])]
    for k in range(folds):
        train, test = fold_of != k, fold_of == k
        heads = fit_heads(features[train], targets[train], dims)
        pred[test] = predict_heads(heads, features[test])
    return np.array([pearson_r(pred[:, j], targets[:, j]) for j in range(targets.shape[1])])


def pearson_r(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's correlation coefficient."""
    xc, yc = x - x.mean(), y - y.mean()
    return float((xc @ yc) / np.sqrt((xc @ xc) * (yc @ yc)))
