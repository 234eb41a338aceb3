#!/usr/bin/env bash
# Low-memory PTQ: int4_gptq on a synthetic model whose weights are >= 3x the memory budget.
# Layers are streamed from the mmapped checkpoint one at a time and the activation cache spills
# to disk; peak RSS (getrusage) lands in report.json.
#   bench/ptq/memory_budget.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=build/bin/angelslim
OUT=${1:-out/ptq_memory_budget}
SHARED=${ANGELSLIM_SHARED:-../shared}
BUDGET=${BUDGET:-450MB}
mkdir -p "$OUT"
if [ ! -f "$OUT/model/config.json" ]; then
  $BIN synth --arch llama --hidden 1024 --layers 66 --ffn 2048 --heads 16 --vocab 4096 --tie \
      --dtype bf16 --seed 0 --out "$OUT/model"
fi
cat > "$OUT/job.yaml" <<YAML
global: {output_dir: $OUT/run, seed: 0, threads: ${THREADS:-2}, memory_budget: $BUDGET}
model: {path: $OUT/model}
dataset: {path: $SHARED/data/tinystories_val.txt, format: text_paragraphs, num_samples: 16, seq_len: 256, skip: 1000}
compression: {quantization: {name: int4_gptq, bits: 4, group_size: 128}}
YAML
start=$(date +%s)
$BIN run --config "$OUT/job.yaml" --json > "$OUT/report_line.json"
end=$(date +%s)
python3 - "$OUT" "$BUDGET" $((end - start)) <<'PY'
import json, os, sys
out, budget, secs = sys.argv[1], sys.argv[2], int(sys.argv[3])
r = json.loads(open(os.path.join(out, "report_line.json")).read().strip().splitlines()[-1])
size = sum(os.path.getsize(os.path.join(out, "model", f)) for f in os.listdir(os.path.join(out, "model")) if f.endswith(".safetensors"))
mem = r.get("memory", {})
peak = mem.get("peak_rss_bytes") or r.get("compression", {}).get("peak_rss_bytes")
print(json.dumps({"model_bytes": size, "budget": budget, "budget_bytes": mem.get("budget_bytes"),
                  "peak_rss_bytes": peak, "under_budget": peak is not None and mem.get("budget_bytes") and peak <= mem["budget_bytes"],
                  "ratio_model_to_budget": size / mem["budget_bytes"] if mem.get("budget_bytes") else None,
                  "wall_seconds": secs, "quantize_seconds": r.get("compression", {}).get("quantize_seconds"),
                  "activations_spilled": r.get("compression", {}).get("activations_spilled")}, indent=1))
PY
