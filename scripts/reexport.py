"""Re-export a trained model's transformer encoder to ONNX and recalibrate it, without retraining.

    python scripts/reexport.py src/affectkit/pretrained/default runs/default-v2.hf-encoder

The second argument is the fine-tuned encoder in Hugging Face format that `affectkit train` keeps next to the
run (``<run>.hf-encoder``). The encoder is exported as `affectkit train` exports it now (int8 weights, float32
compute; see affectkit.training.quantize), then each category head's temperature and per-label thresholds are
refit on dev data (scripts/recalibrate.py), so the calibration matches what users run. Needs the train extra.
"""

from __future__ import annotations

import sys
from pathlib import Path

from affectkit.training.trainer import Trainer, export_onnx


def main(model_dir: str, hf_encoder: str) -> None:
    from transformers import AutoModel

    folder = Path(model_dir)
    trainer = Trainer.of_model(folder)
    export_onnx(AutoModel.from_pretrained(hf_encoder), hf_encoder, folder / "encoder", trainer.config)
    trainer.recalibrate(folder)
    print(f"re-exported {folder / 'encoder'} and recalibrated its category heads")


if __name__ == "__main__":
    main(*sys.argv[1:3])
