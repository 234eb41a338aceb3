#!/usr/bin/env bash
# Installs and builds everything, then runs the quickstart job (configs/quickstart.yaml) on the
# stories260K demo model.
#
# Model lookup, in order:
#   1. $ANGELSLIM_DEMO_MODEL: a llama2.c checkpoint (.bin with its tok*.bin beside it) or an HF directory
#   2. ../shared/models/stories260K (next to the project root)
#   3. models/stories260K (downloaded here on a machine with internet:
#      karpathy/tinyllamas on Hugging Face: stories260K/stories260K.bin and stories260K/tok512.bin)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

model=""
if [ -n "${ANGELSLIM_DEMO_MODEL:-}" ]; then
  model="$ANGELSLIM_DEMO_MODEL"
  [ -e "$model" ] || { echo "[quickstart] ANGELSLIM_DEMO_MODEL=$model does not exist" >&2; exit 1; }
elif [ -f ../shared/models/stories260K/stories260K.bin ]; then
  model=../shared/models/stories260K/stories260K.bin
elif [ -f models/stories260K/stories260K.bin ]; then
  model=models/stories260K/stories260K.bin
else
  mkdir -p models/stories260K
  base=https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K
  if command -v curl >/dev/null && curl -fsSL --max-time 60 -o models/stories260K/stories260K.bin "$base/stories260K.bin" \
     && curl -fsSL --max-time 60 -o models/stories260K/tok512.bin "$base/tok512.bin"; then
    model=models/stories260K/stories260K.bin
  else
    rm -rf models/stories260K
    cat >&2 <<MSG
[quickstart] no demo model found and it could not be downloaded. Provide one of:
  - ANGELSLIM_DEMO_MODEL=/path/to/stories260K.bin (llama2.c checkpoint with tok512.bin beside it)
    or ANGELSLIM_DEMO_MODEL=/path/to/hf_model_dir
  - the fixtures folder ../shared/models/stories260K next to the project root
  - models/stories260K/stories260K.bin + tok512.bin in the project (from karpathy/tinyllamas on Hugging Face)
MSG
    exit 1
  fi
fi
echo "[quickstart] model: $model"
mkdir -p out
job=configs/quickstart.yaml
if [ "$model" != ../shared/models/stories260K/stories260K.bin ]; then
  # same job, other model path
  job=out/quickstart_job.yaml
  sed "s|path: ../shared/models/stories260K/stories260K.bin|path: $model|" configs/quickstart.yaml > "$job"
fi
build/bin/angelslim run --config "$job"
echo "[quickstart] report: out/quickstart/report.json"
