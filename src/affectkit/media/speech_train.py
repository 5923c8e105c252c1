"""Training the speech head on RAVDESS, speaker-independently, with the project's linear-head code.

Protocol (fixed, so that every figure is reproducible): actors 1-14 fit the head, actors 15-18 (dev) choose its
L2 penalty, calibrate its temperature and choose the fusion weight, then the head is refit on actors 1-18 with
that penalty; actors 19-24 are never seen until the test. The head is the softmax / sigmoid pair of
:func:`affectkit.training.transfer.fit_transfer_head` (L-BFGS, standardised inputs folded into the weights,
temperature scaling by Guo et al. 2017), stored as safetensors. RAVDESS is CC BY-NC-SA 4.0: the head is
non-commercial, and its folder and card say so.

:func:`select_and_refit` is that protocol for any features and label set; ``affectkit train`` with
``modality: audio`` (:mod:`affectkit.training.media_heads`) uses it for heads on other labelled clips.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from affectkit.datasets import EmotionDataset
from affectkit.labels import LabelSet, get_labelset
from affectkit.media.speech import ProsodyHead, fuse
from affectkit.media.speech_corpora import (
    DEV_ACTORS,
    TEST_ACTORS,
    TRAIN_ACTORS,
    SpeechCorpus,
    load_ravdess,
    prosody_matrix,
    whisper_matrix,
)
from affectkit.training.transfer import TransferData, TransferHead, fit_transfer_head, predict_transfer

L2_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)
TEXT_WEIGHT_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
LICENCE = "CC BY-NC-SA 4.0 (RAVDESS): non-commercial use only"


@dataclass
class SpeechFeatures:
    """Per-file inputs of a corpus: head vectors, transcripts, and the text model's answer on them."""

    corpus: SpeechCorpus
    x: np.ndarray
    texts: list[str]
    p_text: np.ndarray
    text_intensity: np.ndarray


def corpus_features(corpus: SpeechCorpus, whisper: bool, text_model: Any, labelset: LabelSet,
                    cache_dir: str | Path = "runs/cache/speech") -> tuple[SpeechFeatures, list[str]]:
    """Prosody features (plus the Whisper embedding with ``whisper``), transcripts and text scores (cached)."""
    x, names = prosody_matrix(corpus, cache_dir)
    emb, texts = whisper_matrix(corpus, cache_dir)
    if whisper:
        x = np.c_[x, emb]
    scored = text_model.analyze_batch([t or " " for t in texts], labels=labelset)
    intensity = np.nan_to_num(scored.intensity) if scored.intensity is not None else np.ones(len(texts))
    return SpeechFeatures(corpus, x, texts, np.nan_to_num(scored.dist), intensity), names


def fit_head(x: np.ndarray, corpus: SpeechCorpus, x_dev: np.ndarray | None, dev: SpeechCorpus | None,
             labelset: LabelSet, l2: float) -> TransferHead:
    """The linear head on ``x``, calibrated on ``x_dev`` (without one, on ``x`` itself: fit_transfer_head needs
    a calibration set; :func:`select_and_refit` then replaces that calibration with the dev one)."""
    return fit_labelled_head(x, corpus.targets(), labelset, x_dev, dev.targets() if dev is not None else None, l2,
                             corpus.name)


def fit_labelled_head(x: np.ndarray, y: np.ndarray, labelset: LabelSet, x_dev: np.ndarray | None = None,
                      y_dev: np.ndarray | None = None, l2: float = 1.0, name: str = "speech") -> TransferHead:
    """:func:`fit_head` for any label set: ``y`` (and ``y_dev``) are 0/1 rows over ``labelset``."""
    def rows(split: str, targets: np.ndarray) -> EmotionDataset:
        return EmotionDataset(name, split, [str(i) for i in range(len(targets))], labelset,
                              np.asarray(targets, np.float32), category_kind="multi-hot")

    train = rows("train", y)
    dev = rows("dev", y_dev) if x_dev is not None and y_dev is not None else train
    data = TransferData(name, train, x, dev, x_dev if x_dev is not None and y_dev is not None else x)
    return fit_transfer_head(labelset, [data], l2=l2, max_iter=300)


