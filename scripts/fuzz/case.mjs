// One fuzz case, run in its own process by scripts/fuzz.mjs:
//   node scripts/fuzz/case.mjs <format> <path>
// Feeds the file (or folder) at <path> to nrem's reader for <format> and prints one line
//   FUZZ-RESULT {"outcome":"accepted"|"typed"|"untyped", ...}
// "typed" = an NremError with an ERR_* code; anything else thrown is "untyped". A crash
// (signal, abort) or a hang shows as the missing line / the parent's timeout.
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const lib = (p) => import(pathToFileURL(join(root, 'dist', 'src', p)).href);
const [format, path] = process.argv.slice(2);

function report(o) {
  process.stdout.write(`FUZZ-RESULT ${JSON.stringify(o)}\n`);
}

const RUN = {
  async onnx(p) {
    const { loadOnnx } = await lib('model/onnx.js');
    const net = await loadOnnx(p);
    const x = new Float32Array(2 * net.inputSize).fill(0.5);
    const y = await net.forward(x);
    return { nonFinite: y.some((v) => !Number.isFinite(v)) || net.parameters().weights.some((w) => w.some((v) => !Number.isFinite(v))) };
  },
  async 'onnx-ort'(p) {
    const { OrtModel } = await lib('model/ort.js');
    const m = await OrtModel.fromFile(p);
    try {
      const y = await m.run(new Float32Array(2 * m.inputSize).fill(0.5), 2);
      return { nonFinite: y.some((v) => !Number.isFinite(v)) };
    } finally {
      await m.dispose();
    }
  },
  async npy(p) {
    const { loadFeatures } = await lib('data/features.js');
    const s = loadFeatures(p);
    return { rows: s.train.n + s.test.n };
  },
  async npz(p) {
    return RUN.npy(p);
  },
  async csv(p) {
    return RUN.npy(p);
  },
  async idx(p) {
    const { loadIdxDir } = await lib('data/mnist.js');
    const s = loadIdxDir(p);
    return { rows: s.train.n + s.test.n };
  },
  async spec(p) {
    // What `nrem reproduce --spec file.json` does before any work.
    const { validateSpec } = await lib('experiments/spec.js');
    const { buildGraph } = await lib('experiments/graph.js');
    const files = await lib('util/files.js').catch(() => null);
    const json = files?.readJsonFile ? files.readJsonFile(p, 'experiment spec') : JSON.parse((await import('node:fs')).readFileSync(p, 'utf8'));
    const spec = validateSpec(json);
    return { units: buildGraph(spec).length };
  },
  async preset(p) {
    const { loadPresetFile, resolveParameters } = await lib('sleep/presets.js');
    const { preset, ...rest } = await loadPresetFile(p);
    const layers = Array.isArray(rest.beta) ? rest.beta.length : 3;
    resolveParameters(preset, rest, layers);
    return {};
  },
};

const { NremError } = await lib('errors.js');
try {
  const extra = await RUN[format](path);
  report({ outcome: 'accepted', ...extra });
} catch (err) {
  const typed = err instanceof NremError && /^ERR_[A-Z_]+$/.test(err.code);
  report({ outcome: typed ? 'typed' : 'untyped', code: err?.code, name: err?.name, message: String(err?.message ?? err).slice(0, 400), stack: typed ? undefined : String(err?.stack ?? '').slice(0, 1200) });
}
