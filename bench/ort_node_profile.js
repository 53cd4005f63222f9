// Per-node times of ONNX Runtime (CPU) on one model: the least time of every node over N runs,
// from ORT's own profiler (session option enableProfiling: a JSON trace, one event per node and
// run). bench/node_compare.sh joins this with `mhub bench --profile --json`'s node_times.
// Usage: NODE_PATH=<peers>/node_modules node ort_node_profile.js MODEL.onnx [--threads N]
//        [--runs N] [--dim NAME=VALUE ...]
//   Inputs are random (seeded; integer inputs 0/1); symbolic dims default to 1.
// Prints one JSON object: {"model","threads","runs","min_ms" (whole run, wall clock),
//   "nodes":[{"name","op","min_ms","inputs" (each input's dims)}]} in the order ORT ran the nodes. A name is the node's name
//   in ORT's optimised graph: a node of ORT's NCHWc layout pass is named "<its output>_nchwc",
//   its reorders "ReorderInput_..." / "ReorderOutput_...".
const ort = require('onnxruntime-node');
const fs = require('fs');
const os = require('os');
const path = require('path');

const args = process.argv.slice(2);
const opt = { threads: 2, runs: 50, dims: {} };
const model = args.shift();
while (args.length) {
  const a = args.shift();
  if (a === '--threads') opt.threads = +args.shift();
  else if (a === '--runs') opt.runs = +args.shift();
  else if (a === '--dim') { const [k, v] = args.shift().split('='); opt.dims[k] = +v; }
  else { console.error(`unknown argument ${a}`); process.exit(2); }
}
if (!model || !fs.existsSync(model)) { console.error(`usage: ort_node_profile.js MODEL.onnx [options] (no model '${model}')`); process.exit(2); }

const arrays = { float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array,
                 int8: Int8Array, uint8: Uint8Array, bool: Uint8Array };
let seed = 12345;
const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };

function makeInput(meta) {
  const shape = meta.shape.map(d => (typeof d === 'number' && d >= 0) ? d : (opt.dims[d] ?? 1));
  const n = shape.reduce((a, b) => a * b, 1);
  const T = arrays[meta.type];
  if (!T) throw new Error(`input ${meta.name}: type ${meta.type} not handled here`);
  const data = new T(n);
  for (let i = 0; i < n; i++) {
    if (meta.type === 'int64') data[i] = BigInt(Math.floor(rand() * 2));
    else if (meta.type === 'float32' || meta.type === 'float64') data[i] = rand() * 2 - 1;
    else data[i] = Math.floor(rand() * 2);
  }
  return new ort.Tensor(meta.type, data, shape);
}

(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ort-profile-'));
  try {
    const s = await ort.InferenceSession.create(model, {
      intraOpNumThreads: opt.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
      enableProfiling: true, profileFilePrefix: path.join(dir, 'trace') });
    const feeds = {};
    s.inputMetadata.forEach(m => { feeds[m.name] = makeInput(m); });
    for (let i = 0; i < 3; i++) await s.run(feeds);  // warm-up: their events only raise no minimum
    let best = Infinity;
    for (let i = 0; i < opt.runs; i++) {
      const a = process.hrtime.bigint();
      await s.run(feeds);
      best = Math.min(best, Number(process.hrtime.bigint() - a) / 1e6);
    }
    s.endProfiling();  // writes the trace into dir
    const file = fs.readdirSync(dir).find(f => f.endsWith('.json'));
    if (!file) throw new Error(`ONNX Runtime wrote no profile into ${dir}`);
    const events = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    const nodes = new Map();  // name -> {op, min_ms}, first-run order
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;  // skip fence_before/after
      const name = e.name.slice(0, -'_kernel_time'.length);
      const ms = e.dur / 1000;
      const row = nodes.get(name);
      if (row) row.min_ms = Math.min(row.min_ms, ms);
      else nodes.set(name, { name, op: e.args.op_name, min_ms: ms, inputs: (e.args.input_type_shape || []).map(t => Object.values(t)[0]) });
    }
    console.log(JSON.stringify({ model, threads: opt.threads, runs: opt.runs, min_ms: best, nodes: [...nodes.values()] }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
})().catch(e => { console.error(`ort_node_profile.js: ${model}: ${e.message}`); process.exit(1); });
