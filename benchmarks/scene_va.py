"""Scene valence/arousal heads: 5-fold cross-validated Pearson r on OASIS and on BASS, and OASIS -> BASS transfer.

The backbone is the shipped EfficientNet-Lite0 ONNX file; features are cached under runs/ (pass --no-cache to
recompute). Each fold's ridge penalty is chosen inside that fold's training part.

usage: python benchmarks/scene_va.py [--oasis DIR] [--bass DIR] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--oasis", default="/work/shared/data/oasis")
    ap.add_argument("--bass", default="/work/shared/data/bass")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache", default="runs/cache", help="feature cache folder")
    ap.add_argument("--no-cache", action="store_true")
    args = ap.parse_args()
    from affectkit.media.scene import SceneAnalyzer, SceneBackbone
    from affectkit.media.scene_training import (
        cached_features,
        cross_validated_r,
        load_bass,
        load_oasis,
        pearson_r,
    )

    if not Path(args.oasis, "OASIS.csv").exists():
        sys.exit(f"no OASIS data at {args.oasis}")
    backbone = SceneBackbone(threads=args.threads)
    cache = None if args.no_cache else args.cache
    start = time.perf_counter()
    oasis = load_oasis(args.oasis)
    fo = cached_features(oasis, backbone, cache)
    yo = np.stack([oasis.valence, oasis.arousal], axis=1)
    r = cross_validated_r(fo, yo)
    print(f"OASIS ({len(fo)} images) 5-fold CV Pearson r: valence {r[0]:.3f}, arousal {r[1]:.3f}")
    if Path(args.bass, "BASS_data.csv").exists():
        bass = load_bass(args.bass)
        fb = cached_features(bass, backbone, cache)
        yb = np.stack([bass.valence, bass.arousal], axis=1)
        rb = cross_validated_r(fb, yb)
        print(f"BASS ({len(fb)} silhouettes) 5-fold CV Pearson r: valence {rb[0]:.3f}, arousal {rb[1]:.3f}")
        shipped = SceneAnalyzer(threads=args.threads).heads(fb)
        print(f"shipped heads (trained on OASIS) applied to BASS: valence r {pearson_r(shipped[:, 0], yb[:, 0]):.3f}, "
              f"arousal r {pearson_r(shipped[:, 1], yb[:, 1]):.3f}")
    print(f"({time.perf_counter() - start:.0f}s with feature extraction where not cached)")


if __name__ == "__main__":
    main()
