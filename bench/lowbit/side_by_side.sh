#!/usr/bin/env bash
# Side-by-side decode / prefill speed of our packed types (lean runtime) and llama.cpp's types
# (node-llama-cpp's prebuilt CPU build) on the same synthetic model, in one run, 2 threads.
#
#   bench/lowbit/side_by_side.sh [0.7b|3b] [OUT_DIR]      -> OUT_DIR/results.jsonl, OUT_DIR/table.md
#
# Env: OURS="q8_g32 q4_g32 ..." and THEIRS="F16 Q8_0 ..." pick the types; LEAN_GGUF="STQ1_0" GGUF types
# that only our runtime loads (exported by us; llama.cpp upstream has no such type); REPEATS (default 3);
# THREADS (default 2); KEEP=1 keeps the packed / GGUF files. Needs `cd tests/interop && npm ci`.
# Every row: weight bytes, prefill t/s (512-token prompt), decode t/s after the prompt and from an
# empty cache (llama-bench's tg), our fraction of the decode roofline. Our runtime also runs each
# llama.cpp GGUF (row "lean on GGUF"), so the file is the same on both sides.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=build/bin/angelslim
SHAPE=${1:-0.7b}
OUT=${2:-out/lowbit_${SHAPE}}
THREADS=${THREADS:-2}
REPEATS=${REPEATS:-3}
OURS=${OURS:-"q8_g32 q4_g32 q4_g128 fp8_pc seq2_pc tern2_pc tern167_pc sherry125_pc"}
THEIRS=${THEIRS:-"F16 Q8_0 Q4_0 Q4_K Q2_K TQ2_0 TQ1_0"}
LEAN_GGUF=${LEAN_GGUF-"STQ1_0"}  # set it empty to skip
SHARED=${ANGELSLIM_SHARED:-../shared}
case "$SHAPE" in
  0.7b) ARGS="--hidden 1536 --layers 24 --ffn 4096 --heads 16 --kv-heads 16 --vocab 32000" ;;
  3b) ARGS="--hidden 3200 --layers 26 --ffn 8640 --heads 32 --kv-heads 32 --vocab 32000" ;;
  *) echo "shape must be 0.7b or 3b" >&2; exit 2 ;;
esac
[ -x "$BIN" ] || { echo "build first: scripts/test.sh or cmake --build build" >&2; exit 1; }
node -e "require.resolve('node-llama-cpp', {paths: ['tests/interop']})" 2>/dev/null ||
  { echo "node-llama-cpp missing: (cd tests/interop && npm ci)" >&2; exit 1; }
mkdir -p "$OUT"
SRC="$OUT/model_f16"
[ -f "$SRC/config.json" ] || $BIN synth --arch llama $ARGS --dtype f16 \
    --tokenizer "$SHARED/tokenizers/llama2/tokenizer.model" --out "$SRC"
[ "${TABLE_ONLY:-0}" = 1 ] || : > "$OUT/results.jsonl"

record() {  # runtime type json
  python3 - "$1" "$2" "$3" >> "$OUT/results.jsonl" <<'PY'
import json, sys
rt, ty, line = sys.argv[1], sys.argv[2], sys.argv[3]
j = json.loads(line.strip().splitlines()[-1])
j["runtime_label"], j["type_label"] = rt, ty
print(json.dumps(j))
PY
  tail -1 "$OUT/results.jsonl" | python3 -c "import json,sys; j=json.load(sys.stdin); print(f\"{j['runtime_label']:>14} {j['type_label']:>13}: prefill {j['prefill_tokens_per_s']:7.1f}  decode {j['decode_tokens_per_s']:6.1f}  decode(empty) {j['decode_empty_context_tokens_per_s']:6.1f} t/s\")"
}

