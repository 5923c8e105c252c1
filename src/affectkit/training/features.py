"""Where the trainer's pooled vectors come from: a fine-tuned Hugging Face encoder, a frozen ONNX or static
encoder (vectors cached per text list), or static embeddings tuned with the heads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from affectkit.training.config import TrainConfig
from affectkit.training.export import takes_token_types
from affectkit.training.task import pad_batch, texts_key

if TYPE_CHECKING:
    from affectkit.modules.encoders import StaticEmbeddingEncoder


class FineTuneFeatures:
    """A trainable Hugging Face encoder, mean-pooled (texts truncated to ``max_length`` while training)."""

    trainable = True

    def __init__(self, base: str, cfg: TrainConfig) -> None:
        import torch
        from tokenizers import Tokenizer
        from transformers import AutoModel

        self.torch = torch
        self.encoder = AutoModel.from_pretrained(base)
        self.dim = int(self.encoder.config.hidden_size)
        self.tok = Tokenizer.from_file(str(Path(base) / "tokenizer.json"))
        self.tok.enable_truncation(cfg.max_length)
        self.tok.no_padding()
        self.ids: dict[str, list[list[int]]] = {}
        self.token_types = takes_token_types(self.encoder)

    def register(self, key: str, texts: list[str]) -> np.ndarray:
        self.ids[key] = [e.ids for e in self.tok.encode_batch(texts)]
        return np.array([len(x) for x in self.ids[key]])

    def pool(self, key: str, rows: np.ndarray):
        ids, mask = pad_batch([self.ids[key][i] for i in rows])
        return self._pool(ids, mask)

    def _pool(self, ids, mask):
        extra = {"token_type_ids": self.torch.zeros_like(ids)} if self.token_types else {}
        hidden = self.encoder(input_ids=ids, attention_mask=mask, **extra).last_hidden_state
        m = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(1) / m.sum(1).clamp_min(1)

    def embed(self, texts: list[str], batch: int = 128) -> np.ndarray:
        torch = self.torch
        was = self.encoder.training
        self.encoder.train(False)
        order = np.argsort([len(t) for t in texts])
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with torch.no_grad():
            for b in range(0, len(texts), batch):
                idx = order[b : b + batch]
                ids, mask = pad_batch([e.ids for e in self.tok.encode_batch([texts[i] for i in idx])])
                out[idx] = self._pool(ids, mask).numpy()
        self.encoder.train(was)
        return out

    def parameters(self):
        return self.encoder.parameters()

    def fold(self, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return w, b

    def train(self, mode: bool) -> None:
        self.encoder.train(mode)

    def state(self) -> dict[str, Any]:
        return {k: v.detach().clone() for k, v in self.encoder.state_dict().items()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.encoder.load_state_dict(state)


class FrozenFeatures:
    """The exported inference encoder (ONNX or static); every text list is embedded once and cached.

    Heads train on standardised vectors ((x - mean) / sd over the training texts), which makes plain linear
    heads converge in a few epochs whatever the encoder's scale (unit-norm static vectors are tiny per
    dimension); :meth:`fold` moves the standardisation into the exported head weights, so inference is unchanged.
    """

    trainable = False

    def __init__(self, encoder_dir: Path, kind: str) -> None:
        import torch

        from affectkit.modules.encoders import load_encoder

        self.torch = torch
        self.encoder = load_encoder(encoder_dir, kind)
        self.dim = int(self.encoder.dim)
        self.store: dict[str, np.ndarray] = {}  # raw vectors per distinct text list
        self.cache: dict[str, np.ndarray] = {}
        self.raw: dict[str, np.ndarray] = {}
        self.tensors: dict[str, Any] = {}
        self.mean = np.zeros(self.dim, dtype=np.float32)
        self.sd = np.ones(self.dim, dtype=np.float32)

    def register(self, key: str, texts: list[str]) -> np.ndarray:
        """Embed a training text list (once per distinct list) and restandardise over every list registered."""
        tkey = texts_key(texts)
        if tkey not in self.store:
            self.store[tkey] = embed_texts(self.encoder, texts)
        self.raw[key] = self.store[tkey]
        allx = np.concatenate(list(self.raw.values()))
        self.mean, self.sd = allx.mean(axis=0), np.maximum(allx.std(axis=0), 1e-6)
        self.tensors = {k: self.torch.from_numpy((x - self.mean) / self.sd) for k, x in self.raw.items()}
        self.cache = {}
        return np.zeros(len(texts))

    def reset(self) -> None:
        """Forget the registered training lists (embeddings stay cached), e.g. between benchmark runs."""
        self.raw, self.tensors, self.cache = {}, {}, {}

    def pool(self, key: str, rows: np.ndarray):
        return self.tensors[key][self.torch.from_numpy(np.asarray(rows, dtype=np.int64))]

    def embed(self, texts: list[str]) -> np.ndarray:
        """Standardised vectors of any texts (dev, test), cached."""
        key = texts_key(texts)
        if key not in self.store:
            self.store[key] = embed_texts(self.encoder, texts)
        if key not in self.cache:
            self.cache[key] = ((self.store[key] - self.mean) / self.sd).astype(np.float32)
        return self.cache[key]

    def fold(self, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weights over raw encoder vectors equal to ``w``, ``b`` over standardised ones."""
        w2 = w / self.sd[None, :]
        return w2, b - w2 @ self.mean

    def parameters(self):
        return []

    def train(self, mode: bool) -> None:
        pass

    def state(self) -> dict[str, Any]:
        return {}

    def load_state(self, state: dict[str, Any]) -> None:
        pass


