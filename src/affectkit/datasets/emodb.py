"""Berlin EmoDB: 535 acted German utterances (10 speakers, 7 emotions); this copy is cut at 2 s for 409 of them.

For cross-corpus speech evaluation: rows of the six classes EmoDB shares with RAVDESS (boredom has no counterpart
and is left out: 454 clips), labels renamed onto ``ravdess`` (anger -> angry, fear -> fearful, ...) by the reader
:func:`affectkit.media.speech_corpora.load_emodb`. ``texts`` = the clip path; ``meta`` keeps the speaker, the
German sentence and whether the clip is truncated.

Licence: none stated (the authors ask for a citation): eval only.
Citation: Burkhardt, Paeschke, Rolfes, Sendlmeier and Weiss 2005, "A Database of German Emotional Speech",
Proc. Interspeech 2005, 1517-1520.
"""

from __future__ import annotations

from pathlib import Path

from affectkit.datasets.base import EmotionDataset, check_split, data_dir, require_file
from affectkit.datasets.ravdess import _speech_dataset

LICENSE = "none stated (cite Burkhardt et al. 2005): eval only"
CITATION = ('Burkhardt, Paeschke, Rolfes, Sendlmeier and Weiss 2005, "A Database of German Emotional Speech", '
            "Proc. Interspeech 2005, 1517-1520.")


def load_emodb(split: str = "all", root: Path | None = None) -> EmotionDataset:
    """EmoDB (``emodb/labels.csv`` and ``audio/``), the six classes shared with RAVDESS, on ``ravdess``. No
    official split: ``all`` only (all of it is a cross-corpus test for a model trained elsewhere)."""
    from affectkit.media.speech_corpora import load_emodb as read_emodb

    check_split("EmoDB (no official split)", split, ("all",))
    folder = (root or data_dir()) / "emodb"
    table = require_file(folder / "labels.csv")
    return _speech_dataset(read_emodb(folder), "emodb", split, LICENSE, table)
