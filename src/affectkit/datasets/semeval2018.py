"""SemEval-2018 Task 1 files a user brings: E-c (11 labels), EI-reg, EI-oc, V-reg, V-oc.

Licence: the user's copy (research use).
Citation: Mohammad et al. 2018, "SemEval-2018 Task 1: Affect in Tweets", SemEval.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np

from affectkit.datasets.base import EmotionDataset, read_tsv, resolve_paths
from affectkit.errors import InputError
from affectkit.labels import get_labelset

LICENSE = "the user's copy (research use)"
CITATION = 'Mohammad et al. 2018, "SemEval-2018 Task 1: Affect in Tweets", SemEval.'


def load_semeval2018_ec(split: str = "test", path: Any = None) -> EmotionDataset:
    """SemEval-2018 Task 1 E-c (Mohammad et al. 2018): TSV with header ``ID, Tweet, anger, anticipation, ...,
    trust``; 0/1 per emotion (multi-label over ``semeval-ec``). Placeholder rows (an ID containing ``mystery``,
    which the official scorer excludes) are dropped; their number is logged."""
    files = resolve_paths(path)
    ls = get_labelset("semeval-ec")
    texts, ids, rows = [], [], []
    dropped = 0
    for p in files:
        recs = read_tsv(p)
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


def load_semeval2018_affect(name: str, split: str, path: Any, value: str, header: bool | None) -> EmotionDataset:
    """Shared reader of SemEval-2018 EI-reg/EI-oc/V-reg/V-oc and WASSA-2017 EmoInt files:
    ``ID, Tweet, Affect Dimension, Intensity Score|Intensity Class`` (WASSA-2017: the same columns, no header).
    Rows whose ID contains ``mystery`` (the SemEval-2018 test sets' placeholder rows, e.g.
    ``2018-En-mystery-01234``, which the official scorer excludes) are dropped; their number is logged."""
    files = resolve_paths(path)
    texts, ids, dims, values, classes = [], [], [], [], []
    dropped = 0
    for p in files:
        recs = read_tsv(p)
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
                    raise InputError(f"{p}:{lineno}: expected an intensity class such as '2: moderate ...'; "
                                     f"got {raw!r}")
                classes.append(int(m.group(1)))
                values.append(float(m.group(1)))
            else:
                try:
                    values.append(float(raw))
                except ValueError:
                    raise InputError(f"{p}:{lineno}: expected a number in [0, 1]; got {raw!r} "
                                     "(unlabelled test file?)") from None
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
    return load_semeval2018_affect("semeval2018-ei-reg", split, path, "score", True)


def load_semeval2018_ei_oc(split: str = "test", path: Any = None) -> EmotionDataset:
    """SemEval-2018 EI-oc: intensity classes 0..3 (kept in ``meta['class']``; ``intensity`` = class / 3)."""
    return load_semeval2018_affect("semeval2018-ei-oc", split, path, "class", True)


def load_semeval2018_v_reg(split: str = "test", path: Any = None) -> EmotionDataset:
    """SemEval-2018 V-reg: valence intensity 0 (most negative) .. 1 (most positive)."""
    return load_semeval2018_affect("semeval2018-v-reg", split, path, "score", True)


def load_semeval2018_v_oc(split: str = "test", path: Any = None) -> EmotionDataset:
    """SemEval-2018 V-oc: seven valence classes -3..3 (``meta['class']``; valence = class / 3 on -1..1)."""
    return load_semeval2018_affect("semeval2018-v-oc", split, path, "class", True)
