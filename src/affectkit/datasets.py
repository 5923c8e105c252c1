"""Loaders for the emotion datasets affectkit trains and evaluates on.

Datasets are read at run time from a data folder (``$AFFECTKIT_DATA``, else ``shared/data`` next to the
repository) or from files the user names; their rows are never copied into the package. Every loader returns an
:class:`EmotionDataset`: texts plus whichever targets the dataset has (categories as multi-hot rows, vote counts
or graded scores; VAD on a stated scale; an intensity; ranked emotions; open-vocabulary words; causes).

Two kinds of loader:

- the datasets in the shared data folder, each read in the format its ``SOURCE.md`` describes: ``goemotions``,
  ``emobank``, ``meld``, ``emorynlp``, ``dailydialog``, ``armanemo``, ``crema_d``, ``warriner``;
- public file formats users bring, read from ``path``: ``semeval2018-ec``, ``semeval2018-ei-reg``,
  ``semeval2018-ei-oc``, ``semeval2018-v-reg``, ``semeval2018-v-oc``, ``wassa2017``, ``isear``, ``xed``,
  ``semeval2007``, ``eemo`` (an EEmo-Bench-style file: ranked top-3 emotions plus VAD), and ``table`` (any CSV,
  TSV, JSONL or Parquet file with a column mapping).

Dataset label spellings ("Joyful", "ANGRY", "HAPPY") are normalised onto affectkit's label sets here.
"""

from __future__ import annotations

import csv
import glob as globlib
import hashlib
import html
import io
import json
import logging
import math
import os
import re
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from affectkit.errors import InputError
from affectkit.hashing import digest_files
from affectkit.labels import LabelSet, get_labelset
from affectkit.labels.mapping import LabelMapping, get_mapping
from affectkit.vad import DIMENSIONS, get_scale

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


def _require(path: Path) -> Path:
    if not path.exists():
        raise InputError(f"dataset file not found: {path} (set AFFECTKIT_DATA to the folder holding the datasets)")
    return path


def _check_split(name: str, split: str, splits: Sequence[str]) -> None:
    if split not in splits:
        raise InputError(f"{name} has no split {split!r} ({', '.join(splits)})")


class LabelNormaliser:
    """Turns a dataset's spelling of a label ("Joyful", "ANGRY", "HAPPY") into a column of ``labelset``.

    The raw label is stripped, lower-cased and ``_``/``-`` become spaces; then ``aliases`` (lower-case keys) are
    applied. Unknown labels raise an :class:`InputError` naming the file and the labels that exist.
    """

    def __init__(self, labelset: LabelSet, aliases: dict[str, str] | None = None, source: str = "") -> None:
        self.labelset = labelset
        self.aliases = {_plain(k): v for k, v in (aliases or {}).items()}
        self.source = source

    def __call__(self, raw: Any) -> int:
        key = _plain(str(raw))
        lab = self.aliases.get(key, key)
        if lab not in self.labelset:
            known = ", ".join(self.labelset.labels)
            extra = f" (or {', '.join(sorted(self.aliases))})" if self.aliases else ""
            raise InputError(f"{self.source}: unknown label {raw!r}; expected one of {known}{extra}")
        return self.labelset.index(lab)


def _plain(label: str) -> str:
    return re.sub(r"[\s_-]+", " ", label.strip().lower())


def _onehot(indices: Sequence[Sequence[int]], k: int) -> np.ndarray:
    y = np.zeros((len(indices), k), dtype=np.float32)
    for i, row in enumerate(indices):
        y[i, list(row)] = 1
    return y


# ---------------------------------------------------------------------------------------------------------------
# The datasets in the shared data folder
# ---------------------------------------------------------------------------------------------------------------
def load_goemotions(split: str = "train", root: Path | None = None) -> EmotionDataset:
    """GoEmotions (Demszky et al. 2020): headerless TSV ``text, label ids, id``; multi-label over 28 labels."""
    root = (root or data_dir()) / "goemotions"
    path = _require(root / f"{split}.tsv")
    ls = get_labelset("goemotions")
    names = (root / "labels.txt").read_text().split()
    if tuple(names) != ls.labels:
        raise InputError(f"{root / 'labels.txt'} does not list the GoEmotions labels in the expected order")
    texts: list[str] = []
    ids: list[list[int]] = []
    rids: list[str] = []
    with open(path, encoding="utf-8", newline="") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            texts.append(parts[0])
            ids.append([int(x) for x in parts[1].split(",")])
            rids.append(parts[2] if len(parts) > 2 else str(len(rids)))
    return EmotionDataset("goemotions", split, texts, ls, _onehot(ids, len(ls)), meta={"id": rids},
                          license="Apache-2.0", files=[path])


def load_emobank(split: str = "train", root: Path | None = None, perspective: str = "combined") -> EmotionDataset:
    """EmoBank (Buechel and Hahn 2017): V, A, D on 1..5. ``combined`` is the corpus' weighted reader/writer mean;
    ``reader``/``writer`` use those gold files on the same split."""
    root = (root or data_dir()) / "emobank"
    path = _require(root / "emobank.csv")
    rows = list(csv.DictReader(open(path, encoding="utf-8", newline="")))
    rows = [r for r in rows if r["split"] == split]
    if not rows:
        raise InputError(f"EmoBank has no split {split!r} (train, dev, test)")
    files = [path]
    if perspective == "combined":
        vad = np.array([[float(r["V"]), float(r["A"]), float(r["D"])] for r in rows], dtype=np.float64)
    elif perspective in ("reader", "writer"):
        pfile = _require(root / f"{perspective}.csv")
        files.append(pfile)
        gold = {r["id"]: r for r in csv.DictReader(open(pfile, encoding="utf-8", newline=""))}
        vad = np.array([[float(gold[r["id"]][d]) if r["id"] in gold else np.nan for d in "VAD"] for r in rows])
    else:
        raise ValueError("perspective must be combined, reader or writer")
    return EmotionDataset("emobank", split, [r["text"] for r in rows], vad=vad, vad_scale="1..5",
                          meta={"id": [r["id"] for r in rows]}, license="CC-BY-SA-4.0", files=files)