def select_and_refit(x: np.ndarray, y: np.ndarray, x_dev: np.ndarray, y_dev: np.ndarray, labelset: LabelSet,
                     refit: tuple[np.ndarray, np.ndarray] | None = None, name: str = "speech",
                     ) -> tuple[TransferHead, TransferHead, float, dict[float, float]]:
    """The protocol of every speech head: one head per L2 in :data:`L2_GRID` fit on ``x`` and calibrated
    (temperature, thresholds) on the dev rows; the L2 with the best dev accuracy (ties: the larger) wins; the head
    is refit with it on ``refit`` (default: train and dev rows together) and keeps the dev calibration.
    Returns ``(final head, the chosen head fit on x alone, L2, dev accuracy per L2)``."""
    gold = [labelset.labels[i] for i in np.asarray(y_dev).argmax(axis=1)]
    heads, dev_acc = {}, {}
    for l2 in L2_GRID:
        heads[l2] = fit_labelled_head(x, y, labelset, x_dev, y_dev, l2, name)
        dev_acc[l2] = accuracy(predict_transfer(heads[l2], x_dev)[0], gold, labelset)
    l2 = max(L2_GRID, key=lambda v: (dev_acc[v], v))
    chosen = heads[l2]
    x_full, y_full = refit if refit is not None else (np.r_[x, x_dev], np.r_[y, y_dev])
    final = fit_labelled_head(x_full, y_full, labelset, None, None, l2, name)
    final.temperature, final.thresholds = chosen.temperature, chosen.thresholds
    final.fallback_below = chosen.fallback_below
    return final, chosen, l2, dev_acc


def file_features(files: Sequence[str | Path], whisper: bool = False, cache_dir: str | Path = "runs/cache/speech",
                  name: str = "files") -> tuple[np.ndarray, list[str]]:
    """The head's input vectors for audio files (prosody features, plus the Whisper embedding with ``whisper``;
    cached in ``cache_dir`` as for the corpora) and the prosody feature names."""
    corpus = SpeechCorpus(name, [Path(f) for f in files], [""] * len(files), [""] * len(files))
    x, names = prosody_matrix(corpus, cache_dir)
    if whisper:
        x = np.c_[x, whisper_matrix(corpus, cache_dir)[0]]
    return x, names


def accuracy(dist: np.ndarray, gold: Sequence[str], labelset: LabelSet, among: Sequence[str] | None = None) -> float:
    """Share of rows whose most probable label (among ``among``, default all) is the gold one."""
    cols = [labelset.index(lab) for lab in (among or labelset.labels)]
    pred = np.array(cols)[np.asarray(dist)[:, cols].argmax(axis=1)]
    return float(np.mean(pred == np.array([labelset.index(g) for g in gold])))


def _split(feats: SpeechFeatures, actors: range) -> tuple[SpeechFeatures, np.ndarray]:
    mask = np.isin(np.asarray(feats.corpus.meta["actor"]), list(actors))
    idx = np.flatnonzero(mask)
    return SpeechFeatures(feats.corpus.take(mask), feats.x[idx], [feats.texts[i] for i in idx], feats.p_text[idx],
                          feats.text_intensity[idx]), idx


def choose_text_weight(p_prosody: np.ndarray, part: SpeechFeatures, labelset: LabelSet) -> float:
    """The fusion weight with the best dev accuracy (ties: the lower log-loss, then the smaller weight)."""
    gold = np.array([labelset.index(g) for g in part.corpus.labels])

    def score(w: float) -> tuple[float, float]:
        p = fuse(p_prosody, part.p_text, part.text_intensity, w)
        nll = -float(np.mean(np.log(np.clip(p[np.arange(len(gold)), gold], 1e-12, 1.0))))
        return accuracy(p, part.corpus.labels, labelset), -nll

    return max(TEXT_WEIGHT_GRID, key=lambda w: (*score(w), -w))


