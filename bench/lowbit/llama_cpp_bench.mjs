// Times llama.cpp (node-llama-cpp's prebuilt CPU binaries) on a GGUF with the same protocol as
// `angelslim bench`: a prompt of P pseudo-random token ids evaluated in one batch (prefill), then N
// greedy decode steps of one token each. Prints one JSON object. Medians over --repeats runs.
//
//   node llama_cpp_bench.mjs --model F.gguf [--prompt-tokens 512] [--new-tokens 64] [--threads 2]
//                            [--repeats 3]
//
// KV cache F16 and flash attention off: llama.cpp's defaults for CPU inference (what llama-bench
// measures). Uses the node-llama-cpp installed under tests/interop (npm ci there).
import {statSync} from "node:fs";
import {createRequire} from "node:module";
import {fileURLToPath} from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../../tests/interop/package.json"));
const {getLlama, LlamaLogLevel} = await import(require.resolve("node-llama-cpp"));

function parseArgs(argv) {
  const a = {prompt: 512, gen: 64, threads: 2, repeats: 3};
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    if (k === "--model") a.model = v();
    else if (k === "--prompt-tokens") a.prompt = Number(v());
    else if (k === "--new-tokens") a.gen = Number(v());
    else if (k === "--threads") a.threads = Number(v());
    else if (k === "--repeats") a.repeats = Number(v());
    else throw new Error(`unknown argument ${k}`);
  }
  if (!a.model) throw new Error("--model is required");
  return a;
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
  const t0 = performance.now();
  const model = await llama.loadModel({modelPath: a.model, gpuLayers: 0, useMmap: true});
  const loadS = (performance.now() - t0) / 1000;
  const contextSize = a.prompt + a.gen + 8;
  const context = await model.createContext({
    contextSize,
    batchSize: a.prompt,
    threads: a.threads,
    flashAttention: false,
  });
  const seq = context.getSequence();
  // Pseudo-random prompt ids (an LCG, as in `angelslim bench`), kept clear of control tokens.
  let s = 1234n;
  const ids = [];
  const span = 30000n;
  for (let i = 0; i < a.prompt; i++) {
    s = (s * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    ids.push(Number(3n + ((s >> 33n) % span)));
  }
  const greedy = {generateNext: {token: true, options: {temperature: 0}}};
  const decodeSteps = async (next) => {
    for (let n = 0; n < a.gen; n++) {
      const rr = await seq.controlledEvaluate([[next, greedy]]);
      next = rr[0]?.next?.token;
    }
  };
  const prefill = [], decode = [], decodeEmpty = [];
  for (let r = 0; r < a.repeats; r++) {
    await seq.clearHistory();
    const p0 = performance.now();
    const items = ids.map((t, i) => (i === ids.length - 1 ? [t, greedy] : t));
    const res = await seq.controlledEvaluate(items);
    const p1 = performance.now();
    await decodeSteps(res[ids.length - 1]?.next?.token);
    const p2 = performance.now();
    // decode from an empty cache (llama-bench's tg protocol): one token, then a.gen steps
    await seq.clearHistory();
    const r0 = await seq.controlledEvaluate([[ids[0], greedy]]);
    const p3 = performance.now();
    await decodeSteps(r0[0]?.next?.token);
    const p4 = performance.now();
    prefill.push(a.prompt / ((p1 - p0) / 1000));
    decode.push(a.gen / ((p2 - p1) / 1000));
    decodeEmpty.push(a.gen / ((p4 - p3) / 1000));
  }
  const out = {
    model: a.model,
    runtime: "llama.cpp (node-llama-cpp prebuilt)",
    threads: a.threads,
    weight_bytes: statSync(a.model).size,  // the whole file (metadata is a few KB)
    load_s: loadS,
    prompt_tokens: a.prompt,
    new_tokens: a.gen,
    prefill_tokens_per_s: median(prefill),
    decode_tokens_per_s: median(decode),
    decode_empty_context_tokens_per_s: median(decodeEmpty),
    prefill_runs: prefill,
    decode_runs: decode,
  };
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => {
  process.stderr.write(`llama_cpp_bench: ${e?.stack ?? e}\n`);
  process.exit(1);
});
