// The fuzzed formats: for each, how to make case k (valid seed files, then seeded
// mutations) as a set of files in the case's folder, and the argument the child gets.
// Seeds are built with nrem itself (dist/), so every mutation starts from a file nrem
// writes or reads when it is valid.
import { deflateRawSync, gzipSync } from 'node:zlib';
import { concat, mutateBytes, mutateJson, mutateText } from './mutate.mjs';

const enc = (s) => new TextEncoder().encode(s);

/** A small seeded net of `sizes` (weights from the case PRNG). */
function net(lib, r, sizes, spec = {}, poison = false) {
  const { weights, biases } = new lib.Network({ sizes, ...spec }).parameters();
  for (const w of weights) for (let i = 0; i < w.length; i++) w[i] = r.next() - 0.4;
  for (const b of biases) if (b) for (let i = 0; i < b.length; i++) b[i] = r.next() * 0.1;
  // The constructor takes parameters as given (setWeights would refuse a non-finite value).
  if (poison) weights[r.int(weights.length)][0] = r.pick([NaN, Infinity, -Infinity]);
  return new lib.Network({ sizes, ...spec }, weights, biases);
}

function onnxSeed(lib, r) {
  const kinds = [
    [[6, 5, 3], {}],
    [[6, 8, 4, 3], { output: 'softmax', temperature: 2, biases: true }],
    [[4, 3], { output: 'linear', biases: true, dropout: 0.2 }],
  ];
  const [sizes, spec] = r.pick(kinds);
  return lib.toOnnxBytes(net(lib, r, sizes, spec, r.chance(0.08)));
}

/** An n × (d + 1) matrix, the last column the label, as .npy of a random dtype. */
function npyMatrix(lib, r, rows = 12, d = 4) {
  const w = d + 1;
  const f = new Float64Array(rows * w);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < d; j++) f[i * w + j] = r.next();
    f[i * w + d] = i % 3;
  }
  const dtype = r.pick(['f4', 'f8', 'u1', 'i4']);
  const data = dtype === 'f4' ? Float32Array.from(f) : dtype === 'f8' ? f : dtype === 'u1' ? Uint8Array.from(f, (v) => Math.round(v * 255) % 256) : Int32Array.from(f, (v) => Math.round(v * 1000));
  if (dtype === 'f8' && r.chance(0.15)) data[r.int(rows) * w + r.int(d)] = r.pick([1e39, -1e300, NaN, Infinity]);
  return lib.encodeNpy(data, [rows, w]);
}

/** Header-level mutations of an .npy: shape, dtype, order, header length. */
function mutateNpyHeader(bytes, r) {
  const text = new TextDecoder('latin1').decode(bytes.subarray(10, 10 + new DataView(bytes.buffer, bytes.byteOffset).getUint16(8, true)));
  let h = text;
  const shapes = ['(12, 5)', '(4294967296, 5)', '(-1, 5)', '(1e3, 5)', '()', '(0, 5)', '(12,)', '(2, 2, 2, 2, 2, 2, 2, 2)', '(9007199254740993, 2)', '(65536, 65536, 65536)', '(12, 5L)', '(x, 5)'];
  const descrs = ["'<f4'", "'>f4'", "'<f2'", "'|O'", "'<c8'", "'<U4'", "'|b1'", "'<i8'", "'f4'", "''"];
  switch (r.int(4)) {
    case 0:
      h = h.replace(/\([^)]*\)/, r.pick(shapes));
      break;
    case 1:
      h = h.replace(/'descr':\s*'[^']*'/, `'descr': ${r.pick(descrs)}`);
      break;
    case 2:
      h = h.replace('False', r.pick(['True', 'None', 'false']));
      break;
    default:
      h = h.replace(/'shape'/, r.pick(["'shap'", "'shape''", "'shape': (3,), 'shape'"]));
  }
  const out = concat(bytes.subarray(0, 10), enc(h), bytes.subarray(10 + text.length));
  new DataView(out.buffer).setUint16(8, h.length, true);
  return out;
}

