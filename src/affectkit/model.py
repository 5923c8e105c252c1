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
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from affectkit.analyzers.base import Analyzer
from affectkit.errors import ModelFormatError
from affectkit.evidence import EvidenceCandidates, is_evidence_word, word_sums
from affectkit.labels import LabelSet, get_labelset
from affectkit.modules.encoders import EncodedBatch, Encoder, load_encoder
from affectkit.modules.heads import CategoryHead, ScoreHead, VADHead, load_head
from affectkit.modules.pooling import aggregate_max, aggregate_mean
from affectkit.modules.streaming import RunningAggregate
from affectkit.schema import BatchPrediction, Evidence
from affectkit.vad import CANONICAL

CONFIG_FILE = "affectkit_model.json"
# texts longer than this (characters) are read in parts of bounded size (AffectModel._predict_long); shorter ones
# are encoded with their batch, all windows at once
STREAM_CHARS = 20_000
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
        self.labelset = (self.category_heads[primary].labelset if primary in self.category_heads
                         else get_labelset(primary))
        self.vad_head: VADHead | None = next((h for h in heads.values() if isinstance(h, VADHead)), None)
        self.score_heads: dict[str, ScoreHead] = {
            h.attribute: h for h in heads.values() if isinstance(h, ScoreHead)}
        self.evidence = evidence
        self.n_evidence = n_evidence
        self.stream_chars = STREAM_CHARS
        self._shares: dict[str, tuple[CategoryHead, np.ndarray, np.ndarray]] = {}  # see _table_shares

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

    def encode(self, texts: list[str], with_tokens: bool = False,
               token_basis: np.ndarray | None = None) -> EncodedBatch:
        return self.encoder.encode(texts, with_tokens=with_tokens, token_basis=token_basis)

    def embed(self, texts: list[str]) -> np.ndarray:
        """One vector per text: the token-weighted mean of its segments' pooled vectors."""
        enc = self.encode(texts)
        return aggregate_mean(enc.pooled, enc.owner, enc.n_tokens, len(texts))

    def predict_batch(self, items: list[Any], labels: "LabelSet | str | None" = None) -> BatchPrediction:
        """Predictions for valid texts in the native label set of ``labels`` (a label set or its name) if the
        model has a head for it, else in its primary one; :meth:`analyze_batch` also checks inputs and maps."""
        head = self.head_for(get_labelset(labels) if isinstance(labels, str) else labels)
        long_rows = [i for i, x in enumerate(items) if self._streams(x)]
        if not long_rows:
            return self._predict_texts(items, head)
        taken = set(long_rows)
        short_rows = [i for i in range(len(items)) if i not in taken]
        parts = [self._predict_texts([items[i] for i in short_rows], head)] if short_rows else []
        parts += [self._predict_long(items[i], head) for i in long_rows]
        return BatchPrediction.concat(parts).take(np.argsort(short_rows + long_rows, kind="stable").tolist())

    def _streams(self, item: Any) -> bool:
        """Whether ``item`` is long enough to be read in parts (:meth:`_predict_long`)."""
        return (isinstance(item, str) and len(item) > self.stream_chars
                and hasattr(self.encoder, "encode_stream"))

    def _segment_outputs(self, head: CategoryHead, pooled: np.ndarray
                         ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Every head's output per segment: those aggregated as token-weighted means over a text's segments (the
        distribution, VAD, the none mass, score heads), and the multi-label scores, aggregated as maxima (an
        emotion present in any part of a long text is present in the text)."""
        seg_dist, seg_scores, seg_none = head.forward(pooled)
        means = {"dist": seg_dist}
        if self.vad_head is not None:
            means["vad"] = self.vad_head(pooled)
        if seg_none is not None:
            means["none"] = seg_none[:, None]
        for attr, sh in self.score_heads.items():
            means[f"score_{attr}"] = sh(pooled)[:, None]
        return means, {"scores": seg_scores}

    def _predict_texts(self, items: list[Any], head: CategoryHead) -> BatchPrediction:
        # with evidence, a transformer keeps each token's projection onto the contrasts instead of its state
        enc = self.encode(items, with_tokens=self.evidence, token_basis=_contrast(head) if self.evidence else None)
        n = len(items)
        w = enc.n_tokens.astype(np.float64)
        means, maxima = self._segment_outputs(head, enc.pooled)
        agg = {name: aggregate_mean(v, enc.owner, w, n) for name, v in means.items()}
        agg.update({name: aggregate_max(v, enc.owner, n) for name, v in maxima.items()})
        out = self._prediction(head, agg, np.bincount(enc.owner, minlength=n))
        if self.evidence and enc.has_tokens:
            out.evidence = self._evidence(items, enc, head, out.dist, out.decisions())
        return out

    def _predict_long(self, text: str, head: CategoryHead) -> BatchPrediction:
        """One long text read in parts of bounded size: segment outputs and evidence candidates are aggregated as
        the parts come, so time is linear in the text's length and memory does not grow with it."""
        running = RunningAggregate()
        whole = getattr(self.encoder, "pools_whole_text", False)  # token shares are divided by the text's length
        cands = EvidenceCandidates(text, len(head.labelset), self.n_evidence) if self.evidence else None
        contrast = _contrast(head)
        tokens = 0
        for part in self.encoder.encode_stream(  # type: ignore[attr-defined]
                text, with_tokens=self.evidence, token_basis=contrast if self.evidence else None):
            if len(part.pooled):
                running.add(part.n_tokens, *self._segment_outputs(head, part.pooled))
            if cands is None or not part.has_tokens:
                continue
            lens = part.token_lengths()
            tokens += int(lens.sum())
            if lens.sum() == 0:
                continue
            seg = np.repeat(np.arange(len(lens)), lens)
            shares = part.project_tokens(contrast)[:, : len(head.labelset)]
            if not whole:
                shares = shares / lens[seg][:, None]
            assert part.word_ids is not None and part.offsets is not None
            _, a, z, sums = word_sums(seg, part.word_ids, part.offsets, shares)
            cands.add(a, z, sums)
        agg = {name: running.mean(name) for name in running.sums}
        agg.update({name: running.max(name) for name in running.maxima})
        out = self._prediction(head, agg, np.array([running.segments]))
        if cands is not None:
            top, explained = _explained_label(head, out.dist, out.decisions())
            names = head.labelset.labels
            scale = 1.0 / max(tokens, 1) if whole else 1.0
            out.evidence = [[Evidence(w, a, z, names[top[0]], round(c, 4))
                             for w, a, z, c in cands.top(int(top[0]), self.n_evidence, scale)]
                            if explained[0] and tokens else []]
        return out

    def _prediction(self, head: CategoryHead, agg: dict[str, np.ndarray], n_segments: np.ndarray) -> BatchPrediction:
        """The batch prediction from a text's aggregated head outputs (see :meth:`_segment_outputs`)."""
        ls = head.labelset
        dist = agg["dist"]
        if ls.neutral is not None:
            intensity = 1.0 - dist[:, ls.index(ls.neutral)]
        elif "none" in agg:
            intensity = 1.0 - agg["none"][:, 0]
        else:
            intensity = dist.max(axis=1)
        has_none = "none" in agg or ls.neutral is not None
        out = BatchPrediction(ls, dist, agg["scores"], head.thresholds, agg.get("vad"), CANONICAL.name, intensity,
                              None, n_segments=n_segments, model=self.name,
                              none=1.0 - intensity if has_none else None, fallback_below=head.fallback_below)
        for attr in self.score_heads:
            out.extra[f"score_{attr}"] = list(agg[f"score_{attr}"][:, 0])
        return out

    def scores(self, texts: list[str], attribute: str) -> np.ndarray:
        """A trained score head's value per text (e.g. a ranking head)."""
        if attribute not in self.score_heads:
            raise KeyError(f"model {self.name!r} has no score head {attribute!r}; it has {sorted(self.score_heads)}")
        enc = self.encode(texts)
        s = self.score_heads[attribute](enc.pooled)
        return aggregate_mean(s[:, None], enc.owner, enc.n_tokens.astype(np.float64), len(texts))[:, 0]

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
        top, explained = _explained_label(head, dist, decided)
        contrast = enc.token_basis if enc.token_basis is not None else _contrast(head)  # (K, H)
        seg = np.repeat(np.arange(len(lens)), lens)
        text_of = enc.owner[seg]
        if enc.token_table is not None and enc.token_states is None and enc.token_basis is None:
            shares = self._table_shares(head, enc.token_table, contrast)[enc.token_ids, top[text_of]]
        else:
            shares = enc.project_tokens_onto(contrast, top[text_of])
        contrib = shares / lens[seg]
        starts, a, z, c = word_sums(seg, enc.word_ids, enc.offsets, contrib)
        t = text_of[starts]
        if len(lens) > len(texts):  # the same word (text, span) from overlapping windows: keep the max
            order = np.lexsort((z, a, t))
            t, a, z, c = t[order], a[order], z[order], c[order]
            first = np.flatnonzero(np.r_[True, (t[1:] != t[:-1]) | (a[1:] != a[:-1]) | (z[1:] != z[:-1])])
            t, a, z, c = t[first], a[first], z[first], np.maximum.reduceat(c, first)
        pos = c > 0
        t, a, z, c = t[pos], a[pos], z[pos], c[pos]
        order = np.lexsort((-z, -a, -c, t))  # per text: strongest first (ties: later span first)
        t, a, z, c = t[order].tolist(), a[order].tolist(), z[order].tolist(), c[order].tolist()
        bounds = np.searchsorted(np.asarray(t, dtype=np.int64), np.arange(len(texts) + 1)).tolist()
        names = head.labelset.labels
        has_words = np.diff(np.asarray(bounds)) > 0
        for i in np.flatnonzero(explained & has_words).tolist():
            text, chosen, label = texts[i], out[i], names[top[i]]
            seen: set[str] = set()
            for j in range(bounds[i], bounds[i + 1]):
                w = text[a[j] : z[j]]
                low = w.lower()
                if low in seen or not is_evidence_word(low):
                    continue  # one entry per distinct word, and only content words (no punctuation)
                seen.add(low)
                chosen.append(Evidence(w, a[j], z[j], label, round(c[j], 4)))
                if len(chosen) == self.n_evidence:
                    break
        return out

    def _table_shares(self, head: CategoryHead, table: np.ndarray, contrast: np.ndarray) -> np.ndarray:
        """A static encoder's whole token table projected onto ``head``'s contrasts ``(V, K)``, computed once per
        head: a token's evidence is then a lookup (the same numbers as projecting each batch's tokens)."""
        held = self._shares.get(head.labelset.name)
        if held is None or held[0] is not head or held[1] is not table:
            held = self._shares[head.labelset.name] = (head, table, table @ contrast.T)
        return held[2]


def _contrast(head: CategoryHead) -> np.ndarray:
    """Each label's distribution weights against the mean label's ``(K, H)``: a token's evidence for a label."""
    return head.w_dist - head.w_dist.mean(axis=0, keepdims=True)


def _explained_label(head: CategoryHead, dist: np.ndarray, decided: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The label each text's evidence explains, and whether it gets evidence: evidence for "neutral" says nothing,
    so a neutral text explains its strongest emotion instead if the multi-label decision holds it too; a text that
    is only neutral gets none."""
    top = dist.argmax(axis=1)
    explained = np.ones(len(dist), dtype=bool)
    ls = head.labelset
    if ls.neutral is not None:
        k = ls.index(ls.neutral)
        masked = dist.copy()
        masked[:, k] = -1.0
        alt = masked.argmax(axis=1)
        is_neutral = top == k
        explained = ~is_neutral | decided[np.arange(len(dist)), alt]
        top = np.where(is_neutral, alt, top)
    return top, explained