class TunedStaticFeatures(FrozenFeatures):
    """Static embeddings trained together with the heads (``static.tune: true``): the distilled vectors are
    the starting point, and every token seen in training moves towards what the heads need, which recovers
    part of what distillation loses (the idea of fine-tuning a model2vec model on the task, as model2vec's own
    classifier training does). A text's vector is still the (normalised) mean of its tokens' vectors, so
    :meth:`save_encoder` writes an ordinary static encoder folder. The standardisation of the features is
    fixed from the distilled vectors and folded into the heads at export, as for frozen features."""

    trainable = True
    encoder: StaticEmbeddingEncoder  # what FrozenFeatures loads for kind "static"

    def __init__(self, encoder_dir: Path, lr: float) -> None:
        super().__init__(encoder_dir, "static")
        from torch import nn

        self.lr = lr
        self.bag = nn.EmbeddingBag.from_pretrained(self.torch.from_numpy(self.encoder.embeddings.copy()),
                                                   freeze=False, mode="mean")
        self.ids: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def _token_ids(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Flat kept token ids and per-text offsets (the tokens StaticEmbeddingEncoder averages)."""
        encs = self.encoder.tokenizer.encode_batch(texts, add_special_tokens=False)
        ids = [np.asarray(e.ids, dtype=np.int64) for e in encs]
        ids = [x[self.encoder.keep[x]] if len(x) else x for x in ids]
        offsets = np.cumsum([0] + [len(x) for x in ids[:-1]]).astype(np.int64)
        return (np.concatenate(ids) if ids else np.zeros(0, np.int64)), offsets

    def register(self, key: str, texts: list[str]) -> np.ndarray:
        super().register(key, texts)  # fixes the standardisation from the distilled vectors
        flat, offsets = self._token_ids(texts)
        self.ids[key] = (flat, np.r_[offsets, len(flat)])
        return np.zeros(len(texts))

    def _forward(self, flat: np.ndarray, offsets: np.ndarray):
        torch = self.torch
        x = self.bag(torch.from_numpy(flat), torch.from_numpy(offsets))
        if self.encoder.normalize:
            x = torch.nn.functional.normalize(x, dim=1, eps=1e-12)
        return (x - torch.from_numpy(self.mean)) / torch.from_numpy(self.sd)

    def pool(self, key: str, rows: np.ndarray):
        flat, bounds = self.ids[key]
        pieces = [flat[bounds[r] : bounds[r + 1]] for r in rows]
        offsets = np.cumsum([0] + [len(p) for p in pieces[:-1]]).astype(np.int64)
        return self._forward(np.concatenate(pieces) if pieces else np.zeros(0, np.int64), offsets)

    def embed(self, texts: list[str]) -> np.ndarray:
        with self.torch.no_grad():
            return self._forward(*self._token_ids(texts)).numpy().astype(np.float32)

    def parameters(self):
        return self.bag.parameters()

    def state(self) -> dict[str, Any]:
        return {"weight": self.bag.weight.detach().clone()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.bag.weight.data.copy_(state["weight"])

    def save_encoder(self, path: Path) -> None:
        from safetensors.numpy import save_file

        save_file({"embeddings": self.bag.weight.detach().numpy().astype(np.float16)},
                  str(path / "embeddings.safetensors"))
        cfg = json.loads((path / "config.json").read_text())
        cfg["tuned"] = "token vectors trained with the heads (affectkit static.tune)"
        (path / "config.json").write_text(json.dumps(cfg, indent=2))


def embed_texts(encoder: Any, texts: list[str], batch: int = 2048) -> np.ndarray:
    """One vector per text from an affectkit encoder: the token-weighted mean of its segments' pooled vectors
    (what :meth:`affectkit.model.AffectModel.embed` computes), in batches."""
    from affectkit.modules.pooling import aggregate_mean

    parts = []
    for b in range(0, len(texts), batch):
        chunk = texts[b : b + batch]
        enc = encoder.encode(chunk)
        parts.append(aggregate_mean(enc.pooled, enc.owner, enc.n_tokens, len(chunk)).astype(np.float32))
    return np.concatenate(parts) if parts else np.zeros((0, encoder.dim), dtype=np.float32)
