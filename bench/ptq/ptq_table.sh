#!/usr/bin/env bash
# The PTQ accuracy table of stories260K (converted to HF): FP32, every algorithm at its default,
# and rtn/gptq/awq at 4 and 3 bits with group 32 and per-channel. ppl = paragraphs protocol on the
# first 200 paragraphs of tinystories_val.txt; ARC-Easy acc on the first 500. Calibration uses 128
# samples x 256 tokens from the paragraphs after the first 1000 (never the evaluation text).
#   bench/ptq/ptq_table.sh [OUT_DIR]      -> OUT_DIR/table.md and OUT_DIR/results.jsonl
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=build/bin/angelslim
OUT=${1:-out/ptq_table}
SHARED=${ANGELSLIM_SHARED:-../shared}
mkdir -p "$OUT"
HF="$OUT/stories260K_hf"
[ -f "$HF/config.json" ] || $BIN convert llama2c --checkpoint "$SHARED/models/stories260K/stories260K.bin" \
    --tokenizer "$SHARED/models/stories260K/tok512.bin" --out "$HF"
: > "$OUT/results.jsonl"

job() {  # name, compression yaml (may be empty)
  local name=$1 comp=$2 dir="$OUT/$1"
  mkdir -p "$dir"
  cat > "$dir/job.yaml" <<YAML
global: {output_dir: $dir, seed: 0, threads: ${THREADS:-2}}
model: {path: $HF}
dataset: {path: $SHARED/data/tinystories_val.txt, format: text_paragraphs, num_samples: 128, seq_len: 256, skip: 1000}
${comp}
eval:
  ppl: {data: $SHARED/data/tinystories_val.txt, protocol: paragraphs, max_paragraphs: 200}
  mc: [{task: arc_easy, data: $SHARED/data/eval/arc_easy.jsonl, limit: 500}]
YAML
  $BIN --quiet run --config "$dir/job.yaml" --json > "$dir/report_line.json"
  python3 - "$name" "$dir/report_line.json" >> "$OUT/results.jsonl" <<'PY'
import json, sys
name, path = sys.argv[1], sys.argv[2]
r = json.loads(open(path).read().strip().splitlines()[-1])
ev = r.get("eval", {})
ppl = ev.get("ppl", {}).get("ppl")
mc = ev.get("mc", [{}])
acc = mc[0].get("acc") if isinstance(mc, list) else mc.get("arc_easy", {}).get("acc")
comp = r.get("compression", {})
print(json.dumps({"name": name, "ppl": ppl, "arc_easy_acc": acc,
                  "quantize_s": comp.get("quantize_seconds"), "fallbacks": len(comp.get("fallbacks", [])),
                  "validation_ok": comp.get("export", {}).get("validation_ok")}))
PY
  tail -1 "$OUT/results.jsonl"
}

job fp32 ""
for a in fp8_static fp8_dynamic fp8_blockwise fp8_lepto int8_smoothquant w4a8_fp8; do
  job "$a" "compression: {quantization: {name: $a}}"
done
for bits in 4 3; do
  for g in 32 -1; do
    for a in int4_rtn int4_gptq int4_awq; do
      job "${a}_w${bits}_g${g}" "compression: {quantization: {name: $a, bits: $bits, group_size: $g}}"
    done
  done
done
python3 - "$OUT/results.jsonl" > "$OUT/table.md" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
base = rows[0]["ppl"]
print("| scheme | ppl (200 para) | Δppl vs fp32 | ARC-Easy acc (500) | quantize s | fallbacks |")
print("|---|---|---|---|---|---|")
for r in rows:
    d = (r["ppl"] / base - 1) * 100
    q = r["quantize_s"]
    print(f"| {r['name']} | {r['ppl']:.4f} | {d:+.2f}% | {r['arc_easy_acc']:.3f} | {q:.1f} |" if q else
          f"| {r['name']} | {r['ppl']:.4f} | {d:+.2f}% | {r['arc_easy_acc']:.3f} | - |", end="")
    print(f" {r['fallbacks']} |")
PY
cat "$OUT/table.md"
