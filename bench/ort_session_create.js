// Times ONNX Runtime's InferenceSession.create on one model (the peer of `mhub inspect`'s load).
// Usage: NODE_PATH=<peers>/node_modules node ort_session_create.js MODEL.onnx [REPEATS]
// Prints one JSON line: {"model","repeats","median_ms","min_ms"} (module load excluded).
const ort = require('onnxruntime-node');
const [model, repeatsArg] = process.argv.slice(2);
const repeats = +(repeatsArg || 5);
(async () => {
  const times = [];
  for (let i = 0; i < repeats; i++) {
    const start = process.hrtime.bigint();
    const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 2, interOpNumThreads: 1 });
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (session.release) await session.release();
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ model, repeats, median_ms: times[Math.floor(repeats / 2)], min_ms: times[0] }));
})();