[ "${TABLE_ONLY:-0}" = 1 ] && THEIRS="" && OURS="" && LEAN_GGUF=""
for t in $THEIRS; do
  f="$OUT/$t.gguf"
  [ -f "$f" ] || $BIN --quiet export gguf --model "$SRC" --type "$t" --out "$f"
  j=$(node bench/lowbit/llama_cpp_bench.mjs --model "$f" --threads "$THREADS" --repeats "$REPEATS")
  record llama.cpp "$t" "$j"
  j=$($BIN --quiet --threads "$THREADS" bench --model "$f" --repeats "$REPEATS" --json)
  record "lean on GGUF" "$t" "$j"
  [ "${KEEP:-0}" = 1 ] || rm -f "$f"
done
for t in $LEAN_GGUF; do
  f="$OUT/$t.gguf"
  [ -f "$f" ] || $BIN --quiet export gguf --model "$SRC" --type "$t" --out "$f"
  j=$($BIN --quiet --threads "$THREADS" bench --model "$f" --repeats "$REPEATS" --json)
  record "lean on GGUF" "$t" "$j"
  [ "${KEEP:-0}" = 1 ] || rm -f "$f"
done
for t in $OURS; do
  d="$OUT/packed_$t"
  [ -f "$d/config.json" ] || $BIN --quiet pack --model "$SRC" --type "$t" --out "$d" --json > /dev/null
  j=$($BIN --quiet --threads "$THREADS" bench --model "$d" --repeats "$REPEATS" --json)
  record lean "$t" "$j"
  [ "${KEEP:-0}" = 1 ] || rm -rf "$d"
done

python3 - "$OUT/results.jsonl" > "$OUT/table.md" <<'PY'
import json, os, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ref = {r["type_label"]: r for r in rows if r["runtime_label"] == "llama.cpp"}
# the llama.cpp type each of ours is compared with
against = {"q8_g32": "Q8_0", "fp8_pc": "Q8_0", "q4_g32": "Q4_0", "q4_g128": "Q4_0", "q4z_g32": "Q4_0",
           "q4z_g128": "Q4_0", "seq2_pc": "TQ2_0", "seq2_g128": "TQ2_0", "tern2_pc": "TQ2_0",
           "tern2_g128": "TQ2_0", "tern167_pc": "TQ2_0", "sherry125_pc": "TQ2_0", "sherry125_g128": "TQ2_0",
           "STQ1_0": "TQ2_0"}
def size(r):
    b = r.get("weight_bytes")
    return f"{b / 2**20:.0f} MiB" if b else "-"
print("| runtime | type | weights | prefill t/s | decode t/s (after 512) | decode t/s (empty) | vs llama.cpp (prefill / decode / empty) | roofline frac (after / empty) |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    base = ref.get(against.get(r["type_label"], r["type_label"]))
    ratio = "-"
    if base is not None and r["runtime_label"] != "llama.cpp":
        ratio = (f"{base['type_label']}: {r['prefill_tokens_per_s'] / base['prefill_tokens_per_s']:.2f}x / "
                 f"{r['decode_tokens_per_s'] / base['decode_tokens_per_s']:.2f}x / "
                 f"{r['decode_empty_context_tokens_per_s'] / base['decode_empty_context_tokens_per_s']:.2f}x")
    roof = "-"
    if "fraction_of_roofline" in r:
        roof = f"{r['fraction_of_roofline']:.2f} / {r['fraction_of_roofline_empty_context']:.2f}"
    print(f"| {r['runtime_label']} | {r['type_label']} | {size(r)} | {r['prefill_tokens_per_s']:.1f} | "
          f"{r['decode_tokens_per_s']:.1f} | {r['decode_empty_context_tokens_per_s']:.1f} | {ratio} | {roof} |")
bw = [r["read_bandwidth_gbs"] for r in rows if "read_bandwidth_gbs" in r]
if bw:
    print(f"\nread bandwidth measured alongside: {min(bw):.1f}-{max(bw):.1f} GB/s")
PY
cat "$OUT/table.md"
