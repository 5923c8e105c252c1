"""Re-export a trained model's transformer encoder to ONNX and recalibrate it, without retraining.

    python scripts/reexport.py MODEL_DIR runs/NAME.hf-encoder      # from the fine-tuned float32 encoder
    python scripts/reexport.py MODEL_DIR OLD_ENCODER.onnx           # from a weight-only int8 export

From a Hugging Face folder (the fine-tuned encoder `affectkit train` keeps next to the run, ``<run>.hf-encoder``)
the encoder is exported as `affectkit train` exports it now. From an ONNX file with weight-only int8 storage (how
`affectkit train` exported before int8 products, ``quantize_weights_int8``) its weights are dequantized, which gives
back exactly the int8 codes it holds, and re-quantized with int8 products (``quantize_int8``). The shipped
`default` was re-exported the second way; see its model card. Then each category head's temperature and per-label
thresholds are refit on dev data (scripts/recalibrate.py), so the calibration matches what users run. Needs the
train extra.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from affectkit.training.export import export_onnx
from affectkit.training.quantize import QUANTIZATION, dequantize_weights, quantize_int8
from affectkit.training.trainer import Trainer


def main(model_dir: str, source: str) -> None:
    folder = Path(model_dir)
    trainer = Trainer.of_model(folder)
    if source.endswith(".onnx"):
        with tempfile.TemporaryDirectory() as tmp:
            dequantize_weights(source, Path(tmp) / "fp32.onnx")
            quantize_int8(Path(tmp) / "fp32.onnx", folder / "encoder" / "model.onnx")
        config_file = folder / "encoder" / "config.json"
        config = json.loads(config_file.read_text())
        config_file.write_text(json.dumps({**config, "quantization": QUANTIZATION}, indent=2))
    else:
        from transformers import AutoModel

        export_onnx(AutoModel.from_pretrained(source), source, folder / "encoder", trainer.config)
    trainer.recalibrate(folder)
    print(f"re-exported {folder / 'encoder'} and recalibrated its category heads")


if __name__ == "__main__":
    main(*sys.argv[1:3])
