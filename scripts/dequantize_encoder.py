"""Turn a shipped int8 ONNX encoder back into a float Hugging Face BERT folder (weight = int8 code x scale).

    python scripts/dequantize_encoder.py src/affectkit/pretrained/default/encoder runs/default-deq \
        "$(python -c 'from affectkit.training.trainer import resolve_base; print(resolve_base("minilm"))')"

The third argument is a folder with the architecture's config.json and tokenizer files (the stock MiniLM package).
The float weights agree with the int8 graph to a cosine of 0.997-0.999 on pooled vectors; they let an experiment
fine-tune the shipped encoder further (configs/experiments/default-multidomain.yaml) when the float checkpoint
that ``scripts/train_default.sh`` writes is not at hand.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from safetensors.numpy import save_file


def dequantize(src: Path, out: Path, base: Path) -> int:
    graph = onnx.load(src / "model.onnx").graph
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def deq(name: str, scale_axis: int) -> np.ndarray:
        codes, scale = init[name + ".int8"].astype(np.float32), init[name + ".scale"]
        return codes * (scale[None, :] if scale_axis == 1 else scale[:, None])

    state = {"embeddings.word_embeddings.weight": deq("enc.embeddings.word_embeddings.weight", 0),
             "embeddings.position_embeddings.weight": deq("enc.embeddings.position_embeddings.weight", 1)}
    state.update({k[4:]: v.astype(np.float32) for k, v in init.items()
                  if k.startswith("enc.") and not k.endswith((".int8", ".scale"))})
    for node in graph.node:
        if node.op_type != "MatMulIntegerToFloat":
            continue
        weight = node.input[1][: -len(".int8")]
        bias = _bias_after(node, consumers)
        state[bias[4:-len(".bias")] + ".weight"] = np.ascontiguousarray(deq(weight, 1).T)
    out.mkdir(parents=True, exist_ok=True)
    for f in base.iterdir():
        if f.suffix in (".json", ".txt"):
            shutil.copy(f, out / f.name)
    save_file(state, str(out / "model.safetensors"))
    return len(state)


def _bias_after(node, consumers: dict[str, list], depth: int = 6) -> str:
    """The bias initializer of the Add that follows a quantized MatMul: its name names the Linear layer."""
    frontier = list(node.output)
    for _ in range(depth):
        nxt = []
        for tensor in frontier:
            for c in consumers.get(tensor, []):
                bias = [i for i in c.input if i.startswith("enc.") and i.endswith(".bias")]
                if c.op_type == "Add" and bias:
                    return bias[0]
                nxt += list(c.output)
        frontier = nxt
    raise ValueError(f"no bias found after {node.name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("encoder", type=Path, help="folder with model.onnx (int8)")
    ap.add_argument("out", type=Path)
    ap.add_argument("base", type=Path, help="Hugging Face folder with the architecture's config and tokenizer")
    args = ap.parse_args()
    print(dequantize(args.encoder, args.out, args.base), "tensors written to", args.out)


if __name__ == "__main__":
    main()
