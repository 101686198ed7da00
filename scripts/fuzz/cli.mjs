// The CLI-flags format of the fuzz harness: valid `nrem` command lines on a tiny model and
// the generated patches data, each mutated once (a value replaced by a nasty one, a flag
// dropped, duplicated or unknown, a stray argument). Flags whose value sizes the work
// (--steps, --epochs, --budget, …) only get values that must be refused, so that a valid
// case stays quick and a timeout always means a hang.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ANY = ['', ' ', '-1', '0', '-0', 'abc', '1.5', '1e9', '1e400', '-1e400', 'NaN', 'Infinity', '0x10', '0b11', '2^63', '9223372036854775808', '4294967297',
  '1e-300', '0.1,,0.2', ',', '1,2,3,', '1,,', '/dev/zero', '/proc/x', '/nonexistent/dir/x.onnx', 'features:/dev/zero', 'mnist-idx:/proc', '💥', 'x'.repeat(300), '--json'];
const REFUSED = ['', ' ', '-1', '0', '-0', 'abc', '1.5', '1e400', 'NaN', 'Infinity', '0x10', '2^63', '9223372036854775808', '1,2', '💥'];
/** Flags whose value sizes the work: only values that must be refused. */
const WORK = new Set(['--steps', '--epochs', '--budget', '--pop-size', '--replace', '--batch', '--val-size', '--seeds']);

/** Writes the model and preset the templates use into `dir`. */
export async function prepareCli(lib, dir) {
  const net = new lib.Network({ sizes: [100, 8, 4] });
  let s = 7;
  const { weights } = net.parameters();
  for (const w of weights) for (let i = 0; i < w.length; i++) w[i] = ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 0.6 - 0.2;
  net.setParameters({ weights });
  await lib.saveOnnx(net, join(dir, 'tiny.onnx'));
  writeFileSync(join(dir, 'preset.json'), JSON.stringify({ preset: 'mnist-fgsm', beta: [1, 1], steps: 50 }));
  return { model: join(dir, 'tiny.onnx'), preset: join(dir, 'preset.json') };
}

function templates(w, out) {
  const P = ['--dataset', 'patches'];
  return [
    ['eval', '--model', w.model, ...P, '--split', 'test', '--json'],
    ['attack', '--model', w.model, ...P, '--attack', 'fgsm', '--eps', '0,0.1', '--limit', '20', '--no-recheck', '--json'],
    ['attack', '--model', w.model, ...P, '--attack', 'pgd', '--eps', '0.1', '--steps', '3', '--limit', '10', '--no-recheck', '--json'],
    ['attack', '--model', w.model, ...P, '--attack', 'deepfool', '--steps', '5', '--limit', '10', '--no-recheck', '--json'],
    ['distort', '--model', w.model, ...P, '--blur', '1', '--noise', '0.1', '--saltpepper', '0.1', '--limit', '20', '--seed', '3', '--json'],
    ['train', ...P, '--arch', '100,8,4', '--epochs', '1', '--batch-size', '50', '--lr', '0.1', '--seed', '2', '--out', join(out, 'x.onnx'), '--json'],
    ['sleep', '--model', w.model, ...P, '--steps', '50', '--preset', w.preset, '--seed', '1', '--out', join(out, 's.onnx'), '--json'],
    ['inspect', '--model', w.model, '--json'],
    ['defend', '--method', 'pgd-train', '--data', 'patches', '--sizes', '100,8,4', '--epochs', '1', '--steps', '2', '--eps', '0.1', '--out', join(out, 'd.onnx'), '--json'],
    ['tune', '--model', w.model, ...P, '--budget', '4', '--pop-size', '4', '--val-size', '20', '--base', 'patches', '--baseline', 'none',
      '--bounds', 'steps=100:200', '--objective', 'noise:0.3', '--out', join(out, 't.json'), '--json'],
    ['report', join(out, 'no-such-run')],
    ['info', '--json'],
  ];
}

/** Case k: a mutated command line (argv after `nrem`). */
export function makeCliCase(w, out, r) {
  const args = [...r.pick(templates(w, out))];
  const flags = args.map((a, i) => [a, i]).filter(([a, i]) => a.startsWith('--') && i + 1 < args.length && !args[i + 1].startsWith('--'));
  const kind = r.int(10);
  if (kind <= 4 && flags.length) {
    const [flag, i] = r.pick(flags);
    args[i + 1] = r.pick(WORK.has(flag) ? REFUSED : ANY);
  } else if (kind === 5 && flags.length) {
    const [, i] = r.pick(flags);
    args.splice(i, 2);
  } else if (kind === 6) {
    args.push(r.pick(['--bogus', '--eps', '--limit', '-x', '--']), r.pick(ANY));
  } else if (kind === 7 && flags.length) {
    const [flag] = r.pick(flags);
    args.push(flag, r.pick(WORK.has(flag) ? REFUSED : ANY));
  } else if (kind === 8) {
    args.splice(1 + r.int(args.length), 0, r.pick(['extra', '-', '--', '""']));
  } else {
    args[0] = r.pick(['evaluate', 'attak', '', 'train --help', 'help']);
  }
  return args;
}
