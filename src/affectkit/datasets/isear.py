"""ISEAR files a user brings: event descriptions, 7 classes including shame and guilt.

Licence: the user's copy (research use).
Citation: Scherer and Wallbott 1994, "Evidence for universality and cultural variation of differential emotion
response patterning", JPSP.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from affectkit.datasets.base import EmotionDataset, LabelNormaliser, onehot_rows, resolve_paths
from affectkit.errors import InputError
from affectkit.labels import get_labelset

LICENSE = "the user's copy (research use)"
CITATION = ('Scherer and Wallbott 1994, "Evidence for universality and cultural variation of differential emotion '
            'response patterning", JPSP.')


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
    return EmotionDataset("isear", split, texts, ls, onehot_rows(labels, len(ls)), files=files)
