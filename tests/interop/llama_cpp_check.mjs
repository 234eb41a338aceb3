// Runs a GGUF file through llama.cpp (node-llama-cpp's prebuilt CPU binaries) and prints one JSON
// object on stdout. Used by test_interop to compare llama.cpp with angelslim on the same file.
//
//   node llama_cpp_check.mjs --model F.gguf [--ids 1,2,3 | --prompt TEXT] [--gen N] [--logits]
//                            [--tokenize TEXT] [--tokenize-jsonl F] [--threads T]
//
//   --ids / --prompt  the input tokens (--prompt is tokenized by llama.cpp, with BOS when the model
//                     wants one); default: just BOS
//   --gen N           greedy continuation of N tokens (stops early at end-of-generation tokens)
//   --logits          next-token log-probabilities (log-softmax of the logits) after every input
//                     token, full vocabulary
//   --tokenize TEXT   llama.cpp's tokenization of TEXT (no BOS)
//   --tokenize-jsonl F  the same for the "text" field of every line of F (a list of id lists)
//   --threads T       CPU threads for llama.cpp (default 1)
//
// Output: {"vocabulary_type", "bos", "eos", "input_ids", "generated", "logprobs", "tokenized",
// "tokenized_lines"}.
// The KV cache is kept in F32 and flash attention off, so the only differences from a float
// reference are ggml's own kernels (and its activation quantization for quantized weights).
import {readFileSync} from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

function parseArgs(argv) {
  const args = {threads: 1, gen: 0, logits: false};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--model") args.model = next();
    else if (a === "--ids") args.ids = next().split(",").filter((s) => s.length > 0).map(Number);
    else if (a === "--prompt") args.prompt = next();
    else if (a === "--gen") args.gen = Number(next());
    else if (a === "--logits") args.logits = true;
    else if (a === "--tokenize") args.tokenize = next();
    else if (a === "--tokenize-jsonl") args.tokenizeJsonl = next();
    else if (a === "--threads") args.threads = Number(next());
    else throw new Error(`unknown argument ${a}`);
  }
  if (!args.model) throw new Error("--model is required");
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const llama = await getLlama({
    gpu: false,
    build: "never",
    logLevel: LlamaLogLevel.warn,
    logger: (level, message) => process.stderr.write(`[llama.cpp ${level}] ${message}\n`),
  });
  const vocabOnly = !(args.gen > 0 || args.logits);
  const model = await llama.loadModel({modelPath: args.model, gpuLayers: 0, vocabOnly});
  const out = {
    vocabulary_type: model.vocabularyType,
    bos: model.tokens.bos,
    eos: model.tokens.eos,
  };
  if (args.tokenize !== undefined) out.tokenized = model.tokenize(args.tokenize);
  if (args.tokenizeJsonl !== undefined) {
    out.tokenized_lines = readFileSync(args.tokenizeJsonl, "utf8")
      .split("\n")
      .filter((l) => l.trim().length > 0)
      .map((l) => model.tokenize(JSON.parse(l).text));
  }

  let input = args.ids;
  if (input === undefined) {
    input = [];
    if (model.tokens.bos != null) input.push(model.tokens.bos);
    if (args.prompt !== undefined) input.push(...model.tokenize(args.prompt));
  }
  out.input_ids = input;

  if (args.gen > 0 || args.logits) {
    const contextSize = Math.max(32, input.length + args.gen + 8);
    const context = await model.createContext({
      contextSize,
      batchSize: contextSize,
      threads: args.threads,
      flashAttention: false,
      experimentalKvCacheKeyType: "F32",
      experimentalKvCacheValueType: "F32",
    });
    const seq = context.getSequence();
    const greedy = {temperature: 0};
    const items = input.map((t, i) => {
      const last = i === input.length - 1;
      const gen = {};
      if (args.logits) gen.probabilities = true;
      if (last && args.gen > 0) {
        gen.token = true;
        gen.options = greedy;
      }
      return Object.keys(gen).length > 0 ? [t, {generateNext: gen}] : t;
    });
    const res = await seq.controlledEvaluate(items);
    if (args.logits) {
      out.logprobs = res.map((r) => {
        const probs = r?.next?.probabilities;
        if (probs == null) return null;
        const row = new Array(probs.size).fill(null);
        for (const [tok, p] of probs) row[tok] = p > 0 ? Math.log(p) : null;
        return row;
      });
    }
    if (args.gen > 0) {
      const generated = [];
      let next = res[input.length - 1]?.next?.token;
      while (next != null && generated.length < args.gen) {
        generated.push(next);
        if (model.isEogToken(next) || generated.length >= args.gen) break;
        const r = await seq.controlledEvaluate([[next, {generateNext: {token: true, options: greedy}}]]);
        next = r[0]?.next?.token;
      }
      out.generated = generated;
    }
    await context.dispose();
  }
  await model.dispose();
  await llama.dispose();
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => {
  process.stderr.write(`llama_cpp_check: ${e?.stack ?? e}\n`);
  process.exit(1);
});
