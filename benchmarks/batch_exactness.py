"""How much a text's scores move with the batch it is computed in.

    python benchmarks/batch_exactness.py                          # `default`, 2,000 GoEmotions test texts
    python benchmarks/batch_exactness.py --model fast --rows 5427

Scores every text alone (batches of 1) and in batches of 8, 64 and 1,024 through ``analyze_batch`` (the path of
the CLI, the service and the Ray engine), and prints, per batch size, the largest absolute difference from the
batch-of-1 scores over the distribution, the multi-label scores and VAD (-1..1), and how many texts change their
top emotion or their multi-label decision. Needs GoEmotions (../shared/data or $AFFECTKIT_DATA).
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--batch-sizes", default="8,64,1024")
    args = ap.parse_args()

    import affectkit
    from affectkit.datasets import load_dataset
    from affectkit.schema import BatchPrediction

    model = affectkit.load(args.model)
    texts = load_dataset("goemotions", "test").texts[: args.rows]

    def run(batch_size: int) -> BatchPrediction:
        return BatchPrediction.concat([model.analyze_batch(texts[i : i + batch_size])
                                       for i in range(0, len(texts), batch_size)])

    alone = run(1)
    print(f"model {args.model}, {len(texts)} GoEmotions test texts; reference: each text alone")
    print("batch | max |diff| distribution | scores | VAD | top emotion changed | decision changed")
    for size in (int(s) for s in args.batch_sizes.split(",")):
        batch = run(size)
        vad = np.nanmax(np.abs(batch.vad - alone.vad)) if alone.vad is not None else float("nan")
        top = int((batch.dist.argmax(1) != alone.dist.argmax(1)).sum())
        decided = 0
        if alone.scores is not None and alone.thresholds is not None:
            changed = (batch.scores >= batch.thresholds) != (alone.scores >= alone.thresholds)
            decided = int(changed.any(axis=1).sum())
        print(f"{size:5d} | {np.nanmax(np.abs(batch.dist - alone.dist)):.2e} | "
              f"{np.nanmax(np.abs(batch.scores - alone.scores)):.2e} | {vad:.2e} | {top} | {decided}")


if __name__ == "__main__":
    main()
