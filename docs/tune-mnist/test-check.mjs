// After the search: the test set, touched once, for control / mnist-fgsm / tuned (GA).
import * as n from '../../dist/src/index.js';
const net = await n.loadOnnx('/tmp/tune/mnist/control.onnx');
const { train, test } = await n.loadDataset('mnist');
const sleepData = n.head(train, 59000);
const sf = await n.scaleFactors(net, sleepData.x, 'release');
const tuned = await n.loadPresetFile('docs/tune-mnist/mnist-ga.preset.json');
const extra = process.argv[2] ? [await n.loadPresetFile(process.argv[2])] : [];
const res = await n.sleepBatch(net, sleepData, [{ preset: 'mnist-fgsm', seed: 1, scaleFactors: sf.factors }, { preset: tuned, seed: 1, scaleFactors: sf.factors }, ...extra.map(p => ({ preset: p, seed: 1, scaleFactors: sf.factors }))]);
const xn = await n.distort(test.x, 784, 'noise', 0.3, { seed: 0 });
const xb = await n.distort(test.x, 784, 'blur', 2, { seed: 0 });
for (const [name, m] of [['control', net], ['mnist-fgsm', res[0].network], ['tuned-ga', res[1].network], ...(res[2] ? [['tuned-cmaes', res[2].network]] : [])]) {
  const clean = await m.accuracy(test.x, test.y);
  const noise = await m.accuracy(xn, test.y);
  const blur = await m.accuracy(xb, test.y);
  const sw = await n.fgsmSweep(m, test.x, test.y, { epsilons: [0.1], loss: 'mse' });
  console.log(name, 'clean', (100 * clean).toFixed(2), 'noise0.3', (100 * noise).toFixed(2), 'blur2', (100 * blur).toFixed(2), 'fgsm0.1', (100 * sw.accuracy[0]).toFixed(2));
}
