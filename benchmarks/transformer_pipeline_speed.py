"""CPU speed of "the usual transformer pipeline" for emotion classification, to set affectkit's models against.

    python benchmarks/transformer_pipeline_speed.py                 # BERT-base and RoBERTa-base, 1,000 texts
    python benchmarks/transformer_pipeline_speed.py --rows 2000 --arch roberta-base

The published GoEmotions-28 models (BERT-base: macro-F1 0.46, Demszky et al. 2020; RoBERTa-base: 0.45 at
threshold 0.5, 0.54 with per-label thresholds) cannot be downloaded here, but their speed does not depend on
their weights: it is fixed by the architecture and the sequence lengths. So this script builds each
architecture with random weights and a 28-label classification head (transformers, fp32, torch on CPU, as
``transformers.pipeline("text-classification", top_k=None)`` runs it), tokenises the GoEmotions test texts with
the architecture's real tokenizer family (the MiniLM WordPiece vocabulary shipped with affectkit's base encoder
stands in for both; the texts' lengths in tokens are what matters), and times batched inference over the same
texts affectkit's benchmark uses. It prints texts/s and CPU-seconds per 1,000 texts; accuracy is the published
figure. Needs the train extra (torch, transformers) and GoEmotions (../shared/data or $AFFECTKIT_DATA).
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

ARCHS = {
    # hidden, layers, heads, intermediate: the published base configurations
    "bert-base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
    "roberta-base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                         max_position_embeddings=514, type_vocab_size=1),
    "distilbert-like (6 layers)": dict(hidden_size=768, num_hidden_layers=6, num_attention_heads=12,
                                       intermediate_size=3072),
}
PUBLISHED = {
    "bert-base": "0.46 (Demszky et al. 2020)",
    "roberta-base": "0.45 at 0.5 / 0.54 per-label thresholds",
    "distilbert-like (6 layers)": "-",
}


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1000, help="GoEmotions test texts to time")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--arch", action="append", choices=sorted(ARCHS), help="default: bert-base and roberta-base")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: all CPUs)")
    args = ap.parse_args()

    import torch
    from tokenizers import Tokenizer
    from transformers import BertConfig, BertForSequenceClassification, RobertaConfig, RobertaForSequenceClassification

    from affectkit.datasets import load_dataset
    from affectkit.training.trainer import resolve_base

    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    texts = list(load_dataset("goemotions", "test").texts[: args.rows])
    tok = Tokenizer.from_file(str(Path(resolve_base("minilm")) / "tokenizer.json"))
    tok.enable_truncation(512)
    tok.enable_padding()
    archs = args.arch or ["bert-base", "roberta-base"]
    print(f"{len(texts)} GoEmotions test texts, batch {args.batch_size}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, fp32, random weights (speed only)")
    print(f"{'architecture':<28} {'texts/s':>9} {'CPU s / 1k texts':>17}  published GoEmotions-28 macro-F1")
    for name in archs:
        torch.manual_seed(0)
        if name.startswith("roberta"):
            model = RobertaForSequenceClassification(RobertaConfig(vocab_size=50265, num_labels=28, **ARCHS[name]))
        else:
            model = BertForSequenceClassification(BertConfig(vocab_size=30522, num_labels=28, **ARCHS[name]))
        model.eval()
        batches = [texts[i : i + args.batch_size] for i in range(0, len(texts), args.batch_size)]

        def run(bs: list[list[str]]) -> None:
            with torch.inference_mode():
                for b in bs:
                    enc = tok.encode_batch(b)
                    ids = torch.tensor([e.ids for e in enc])
                    mask = torch.tensor([e.attention_mask for e in enc])
                    torch.sigmoid(model(input_ids=ids, attention_mask=mask).logits)

        run(batches[:2])  # warm-up
        t0, c0 = time.perf_counter(), cpu_seconds()
        run(batches)
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        print(f"{name:<28} {len(texts) / wall:>9.1f} {1000 * cpu / len(texts):>17.2f}  {PUBLISHED[name]}")


if __name__ == "__main__":
    main()
