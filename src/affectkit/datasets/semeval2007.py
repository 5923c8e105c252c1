"""SemEval-2007 Affective Text files a user brings: headlines with 6 emotion scores and valence.

Licence: the user's copy (research use).
Citation: Strapparava and Mihalcea 2007, "SemEval-2007 Task 14: Affective Text", SemEval.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import numpy as np

from affectkit.datasets.base import EmotionDataset, read_gold_columns, require_file, resolve_paths
from affectkit.errors import InputError
from affectkit.labels import get_labelset

LICENSE = "the user's copy (research use)"
CITATION = 'Strapparava and Mihalcea 2007, "SemEval-2007 Task 14: Affective Text", SemEval.'


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
        emo = read_gold_columns(require_file(emo_file), 6)
        val = read_gold_columns(val_file, 1) if val_file.exists() else {}
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
