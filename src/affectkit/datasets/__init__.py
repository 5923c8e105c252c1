"""Loaders for the emotion datasets affectkit trains and evaluates on.

Datasets are read at run time from a data folder (``$AFFECTKIT_DATA``, else ``shared/data`` next to the
repository) or from files the user names; their rows are never copied into the package. Every loader returns an
:class:`EmotionDataset`: texts plus whichever targets the dataset has (categories as multi-hot rows, vote counts
or graded scores; VAD on a stated scale; an intensity; ranked emotions; open-vocabulary words; causes).

Two kinds of loader:

- the datasets in the shared data folder, each read in the format its ``SOURCE.md`` describes: ``goemotions``,
  ``emobank``, ``meld``, ``emorynlp``, ``dailydialog``, ``armanemo``, ``crema_d``, ``warriner``; and the media
  datasets (``texts`` holds each row's file path, for ``media:`` analyzers): ``oasis``, ``bass`` (images, valence
  and arousal), ``faces_eval`` (face photos, FER classes), ``ravdess_speech`` and ``emodb`` (speech clips);
- public file formats users bring, read from ``path``: ``semeval2018-ec``, ``semeval2018-ei-reg``,
  ``semeval2018-ei-oc``, ``semeval2018-v-reg``, ``semeval2018-v-oc``, ``wassa2017``, ``isear``, ``xed``,
  ``semeval2007``, ``eemo`` (an EEmo-Bench-style file: ranked top-3 emotions plus VAD), and ``table`` (any CSV,
  TSV, JSONL or Parquet file with a column mapping).

Dataset label spellings ("Joyful", "ANGRY", "HAPPY") are normalised onto affectkit's label sets here.

One module per loader (each with its dataset's licence and citation); this package re-exports them all.
"""

from __future__ import annotations

import json
from typing import Callable

from affectkit.datasets.armanemo import ARMANEMO_ALIASES, load_armanemo
from affectkit.datasets.base import (
    AGGREGATION_RULES,
    CATEGORY_KINDS,
    EmotionDataset,
    LabelNormaliser,
    data_dir,
    hash_split,
    resolve_paths,
)
from affectkit.datasets.bass import load_bass
from affectkit.datasets.brighter import BRIGHTER_FILES, load_brighter
from affectkit.datasets.crema_d import CREMA_D_MODALITIES, CREMA_D_SENTENCES, load_crema_d
from affectkit.datasets.dailydialog import load_dailydialog, parse_numpy_strings
from affectkit.datasets.emobank import load_emobank
from affectkit.datasets.emodb import load_emodb
from affectkit.datasets.emorynlp import EMORYNLP_SPLITS, load_emorynlp
from affectkit.datasets.faces_eval import FACES_EVAL_TO_FER, load_faces_eval
from affectkit.datasets.gne import GNE_LABELS, load_gne
from affectkit.datasets.goemotions import load_goemotions
from affectkit.datasets.isear import ISEAR_CODES, load_isear
from affectkit.datasets.meld import load_meld
from affectkit.datasets.oasis import load_oasis
from affectkit.datasets.premo import PREMO_LABELS, load_premo
from affectkit.datasets.ravdess import load_ravdess_speech
from affectkit.datasets.semeval2007 import load_semeval2007
from affectkit.datasets.semeval2018 import (
    load_semeval2018_ec,
    load_semeval2018_ei_oc,
    load_semeval2018_ei_reg,
    load_semeval2018_v_oc,
    load_semeval2018_v_reg,
)
from affectkit.datasets.smile import SMILE_LABELS, load_smile
from affectkit.datasets.table import TABLE_FIELDS, load_eemo, load_table
from affectkit.datasets.warriner import load_warriner
from affectkit.datasets.wassa2017 import load_wassa2017
from affectkit.datasets.xed import XED_CODES, load_xed
from affectkit.errors import InputError

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
    "oasis": load_oasis,
    "bass": load_bass,
    "faces_eval": load_faces_eval,
    "ravdess_speech": load_ravdess_speech,
    "emodb": load_emodb,
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
#: shared datasets whose rows are media files (``texts`` holds each row's image or audio path)
MEDIA_DATASETS = ("oasis", "bass", "faces_eval", "ravdess_speech", "emodb")


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


__all__ = [
    'AGGREGATION_RULES',
    'ARMANEMO_ALIASES',
    'BRIGHTER_FILES',
    'CATEGORY_KINDS',
    'CREMA_D_MODALITIES',
    'CREMA_D_SENTENCES',
    'EMORYNLP_SPLITS',
    'EmotionDataset',
    'FACES_EVAL_TO_FER',
    'GNE_LABELS',
    'ISEAR_CODES',
    'LOADERS',
    'LabelNormaliser',
    'MEDIA_DATASETS',
    'PREMO_LABELS',
    'SHARED_DATASETS',
    'SMILE_LABELS',
    'TABLE_FIELDS',
    'XED_CODES',
    'data_dir',
    'describe',
    'hash_split',
    'load_armanemo',
    'load_bass',
    'load_brighter',
    'load_crema_d',
    'load_dailydialog',
    'load_dataset',
    'load_eemo',
    'load_emobank',
    'load_emodb',
    'load_emorynlp',
    'load_faces_eval',
    'load_gne',
    'load_goemotions',
    'load_isear',
    'load_meld',
    'load_oasis',
    'load_premo',
    'load_ravdess_speech',
    'load_semeval2007',
    'load_semeval2018_ec',
    'load_semeval2018_ei_oc',
    'load_semeval2018_ei_reg',
    'load_semeval2018_v_oc',
    'load_semeval2018_v_reg',
    'load_smile',
    'load_table',
    'load_warriner',
    'load_wassa2017',
    'load_xed',
    'parse_numpy_strings',
    'resolve_paths',
]
