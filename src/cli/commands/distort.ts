/**
 * nrem distort --model m.onnx --dataset mnist --noise 0.1,0.3 --blur 1,2 [--saltpepper] [--contrast] [--json]
 * Accuracy vs level per distortion (noise levels are variances).
 */
import type { Command } from 'commander';
import { loadOnnx } from '../../model/onnx.js';
import { loadDataset } from '../../data/index.js';
import { head } from '../../data/dataset.js';
import { ValueError } from '../../errors.js';
import { evaluateDistortions, type DistortionKind } from '../../attacks/distortions.js';

function parseList(s: string | undefined, name: string): number[] | undefined {
  if (s === undefined) return undefined;
  const v = s.split(',').map((t) => Number(t.trim()));
  if (!v.length || v.some((x) => !Number.isFinite(x) || x < 0)) throw new ValueError(`Expected a comma-separated list of numbers >= 0 for ${name} but received "${s}"`);
  return v;
}

export function registerDistort(program: Command): void {
  program
    .command('distort')
    .description('accuracy under Gaussian noise (variance), Gaussian blur (sigma), salt-and-pepper and contrast reduction')
    .requiredOption('--model <file>', 'ONNX model')
    .option('--dataset <spec>', 'data set spec', 'mnist')
    .option('--noise <list>', 'noise variances')
    .option('--blur <list>', 'blur sigmas')
    .option('--saltpepper <list>', 'fractions of pixels')
    .option('--contrast <list>', 'contrast reductions in [0, 1]')
    .option('--limit <n>', 'first N test examples')
    .option('--seed <n>', 'seed', '0')
    .option('--quick', 'the quick data subset')
    .option('--json', 'print one JSON object as the last line')
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const t0 = performance.now();
      const seed = Number(o.seed ?? 0);
      const net = await loadOnnx(o.model as string);
      const data = await loadDataset(o.dataset as string, { quick: !!o.quick, seed });
      const test = o.limit ? head(data.test, Number(o.limit)) : data.test;
      const levels: Partial<Record<DistortionKind, number[]>> = {
        noise: parseList(o.noise as string | undefined, '--noise'),
        blur: parseList(o.blur as string | undefined, '--blur'),
        saltpepper: parseList(o.saltpepper as string | undefined, '--saltpepper'),
        contrast: parseList(o.contrast as string | undefined, '--contrast'),
      };
      if (!Object.values(levels).some((v) => v)) levels.noise = [0, 0.1, 0.3, 0.5, 0.7, 0.9];
      const curves = await evaluateDistortions(net, test.x, test.y, levels, { seed, shape: test.shape });
      const out = { n: test.n, noiseLevelsAre: 'variances', curves, seconds: (performance.now() - t0) / 1000 };
      if (o.json) console.log(JSON.stringify(out));
      else for (const c of curves) console.log(`${c.kind.padEnd(10)} ${c.levels.map((l, i) => `${l}: ${(100 * c.accuracy[i]).toFixed(2)}%`).join('  ')}`);
    });
}
