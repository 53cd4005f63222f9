// Runs a float32 model and its fp16/bf16 conversions written by `mhub convert --dtype` in ONNX
// Runtime (CPU) on the input mhub measured with (its fixed pseudo-random input: cli/cmd_convert
// sample_inputs), and compares ORT's error (low-precision output vs ORT's float32 output) with
// the error mhub reported in its --json output.
// Usage: NODE_PATH=<peers>/node_modules node ort_low_precision.js FP32.onnx RUN.onnx MHUB.json [RUN.onnx MHUB.json]...
//   RUN.onnx is what ORT loads: the converted model itself, or (bf16 without --keep-io-types,
//   whose bfloat16 inputs onnxruntime-node cannot create) the same model with float32 Casts at
//   its edges (ort_wrap_bf16_io.py), which ORT rounds exactly as mhub rounds its inputs.
// Prints one JSON line per converted model; exits 1 when ORT refuses or fails to run one, or
// when the two errors disagree (see compare()).
const ort = require('onnxruntime-node');
const fs = require('fs');
const path = require('path');

// The engine's sample input: an LCG per float32 element, in input order; other types zeros;
// symbolic dimensions 1. All steps are exact in float32, so doubles give the same values.
function sampleInputs(session) {
  let state = 12345;
  const feeds = {};
  for (const meta of session.inputMetadata) {
    const shape = meta.shape.map(d => (typeof d === 'number' && d >= 0) ? d : 1);
    const n = shape.reduce((a, b) => a * b, 1);
    if (meta.type === 'float32') {
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        data[i] = (state >>> 8) / 16777216 * 2 - 1;
      }
      feeds[meta.name] = new ort.Tensor('float32', data, shape);
    } else if (meta.type === 'int64') {
      feeds[meta.name] = new ort.Tensor('int64', new BigInt64Array(n), shape);
    } else if (meta.type === 'int32') {
      feeds[meta.name] = new ort.Tensor('int32', new Int32Array(n), shape);
    } else {
      throw new Error(`input ${meta.name}: type ${meta.type} not handled`);
    }
  }
  return feeds;
}

// float32 -> float16 bits, round to nearest even (as mhub's float_to_half).
const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
function toHalf(value) {
  f32[0] = value;
  const bits = u32[0], sign = (bits >>> 16) & 0x8000, mag = bits & 0x7fffffff;
  if (mag >= 0x7f800000) return sign | 0x7c00 | (mag > 0x7f800000 ? 0x200 : 0);
  if (mag >= 0x477ff000) return sign | 0x7c00;
  if (mag < 0x38800000) {
    if (mag < 0x33000000) return sign;
    const exponent = mag >>> 23, mantissa = (mag & 0x7fffff) | 0x800000, shift = 126 - exponent;
    let half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1), mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && (half & 1))) half++;
    return sign | half;
  }
  const rebased = mag - 0x38000000;
  let half = rebased >>> 13;
  const rest = rebased & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) half++;
  return sign | half;
}
function fromHalf(h) {
  const sign = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  if (e === 0) return sign * m * 2 ** -24;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

function asFloats(tensor) {
  if (tensor.type === 'float32') return Array.from(tensor.data);
  if (tensor.type === 'float16') return Array.from(tensor.data, fromHalf);
  throw new Error(`output type ${tensor.type} not handled`);
}

function castFeeds(session, feeds) {
  const out = {};
  for (const meta of session.inputMetadata) {
    const given = feeds[meta.name];
    if (!given) throw new Error(`input ${meta.name} is not an input of the float32 model`);
    if (meta.type === given.type) out[meta.name] = given;
    else if (meta.type === 'float16' && given.type === 'float32')
      out[meta.name] = new ort.Tensor('float16', Uint16Array.from(given.data, toHalf), given.dims);
    else throw new Error(`input ${meta.name}: ${meta.type} wanted, ${given.type} given`);
  }
  return out;
}

// The errors agree when they are within a factor of 4 of each other, or both are below 1e-3 of
// the output's scale. They are not equal: the engines round float32 accumulations differently,
// which moves a low-precision rounding now and then (the BERT-size encoder's output has only
// two values, so its max error is a small sample). One direction is ORT's own: for float16 its
// CPU provider runs nodes that have no float16 kernel in float32 and drops the Cast pairs
// between them (InsertCastTransformer), so it can skip roundings the model asks for (mhub
// performs them) and measure a smaller error; that is reported as ort_skips_fp16_roundings.
function compare(ortError, mhubError, scale, float16) {
  const floor = 1e-3 * scale;
  if (ortError <= floor && mhubError <= floor) return { agree: true };
  if (ortError <= 4 * mhubError + floor && mhubError <= 4 * ortError + floor) return { agree: true };
  if (float16 && ortError < mhubError) return { agree: true, ort_skips_fp16_roundings: true };
  return { agree: false };
}

(async () => {
  const [reference, ...pairs] = process.argv.slice(2);
  if (!reference || pairs.length === 0 || pairs.length % 2) {
    console.error('usage: ort_low_precision.js FP32.onnx RUN.onnx MHUB.json [RUN.onnx MHUB.json]...');
    process.exit(2);
  }
  const options = { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
  const base = await ort.InferenceSession.create(reference, options);
  const feeds = sampleInputs(base);
  const expected = await base.run(feeds);
  let status = 0;
  for (let k = 0; k < pairs.length; k += 2) {
    const [model, report] = [pairs[k], pairs[k + 1]];
    const row = { model: path.basename(reference, '.onnx'), converted: path.basename(report, '.json') };
    try {
      const mhub = JSON.parse(fs.readFileSync(report, 'utf8')).dtype;
      if (!mhub || !Array.isArray(mhub.errors)) throw new Error(`${report}: mhub measured no error (${mhub && mhub.errors_not_measured})`);
      const session = await ort.InferenceSession.create(model, options);
      const actual = await session.run(castFeeds(session, feeds));
      row.outputs = [];
      base.outputNames.forEach((name, i) => {
        const want = asFloats(expected[name]);
        const got = asFloats(actual[session.outputNames[i]]);
        let maxAbs = 0, largest = 0;
        for (let j = 0; j < want.length; j++) {
          maxAbs = Math.max(maxAbs, Math.abs(want[j] - got[j]));
          largest = Math.max(largest, Math.abs(want[j]));
        }
        const reported = mhub.errors[i].max_abs_error;
        const verdict = compare(maxAbs, reported, largest, report.includes('.fp16'));
        row.outputs.push({ output: name, ort_max_abs_error: maxAbs, mhub_max_abs_error: reported, largest_abs: largest, ...verdict });
        if (!verdict.agree) status = 1;
      });
    } catch (e) {
      row.error = String(e.message || e).split('\n')[0];
      status = 1;
    }
    console.log(JSON.stringify(row));
  }
  process.exit(status);
})().catch(e => { console.error(e); process.exit(1); });
