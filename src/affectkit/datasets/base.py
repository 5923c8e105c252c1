"""The dataset type every loader returns, and the helpers loaders share (data folder, label normalisation,
hash splits, file lists).
"""

from __future__ import annotations

import csv
import glob as globlib
import hashlib
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from affectkit.errors import InputError
from affectkit.hashing import digest_files
from affectkit.labels import LabelSet, get_labelset
from affectkit.labels.mapping import LabelMapping, get_mapping

CATEGORY_KINDS = ("multi-hot", "votes", "scores")


AGGREGATION_RULES = ("plurality", "majority")


@dataclass
class EmotionDataset:
    """Texts with targets.

    ``categories`` is ``(n, K)`` over ``labelset``; ``category_kind`` says what its numbers are: ``multi-hot``
    (0/1), ``votes`` (annotator vote counts, soft labels) or ``scores`` (graded intensities on 0..1).
    ``vad`` is ``(n, 3)`` on ``vad_scale`` (NaN where a dimension is missing); ``intensity`` is ``(n,)`` on 0..1;
    ``rankings`` lists each row's gold emotions, most intense first; ``words`` holds open-vocabulary emotion words;
    ``causes`` the phrase that caused the emotion; ``options`` multiple-choice options.
    """

    name: str
    split: str
    texts: list[str]
    labelset: LabelSet | None = None
    categories: np.ndarray | None = None
    vad: np.ndarray | None = None
    vad_scale: str | None = None
    meta: dict[str, list] = field(default_factory=dict)
    license: str = ""
    files: list[Path] = field(default_factory=list)
    category_kind: str = "multi-hot"
    intensity: np.ndarray | None = None
    rankings: list[list[str]] | None = None
    words: list[list[str]] | None = None
    causes: list[str | None] | None = None
    options: list[list[str]] | None = None

    def __post_init__(self) -> None:
        if self.category_kind not in CATEGORY_KINDS:
            raise ValueError(f"category_kind must be one of {CATEGORY_KINDS}")

    def __len__(self) -> int:
        return len(self.texts)

    def fingerprint(self) -> str:
        """sha256 over the source files, for reproducibility records."""
        return digest_files(sorted(self.files))

    def subset(self, idx: np.ndarray | list[int]) -> "EmotionDataset":
        idx = np.asarray(idx, dtype=np.int64)

        def pick(values: list | None) -> list | None:
            return None if values is None else [values[i] for i in idx]

        return replace(self, texts=[self.texts[i] for i in idx],
                       categories=None if self.categories is None else self.categories[idx],
                       vad=None if self.vad is None else self.vad[idx],
                       meta={k: [v[i] for i in idx] for k, v in self.meta.items()},
                       intensity=None if self.intensity is None else self.intensity[idx],
                       rankings=pick(self.rankings), words=pick(self.words), causes=pick(self.causes),
                       options=pick(self.options))

    # -- reading the gold labels ---------------------------------------------------------------------------------
    def label_sets(self, score_threshold: float = 0.5) -> np.ndarray:
        """Multi-label gold decisions ``(n, K)``. Multi-hot rows as they are; vote counts are normalised and
        binarised at y_c > 1/K (the soft-label evaluation rule, docs/methods.md §1.5); graded scores are on at
        ``score_threshold``."""
        y = self._require_categories()
        if self.category_kind == "multi-hot":
            return y > 0
        if self.category_kind == "votes":
            total = y.sum(axis=1, keepdims=True)
            return (y / np.where(total > 0, total, 1.0)) > 1.0 / y.shape[1]
        return y >= score_threshold

    def single_labels(self, rule: str = "plurality") -> np.ndarray:
        """One gold label index per row, or -1 where the rule keeps no label: ``plurality`` needs a unique most
        weighted label, ``majority`` one with more than half of the weight (see
        :func:`affectkit.labels.votes.aggregate_votes`)."""
        from affectkit.labels.votes import aggregate_votes

        if rule not in AGGREGATION_RULES:
            raise InputError(f"unknown aggregation rule {rule!r}; use one of {', '.join(AGGREGATION_RULES)}")
        onehot, keep = aggregate_votes(self._require_categories(), rule)
        out = np.full(len(self), -1, dtype=np.int64)
        out[keep] = onehot.argmax(axis=1)
        return out

    def gold_rankings(self, k: int) -> list[list[str]]:
        """Each row's gold emotions, most intense first, at most ``k``: the ``rankings`` if the dataset has them,
        else the labels with positive weight ordered by weight (ties in label-set order)."""
        if self.rankings is not None:
            return [list(r[:k]) for r in self.rankings]
        y = self._require_categories()
        assert self.labelset is not None
        names = self.labelset.labels
        out = []
        for row in y:
            order = [j for j in np.argsort(-row, kind="stable") if row[j] > 0]
            out.append([names[j] for j in order[:k]])
        return out

    def gold_words(self) -> list[list[str]]:
        """Open-vocabulary gold emotion words: ``words`` if present, else the names of the gold labels."""
        if self.words is not None:
            return [list(w) for w in self.words]
        assert self.labelset is not None
        sets = self.label_sets()
        names = self.labelset.labels
        return [[names[j] for j in np.flatnonzero(row)] for row in sets]

    def _require_categories(self) -> np.ndarray:
        if self.categories is None or self.labelset is None:
            raise InputError(f"dataset {self.name!r} has no emotion categories")
        return self.categories

    def with_labelset(self, target: "str | LabelSet") -> tuple["EmotionDataset", LabelMapping | None]:
        """The same rows with categories (and rankings) mapped onto ``target`` through
        :func:`affectkit.labels.get_mapping`; returns the dataset and the mapping used (``None`` if unchanged).

        Multi-hot rows: a target label is on when any source label feeding it is. Vote counts: weights are
        shared as the mapping matrix says. Graded scores: a target label takes the largest feeding score.
        """
        target = get_labelset(target)
        if self.labelset is None or self.labelset == target:
            return self, None
        mapping = get_mapping(self.labelset, target)
        y = self._require_categories()
        if self.category_kind == "multi-hot":
            mapped = mapping.map_indicators(y).astype(np.float32)
        elif self.category_kind == "votes":
            mapped = y.astype(np.float64) @ mapping.matrix
        else:
            mapped = mapping.map_scores(y)
        rankings = None
        if self.rankings is not None:
            rankings = []
            for r in self.rankings:
                seen: list[str] = []
                for lab in r:
                    for t in mapping.map_label(lab)[:1]:
                        if t not in seen:
                            seen.append(t)
                rankings.append(seen)
        return replace(self, labelset=target, categories=mapped, rankings=rankings), mapping


