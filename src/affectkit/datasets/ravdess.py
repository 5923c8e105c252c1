"""RAVDESS speech: 1,440 acted English clips (24 actors, two lexically neutral sentences, 8 emotions).

Rows carry the audio path in ``texts`` and one label over ``ravdess``. Splits are by actor (speaker-independent,
the protocol of :mod:`affectkit.media.speech_corpora`, whose reader this uses): ``train`` actors 1-14, ``dev``
15-18, ``test`` 19-24 (360 clips), ``all``.

Licence: CC BY-NC-SA 4.0 (non-commercial): evaluation, or a model licensed non-commercial.
Citation: Livingstone and Russo 2018, "The Ryerson Audio-Visual Database of Emotional Speech and Song (RAVDESS)",
PLoS ONE 13(5): e0196391.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from affectkit.datasets.base import EmotionDataset, check_split, data_dir, require_file
from affectkit.labels import get_labelset

if TYPE_CHECKING:
    from affectkit.media.speech_corpora import SpeechCorpus

LICENSE = "CC-BY-NC-SA-4.0 (non-commercial: eval only, or a model licensed NC)"
CITATION = ('Livingstone and Russo 2018, "The Ryerson Audio-Visual Database of Emotional Speech and Song '
            '(RAVDESS)", PLoS ONE 13(5): e0196391.')


def load_ravdess_speech(split: str = "test", root: Path | None = None) -> EmotionDataset:
    """RAVDESS speech (``ravdess_speech/labels.csv`` and ``audio/``), split by actor: ``train`` 1-14, ``dev``
    15-18, ``test`` 19-24, ``all``. ``texts`` = the clip path; ``meta`` keeps actor, intensity and sentence."""
    from affectkit.media import speech_corpora as sc

    check_split("RAVDESS speech (by actor)", split, ("train", "dev", "test", "all"))
    folder = (root or data_dir()) / "ravdess_speech"
    table = require_file(folder / "labels.csv")
    corpus = sc.load_ravdess(folder)
    actors = {"train": sc.TRAIN_ACTORS, "dev": sc.DEV_ACTORS, "test": sc.TEST_ACTORS}.get(split)
    if actors is not None:
        corpus = sc.actor_split(corpus, actors)
    return _speech_dataset(corpus, "ravdess_speech", split, LICENSE, table)


def _speech_dataset(corpus: "SpeechCorpus", name: str, split: str, licence: str, table: Path) -> EmotionDataset:
    """An :class:`EmotionDataset` over a :class:`~affectkit.media.speech_corpora.SpeechCorpus` (one-hot rows over
    ``ravdess``, the clip paths as ``texts``)."""
    meta = {"id": [f.stem for f in corpus.files], "speaker": list(corpus.speakers), **corpus.meta}
    return EmotionDataset(name, split, [str(f) for f in corpus.files], get_labelset("ravdess"), corpus.targets(),
                          meta=meta, license=licence, files=[table])
