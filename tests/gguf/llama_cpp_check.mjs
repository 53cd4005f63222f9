// Loads a GGUF file with llama.cpp (npm node-llama-cpp's prebuilt CPU binaries; nothing is built
// or downloaded: build "never", skipDownload) and compares it with a PyTorch reference:
//   node llama_cpp_check.mjs NODE_LLAMA_CPP_DIR MODEL.gguf:REFERENCE.json:EXACT_STEPS:LOGIT_TOLERANCE...
// Checks per model: it loads; llama.cpp tokenizes the prompt to the reference ids; fed the prompt
// and the reference continuation (teacher forcing), its greedy choice equals the reference token
// at the first EXACT_STEPS positions ("all": every one, which is greedy generation of the same
// tokens), and every logit there is within LOGIT_TOLERANCE of the reference. Prints one JSON line
// of measurements per model; exit 1 when a check failed.
import path from "node:path";
import fs from "node:fs";
import { pathToFileURL } from "node:url";

const [moduleDir, ...specs] = process.argv.slice(2);
const { getLlama, LlamaLogLevel } = await import(pathToFileURL(path.join(moduleDir, "dist", "index.js")).href);
const llama = await getLlama({ gpu: false, build: "never", skipDownload: true, usePrebuiltBinaries: true,
                               logLevel: LlamaLogLevel.error, progressLogs: false });
let failed = false;
for (const spec of specs) {
  const [modelPath, referencePath, exactArg, toleranceArg] = spec.split(":");
  const reference = JSON.parse(fs.readFileSync(referencePath, "utf8"));
  const exactSteps = exactArg === "all" ? reference.generated.length : Number(exactArg);
  const failures = await check(modelPath, reference, exactSteps, Number(toleranceArg));
  failed = failed || failures.length > 0;
}
await llama.dispose();
process.exit(failed ? 1 : 0);

async function check(modelPath, reference, exactSteps, tolerance) {
  const model = await llama.loadModel({ modelPath });
  const context = await model.createContext({ contextSize: 64, batchSize: 64 });
  const sequence = context.getSequence();

  const failures = [];
  const ids = Array.from(model.tokenize(reference.prompt, false));
  if (JSON.stringify(ids) !== JSON.stringify(reference.prompt_ids))
    failures.push(`tokenization: llama.cpp ${JSON.stringify(ids)} vs tokenizer.json ${JSON.stringify(reference.prompt_ids)}`);

  // Teacher forcing: prompt + reference continuation (minus its last token); logits wanted from the
  // last prompt token on.
  const input = [...reference.prompt_ids, ...reference.generated.slice(0, -1)];
  const first = reference.prompt_ids.length - 1;
  const items = input.map((token, i) => (i >= first ? [token, { generateNext: { logits: true } }] : token));
  const outputs = await sequence.controlledEvaluate(items);
  const greedy = [];
  let maxDiff = 0;
  for (let step = 0; step < reference.generated.length; ++step) {
    const logits = outputs[first + step]?.next?.logits;
    if (!logits) { failures.push(`no logits at step ${step}`); break; }
    if (logits.size !== reference.steps[step].logits.length)
      failures.push(`step ${step}: ${logits.size} logits, the vocabulary has ${reference.steps[step].logits.length}`);
    let best = -1, bestValue = -Infinity, stepDiff = 0;
    for (const [token, value] of logits) {
      if (value > bestValue) { bestValue = value; best = token; }
      const expected = reference.steps[step].logits[token];
      if (expected !== undefined) stepDiff = Math.max(stepDiff, Math.abs(value - expected));
    }
    greedy.push(best);
    if (step < exactSteps) {
      maxDiff = Math.max(maxDiff, stepDiff);
      if (best !== reference.generated[step])
        failures.push(`step ${step}: llama.cpp chose ${best}, PyTorch ${reference.generated[step]} (reference margin ${reference.steps[step].margin.toFixed(3)})`);
    }
  }
  if (!(maxDiff <= tolerance)) failures.push(`max |logit difference| ${maxDiff} over the first ${exactSteps} steps exceeds ${tolerance}`);
  console.log(JSON.stringify({ model: path.basename(modelPath), tokens: ids.length, greedy, reference: reference.generated,
                               exact_steps: exactSteps, max_logit_diff: maxDiff, failures }));
  await context.dispose();
  await model.dispose();
  return failures;
}