def train_ravdess_head(data: str | Path | None = None, whisper: bool = True, text_model: str = "default",
                       cache_dir: str | Path = "runs/cache/speech",
                       progress: Callable[[str], None] | None = print) -> tuple[ProsodyHead, dict[str, Any]]:
    """Train the RAVDESS speech head (see the module docstring) and report its test figures."""
    import affectkit

    t0 = time.time()
    labelset = get_labelset("ravdess")
    text = affectkit.load(text_model)
    feats, names = corpus_features(load_ravdess(data), whisper, text, labelset, cache_dir)
    train, _ = _split(feats, TRAIN_ACTORS)
    dev, _ = _split(feats, DEV_ACTORS)
    test, _ = _split(feats, TEST_ACTORS)
    full, _ = _split(feats, range(TRAIN_ACTORS[0], DEV_ACTORS[-1] + 1))
    final, chosen, l2, dev_acc = select_and_refit(train.x, train.corpus.targets(), dev.x, dev.corpus.targets(),
                                                  labelset, (full.x, full.corpus.targets()), "ravdess")
    weight = choose_text_weight(predict_transfer(chosen, dev.x)[0], dev, labelset)
    meta = {"licence": LICENCE, "non_commercial": True,
            "data": "RAVDESS speech (Livingstone and Russo 2018), 1,440 clips, 24 actors",
            "protocol": "speaker-independent: fit actors 1-14, dev 15-18 (L2, temperature, fusion weight), "
                        "refit 1-18, test 19-24",
            "l2": l2, "dev_accuracy": {str(k): round(v, 4) for k, v in dev_acc.items()},
            "text_model": text_model, "features": "prosody+whisper" if whisper else "prosody"}
    head = ProsodyHead(final.to_category_head(), names, whisper, weight, meta)
    report = evaluate(head, test, labelset)
    report.update({"l2": l2, "text_weight": weight, "train_clips": len(full.x), "test_clips": len(test.x),
                   "seconds": round(time.time() - t0, 1)})
    head.meta["test"] = report
    if progress:
        progress(f"speech head: l2 {l2}, text weight {weight}, test accuracy {report}")
    return head, report


def evaluate(head: ProsodyHead, part: SpeechFeatures, labelset: LabelSet,
             among: Sequence[str] | None = None) -> dict[str, float]:
    """Accuracy of the prosody part, the text part and the fused answer on a corpus's cached inputs."""
    p = head.predict(part.x)
    fused = fuse(p, part.p_text, part.text_intensity, head.text_weight)
    gold = part.corpus.labels
    return {"prosody": round(accuracy(p, gold, labelset, among), 4),
            "text": round(accuracy(part.p_text, gold, labelset, among), 4),
            "fused": round(accuracy(fused, gold, labelset, among), 4)}


def model_card(head: ProsodyHead) -> str:
    """The head folder's MODEL_CARD.md."""
    m = head.meta
    test = m.get("test", {})
    return f"""# Speech emotion head (RAVDESS) - NON-COMMERCIAL

**Licence: {LICENCE}.** This head was trained on RAVDESS, whose licence forbids commercial use; the head is a
derivative and carries the same restriction. It is not part of the affectkit package (Apache-2.0) and is never
shipped with it: `python scripts/train_prosody.py` makes it on your machine.

- Labels: {", ".join(head.labelset.labels)} (label set `{head.labelset.name}`)
- Inputs: {len(head.prosody_names)} librosa prosody / spectral / timing features{
    " + the mean Whisper tiny.en encoder state (384)" if head.whisper else ""}
- Head: linear softmax (L2 {m.get("l2")}), temperature {head.head.temperature:.3f}; fusion weight with the
  transcript's text model ({m.get("text_model")}): {head.text_weight}
- Data: {m.get("data")}
- Protocol: {m.get("protocol")}
- Test accuracy (actors 19-24, 8 classes, chance 0.125): prosody {test.get("prosody")}, transcript text
  {test.get("text")}, fused {test.get("fused")}
- Caveats: acted, read speech by 24 North-American actors; two lexically neutral sentences, so the transcript
  carries almost nothing here and the fusion weight learned on RAVDESS says little about speech whose words matter.
"""


__all__ = ["L2_GRID", "LICENCE", "SpeechFeatures", "accuracy", "corpus_features", "evaluate", "fit_head",
           "file_features", "fit_labelled_head", "model_card", "select_and_refit", "train_ravdess_head"]
