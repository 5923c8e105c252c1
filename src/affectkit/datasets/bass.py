"""BASS: 583 black-and-white silhouettes with mean valence and arousal ratings (US raters, 1..9).

Rows carry the image path in ``texts`` and the US raters' means, converted to -1..1, in ``vad`` (dominance is not
rated). The corpus reader is :func:`affectkit.media.scene_training.load_bass`.

Licence: CC BY 4.0 (attribution).
Citation: Kawai, Lukács and Ansorge 2021, "A new type of pictorial database: The Bicolor Affective Silhouettes and
Shapes (BASS)", Behavior Research Methods 53(6).
"""

from __future__ import annotations

from pathlib import Path

from affectkit.datasets.base import EmotionDataset, check_split, data_dir, rated_images, require_file

LICENSE = "CC-BY-4.0"
CITATION = ('Kawai, Lukács and Ansorge 2021, "A new type of pictorial database: The Bicolor Affective Silhouettes '
            'and Shapes (BASS)", Behavior Research Methods 53(6), 2558-2575.')


def load_bass(split: str = "all", root: Path | None = None) -> EmotionDataset:
    """BASS (Kawai et al. 2021): one row per silhouette, ``texts`` = the image path, ``vad`` = the US raters' mean
    valence and arousal on -1..1 (converted from 1..9; dominance NaN). No official split: ``all`` only."""
    from affectkit.media.scene_training import load_bass as read_bass

    check_split("BASS (no official split)", split, ("all",))
    folder = (root or data_dir()) / "bass"
    table = require_file(folder / "BASS_data.csv")
    rated = read_bass(folder)
    return rated_images("bass", split, rated.paths, rated.valence, rated.arousal, table, LICENSE)
