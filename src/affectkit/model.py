"""A model folder: an encoder and heads composed by ``affectkit_model.json`` (like sentence-transformers).

    my-model/
      affectkit_model.json     name, encoder module, head modules, primary label set, segmentation
      encoder/                 onnx-transformer (model.onnx + tokenizer.json) or static (embeddings.safetensors)
      heads/goemotions/        one folder per head: config.json + weights.safetensors
      heads/vad/
      README.md                the model card
      training.json            seed, config and data hashes of the run that produced it

No pickle and no remote code: weights are ONNX or safetensors, configs are JSON.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from affectkit.analyzers.base import Analyzer
from affectkit.errors import ModelFormatError
from affectkit.labels import LabelSet, get_labelset
from affectkit.modules.encoders import EncodedBatch, Encoder, load_encoder
from affectkit.modules.heads import CategoryHead, ScoreHead, VADHead, load_head
from affectkit.schema import BatchPrediction, Evidence
from affectkit.vad import CANONICAL

CONFIG_FILE = "affectkit_model.json"
_WORD = re.compile(r"\w", re.UNICODE)
# Function words and contraction pieces are never shown as evidence: in a contextual encoder every token carries
# some of the sentence, so "and" or "to" can score high without being why the text is emotional. Negations
# ("not", "never", "no") and intensifiers stay: they change an emotion.
_FUNCTION_WORDS = frozenset("""
a an the and or but if then so as of at by for from in into on onto to with without about over under up down
out off than too very this that these those there here i me my mine myself we us our ours ourselves you your
yours yourself yourselves he him his himself she her hers herself it its itself they them their theirs
themselves what which who whom whose when where why how all any both each other some such own same just
is am are was were be been being have has had having do does did doing will would shall should can could may
might must s t d ll m re ve don didn doesn isn wasn aren weren haven hasn hadn won wouldn shouldn couldn
""".split())


class AffectModel(Analyzer):
    """An encoder plus heads, run on numpy/onnxruntime. Load with :meth:`load` or :func:`affectkit.load`."""

    def __init__(self, encoder: Encoder, heads: dict[str, Any], config: dict[str, Any], path: Path | None = None,
                 evidence: bool = True, n_evidence: int = 3) -> None:
        self.encoder = encoder
        self.heads = heads
        self.config = config
        self.path = path
        self.name = config.get("name", "model")
        self.category_heads: dict[str, CategoryHead] = {
            h.labelset.name: h for h in heads.values() if isinstance(h, CategoryHead)}
        if not self.category_heads:
            raise ModelFormatError(f"model {self.name!r} has no category head")
        primary = config.get("primary_labelset") or next(iter(self.category_heads))
        self.labelset = self.category_heads[primary].labelset if primary in self.category_heads else get_labelset(primary)
        self.vad_head: VADHead | None = next((h for h in heads.values() if isinstance(h, VADHead)), None)
        self.score_heads: dict[str, ScoreHead] = {
            h.attribute: h for h in heads.values() if isinstance(h, ScoreHead)}
        self.evidence = evidence
        self.n_evidence = n_evidence

    # -- persistence -------------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path, **kwargs: Any) -> "AffectModel":
        path = Path(path)
        cfg_file = path / CONFIG_FILE
        if not cfg_file.exists():
            raise ModelFormatError(f"{path} is not an affectkit model folder (no {CONFIG_FILE})")
        cfg = json.loads(cfg_file.read_text())
        enc = cfg["encoder"]
        encoder = load_encoder(path / enc["path"], enc["type"])
        heads = {h: load_head(path / h) for h in cfg["heads"]}
        return cls(encoder, heads, cfg, path, **kwargs)

    def save(self, path: str | Path) -> None:
        """Write the model folder (encoder, heads, config, and the model card if there is one)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.encoder.save(path / self.config["encoder"]["path"])
        for rel, head in self.heads.items():
            head.save(path / rel)
        (path / CONFIG_FILE).write_text(json.dumps(self.config, indent=2))
        if self.path is not None and self.path.resolve() != path.resolve():
            for extra in ("README.md", "training.json", "metrics.json"):
                if (self.path / extra).exists():
                    shutil.copy(self.path / extra, path / extra)

    def info(self) -> dict[str, Any]:
        return {**super().info(), "path": str(self.path) if self.path else None,
                "labelsets": sorted(self.category_heads), "vad": self.vad_head is not None,
                "scores": sorted(self.score_heads), "encoder": self.config["encoder"]["type"],
                "description": self.config.get("description", "")}

    # -- prediction --------------------------------------------------------------------------------------------------
    def head_for(self, labels: LabelSet | None) -> CategoryHead:
        """The native head for ``labels`` if the model has one, else the primary head (mapped later)."""
        if labels is not None and labels.name in self.category_heads:
            return self.category_heads[labels.name]
        return self.category_heads[self.labelset.name]

    def native_labelset(self, labels: LabelSet | None = None) -> LabelSet:
        return self.head_for(labels).labelset

    def encode(self, texts: list[str], with_tokens: bool = False) -> EncodedBatch:
        return self.encoder.encode(texts, with_tokens=with_tokens)

    def embed(self, texts: list[str]) -> np.ndarray:
        """One vector per text: the token-weighted mean of its segments' pooled vectors."""
        enc = self.encode(texts)
        return _aggregate_mean(enc.pooled, enc.owner, enc.n_tokens, len(texts))

    def predict_batch(self, items: list[Any], labels: LabelSet | None = None) -> BatchPrediction:
        head = self.head_for(labels)
        enc = self.encode(items, with_tokens=self.evidence)
        n = len(items)
        seg_dist, seg_scores, seg_none = head.forward(enc.pooled)
        w = enc.n_tokens.astype(np.float64)
        # Segments are aggregated per text: the distribution and VAD as token-weighted means, multi-label scores
        # as the maximum over segments (an emotion present in any part of a long text is present in the text).
        dist = _aggregate_mean(seg_dist, enc.owner, w, n)
        scores = _aggregate_max(seg_scores, enc.owner, n)
        vad = None
        if self.vad_head is not None:
            vad = _aggregate_mean(self.vad_head(enc.pooled), enc.owner, w, n)
        ls = head.labelset
        if ls.neutral is not None:
            intensity = 1.0 - dist[:, ls.index(ls.neutral)]
        elif seg_none is not None:
            intensity = 1.0 - _aggregate_mean(seg_none[:, None], enc.owner, w, n)[:, 0]
        else:
            intensity = dist.max(axis=1)
        out = BatchPrediction(ls, dist, scores, head.thresholds, vad, CANONICAL.name, intensity, None,
                              n_segments=np.bincount(enc.owner, minlength=n), model=self.name,
                              none=1.0 - intensity if seg_none is not None or ls.neutral is not None else None,
                              fallback_below=head.fallback_below)
        if self.score_heads:
            for attr, sh in self.score_heads.items():
                out.extra[f"score_{attr}"] = list(_aggregate_mean(sh(enc.pooled)[:, None], enc.owner, w, n)[:, 0])
        if self.evidence and enc.has_tokens:
            out.evidence = self._evidence(items, enc, head, dist, out.decisions())
        return out

    def scores(self, texts: list[str], attribute: str) -> np.ndarray:
        """A trained score head's value per text (e.g. a ranking head)."""
        if attribute not in self.score_heads:
            raise KeyError(f"model {self.name!r} has no score head {attribute!r}; it has {sorted(self.score_heads)}")
        enc = self.encode(texts)
        s = self.score_heads[attribute](enc.pooled)
        return _aggregate_mean(s[:, None], enc.owner, enc.n_tokens.astype(np.float64), len(texts))[:, 0]

    def _evidence(self, texts: list[str], enc: EncodedBatch, head: CategoryHead, dist: np.ndarray,
                  decided: np.ndarray) -> list[list[Evidence]]:
        """The words whose token vectors push the top label's logit up the most (against the mean label):
        exact for a linear head over mean pooling. Vectorised over the whole batch: word pieces of one word add
        up, a word seen in two overlapping windows keeps its larger share, and each text keeps its
        ``n_evidence`` best distinct words (ties: later words first)."""
        assert enc.has_tokens and enc.offsets is not None and enc.word_ids is not None
        out: list[list[Evidence]] = [[] for _ in texts]
        lens = enc.token_lengths()
        if lens.sum() == 0:
            return out
        top = dist.argmax(axis=1)
        explained = np.ones(len(texts), dtype=bool)
        ls = head.labelset
        if ls.neutral is not None:
            # evidence for "neutral" says nothing: explain the strongest emotion instead, if the multi-label
            # decision holds it too; a text that is only neutral gets no evidence
            k = ls.index(ls.neutral)
            masked = dist.copy()
            masked[:, k] = -1.0
            alt = masked.argmax(axis=1)
            rows = np.arange(len(texts))
            is_neutral = top == k
            explained = ~is_neutral | decided[rows, alt]
            top = np.where(is_neutral, alt, top)
        contrast = head.w_dist - head.w_dist.mean(axis=0, keepdims=True)  # (K, H)
        seg = np.repeat(np.arange(len(lens)), lens)
        text_of = enc.owner[seg]
        proj = enc.project_tokens(contrast)  # (tokens, K)
        contrib = proj[np.arange(len(seg)), top[text_of]] / lens[seg]
        word = np.concatenate(enc.word_ids)
        offsets = np.concatenate(enc.offsets)
        starts = np.flatnonzero(np.r_[True, (seg[1:] != seg[:-1]) | (word[1:] != word[:-1])])
        ends = np.r_[starts[1:], len(seg)] - 1
        sums = np.add.reduceat(contrib, starts)
        t, a, z = text_of[starts], offsets[starts, 0], offsets[ends, 1]
        order = np.lexsort((z, a, t))  # the same word (text, span) from overlapping windows: keep the max
        t, a, z, sums = t[order], a[order], z[order], sums[order]
        first = np.flatnonzero(np.r_[True, (t[1:] != t[:-1]) | (a[1:] != a[:-1]) | (z[1:] != z[:-1])])
        c = np.maximum.reduceat(sums, first)
        t, a, z = t[first], a[first], z[first]
        pos = c > 0
        t, a, z, c = t[pos], a[pos], z[pos], c[pos]
        order = np.lexsort((-z, -a, -c, t))  # per text: strongest first (ties: later span first)
        t, a, z, c = t[order].tolist(), a[order].tolist(), z[order].tolist(), c[order].tolist()
        bounds = np.searchsorted(np.asarray(t, dtype=np.int64), np.arange(len(texts) + 1)).tolist()
        names = head.labelset.labels
        for i, text in enumerate(texts):
            if not explained[i]:
                continue
            chosen = out[i]
            seen: set[str] = set()
            for j in range(bounds[i], bounds[i + 1]):
                w = text[a[j] : z[j]]
                low = w.lower()
                if low in seen or low in _FUNCTION_WORDS or not _WORD.search(w):
                    continue  # one entry per distinct word, and only content words (no punctuation)
                seen.add(low)
                chosen.append(Evidence(w, a[j], z[j], names[top[i]], round(c[j], 4)))
                if len(chosen) == self.n_evidence:
                    break
        return out


def _aggregate_mean(values: np.ndarray, owner: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    if len(owner) == n and np.array_equal(owner, np.arange(n)):
        return values.astype(np.float64)
    out = np.zeros((n, values.shape[1]))
    np.add.at(out, owner, values * weights[:, None])
    total = np.bincount(owner, weights=weights, minlength=n)
    return out / np.maximum(total, 1e-12)[:, None]


def _aggregate_max(values: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    if len(owner) == n and np.array_equal(owner, np.arange(n)):
        return values.astype(np.float64)
    out = np.full((n, values.shape[1]), -np.inf)
    np.maximum.at(out, owner, values)
    return out