def data_dir() -> Path:
    """The folder that holds the datasets: ``$AFFECTKIT_DATA`` or ``shared/data`` beside the repository."""
    env = os.environ.get("AFFECTKIT_DATA")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for base in [Path.cwd(), *Path.cwd().parents, *here.parents]:
        cand = base / "shared" / "data"
        if (cand / "INDEX.md").exists():
            return cand
    return Path.cwd().parent / "shared" / "data"


def require_file(path: Path) -> Path:
    if not path.exists():
        raise InputError(f"dataset file not found: {path} (set AFFECTKIT_DATA to the folder holding the datasets)")
    return path


def check_split(name: str, split: str, splits: Sequence[str]) -> None:
    if split not in splits:
        raise InputError(f"{name} has no split {split!r} ({', '.join(splits)})")


class LabelNormaliser:
    """Turns a dataset's spelling of a label ("Joyful", "ANGRY", "HAPPY") into a column of ``labelset``.

    The raw label is stripped, lower-cased and ``_``/``-`` become spaces; then ``aliases`` (lower-case keys) are
    applied. Unknown labels raise an :class:`InputError` naming the file and the labels that exist.
    """

    def __init__(self, labelset: LabelSet, aliases: dict[str, str] | None = None, source: str = "") -> None:
        self.labelset = labelset
        self.aliases = {plain_label(k): v for k, v in (aliases or {}).items()}
        self.source = source

    def __call__(self, raw: Any) -> int:
        key = plain_label(str(raw))
        lab = self.aliases.get(key, key)
        if lab not in self.labelset:
            known = ", ".join(self.labelset.labels)
            extra = f" (or {', '.join(sorted(self.aliases))})" if self.aliases else ""
            raise InputError(f"{self.source}: unknown label {raw!r}; expected one of {known}{extra}")
        return self.labelset.index(lab)


def plain_label(label: str) -> str:
    return re.sub(r"[\s_-]+", " ", label.strip().lower())


def onehot_rows(indices: Sequence[Sequence[int]], k: int) -> np.ndarray:
    y = np.zeros((len(indices), k), dtype=np.float32)
    for i, row in enumerate(indices):
        y[i, list(row)] = 1
    return y


def hash_split(text: str, seed: str = "affectkit") -> str:
    """A fixed train / dev / test split (80 / 10 / 10) for a dataset that has none, from a hash of the text: the
    same text always falls in the same split, so duplicates never straddle two splits."""
    bucket = int(hashlib.sha1(f"{seed}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()[:8], 16) % 10
    return "test" if bucket == 0 else "dev" if bucket == 1 else "train"


def hash_split_rows(rows: list, text_of: Callable[[Any], str], split: str, name: str) -> list:
    check_split(f"{name} (no official split; affectkit's fixed 80/10/10 hash split, or all)", split,
                 ("train", "dev", "test", "all"))
    return rows if split == "all" else [r for r in rows if hash_split(text_of(r)) == split]


def resolve_paths(path: "str | Path | Sequence[str | Path]") -> list[Path]:
    """One path, a list of paths, or a glob pattern; every file must exist."""
    items = [path] if isinstance(path, (str, Path)) else list(path)
    out: list[Path] = []
    for item in items:
        s = str(item)
        if any(ch in s for ch in "*?["):
            matches = sorted(globlib.glob(s))
            if not matches:
                raise InputError(f"no file matches {s}")
            out.extend(Path(m) for m in matches)
        else:
            p = Path(s)
            if not p.is_file():
                raise InputError(f"dataset file not found: {p}")
            out.append(p)
    if not out:
        raise InputError("no dataset file given (path)")
    return out


def read_tsv(path: Path) -> list[list[str]]:
    """Tab-separated lines without quote handling (tweets contain stray quotes)."""
    with open(path, encoding="utf-8", newline="") as f:
        return [rec for rec in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if rec]


def read_gold_columns(path: Path, width: int) -> dict[str, list[float]]:
    out = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != width + 1:
            raise InputError(f"{path}:{lineno}: expected an id and {width} number(s)")
        out[parts[0]] = [float(x) for x in parts[1:]]
    return out


def rated_images(name: str, split: str, paths: Sequence[str], valence: np.ndarray, arousal: np.ndarray,
                 table: Path, license: str) -> EmotionDataset:
    """A dataset of images with mean valence and arousal ratings on -1..1: ``texts`` holds each image's path (the
    item a media analyzer reads), ``vad`` the ratings (dominance NaN), ``meta["id"]`` the file stems."""
    vad = np.c_[valence, arousal, np.full(len(paths), np.nan)]
    return EmotionDataset(name, split, list(paths), vad=vad, vad_scale="-1..1",
                          meta={"id": [Path(p).stem for p in paths]}, license=license, files=[table])

