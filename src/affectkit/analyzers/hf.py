"""Any Hugging Face sequence-classification model, by local path or hub id, with its labels mapped onto a
label set. Needs the ``hf`` extra (torch, transformers). No remote code is run (``trust_remote_code=False``).

The model's ``id2label`` names are matched to a known label set when every name belongs to one; otherwise
affectkit builds a label set from the names and anchors each on Parrott's tree through the emotion vocabulary,
so it can still be mapped onto Ekman, GoEmotions and the rest. Long texts are split into overlapping windows
of the model's maximum length; windows are aggregated as in affectkit's own models.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from affectkit.analyzers.base import Analyzer
from affectkit.labels import LabelSet, labelset_from_names
from affectkit.modules.heads import sigmoid, softmax
from affectkit.schema import BatchPrediction


def labelset_for(names: list[str], model_name: str) -> tuple[LabelSet, list[int]]:
    """A label set for a classifier's output names, and the column order that maps outputs onto it."""
    return labelset_from_names(names, f"hf:{model_name}", f"labels of {model_name}", model_name)


class HFClassifierAnalyzer(Analyzer):
    """Wraps ``AutoModelForSequenceClassification``. ``label_map`` renames model labels before matching."""

    def __init__(self, model: str, label_map: dict[str, str] | None = None, batch_size: int = 32,
                 stride: int = 32, device: str = "cpu", local_files_only: bool | None = None) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        if local_files_only is None:
            local_files_only = os.path.isdir(model) or os.environ.get("HF_HUB_OFFLINE") == "1"
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(
            model, local_files_only=local_files_only, trust_remote_code=False)
        self.model = AutoModelForSequenceClassification.from_pretrained(
            model, local_files_only=local_files_only, trust_remote_code=False).eval().to(device)
        self.device = device
        cfg = self.model.config
        names = [cfg.id2label[i] for i in range(cfg.num_labels)]
        if label_map:
            names = [label_map.get(n, n) for n in names]
        self.labelset, self._order = labelset_for(names, os.path.basename(model.rstrip("/")))
        self.multi_label = cfg.problem_type == "multi_label_classification"
        self.name = f"hf:{model}"
        self.batch_size = batch_size
        self.stride = stride
        self.max_length = min(int(getattr(self.tokenizer, "model_max_length", 512) or 512), 512)
        self.stride = min(stride, self.max_length // 4)  # overlap between windows of long texts

    def predict_batch(self, items: list[Any], labels: LabelSet | None = None) -> BatchPrediction:
        torch = self.torch
        enc = self.tokenizer(items, truncation=True, max_length=self.max_length, stride=self.stride,
                             return_overflowing_tokens=True, padding=True, return_tensors="pt")
        owner = enc.pop("overflow_to_sample_mapping").numpy()
        enc.pop("offset_mapping", None)
        logits = []
        with torch.no_grad():
            for b in range(0, len(owner), self.batch_size):
                batch = {k: v[b : b + self.batch_size].to(self.device) for k, v in enc.items()}
                logits.append(self.model(**batch).logits.float().cpu().numpy())
        z = np.concatenate(logits)[:, self._order]
        lengths = enc["attention_mask"].sum(dim=1).numpy().astype(np.float64)
        n = len(items)
        from affectkit.modules.pooling import aggregate_max, aggregate_mean

        dist = aggregate_mean(softmax(z) if not self.multi_label else _normalise(sigmoid(z)), owner, lengths, n)
        scores = aggregate_max(sigmoid(z), owner, n) if self.multi_label else None
        ls = self.labelset
        intensity = 1.0 - dist[:, ls.index(ls.neutral)] if ls.neutral else dist.max(axis=1)
        return BatchPrediction(ls, dist, scores, np.full(len(ls), 0.5) if scores is not None else None,
                               intensity=intensity, n_segments=np.bincount(owner, minlength=n), model=self.name)


def _normalise(p: np.ndarray) -> np.ndarray:
    return p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