def load_meld(split: str = "test", root: Path | None = None, dyadic: bool = False) -> EmotionDataset:
    """MELD (Poria et al. 2019): utterances from *Friends* with one of 7 emotions (the Ekman set). CSV with CRLF
    line endings; ``meta`` keeps speaker, sentiment and dialogue/utterance ids for conversational context."""
    _check_split("MELD", split, ("train", "dev", "test"))
    base = (root or data_dir()) / "meld"
    path = _require(base / ("MELD_Dyadic" if dyadic else "MELD") / f"{split}_sent_emo{'_dya' if dyadic else ''}.csv")
    ls = get_labelset("ekman")
    norm = LabelNormaliser(ls, source=str(path))
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    labels = [[norm(r["Emotion"])] for r in rows]
    meta = {"speaker": [r["Speaker"] for r in rows], "sentiment": [r["Sentiment"].strip() for r in rows],
            "dialogue_id": [r["Dialogue_ID"] for r in rows], "utterance_id": [r["Utterance_ID"] for r in rows]}
    return EmotionDataset("meld_dyadic" if dyadic else "meld", split, [r["Utterance"] for r in rows], ls,
                          _onehot(labels, len(ls)), meta=meta, license="GPL-3.0", files=[path])


EMORYNLP_SPLITS = {"train": "train", "dev": "dev", "test": "test"}


def load_emorynlp(split: str = "test", root: Path | None = None) -> EmotionDataset:
    """EmoryNLP (Zahiri and Choi 2018): *Friends* utterances with 7 feeling-wheel classes ("Joyful", "Mad", ...)."""
    _check_split("EmoryNLP", split, tuple(EMORYNLP_SPLITS))
    path = _require((root or data_dir()) / "emorynlp" / f"emorynlp_{split}_final.csv")
    ls = get_labelset("emorynlp")
    norm = LabelNormaliser(ls, source=str(path))
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    labels = [[norm(r["Emotion"])] for r in rows]
    meta = {"speaker": [r["Speaker"] for r in rows], "scene_id": [r["Scene_ID"] for r in rows],
            "utterance_id": [r["Utterance_ID"] for r in rows]}
    return EmotionDataset("emorynlp", split, [r["Utterance"] for r in rows], ls, _onehot(labels, len(ls)),
                          meta=meta, license="GPL-3.0", files=[path])


_NUMPY_STRING = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"", re.S)


def parse_numpy_strings(cell: str) -> list[str]:
    """The strings of a numpy-printed array of strings (``['a' "b's" ...]``), in order, unescaped."""
    out = []
    for m in _NUMPY_STRING.finditer(cell):
        s = m.group(1) if m.group(1) is not None else m.group(2)
        out.append(s.replace("\\'", "'").replace('\\"', '"').replace("\\\\", "\\"))
    return out


def load_dailydialog(split: str = "train", root: Path | None = None) -> EmotionDataset:
    """DailyDialog (Li et al. 2017), train split only: a zip holding ``train.csv`` whose cells are numpy-printed
    arrays (utterances; act ids; emotion ids 0 = no emotion, 1 anger, 2 disgust, 3 fear, 4 happiness,
    5 sadness, 6 surprise). One row per utterance; ``meta`` keeps dialogue id, turn and dialogue act."""
    _check_split("DailyDialog (only the official train split is in the data folder)", split, ("train",))
    path = _require((root or data_dir()) / "dailydialog" / "dailydialog.csv.zip")
    ls = get_labelset("dailydialog")
    with zipfile.ZipFile(path) as z:
        text = z.read("train.csv").decode("utf-8")
    texts: list[str] = []
    labels: list[list[int]] = []
    meta: dict[str, list] = {"dialogue_id": [], "turn": [], "act": []}
    for d, row in enumerate(csv.DictReader(io.StringIO(text))):
        utts = [u.strip() for u in parse_numpy_strings(row["dialog"])]
        emos = [int(x) for x in row["emotion"].strip("[]").split()]
        acts = [int(x) for x in row["act"].strip("[]").split()]
        if len(utts) != len(emos):
            raise InputError(f"{path}: dialogue {d} has {len(utts)} utterances but {len(emos)} emotion labels")
        for t, (u, e) in enumerate(zip(utts, emos)):
            if not 0 <= e < len(ls):
                raise InputError(f"{path}: dialogue {d} has emotion id {e}; expected 0..{len(ls) - 1}")
            texts.append(u)
            labels.append([e])
            meta["dialogue_id"].append(d)
            meta["turn"].append(t)
            meta["act"].append(acts[t] if t < len(acts) else None)
    return EmotionDataset("dailydialog", split, texts, ls, _onehot(labels, len(ls)), meta=meta,
                          license="CC-BY-NC-SA-4.0", files=[path])


ARMANEMO_ALIASES = {"angry": "anger", "happy": "happiness", "hate": "hatred", "sad": "sadness",
                    "surprise": "wonder"}


