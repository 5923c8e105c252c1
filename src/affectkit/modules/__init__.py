"""The modules a model folder composes: an encoder and heads (as in sentence-transformers)."""

from affectkit.modules.encoders import (
           EncodedBatch,
           Encoder,
           OnnxTransformerEncoder,
           StaticEmbeddingEncoder,
           load_encoder,
)
from affectkit.modules.heads import CategoryHead, Head, ScoreHead, VADHead, load_head

__all__ = ["EncodedBatch", "Encoder", "OnnxTransformerEncoder", "StaticEmbeddingEncoder", "load_encoder",
           "CategoryHead", "VADHead", "ScoreHead", "Head", "load_head"]
