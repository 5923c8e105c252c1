"""DailyDialog: utterances of everyday dialogues, 7 classes (eval only; the train split only).

Licence: CC-BY-NC-SA-4.0.
Citation: Li et al. 2017, "DailyDialog: A Manually Labelled Multi-turn Dialogue Dataset", IJCNLP.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

from affectkit.datasets.base import EmotionDataset, check_split, data_dir, onehot_rows, require_file
from affectkit.errors import InputError
from affectkit.labels import get_labelset

LICENSE = "CC-BY-NC-SA-4.0"  # what the loader records as the dataset's licence
CITATION = 'Li et al. 2017, "DailyDialog: A Manually Labelled Multi-turn Dialogue Dataset", IJCNLP.'


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
    check_split("DailyDialog (only the official train split is in the data folder)", split, ("train",))
    path = require_file((root or data_dir()) / "dailydialog" / "dailydialog.csv.zip")
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
    return EmotionDataset("dailydialog", split, texts, ls, onehot_rows(labels, len(ls)), meta=meta,
                          license=LICENSE, files=[path])
