"""Face expression on faces_eval: macro recall over the 7 FER classes, faces found, and images per second.

Data: /work/shared/data/faces_eval (muxspace/facial_expressions sample; eval only, see its SOURCE.md). The 9
contempt images are left out (FER-2013 has no contempt class), leaving 1,648. An image where no face is found
counts as wrong in the headline figure ("strict"); the recall over images with a face is printed too. Images
where no face was detected but that the analyzer took for a face crop (padded search, small near-square image, or
``whole_image_fallback``; their face_box is the image's centre square) are counted apart.

Settings compared with ``--option`` were compared on this same test set: the figures are optimistic.

usage: python benchmarks/faces_eval.py [--data DIR] [--limit N] [--threads 2] [face options: --margin 0.1 ...]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np

LABEL_TO_FER = {"anger": "angry", "disgust": "disgust", "fear": "fear", "happiness": "happy", "sadness": "sad",
                "surprise": "surprise", "neutral": "neutral"}


def macro_recall(truth: list[str], pred: list[str | None], classes: list[str]) -> tuple[float, dict[str, float]]:
    """Mean over classes of (correct predictions of the class) / (items of the class); None counts as wrong."""
    per = {}
    for c in classes:
        idx = [i for i, t in enumerate(truth) if t == c]
        if idx:
            per[c] = sum(pred[i] == c for i in idx) / len(idx)
    return float(np.mean(list(per.values()))), per


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="/work/shared/data/faces_eval")
    ap.add_argument("--limit", type=int, default=0, help="N evenly spaced images only (0: all)")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads for OpenCV and ONNX Runtime")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                    help="a FaceOptions field, e.g. margin=0.2, flip=0, cascades=default (repeatable)")
    args = ap.parse_args()
    data = Path(args.data)
    if not (data / "labels.csv").exists():
        sys.exit(f"no faces_eval data at {data}")
    import cv2
    from PIL import Image

    from affectkit.media.face import FaceAnalyzer, centre_square

    cv2.setNumThreads(args.threads)
    with open(data / "labels.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["emotion"] in LABEL_TO_FER]
    if args.limit:  # evenly spaced over the (class-sorted) rows, so every class is in
        rows = rows[:: max(1, len(rows) // args.limit)][: args.limit]
    options = dict(o.split("=", 1) for o in args.option)
    analyzer = FaceAnalyzer(threads=args.threads, **options)
    classes = analyzer.labelset.labels
    paths = [str(data / r["file"]) for r in rows]
    truth = [LABEL_TO_FER[r["emotion"]] for r in rows]
    analyzer.analyze_batch(paths[:8])  # warm-up
    start, cpu_start = time.perf_counter(), time.process_time()
    preds = []
    for b in range(0, len(paths), args.batch):
        preds.extend(analyzer.analyze_batch(paths[b : b + args.batch]).to_predictions(top_k=1))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    top = [p.top if p.error is None else None for p in preds]
    found = [p.error is None for p in preds]
    whole = []  # classified whole as a face crop: one "face", the image's centre square
    for path, p in zip(paths, preds):
        with Image.open(path) as im:
            square = centre_square((im.height, im.width)).tolist()
        whole.append(p.error is None and p.extra.get("n_faces") == 1 and p.extra.get("face_box") == square)
    strict, per = macro_recall(truth, top, classes)
    kept = [i for i, f in enumerate(found) if f]
    on_found, _ = macro_recall([truth[i] for i in kept], [top[i] for i in kept], classes)
    print(f"options: {analyzer.options}")
    print(f"images: {len(paths)}; with a face: {sum(found)} (face detected: {sum(found) - sum(whole)}, classified "
          f"whole as a face crop: {sum(whole)}; no face found: {len(paths) - sum(found)}); faces in all: "
          f"{sum(p.extra.get('n_faces') or 0 for p in preds)}")
    print(f"macro recall (7 FER classes, no face = wrong): {strict:.3f}")
    print(f"macro recall over images with a face: {on_found:.3f}")
    print("per class: " + ", ".join(f"{c} {v:.3f}" for c, v in per.items()))
    print(f"throughput: {len(paths) / seconds:.1f} images/s wall clock ({args.threads} threads, load average "
          f"{os.getloadavg()[0]:.1f} at the end)")
    per_image = cpu / len(paths)
    print(f"CPU time: {per_image * 1000:.1f} ms per image (all threads); on {args.threads} otherwise idle cores "
          f"that is at most {args.threads / per_image:.0f} images/s (an estimate, not a measurement)")


if __name__ == "__main__":
    main()
