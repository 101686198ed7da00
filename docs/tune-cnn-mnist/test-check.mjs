// After a search: the TEST set, touched once, for the control and the slept network.
//   node docs/tune-cnn-mnist/test-check.mjs MODEL.onnx DATASET PRESET(.json|name)
// The sleep input and scale factors are the first 59,000 training rows (the rows the search
// slept on: tune holds out the last 1,000 as validation), seed 1.
import * as n from '../../dist/src/index.js';
const [model, dataset = 'mnist', presetArg = 'cnn-mnist'] = process.argv.slice(2);
const net = await n.loadOnnx(model);
const { train, test } = await n.loadDataset(dataset);
const sleepData = n.head(train, 59000);
const preset = presetArg.endsWith('.json') ? await n.loadPresetFile(presetArg) : presetArg;
const t0 = performance.now();
const { network: slept, stats } = await n.sleep(net, sleepData, { preset, seed: 1 });
const xn = await n.distort(test.x, test.dims, 'noise', 0.3, { seed: 0 });
const xb = await n.distort(test.x, test.dims, 'blur', 2, { seed: 0, shape: test.shape });
const rows = {};
for (const [name, m] of [['control', net], ['slept', slept]]) {
  const sw = await n.fgsmSweep(m, test.x, test.y, { epsilons: [0.05, 0.1, 0.2], loss: 'ce' });
  rows[name] = {
    clean: await m.accuracy(test.x, test.y),
    'noise 0.3': await m.accuracy(xn, test.y),
    'blur 2': await m.accuracy(xb, test.y),
    'fgsm 0.05': sw.accuracy[0],
    'fgsm 0.1': sw.accuracy[1],
    'fgsm 0.2': sw.accuracy[2],
  };
}
console.log(JSON.stringify({ model, dataset, preset: presetArg, spikes: stats.spikes, layers: stats.layers, weightsChanged: stats.weightsChanged, seconds: (performance.now() - t0) / 1000, test: rows }));
for (const [k, r] of Object.entries(rows)) console.log(k.padEnd(8), Object.entries(r).map(([a, v]) => `${a} ${(100 * v).toFixed(2)}`).join('  '));
