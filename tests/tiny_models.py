"""Tiny models built by the tests themselves (random weights, a word-level vocabulary), so the tests can run
the real ONNX / static / Hugging Face code paths in seconds, offline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

WORDS = ("happy sad angry calm great terrible love hate fear joy the a i you is was not very day today "
         "this that it and so really good bad news".split())


def make_tokenizer(path: Path):
    """A BERT-style WordPiece tokenizer over WORDS (lower-cased, punctuation split), saved to ``path``."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, ".", "!", ",", "?"])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
                                                       special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    path.mkdir(parents=True, exist_ok=True)
    tok.save(str(path / "tokenizer.json"))
    (path / "vocab.txt").write_text("\n".join(vocab))
    return tok, vocab


def make_tiny_bert(path: Path, num_labels: int | None = None, id2label: dict | None = None,
                   problem_type: str | None = None, seed: int = 0) -> Path:
    """A 2-layer, 32-wide BERT (optionally with a classification head) in Hugging Face format."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizerFast

    torch.manual_seed(seed)
    _, vocab = make_tokenizer(path)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64)
    if num_labels:
        cfg.num_labels = num_labels
        if id2label:
            cfg.id2label = {i: n for i, n in id2label.items()}
            cfg.label2id = {n: i for i, n in id2label.items()}
        if problem_type:
            cfg.problem_type = problem_type
        model = BertForSequenceClassification(cfg)
    else:
        model = BertModel(cfg)
    model.save_pretrained(path)
    BertTokenizerFast(tokenizer_file=str(path / "tokenizer.json"), vocab_file=str(path / "vocab.txt"),
                      model_max_length=16).save_pretrained(path)
    return path


def make_tiny_mpnet(path: Path, seed: int = 0) -> Path:
    """A 2-layer, 32-wide MPNet (an encoder without ``token_type_ids``) over the same word-level vocabulary."""
    import torch
    from transformers import MPNetConfig, MPNetModel

    torch.manual_seed(seed)
    _, vocab = make_tokenizer(path)
    cfg = MPNetConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=80, pad_token_id=0)
    MPNetModel(cfg).save_pretrained(path)
    return path


def write_heads(path: Path, dim: int, labelset: str = "ekman", seed: int = 0) -> list[str]:
    from affectkit.labels import get_labelset
    from affectkit.modules.heads import CategoryHead, VADHead

    rng = np.random.default_rng(seed)
    k = len(get_labelset(labelset))
    CategoryHead(labelset, rng.normal(size=(k, dim)), rng.normal(size=k), rng.normal(size=(k, dim)),
                 rng.normal(size=k), 1.0, np.full(k, 0.5)).save(path / f"heads/{labelset}")
    VADHead(rng.normal(size=(3, dim)) * 0.1, np.array([3.0, 3.0, 3.0]), "1..5").save(path / "heads/vad")
    return [f"heads/{labelset}", "heads/vad"]


def make_onnx_model(path: Path, max_length: int = 12, stride: int = 4, labelset: str = "ekman") -> Path:
    """An affectkit model folder: tiny BERT exported to ONNX + random linear heads."""
    import torch

    from affectkit.training.quantize import QUANTIZATION, quantize_int8

    bert_dir = make_tiny_bert(path / "_hf")
    from transformers import BertModel

    bert = BertModel.from_pretrained(bert_dir).eval()

    class Wrapper(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    enc = path / "encoder"
    enc.mkdir(parents=True, exist_ok=True)
    ids = torch.ones(1, 5, dtype=torch.long)
    axes = {0: "b", 1: "t"}
    fp32 = path / "_model.fp32.onnx"
    torch.onnx.export(Wrapper(bert), (ids, ids, torch.zeros_like(ids)), str(fp32),
                      input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["last_hidden_state"],
                      dynamic_axes={n: axes for n in ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]},
                      opset_version=17, dynamo=False)
    quantize_int8(fp32, enc / "model.onnx", min_size=256)  # as the trainer exports: int8 products
    (enc / "tokenizer.json").write_bytes((bert_dir / "tokenizer.json").read_bytes())
    (enc / "config.json").write_text(json.dumps({"type": "onnx-transformer", "dim": 32, "max_length": max_length,
                                                 "stride": stride, "batch_size": 4, "quantization": QUANTIZATION}))
    heads = write_heads(path, 32, labelset)
    (path / "affectkit_model.json").write_text(json.dumps({
        "format": 1, "name": "tiny-onnx", "encoder": {"type": "onnx-transformer", "path": "encoder"},
        "heads": heads, "primary_labelset": labelset}))
    return path


def make_static_model(path: Path, labelset: str = "ekman", dim: int = 8) -> Path:
    """An affectkit model folder with a static-embedding encoder (random vectors) + random heads."""
    from safetensors.numpy import save_file

    enc = path / "encoder"
    _, vocab = make_tokenizer(enc)
    rng = np.random.default_rng(1)
    save_file({"embeddings": rng.normal(size=(len(vocab), dim)).astype(np.float16)}, str(enc / "embeddings.safetensors"))
    (enc / "config.json").write_text(json.dumps({"type": "static"}))
    heads = write_heads(path, dim, labelset)
    (path / "affectkit_model.json").write_text(json.dumps({
        "format": 1, "name": "tiny-static", "encoder": {"type": "static", "path": "encoder"}, "heads": heads,
        "primary_labelset": labelset}))
    return path
