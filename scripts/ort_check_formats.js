// Developer check (not part of CI): runs converted models through ONNX Runtime (the peer in
// ../shared/peers) on the fixtures' inputs and prints the error against PyTorch's outputs.
// First make the models:
//   F=tests/fixtures/formats T=/tmp/fmtcli; mkdir -p $T; cp $F/transformer_arch.onnx $T/arch.onnx
//   mhub convert $F/transformer_arch.onnx $T/tw.onnx --weights $F/transformer.pth
//   mhub convert $F/transformer.onnx $T/t16.onnx --dtype fp16 --keep-io-types
//   mhub convert $F/transformer.onnx $T/ext.onnx --external-file ext.safetensors --external-data 64
//   mhub convert $F/cnn.onnx $T/cw.onnx --weights $F/cnn.safetensors --allow-partial
//   mhub convert $F/cnn.onnx $T/c16.onnx --dtype fp16 --keep-io-types
// Then: NODE_PATH=~/.cache/mhub-peers/node_modules node scripts/ort_check_formats.js $F $T
// (ORT's CPU provider has no bfloat16 MatMul/Conv kernels, so bf16 models are not run here.)
const ort = require('onnxruntime-node');
const fs = require('fs');
function npy(file) {
  const b = fs.readFileSync(file);
  const hl = b.readUInt16LE(8); const h = b.slice(10, 10 + hl).toString();
  const shape = JSON.parse(h.match(/'shape': \(([^)]*)\)/)[1].split(',').filter(s => s.trim()).length ? '[' + h.match(/'shape': \(([^)]*)\)/)[1].replace(/,\s*$/, '') + ']' : '[]');
  const descr = h.match(/'descr': '([^']*)'/)[1];
  const data = b.slice(10 + hl);
  const ab = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  const arr = descr === '<f4' ? new Float32Array(ab) : new BigInt64Array(ab);
  return { shape, arr, type: descr === '<f4' ? 'float32' : 'int64' };
}
async function run(model, inp) {
  const s = await ort.InferenceSession.create(model);
  const feeds = {}; feeds[s.inputNames[0]] = new ort.Tensor(inp.type, inp.arr, inp.shape);
  const r = await s.run(feeds); return r[s.outputNames[0]].data;
}
function err(a, b) { let ma = 0, mr = 0; for (let i = 0; i < a.length; i++) { const d = Math.abs(a[i] - b[i]); ma = Math.max(ma, d); mr = Math.max(mr, d / Math.max(Math.abs(a[i]), 1e-6)); } return `max_abs ${ma.toExponential(3)} max_rel ${mr.toExponential(3)}`; }
(async () => {
  const F = process.argv[2], T = process.argv[3];
  for (const [name, variants] of [['transformer', ['arch', 'tw', 't16', 'ext']], ['cnn', ['cw', 'c16']]]) {
    const inp = npy(`${F}/${name}_input.npy`); const want = npy(`${F}/${name}_output.npy`).arr;
    const base = await run(`${F}/${name}.onnx`, inp);
    console.log(`${name}.onnx (ORT) vs PyTorch: ${err(want, base)}`);
    for (const v of variants) console.log(`${v}.onnx vs PyTorch: ${err(want, await run(`${T}/${v}.onnx`, inp))}`);
  }
})().catch(e => { console.error(e); process.exit(1); });
