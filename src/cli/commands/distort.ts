/**
 * nrem distort --model m.onnx --dataset mnist --noise 0.1,0.3 --blur 1,2 [--saltpepper] [--contrast] [--json]
 * Accuracy vs level per distortion (noise levels are variances).
 */
import type { Command } from 'commander';
import { loadOnnx } from '../../model/onnx.js';
import { loadDataset } from '../../data/index.js';
import { head } from '../../data/dataset.js';
import { evaluateDistortions, MAX_BLUR_SIGMA, type DistortionKind } from '../../attacks/distortions.js';
import { optionalNumberList, parseLimit, parseSeed } from '../parse.js';

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
      const seed = parseSeed(o.seed ?? '0');
      const limit = parseLimit(o.limit as string | undefined);
      const list = (flag: string, max: number) => optionalNumberList(o[flag.slice(2)] as string | undefined, flag, { min: 0, max, maxCount: 1000 });
      const levels: Partial<Record<DistortionKind, number[]>> = {
        noise: list('--noise', 1e6),
        blur: list('--blur', MAX_BLUR_SIGMA),
        saltpepper: list('--saltpepper', 1),
        contrast: list('--contrast', 1),
      };
      const net = await loadOnnx(o.model as string);
      const data = await loadDataset(o.dataset as string, { quick: !!o.quick, seed });
      const test = limit !== undefined ? head(data.test, limit) : data.test;
      if (!Object.values(levels).some((v) => v)) levels.noise = [0, 0.1, 0.3, 0.5, 0.7, 0.9];
      const curves = await evaluateDistortions(net, test.x, test.y, levels, { seed, shape: test.shape });
      const out = { n: test.n, noiseLevelsAre: 'variances', curves, seconds: (performance.now() - t0) / 1000 };
      if (o.json) console.log(JSON.stringify(out));
      else for (const c of curves) console.log(`${c.kind.padEnd(10)} ${c.levels.map((l, i) => `${l}: ${(100 * c.accuracy[i]).toFixed(2)}%`).join('  ')}`);
    });
}
