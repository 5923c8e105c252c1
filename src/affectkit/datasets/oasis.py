"""OASIS: 900 photos (people, animals, objects, scenes) with mean valence and arousal ratings on 1..7.

Rows carry the image path in ``texts`` (the item a media analyzer reads) and the ratings, converted to -1..1, in
``vad`` (dominance is not rated). The corpus reader is :func:`affectkit.media.scene_training.load_oasis`.

Licence: free for research use (Kurdi et al. 2017); per-image licences unknown: evaluation, or models for research
use only. The scene model's heads were fitted on all 900 images, so scores of ``media:scene`` on OASIS are in-sample.
Citation: Kurdi, Lozano and Banaji 2017, "Introducing the Open Affective Standardized Image Set (OASIS)",
Behavior Research Methods 49(2).
"""

from __future__ import annotations

from pathlib import Path

from affectkit.datasets.base import EmotionDataset, check_split, data_dir, rated_images, require_file

LICENSE = "research use only (OASIS authors; per-image licences unknown): eval, or research-use models"
CITATION = ('Kurdi, Lozano and Banaji 2017, "Introducing the Open Affective Standardized Image Set (OASIS)", '
            'Behavior Research Methods 49(2), 457-470.')


def load_oasis(split: str = "all", root: Path | None = None) -> EmotionDataset:
    """OASIS (Kurdi et al. 2017): one row per image, ``texts`` = the image path, ``vad`` = mean valence and arousal
    on -1..1 (converted from 1..7; dominance NaN). No official split: ``all`` only."""
    from affectkit.media.scene_training import load_oasis as read_oasis

    check_split("OASIS (no official split)", split, ("all",))
    folder = (root or data_dir()) / "oasis"
    table = require_file(folder / "OASIS.csv")
    rated = read_oasis(folder)
    return rated_images("oasis", split, rated.paths, rated.valence, rated.arousal, table, LICENSE)
