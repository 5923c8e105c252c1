"""Static embeddings distilled from a transformer encoder (model2vec; Tulkens and van Dongen 2024).

model2vec runs the encoder once over every token of the vocabulary (each token alone), mean-pools the output,
reduces it with PCA and weights each vector by SIF, a / (a + p(token)) with a Zipf estimate of p from the
vocabulary rank (Arora et al. 2017). A text's vector is then the mean of its tokens' vectors: no attention, no
length limit, numpy only. The result is written as an affectkit ``static`` encoder folder, which
:class:`affectkit.modules.encoders.StaticEmbeddingEncoder` reads exactly as model2vec's ``StaticModel.encode``
computes it (same tokenizer, unknown tokens dropped, mean, optional L2 normalisation, float16 vectors).
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from affectkit.training.config import StaticOptions

log = logging.getLogger(__name__)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


def corpus_vocabulary(texts: list[str], size: int, min_count: int = 3) -> list[str]:
    """The ``size`` most frequent lower-cased words of ``texts`` seen at least ``min_count`` times. Passed to
    model2vec, each becomes one token embedded as a whole word by the encoder (rather than as word pieces)."""
    counts = Counter(w for t in texts for w in _WORD.findall(t.lower()))
    return [w for w, c in counts.most_common(size) if c >= min_count]


def distill_static(base: str, out: Path, options: StaticOptions, corpus: list[str] | None = None) -> Path:
    """Distil ``base`` (a Hugging Face encoder folder) into a static encoder folder at ``out``."""
    from model2vec.distill import distill_from_model
    from safetensors.numpy import save_file
    from transformers import AutoModel, AutoTokenizer

    vocabulary = None
    if options.vocabulary == "corpus":
        if not corpus:
            raise ValueError("static.vocabulary: corpus needs training texts")
        vocabulary = corpus_vocabulary(corpus, options.vocabulary_size, options.min_count)
        log.info("static vocabulary: %d corpus words added to the subword vocabulary", len(vocabulary))
    elif options.vocabulary is not None:
        raise ValueError(f"static.vocabulary must be null or 'corpus', not {options.vocabulary!r}")
    model = AutoModel.from_pretrained(base)
    tokenizer: Any = AutoTokenizer.from_pretrained(base, use_fast=True)
    static = distill_from_model(model, tokenizer, vocabulary=vocabulary, device="cpu", pca_dims=options.pca_dims,
                                sif_coefficient=options.sif_coefficient, quantize_to="float16")
    out.mkdir(parents=True, exist_ok=True)
    tok = static.tokenizer
    tok.save(str(out / "tokenizer.json"))
    vectors = np.asarray(static.embedding, dtype=np.float16)
    save_file({"embeddings": vectors}, str(out / "embeddings.safetensors"))
    specials = [t for t in ("[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]", "<unk>", "<s>", "</s>", "<pad>")
                if tok.token_to_id(t) is not None]
    (out / "config.json").write_text(json.dumps({
        "type": "static", "dim": int(vectors.shape[1]), "normalize": options.normalize, "skip_tokens": specials,
        "distilled_from": str(base), "method": "model2vec distill_from_model",
        "pca_dims": options.pca_dims, "sif_coefficient": options.sif_coefficient,
        "vocabulary": options.vocabulary, "vocabulary_words": len(vocabulary or []), "vocab_size": len(vectors)},
        indent=2))
    return out
