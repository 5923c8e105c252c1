"""The speech emotion corpora the prosody head is trained and evaluated on, and a feature cache for them.

- RAVDESS speech (Livingstone and Russo 2018, PLoS ONE 13(5)): 24 actors, 8 emotions, two lexically neutral
  sentences; licence CC BY-NC-SA 4.0, so anything trained on it is non-commercial. The speaker-independent
  protocol used here: actors 1-18 train (1-14 fit, 15-18 choose the penalty and calibrate), 19-24 test.
- Berlin EmoDB (Burkhardt et al. 2005, Interspeech): German, 10 speakers, 7 emotions; evaluation only, on the
  six classes it shares with RAVDESS (boredom has no RAVDESS counterpart and is left out).

Neither is copied into the repository: they are read from ``shared/data`` (or the folder given), and the features
computed from them are cached under ``runs/`` (git-ignored), keyed by the file list and the feature code's version.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from affectkit.hashing import digest_json
from affectkit.labels import LabelSet, get_labelset

#: the RAVDESS emotion classes in the order of the label set ``ravdess``
RAVDESS_LABELS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
#: EmoDB class -> RAVDESS class (boredom: none)
EMODB_TO_RAVDESS = {"anger": "angry", "disgust": "disgust", "fear": "fearful", "happiness": "happy",
                    "sadness": "sad", "neutral": "neutral"}
TRAIN_ACTORS = range(1, 15)
DEV_ACTORS = range(15, 19)
TEST_ACTORS = range(19, 25)
FEATURE_VERSION = "prosody-v2"


def ravdess_labelset() -> LabelSet:
    return get_labelset("ravdess")


def default_data_root() -> Path:
    """``shared/data`` beside the repository (the workspace layout), or ``$AFFECTKIT_DATA``."""
    import os

    env = os.environ.get("AFFECTKIT_DATA")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return Path("shared/data")


@dataclass
class SpeechCorpus:
    """Audio files with one emotion each (``labels`` in the RAVDESS set) and a speaker per file."""

    name: str
    files: list[Path]
    labels: list[str]
    speakers: list[str]
    meta: dict[str, list] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.files)

    def take(self, mask: np.ndarray) -> SpeechCorpus:
        idx = np.flatnonzero(mask)
        return SpeechCorpus(self.name, [self.files[i] for i in idx], [self.labels[i] for i in idx],
                            [self.speakers[i] for i in idx], {k: [v[i] for i in idx] for k, v in self.meta.items()})

    def targets(self) -> np.ndarray:
        """One-hot rows over :data:`RAVDESS_LABELS`."""
        y = np.zeros((len(self), len(RAVDESS_LABELS)), dtype=np.float32)
        y[np.arange(len(self)), [RAVDESS_LABELS.index(lab) for lab in self.labels]] = 1.0
        return y


def _read_rows(folder: Path) -> list[dict[str, str]]:
    labels = folder / "labels.csv"
    if not labels.exists():
        raise FileNotFoundError(f"{labels} not found: the corpus is not at {folder}")
    with open(labels, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def load_ravdess(folder: str | Path | None = None) -> SpeechCorpus:
    folder = Path(folder) if folder else default_data_root() / "ravdess_speech"
    rows = _read_rows(folder)
    return SpeechCorpus("ravdess", [folder / r["file"] for r in rows], [r["emotion"] for r in rows],
                        [r["actor"] for r in rows],
                        {"actor": [int(r["actor"]) for r in rows], "intensity": [r["intensity"] for r in rows],
                         "text": [r["statement_text"] for r in rows],
                         "duration_s": [float(r["duration_s"]) for r in rows]})


def load_emodb(folder: str | Path | None = None) -> SpeechCorpus:
    """EmoDB rows of the six classes it shares with RAVDESS, labels renamed to RAVDESS's."""
    folder = Path(folder) if folder else default_data_root() / "emodb"
    rows = [r for r in _read_rows(folder) if r["emotion"] in EMODB_TO_RAVDESS]
    return SpeechCorpus("emodb", [folder / r["file"] for r in rows], [EMODB_TO_RAVDESS[r["emotion"]] for r in rows],
                        [r["speaker"] for r in rows],
                        {"text": [r["text"] for r in rows], "duration_s": [float(r["duration_s"]) for r in rows],
                         "truncated": [r["truncated"] == "True" for r in rows]})


def actor_split(corpus: SpeechCorpus, actors: range) -> SpeechCorpus:
    return corpus.take(np.isin(np.asarray(corpus.meta["actor"]), list(actors)))


def cached(kind: str, corpus: SpeechCorpus, compute: Callable[[Path], object],
           cache_dir: str | Path = "runs/cache/speech",
           progress: Callable[[str], None] | None = print) -> list:
    """``compute(file)`` for every file of ``corpus``, cached in a JSON file keyed by ``kind`` (include the
    version of whatever computes it) and the files' names and sizes."""
    key = digest_json([kind, [(f.name, f.stat().st_size) for f in corpus.files]])
    path = Path(cache_dir) / f"{corpus.name}-{kind}-{key[:16]}.json"
    if path.exists():
        return list(json.loads(path.read_text()))
    out = []
    for i, f in enumerate(corpus.files):
        out.append(compute(f))
        if progress and (i + 1) % 200 == 0:
            progress(f"{corpus.name} {kind}: {i + 1}/{len(corpus)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out))
    return out


def prosody_matrix(corpus: SpeechCorpus, cache_dir: str | Path = "runs/cache/speech") -> tuple[np.ndarray, list[str]]:
    """The prosody feature vectors of every file (cached) and the feature names."""
    from affectkit.media.audio import load_audio
    from affectkit.media.prosody import feature_names, prosody_features

    names = feature_names()
    rows = cached(f"{FEATURE_VERSION}-{len(names)}", corpus,
                  lambda f: prosody_features(load_audio(f)), cache_dir)
    return np.array([[r[k] for k in names] for r in rows], dtype=np.float32), names


def whisper_matrix(corpus: SpeechCorpus, cache_dir: str | Path = "runs/cache/speech") -> tuple[np.ndarray, list[str]]:
    """The Whisper encoder embedding of every file and its transcript (cached; see :mod:`affectkit.media.asr`)."""
    from affectkit.media.asr import PAD_SECONDS, WhisperTiny
    from affectkit.media.audio import load_audio

    model: list[WhisperTiny] = []

    def listen(f: Path) -> dict:
        if not model:
            model.append(WhisperTiny())
        heard = model[0].listen(load_audio(f))
        return {"text": heard.text, "logprob": heard.avg_logprob, "embedding": heard.embedding.tolist()}

    rows = cached(f"whisper-tiny-en-pad{PAD_SECONDS:g}", corpus, listen, cache_dir)
    return np.array([r["embedding"] for r in rows], dtype=np.float32), [r["text"] for r in rows]


__all__ = [
    "DEV_ACTORS",
    "EMODB_TO_RAVDESS",
    "RAVDESS_LABELS",
    "TEST_ACTORS",
    "TRAIN_ACTORS",
    "SpeechCorpus",
    "actor_split",
    "cached",
    "default_data_root",
    "load_emodb",
    "load_ravdess",
    "prosody_matrix",
    "ravdess_labelset",
    "whisper_matrix",
]