/** Field-level mutations of a zip: a central-directory or local-header field, or a zip64 extra field. */
function mutateZipFields(bytes, r) {
  const b = Uint8Array.from(bytes);
  const v = new DataView(b.buffer);
  const cds = [];
  for (let i = 0; i + 46 <= b.length; i++) if (v.getUint32(i, true) === 0x02014b50) cds.push(i);
  if (!cds.length) return mutateBytes(b, r);
  const p = r.pick(cds);
  const field = r.pick([[20, 4], [24, 4], [42, 4], [28, 2], [30, 2], [10, 2]]);
  const val = r.pick([0, 1, 0xffff, 0xffffffff, 0x7fffffff, 1 << 20, 1 << 30]);
  if (field[1] === 4) v.setUint32(p + field[0], val >>> 0, true);
  else v.setUint16(p + field[0], val & 0xffff, true);
  if (r.chance(0.3)) {
    // A zip64 extra field that claims more bytes than the entry has (the old out-of-bounds read).
    v.setUint32(p + 24, 0xffffffff, true);
    const nlen = v.getUint16(p + 28, true);
    v.setUint16(p + 30, 4 + r.int(8), true);
    const at = p + 46 + nlen;
    if (at + 4 <= b.length) v.setUint16(at, 0x0001, true), v.setUint16(at + 2, r.pick([8, 16, 24, 0xffff]), true);
  }
  return b;
}

function npzSeed(lib, r) {
  const compress = r.chance(0.6);
  const split = r.chance(0.5);
  const x = (rows) => {
    const a = new Float32Array(rows * 4).map(() => r.next());
    if (r.chance(0.05)) a[r.int(a.length)] = NaN;
    return lib.encodeNpy(a, [rows, 4]);
  };
  const y = (rows) => lib.encodeNpy(Int32Array.from({ length: rows }, (_, i) => i % 3), [rows]);
  const entries = split
    ? [{ name: 'x_train.npy', data: x(12) }, { name: 'y_train.npy', data: y(12) }, { name: 'x_test.npy', data: x(6) }, { name: 'y_test.npy', data: y(6) }]
    : [{ name: 'x.npy', data: x(15) }, { name: 'y.npy', data: y(15) }];
  return lib.encodeZip(entries, compress);
}

/** A zip whose one member inflates far beyond what its directory says (a decompression bomb). */
function npzBomb(lib) {
  const member = lib.encodeNpy(new Float32Array(8), [2, 4]);
  const big = concat(member, new Uint8Array(32 << 20));
  const zip = lib.encodeZip([{ name: 'x.npy', data: member }, { name: 'y.npy', data: lib.encodeNpy(Int32Array.from([0, 1]), [2]) }], true);
  // Replace member 0's deflate stream by the bomb's; sizes in the directory keep saying "small".
  const bomb = deflateRawSync(big);
  const v = new DataView(zip.buffer, zip.byteOffset);
  const nlen = v.getUint16(26, true);
  const oldSize = v.getUint32(18, true);
  const head = zip.subarray(0, 30 + nlen);
  const rest = zip.subarray(30 + nlen + oldSize);
  const out = concat(head, bomb, rest);
  const ov = new DataView(out.buffer);
  ov.setUint32(18, bomb.length, true);
  for (let i = 0; i + 46 <= out.length; i++)
    if (ov.getUint32(i, true) === 0x02014b50) {
      const local = ov.getUint32(i + 42, true);
      if (local === 0) ov.setUint32(i + 20, bomb.length, true);
      else ov.setUint32(i + 42, local + bomb.length - oldSize, true);
    }
  for (let i = out.length - 22; i >= 0; i--)
    if (ov.getUint32(i, true) === 0x06054b50) {
      ov.setUint32(i + 16, ov.getUint32(i + 16, true) + bomb.length - oldSize, true);
      break;
    }
  return out;
}

function idxFile(dims, data) {
  const h = new Uint8Array(4 + 4 * dims.length);
  const v = new DataView(h.buffer);
  h[2] = 0x08;
  h[3] = dims.length;
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  return concat(h, data);
}

function idxSet(r) {
  const n = 10, side = 4;
  const img = (k) => idxFile([k, side, side], new Uint8Array(k * side * side).map(() => r.int(256)));
  const lab = (k) => idxFile([k], Uint8Array.from({ length: k }, (_, i) => i % 10));
  return {
    'train-images-idx3-ubyte': img(n),
    'train-labels-idx1-ubyte': lab(n),
    't10k-images-idx3-ubyte': img(n / 2),
    't10k-labels-idx1-ubyte': lab(n / 2),
  };
}

function mutateIdx(bytes, r) {
  const b = Uint8Array.from(bytes);
  const v = new DataView(b.buffer);
  switch (r.int(3)) {
    case 0:
      b[3] = r.pick([0, 1, 3, 4, 5, 255]);
      return b;
    case 1:
      if (b.length >= 8) v.setUint32(4 + 4 * r.int(Math.min(3, b[3] || 1)), r.pick([0, 1, 0xffffffff, 0x10000, 1e6]), false);
      return b;
    default:
      b[2] = r.pick([0x09, 0x0b, 0x0d, 0x0e, 0x00]);
      return b;
  }
}

