"""faces_eval: 1,657 labelled face photos (LFW news photos and film stills) sampled per class from
muxspace/facial_expressions; 8 classes, of which the 7 of FER-2013 are kept (the 9 contempt photos are left out).

Rows carry the image path in ``texts`` and one label over ``fer`` (anger -> angry, happiness -> happy, ...).
Class and photo source are confounded (see the folder's SOURCE.md).

Licence: repository Apache-2.0, but the photos are web scrapes with no recorded rights: eval only.
Citation: Rowe et al., muxspace/facial_expressions (GitHub, 2016); LFW: Huang, Ramesh, Berg and Learned-Miller 2007,
"Labeled Faces in the Wild", UMass Amherst TR 07-49.
"""

from __future__ import annotations

import csv
from pathlib import Path

from affectkit.datasets.base import EmotionDataset, LabelNormaliser, check_split, data_dir, onehot_rows, require_file
from affectkit.labels import get_labelset

LICENSE = "eval only (photos scraped from the web, no image rights recorded; repository Apache-2.0)"
CITATION = ("Rowe et al., muxspace/facial_expressions, GitHub, 2016; Huang, Ramesh, Berg and Learned-Miller 2007, "
            "Labeled Faces in the Wild, UMass Amherst TR 07-49.")
#: the folder's label spellings -> FER-2013 classes (contempt has none and is left out)
FACES_EVAL_TO_FER = {"anger": "angry", "disgust": "disgust", "fear": "fear", "happiness": "happy",
                     "sadness": "sad", "surprise": "surprise", "neutral": "neutral"}


def load_faces_eval(split: str = "all", root: Path | None = None) -> EmotionDataset:
    """faces_eval: ``labels.csv`` (``file``, ``emotion``, ...) and ``images/``; one row per photo of the seven FER
    classes, ``texts`` = the image path. No official split: ``all`` only."""
    check_split("faces_eval (no official split)", split, ("all",))
    folder = (root or data_dir()) / "faces_eval"
    table = require_file(folder / "labels.csv")
    with open(table, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["emotion"].strip().lower() != "contempt"]
    ls = get_labelset("fer")
    norm = LabelNormaliser(ls, FACES_EVAL_TO_FER, source=str(table))
    y = onehot_rows([[norm(r["emotion"])] for r in rows], len(ls))
    meta = {"id": [Path(r["file"]).stem for r in rows], "file": [r["file"] for r in rows],
            "emotion": [r["emotion"] for r in rows]}
    return EmotionDataset("faces_eval", split, [str(folder / r["file"]) for r in rows], ls, y, meta=meta,
                          license=LICENSE, files=[table])