def load_armanemo(split: str = "test", root: Path | None = None) -> EmotionDataset:
    """ArmanEmo (Mirzaee et al. 2022), Persian: headerless ``text TAB LABEL``, one record per line with no quote
    handling (``csv.QUOTE_NONE``: some texts start with a stray ``"``); labels ANGRY, FEAR, HAPPY, HATE, SAD,
    SURPRISE, OTHER."""
    _check_split("ArmanEmo", split, ("train", "test"))
    path = _require((root or data_dir()) / "armanemo" / f"{split}.tsv")
    ls = get_labelset("armanemo")
    norm = LabelNormaliser(ls, ARMANEMO_ALIASES, source=str(path))
    texts, labels = [], []
    with open(path, encoding="utf-8", newline="") as f:
        for lineno, rec in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if not rec:
                continue
            if len(rec) < 2:
                raise InputError(f"{path}:{lineno}: expected text TAB label")
            texts.append("\t".join(rec[:-1]))
            labels.append([norm(rec[-1])])
    return EmotionDataset("armanemo", split, texts, ls, _onehot(labels, len(ls)), license="CC-BY-NC-SA-4.0",
                          files=[path])


def hash_split(text: str, seed: str = "affectkit") -> str:
    """A fixed train / dev / test split (80 / 10 / 10) for a dataset that has none, from a hash of the text: the
    same text always falls in the same split, so duplicates never straddle two splits."""
    bucket = int(hashlib.sha1(f"{seed}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()[:8], 16) % 10
    return "test" if bucket == 0 else "dev" if bucket == 1 else "train"


def _hash_split_rows(rows: list, text_of: Callable[[Any], str], split: str, name: str) -> list:
    _check_split(f"{name} (no official split; affectkit's fixed 80/10/10 hash split, or all)", split,
                 ("train", "dev", "test", "all"))
    return rows if split == "all" else [r for r in rows if hash_split(text_of(r)) == split]


BRIGHTER_FILES = {"train": "track_a/train/eng.csv", "dev": "track_a/dev/eng.csv", "test": "track_c/test/eng.csv"}


def load_brighter(split: str = "test", root: Path | None = None) -> EmotionDataset:
    """BRIGHTER / SemEval-2025 Task 11 English (Muhammad et al. 2025): Reddit narrative sentences, multi-label over
    anger, fear, joy, sadness, surprise (all zero = no emotion). Train and dev from track A; test from track C (the
    gold of the track A test texts). ``scores`` hold track B's intensity (0-3, as 0..1) where the text has one."""
    _check_split("BRIGHTER", split, tuple(BRIGHTER_FILES))
    base = (root or data_dir()) / "brighter_eng"
    path = _require(base / BRIGHTER_FILES[split])
    ls = get_labelset("brighter")
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    y = np.array([[float(r[lab]) for lab in ls.labels] for r in rows], dtype=np.float32)
    files = [path]
    intensity_path = base / f"track_b/{split}/eng.csv"
    meta: dict[str, list] = {"id": [r["id"] for r in rows]}
    if intensity_path.exists():
        with open(intensity_path, encoding="utf-8", newline="") as f:
            graded = {r["text"]: r for r in csv.DictReader(f)}
        files.append(intensity_path)
        for lab in ls.labels:
            meta[f"intensity_{lab}"] = [float(graded[r["text"]][lab]) / 3.0 if r["text"] in graded else math.nan
                                        for r in rows]
    return EmotionDataset("brighter", split, [r["text"] for r in rows], ls, y, meta=meta, license="CC-BY-4.0",
                          files=files)


GNE_LABELS = {"love_including_like": "love", "negative_anticipation_including_pessimism": "negative anticipation",
              "positive_anticipation_including_optimism": "positive anticipation"}


def load_gne(split: str = "test", root: Path | None = None) -> EmotionDataset:
    """GoodNewsEveryone (Bostan et al. 2020): news headlines, one dominant emotion of 15. No official split: a
    fixed hash split (:func:`hash_split`). ``meta`` keeps the other emotion, the reader emotion and the cause span."""
    path = _require((root or data_dir()) / "goodnewseveryone" / "gne-release-v1.0.tsv")
    ls = get_labelset("gne")
    norm = LabelNormaliser(ls, GNE_LABELS, source=str(path))
    with open(path, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r["headline"].strip()]
    rows = _hash_split_rows(rows, lambda r: r["headline"], split, "GoodNewsEveryone")
    labels = [[norm(r["dominant_emotion"])] for r in rows]
    meta = {"other_emotion": [r["other_emotions"] for r in rows], "reader_emotion": [r["reader_emotions"] for r in rows],
            "cause": [r["cause"] for r in rows], "source": [r["source"] for r in rows]}
    return EmotionDataset("gne", split, [r["headline"] for r in rows], ls, _onehot(labels, len(ls)), meta=meta,
                          license="CC-BY-4.0 (annotations; headlines: their publishers')", files=[path])


PREMO_LABELS = {"positivesurprise": "positive surprise", "negativesurprise": "negative surprise"}


def load_premo(split: str = "test", root: Path | None = None) -> EmotionDataset:
    """PRemo (Coutinho et al. 2025): GitHub pull-request comments, three annotators each choosing any of 7 emotions
    (the pass with the discussion's context, ``part2``). ``categories`` are vote counts (0-3 per label: soft
    labels); rows where no annotator chose an emotion have all-zero votes. No official split: a fixed hash split."""
    path = _require((root or data_dir()) / "premo" / "dataset.json")
    ls = get_labelset("premo")
    norm = LabelNormaliser(ls, PREMO_LABELS, source=str(path))
    rows = [r for r in json.loads(path.read_text("utf-8")) if str(r.get("raw_message") or "").strip()]
    rows = _hash_split_rows(rows, lambda r: r["raw_message"], split, "PRemo")
    votes = np.zeros((len(rows), len(ls)), dtype=np.float32)
    pos, neg = [], []
    for i, r in enumerate(rows):
        answers = [a["part2"] for a in r["individual_answers"]]
        for a in answers:
            for e in set(a.get("emotions") or []):
                votes[i, norm(e)] += 1
        pos.append(float(np.mean([a.get("positive_intensity", 0) for a in answers])) / 4.0)
        neg.append(float(np.mean([a.get("negative_itensity", 0) for a in answers])) / 4.0)
    meta = {"project": [r["project"] for r in rows], "positive_intensity": pos, "negative_intensity": neg,
            "annotators": [len(r["individual_answers"]) for r in rows]}
    return EmotionDataset("premo", split, [r["raw_message"] for r in rows], ls, votes, category_kind="votes",
                          meta=meta, license="MIT", files=[path])


SMILE_LABELS = {"angry": "angry", "happy": "happy", "sad": "sad", "surprise": "surprise", "disgust": "disgust",
                "nocode": "nocode"}


def load_smile(split: str = "test", root: Path | None = None) -> EmotionDataset:
    """SMILE (Wang et al. 2016): tweets to UK museums, one or more of happy, angry, sad, surprise, disgust (joined by
    ``|``), or ``nocode`` (no emotion). Tweets coded ``not-relevant`` are left out. No official split: a fixed hash
    split."""
    path = _require((root or data_dir()) / "smile" / "smile-annotations-final.csv")
    ls = get_labelset("smile")
    norm = LabelNormaliser(ls, SMILE_LABELS, source=str(path))
    with open(path, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["Category"].strip() != "not-relevant" and r["text"].strip()]
    rows = _hash_split_rows(rows, lambda r: r["text"], split, "SMILE")
    labels = [[norm(x) for x in r["Category"].split("|")] for r in rows]
    return EmotionDataset("smile", split, [r["text"] for r in rows], ls, _onehot(labels, len(ls)),
                          license="CC-BY (annotations; tweets: Twitter's)", files=[path])


CREMA_D_SENTENCES = {  # the 12 sentences the actors read (CREMA-D README)
    "IEO": "It's eleven o'clock.", "TIE": "That is exactly what happened.", "IOM": "I'm on my way to the meeting.",
    "IWW": "I wonder what this is about.", "TAI": "The airplane is almost full.",
    "MTI": "Maybe tomorrow it will be cold.", "IWL": "I would like a new alarm clock.",
    "ITH": "I think I have a doctor's appointment.", "DFA": "Don't forget a jacket.",
    "ITS": "I think I've seen this before.", "TSI": "The surface is slick.", "WSI": "We'll stop in a couple of minutes.",
}
CREMA_D_MODALITIES = {"voice": "1", "face": "2", "audiovisual": "3"}


def load_crema_d(split: str = "all", root: Path | None = None, modality: str = "audiovisual") -> EmotionDataset:
    """CREMA-D crowd perception votes (Cao et al. 2014), no audio: one row per clip with the vote counts of the
    chosen rating ``modality`` (voice, face or audiovisual) as soft labels over ``crema-d``. The text is the
    sentence the actor read; ``meta`` keeps the clip file name, the intended emotion and its level."""
    _check_split("CREMA-D (no official split)", split, ("all",))
    if modality not in CREMA_D_MODALITIES:
        raise InputError(f"CREMA-D modality must be one of {', '.join(CREMA_D_MODALITIES)}")
    path = _require((root or data_dir()) / "crema_d_labels" / "processedResults" / "tabulatedVotes.csv")
    ls = get_labelset("crema-d")
    columns = ["A", "D", "F", "H", "N", "S"]  # = crema-d label order anger disgust fear happy neutral sad
    prefix = CREMA_D_MODALITIES[modality]
    texts: list[str] = []
    votes: list[list[float]] = []
    meta: dict[str, list[Any]] = {"file": [], "intended": [], "level": [], "responses": []}
    intended = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        col = {h: i for i, h in enumerate(header)}
        for rec in reader:
            if not rec[0].startswith(prefix):
                continue
            name = rec[col["fileName"]]
            parts = name.split("_")
            texts.append(CREMA_D_SENTENCES[parts[1]])
            votes.append([float(rec[col[c]]) for c in columns])
            meta["file"].append(name)
            meta["intended"].append(intended[parts[2]])
            meta["level"].append(parts[3])
            meta["responses"].append(int(rec[col["numResponses"]]))
    return EmotionDataset(f"crema_d_{modality}", split, texts, ls, np.array(votes, dtype=np.float64), meta=meta,
                          license="ODbL-1.0/DbCL-1.0", files=[path], category_kind="votes")


def load_warriner(split: str = "test", root: Path | None = None) -> EmotionDataset:
    """Warriner, Kuperman and Brysbaert (2013) norms: English lemmas with V, A, D means on 1..9 (``meta`` has
    the SDs and rating counts). Splits are XANEW's crosslingual word lists; ``all`` keeps every word."""
    _check_split("Warriner norms", split, ("train", "dev", "test", "all"))
    base = (root or data_dir()) / "warriner_vad"
    path = _require(base / "Ratings_Warriner_et_al.csv")
    files = [path]
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    if split != "all":
        sfile = _require(base / "splits" / "crosslingual" / f"{split}.txt")
        files.append(sfile)
        wanted = [w.strip() for w in sfile.read_text(encoding="utf-8").splitlines() if w.strip()]
        by_word = {r["Word"]: r for r in rows}
        missing = [w for w in wanted if w not in by_word]
        if missing:
            raise InputError(f"{sfile}: {len(missing)} words are not in {path.name}, e.g. {missing[:3]}")
        rows = [by_word[w] for w in wanted]
    vad = np.array([[float(r[f"{d}.Mean.Sum"]) for d in "VAD"] for r in rows], dtype=np.float64)
    meta = {f"{d}_sd": [float(r[f"{d}.SD.Sum"]) for r in rows] for d in "VAD"}
    meta.update({f"{d}_n": [int(r[f"{d}.Rat.Sum"]) for r in rows] for d in "VAD"})
    return EmotionDataset("warriner", split, [r["Word"] for r in rows], vad=vad, vad_scale="1..9", meta=meta,
                          license="CC-BY-NC-ND-3.0", files=files)


# ---------------------------------------------------------------------------------------------------------------
# Public formats users bring (read from ``path``)
# ---------------------------------------------------------------------------------------------------------------
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


def _read_tsv(path: Path) -> list[list[str]]:
    """Tab-separated lines without quote handling (tweets contain stray quotes)."""
    with open(path, encoding="utf-8", newline="") as f:
        return [rec for rec in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if rec]


def load_semeval2018_ec(split: str = "test", path: Any = None) -> EmotionDataset:
    """SemEval-2018 Task 1 E-c (Mohammad et al. 2018): TSV with header ``ID, Tweet, anger, anticipation, ...,
    trust``; 0/1 per emotion (multi-label over ``semeval-ec``). Placeholder rows (an ID containing ``mystery``,
    which the official scorer excludes) are dropped; their number is logged."""
    files = resolve_paths(path)
    ls = get_labelset("semeval-ec")
    texts, ids, rows = [], [], []
    dropped = 0
    for p in files:
        recs = _read_tsv(p)
        head = [h.strip().lower() for h in recs[0]]
        if head[:2] != ["id", "tweet"] or set(ls.labels) - set(head):
            raise InputError(f"{p}: expected the E-c header ID, Tweet, {', '.join(ls.labels)}; found {recs[0]}")
        cols = [head.index(lab) for lab in ls.labels]
        for lineno, r in enumerate(recs[1:], 2):
            if "mystery" in r[0].lower():  # the test sets' placeholder rows, not scored by the task
                dropped += 1
                continue
            try:
                rows.append([float(r[c]) for c in cols])
            except (ValueError, IndexError):
                raise InputError(f"{p}:{lineno}: expected 0/1 in every emotion column") from None
            ids.append(r[0])
            texts.append(r[1])
    if dropped:
        logging.getLogger(__name__).info("semeval2018-ec: dropped %d placeholder ('mystery') rows of %s, which the "
                                         "official scorer excludes; %d rows kept", dropped,
                                         ", ".join(str(f) for f in files), len(texts))
    return EmotionDataset("semeval2018-ec", split, texts, ls, np.array(rows, dtype=np.float32).reshape(-1, len(ls)),
                          meta={"id": ids}, files=files)


_OC_CLASS = re.compile(r"^\s*(-?\d+)\s*:")


def _load_semeval2018_affect(name: str, split: str, path: Any, value: str, header: bool | None) -> EmotionDataset:
    """Shared reader of SemEval-2018 EI-reg/EI-oc/V-reg/V-oc and WASSA-2017 EmoInt files:
    ``ID, Tweet, Affect Dimension, Intensity Score|Intensity Class`` (WASSA-2017: the same columns, no header).
    Rows whose ID contains ``mystery`` (the SemEval-2018 test sets' placeholder rows, e.g.
    ``2018-En-mystery-01234``, which the official scorer excludes) are dropped; their number is logged."""
    files = resolve_paths(path)
    texts, ids, dims, values, classes = [], [], [], [], []
    dropped = 0
    for p in files:
        recs = _read_tsv(p)
        first = [h.strip().lower() for h in recs[0]]
        has_header = header if header is not None else (first[:2] == ["id", "tweet"])
        for lineno, r in enumerate(recs[1:] if has_header else recs, 2 if has_header else 1):
            if "mystery" in r[0].lower():  # placeholder rows, not scored by the task
                dropped += 1
                continue
            if len(r) < 4:
                raise InputError(f"{p}:{lineno}: expected 4 tab-separated fields (id, tweet, dimension, value)")
            ids.append(r[0])
            texts.append(r[1])
            dims.append(r[2].strip().lower())
            raw = r[3].strip()
            if value == "class":
                m = _OC_CLASS.match(raw)
                if not m:
                    raise InputError(f"{p}:{lineno}: expected an intensity class such as '2: moderate ...'; got {raw!r}")
                classes.append(int(m.group(1)))
                values.append(float(m.group(1)))
            else:
                try:
                    values.append(float(raw))
                except ValueError:
                    raise InputError(f"{p}:{lineno}: expected a number in [0, 1]; got {raw!r} (unlabelled test file?)") from None
    if dropped:
        logging.getLogger(__name__).info("%s: dropped %d placeholder ('mystery') rows of %s, which the official "
                                         "scorer excludes; %d rows kept", name, dropped,
                                         ", ".join(str(f) for f in files), len(texts))
    v = np.array(values, dtype=np.float64)
    meta: dict[str, list] = {"id": ids, "emotion": dims}
    if classes:
        meta["class"] = classes
    ds = EmotionDataset(name, split, texts, get_labelset("semeval-ec"), meta=meta, files=files)
    valence = all(d == "valence" for d in dims)
    if valence:
        # V-reg: 0 (most negative) .. 1 (most positive); V-oc classes -3..3 rescaled linearly onto -1..1
        vad = np.full((len(v), 3), np.nan)
        vad[:, 0] = v / 3.0 if value == "class" else v
        ds.vad, ds.vad_scale = vad, "-1..1" if value == "class" else "0..1"
    else:
        bad = sorted(set(dims) - set(ds.labelset.labels))  # type: ignore[union-attr]
        if bad:
            raise InputError(f"{files[0]}: unknown affect dimension(s) {bad}")
        ds.intensity = v / 3.0 if value == "class" else v  # EI-oc classes 0..3 rescaled linearly onto 0..1
    return ds


def load_semeval2018_ei_reg(split: str = "test", path: Any = None) -> EmotionDataset:
    """SemEval-2018 EI-reg: intensity 0..1 of anger, fear, joy or sadness (``meta['emotion']``)."""
    return _load_semeval2018_affect("semeval2018-ei-reg", split, path, "score", True)


def load_semeval2018_ei_oc(split: str = "test", path: Any = None) -> EmotionDataset:
    """SemEval-2018 EI-oc: intensity classes 0..3 (kept in ``meta['class']``; ``intensity`` = class / 3)."""
    return _load_semeval2018_affect("semeval2018-ei-oc", split, path, "class", True)


def load_semeval2018_v_reg(split: str = "test", path: Any = None) -> EmotionDataset:
    """SemEval-2018 V-reg: valence intensity 0 (most negative) .. 1 (most positive)."""
    return _load_semeval2018_affect("semeval2018-v-reg", split, path, "score", True)


def load_semeval2018_v_oc(split: str = "test", path: Any = None) -> EmotionDataset:
    """SemEval-2018 V-oc: seven valence classes -3..3 (``meta['class']``; valence = class / 3 on -1..1)."""
    return _load_semeval2018_affect("semeval2018-v-oc", split, path, "class", True)


def load_wassa2017(split: str = "test", path: Any = None) -> EmotionDataset:
    """WASSA-2017 EmoInt (Mohammad and Bravo-Marquez 2017): headerless ``id, tweet, emotion, score`` lines, one
    file per emotion; intensity 0..1 in ``intensity``, the emotion in ``meta['emotion']``."""
    return _load_semeval2018_affect("wassa2017", split, path, "score", False)


ISEAR_CODES = {1: "joy", 2: "fear", 3: "anger", 4: "sadness", 5: "disgust", 6: "shame", 7: "guilt"}


def load_isear(split: str = "all", path: Any = None) -> EmotionDataset:
    """ISEAR (Scherer and Wallbott 1994). Reads the pipe-separated export with a header (``EMOT`` 1..7 and the
    situation text ``SIT``; line breaks of the original database appear as ``á`` and are removed), or a
    two-column ``emotion,text`` CSV without header.

    The export is one record per line, fields joined by ``|`` without quoting, each line (and the header) ending
    in ``|``. A situation text may itself contain ``|`` or quotes: every field but ``SIT`` is a code, so the
    fields before ``SIT`` are counted from the left, those after it from the right, and ``SIT`` is what lies
    between. Files that are not UTF-8 are read as Latin-1."""
    files = resolve_paths(path)
    ls = get_labelset("isear")
    norm = LabelNormaliser(ls, source=str(files[0]))
    texts, labels = [], []
    for p in files:
        data = p.read_bytes()
        try:
            raw = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raw = data.decode("latin-1")
        first = raw.split("\n", 1)[0].rstrip("\r")
        if "|" in first and "SIT" in first.split("|"):
            head = first.split("|")
            if head[-1] == "":
                head.pop()
            i_emot, i_sit = head.index("EMOT"), head.index("SIT")
            for lineno, line in enumerate(raw.split("\n")[1:], 2):
                line = line.rstrip("\r")
                if not line.strip():
                    continue
                r = line.split("|")
                if len(r) > len(head) and r[-1] == "":
                    r.pop()  # the line's closing "|"
                if len(r) < len(head):
                    raise InputError(f"{p}:{lineno}: expected {len(head)} |-separated fields as in the header; "
                                     f"got {len(r)}")
                try:
                    code = int(r[i_emot])
                except ValueError:
                    raise InputError(f"{p}:{lineno}: EMOT must be a code 1..7") from None
                if code not in ISEAR_CODES:
                    raise InputError(f"{p}:{lineno}: EMOT must be a code 1..7; got {code}")
                sit = "|".join(r[i_sit : len(r) - (len(head) - i_sit - 1)])  # the text keeps its own "|"
                texts.append(re.sub(r"\s+", " ", sit.replace(" á", " ")).strip())
                labels.append([ls.index(ISEAR_CODES[code])])
        else:
            for lineno, r in enumerate(csv.reader(io.StringIO(raw)), 1):
                if not r:
                    continue
                if len(r) < 2:
                    raise InputError(f"{p}:{lineno}: expected emotion,text")
                labels.append([norm(r[0])])
                texts.append(r[1])
    return EmotionDataset("isear", split, texts, ls, _onehot(labels, len(ls)), files=files)


XED_CODES = {1: "anger", 2: "anticipation", 3: "disgust", 4: "fear", 5: "joy", 6: "sadness", 7: "surprise",
             8: "trust"}


def load_xed(split: str = "all", path: Any = None, neutral_path: Any = None) -> EmotionDataset:
    """XED (Öhman et al. 2020): ``en-annotated.tsv`` lines ``sentence TAB ids`` with ids 1..8 (anger,
    anticipation, disgust, fear, joy, sadness, surprise, trust) joined by commas; multi-label over Plutchik's
    eight. ``neutral_path`` adds the neutral file (``label TAB sentence``) as rows with no emotion."""
    files = resolve_paths(path)
    ls = get_labelset("plutchik")
    texts, labels = [], []
    for p in files:
        for lineno, r in enumerate(_read_tsv(p), 1):
            if len(r) < 2:
                raise InputError(f"{p}:{lineno}: expected sentence TAB label ids")
            try:
                codes = [int(x) for x in re.split(r"[,\s]+", r[-1].strip()) if x]
            except ValueError:
                raise InputError(f"{p}:{lineno}: label ids must be integers 1..8; got {r[-1]!r}") from None
            if not codes or any(c not in XED_CODES for c in codes):
                raise InputError(f"{p}:{lineno}: label ids must be integers 1..8; got {r[-1]!r}")
            texts.append("\t".join(r[:-1]))
            labels.append([ls.index(XED_CODES[c]) for c in codes])
    if neutral_path is not None:
        for p in resolve_paths(neutral_path):
            files.append(p)
            for r in _read_tsv(p):
                texts.append(r[-1])
                labels.append([])
    return EmotionDataset("xed", split, texts, ls, _onehot(labels, len(ls)), license="CC-BY-4.0", files=files)


_AFFECTIVE_TEXT_INSTANCE = re.compile(r'<instance\s+id="([^"]+)"\s*>(.*?)</instance>', re.S)


def load_semeval2007(split: str = "test", path: Any = None) -> EmotionDataset:
    """SemEval-2007 Task 14 Affective Text (Strapparava and Mihalcea 2007): headlines in
    ``affectivetext_<split>.xml`` and, beside it, ``.emotions.gold`` (``id anger disgust fear joy sadness
    surprise``, 0..100) and ``.valence.gold`` (``id valence``, -100..100). Emotions become graded scores on 0..1
    over ``ekman-6`` (a headline "has" an emotion at >= 0.5, the task's coarse-grained rule); valence goes to
    ``vad`` on -1..1."""
    xml_files = resolve_paths(path)
    files = list(xml_files)
    ls = get_labelset("ekman-6")  # anger disgust fear joy sadness surprise: the gold file's column order
    texts, ids, scores, valence = [], [], [], []
    for xml in xml_files:
        stem = str(xml)[: -len(".xml")] if str(xml).endswith(".xml") else str(xml)
        emo_file, val_file = Path(stem + ".emotions.gold"), Path(stem + ".valence.gold")
        content = xml.read_text(encoding="utf-8", errors="replace")
        inst = [(i, html.unescape(t).strip()) for i, t in _AFFECTIVE_TEXT_INSTANCE.findall(content)]
        if not inst:
            raise InputError(f"{xml}: no <instance id=...> elements found")
        emo = _read_gold_columns(_require(emo_file), 6)
        val = _read_gold_columns(val_file, 1) if val_file.exists() else {}
        files.extend(f for f in (emo_file, val_file) if f.exists())
        for i, t in inst:
            if i not in emo:
                raise InputError(f"{emo_file}: no gold emotions for instance {i}")
            ids.append(i)
            texts.append(t)
            scores.append([x / 100.0 for x in emo[i]])
            valence.append(val[i][0] / 100.0 if i in val else np.nan)
    vad = np.full((len(texts), 3), np.nan)
    vad[:, 0] = valence
    return EmotionDataset("semeval2007", split, texts, ls, np.array(scores), vad=vad, vad_scale="-1..1",
                          meta={"id": ids}, files=files, category_kind="scores")


def _read_gold_columns(path: Path, width: int) -> dict[str, list[float]]:
    out = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != width + 1:
            raise InputError(f"{path}:{lineno}: expected an id and {width} number(s)")
        out[parts[0]] = [float(x) for x in parts[1:]]
    return out


TABLE_FIELDS = ("text", "id", "labels", "valence", "arousal", "dominance", "intensity", "ranking", "words", "cause",
                "options")


def _as_list(value: Any, sep: str | None) -> list[str]:
    """A list-valued cell: a JSON list (JSONL or ``[...]`` text) or text split on ``sep`` (default: any of
    ``, ; | >``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v).strip() for v in value if str(v).strip()]
    s = str(value).strip()
    if s.startswith("["):
        try:
            parsed = json.loads(s)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            return [str(v).strip() for v in parsed if str(v).strip()]
    parts = s.split(sep) if sep else re.split(r"[,;|>]", s)
    return [p.strip() for p in parts if p.strip()]


def _optional_text(value: Any) -> str | None:
    """A text cell, or ``None`` when it is missing or blank."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or not str(value).strip():
        return None
    return str(value)


def _as_float(value: Any, where: str) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return np.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: expected a number, got {value!r}") from None


def load_table(split: str = "test", path: Any = None, columns: dict[str, str] | None = None,
               labelset: str | None = None, label_sep: str | None = None, label_map: dict[str, str] | None = None,
               vad_scale: str = "-1..1", format: str | None = None, name: str | None = None,
               meta_columns: Sequence[str] = ()) -> EmotionDataset:
    """Any CSV, TSV, JSONL or Parquet file with a column mapping.

    ``columns`` maps affectkit's fields to the file's columns: ``text`` (required), ``id``, ``labels`` (one
    label or several, as a list or joined by ``label_sep``), ``valence``/``arousal``/``dominance`` (on
    ``vad_scale``), ``intensity`` (0..1), ``ranking`` (gold emotions, most intense first), ``words``
    (open-vocabulary emotion words), ``cause`` and ``options`` (multiple choice). Unmapped fields default to a
    column of the same name when one exists. Labels are normalised onto ``labelset`` (``label_map`` renames
    spellings first).
    """
    from affectkit.tabular import read_chunks

    files = resolve_paths(path)
    columns = dict(columns or {})
    unknown = sorted(set(columns) - set(TABLE_FIELDS))
    if unknown:
        raise InputError(f"unknown column mapping field(s) {unknown}; fields are {', '.join(TABLE_FIELDS)}")
    frames = []
    for p in files:
        for chunk in read_chunks(p, format, 1 << 16, columns.get("text", "text")):
            bad = [(chunk.start + i + 2, e) for i, e in enumerate(chunk.errors) if e]
            if bad:
                raise InputError(f"{p}: row {bad[0][0]}: {bad[0][1]}")
            frames.append(chunk.frame)
    import pandas as pd

    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    col = {f: columns.get(f, f) for f in TABLE_FIELDS}
    has = {f: col[f] in frame.columns for f in TABLE_FIELDS}
    for f, c in columns.items():
        if c not in frame.columns:
            raise InputError(f"{files[0]}: column {c!r} (for {f}) not found; columns are {list(frame.columns)}")
    n = len(frame)
    texts = [None if v is None else str(v) for v in frame[col["text"]]]
    where = str(files[0])
    ls = get_labelset(labelset) if labelset else None
    categories = rankings = None
    kind = "multi-hot"
    if has["labels"] or has["ranking"] or has["options"]:
        if ls is None:
            raise InputError(f"{where}: name the label set of the labels (labelset: ekman, goemotions, ...)")
    norm = LabelNormaliser(ls, label_map, source=where) if ls else None
    if has["labels"] and norm is not None:
        idx = [[norm(lab) for lab in _as_list(v, label_sep)] for v in frame[col["labels"]]]
        categories = _onehot(idx, len(ls))  # type: ignore[arg-type]
    if has["ranking"] and norm is not None:
        rankings = [[ls.labels[norm(lab)] for lab in _as_list(v, label_sep)] for v in frame[col["ranking"]]]  # type: ignore[union-attr]
        if categories is None:  # graded weights k, k-1, ..., 1 for the ranked labels
            categories, kind = np.zeros((n, len(ls)), dtype=np.float64), "votes"  # type: ignore[arg-type]
            for i, r in enumerate(rankings):
                for pos, lab in enumerate(r):
                    categories[i, ls.index(lab)] = len(r) - pos  # type: ignore[union-attr]
    vad = None
    if any(has[d] for d in DIMENSIONS):
        vad = np.full((n, 3), np.nan)
        for j, d in enumerate(DIMENSIONS):
            if has[d]:
                vad[:, j] = [_as_float(v, f"{where} ({d})") for v in frame[col[d]]]
    if vad is not None:
        try:
            vad_scale = get_scale(vad_scale).name
        except ValueError as e:
            raise InputError(str(e)) from None
    ds = EmotionDataset(name or Path(files[0]).stem, split, texts, ls, categories, vad,  # type: ignore[arg-type]
                        vad_scale if vad is not None else None, files=files, category_kind=kind, rankings=rankings)
    if has["intensity"]:
        ds.intensity = np.array([_as_float(v, f"{where} (intensity)") for v in frame[col["intensity"]]])
    if has["words"]:
        ds.words = [_as_list(v, label_sep) for v in frame[col["words"]]]
    if has["cause"]:
        ds.causes = [_optional_text(v) for v in frame[col["cause"]]]
    if has["options"] and norm is not None:
        ds.options = [[ls.labels[norm(o)] for o in _as_list(v, label_sep)] for v in frame[col["options"]]]  # type: ignore[union-attr]
    if has["id"]:
        ds.meta["id"] = [str(v) for v in frame[col["id"]]]
    for m in meta_columns:
        if m not in frame.columns:
            raise InputError(f"{where}: meta column {m!r} not found")
        ds.meta[m] = list(frame[m])
    return ds


def load_eemo(split: str = "test", path: Any = None, columns: dict[str, str] | None = None,
              vad_scale: str = "1..9", labelset: str = "eemo", label_sep: str | None = None,
              format: str | None = None) -> EmotionDataset:
    """An EEmo-Bench-style file (EEmo-Bench 2025): per item a ``ranking`` of its top-3 evoked emotions over the
    seven EEmo-Bench categories (a list, or text such as ``joy>surprise>neutral``) and Self-Assessment-Manikin
    ``valence``, ``arousal``, ``dominance`` on 1..9; optional ``options`` for multiple-choice perception. The
    item is in ``text`` (or a path to an image or clip, for analyzers of those). Any CSV/TSV/JSONL/Parquet
    file; ``columns`` renames fields as in :func:`load_table`."""
    return load_table(split, path, columns, labelset, label_sep, None, vad_scale, format, name="eemo")


LOADERS: dict[str, Callable[..., EmotionDataset]] = {
    "goemotions": load_goemotions,
    "emobank": load_emobank,
    "meld": load_meld,
    "emorynlp": load_emorynlp,
    "dailydialog": load_dailydialog,
    "armanemo": load_armanemo,
    "crema_d": load_crema_d,
    "warriner": load_warriner,
    "brighter": load_brighter,
    "gne": load_gne,
    "premo": load_premo,
    "smile": load_smile,
    "semeval2018-ec": load_semeval2018_ec,
    "semeval2018-ei-reg": load_semeval2018_ei_reg,
    "semeval2018-ei-oc": load_semeval2018_ei_oc,
    "semeval2018-v-reg": load_semeval2018_v_reg,
    "semeval2018-v-oc": load_semeval2018_v_oc,
    "wassa2017": load_wassa2017,
    "isear": load_isear,
    "xed": load_xed,
    "semeval2007": load_semeval2007,
    "eemo": load_eemo,
    "table": load_table,
}
SHARED_DATASETS = ("goemotions", "emobank", "meld", "emorynlp", "dailydialog", "armanemo", "crema_d", "warriner",
                   "brighter", "gne", "premo", "smile")


def load_dataset(name: str, split: str = "train", **kwargs) -> EmotionDataset:
    """Load a dataset by loader name (see ``LOADERS``); file formats take ``path=``."""
    if name not in LOADERS:
        raise InputError(f"unknown dataset {name!r}; loaders: {', '.join(sorted(LOADERS))}")
    try:
        return LOADERS[name](split, **kwargs)
    except TypeError as e:
        if "unexpected keyword" in str(e) or "positional argument" in str(e):
            raise InputError(f"dataset {name!r}: {e}") from None
        raise


def describe(ds: EmotionDataset) -> str:
    return json.dumps({"name": ds.name, "split": ds.split, "rows": len(ds)})