function csvText(r) {
  const header = r.chance(0.8);
  const splitCol = r.chance(0.3);
  const rows = [];
  if (header) rows.push(['f1', 'f2', 'f3', ...(splitCol ? ['split'] : []), 'label'].join(','));
  for (let i = 0; i < 15; i++) {
    const cells = [r.next().toFixed(3), r.next().toFixed(3), (r.next() * 10).toFixed(1)];
    if (splitCol) cells.push(i % 4 === 0 ? 'test' : 'train');
    cells.push(String(i % 3));
    rows.push(cells.join(','));
  }
  return rows.join(r.chance(0.2) ? '\r\n' : '\n') + '\n';
}

export const FORMATS = {
  onnx: {
    about: 'ONNX model through loadOnnx (then a forward pass)',
    make(lib, r) {
      const seed = onnxSeed(lib, r);
      const bytes = r.chance(0.9) ? mutateBytes(seed, r) : seed;
      return { files: { 'model.onnx': r.chance(0.2) ? mutateBytes(bytes, r) : bytes }, arg: 'model.onnx' };
    },
  },
  'onnx-ort': {
    about: 'ONNX model through ONNX Runtime (OrtModel.fromFile, then a run)',
    make(lib, r) {
      const bytes = mutateBytes(onnxSeed(lib, r), r);
      return { files: { 'model.onnx': bytes }, arg: 'model.onnx' };
    },
  },
  npy: {
    about: '.npy feature matrix through loadFeatures',
    make(lib, r) {
      let b = npyMatrix(lib, r);
      b = r.chance(0.4) ? mutateNpyHeader(b, r) : mutateBytes(b, r);
      if (r.chance(0.15)) b = mutateBytes(b, r);
      return { files: { 'data.npy': b }, arg: 'data.npy' };
    },
  },
  npz: {
    about: '.npz archive through loadFeatures',
    make(lib, r) {
      if (r.chance(0.02)) return { files: { 'data.npz': npzBomb(lib) }, arg: 'data.npz' };
      let b = npzSeed(lib, r);
      b = r.chance(0.5) ? mutateZipFields(b, r) : mutateBytes(b, r);
      return { files: { 'data.npz': b }, arg: 'data.npz' };
    },
  },
  idx: {
    about: 'a folder of MNIST IDX files (raw or .gz) through loadIdxDir',
    make(lib, r) {
      const set = idxSet(r);
      const names = Object.keys(set);
      const target = r.pick(names);
      let b = r.chance(0.5) ? mutateIdx(set[target], r) : mutateBytes(set[target], r);
      const files = { ...set };
      if (r.chance(0.5)) {
        // gzip, possibly a bomb: the header stays small, the stream inflates to 64 MiB more.
        delete files[target];
        const gz = r.chance(0.05) ? gzipSync(concat(set[target], new Uint8Array(64 << 20))) : gzipSync(b);
        files[target + '.gz'] = r.chance(0.3) ? mutateBytes(gz, r) : gz;
      } else files[target] = b;
      return { files, arg: '.' };
    },
  },
  csv: {
    about: 'CSV feature table through loadFeatures',
    make(lib, r) {
      let t = csvText(r);
      for (let k = 1 + r.int(2); k > 0; k--) t = mutateText(t, r);
      const bytes = r.chance(0.1) ? mutateBytes(enc(t), r) : enc(t);
      return { files: { 'data.csv': bytes }, arg: 'data.csv' };
    },
  },
  spec: {
    about: 'experiment spec JSON through validateSpec and buildGraph',
    make(lib, r) {
      const spec = lib.builtinSpec(r.pick(['paper-mnist', 'paper-patches']), { quick: r.chance(0.5) });
      return { files: { 'spec.json': mutateJson(spec, r) }, arg: 'spec.json' };
    },
  },
  preset: {
    about: 'sleep preset JSON through loadPresetFile and resolveParameters',
    make(lib, r) {
      const p = lib.getPreset(r.pick(lib.PRESET_NAMES));
      const obj = { preset: p.name, ...Object.fromEntries(Object.entries(p).filter(([k]) => k !== 'name' && k !== 'description')) };
      return { files: { 'preset.json': mutateJson(obj, r) }, arg: 'preset.json' };
    },
  },
};
