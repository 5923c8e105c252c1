"""Re-fit a trained model's calibration (softmax temperature and per-label thresholds) on dev data.

    python scripts/recalibrate.py src/affectkit/pretrained/default

Uses the training config recorded in the model folder's training.json and the same calibration step as
`affectkit train`, so a model can be recalibrated after its inference path changes without retraining.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from affectkit.training.trainer import Trainer


def main(path: str) -> None:
    folder = Path(path)
    Trainer.of_model(folder).recalibrate(folder)
    for head in sorted((folder / "heads").iterdir()):
        cfg = json.loads((head / "config.json").read_text())
        if cfg.get("type") == "categories":
            print(f"{head.name}: temperature {cfg['temperature']:.3f}")


if __name__ == "__main__":
    main(sys.argv[1])
