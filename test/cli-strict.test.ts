/**
 * The command line refuses bad values before any work (src/cli/parse.ts): every number is
 * parsed strictly, limits are ≥ 1 or "all", lists have no empty entry, output folders are
 * checked first, and the cases of issue 18 end in a typed error within 2 s of CPU time.
 * Commands run in-process (as test/attacks-core.test.ts does); the entry point's own
 * messages (commander's) are checked through vite-node.
 */
import { execFileSync } from 'node:child_process';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerAttack } from '../src/cli/commands/attack.js';
import { registerEval } from '../src/cli/commands/eval.js';
import { registerTrain } from '../src/cli/commands/train.js';
import { registerSleep } from '../src/cli/commands/sleep.js';
import { registerReproduce } from '../src/cli/commands/reproduce.js';
import { registerDistort } from '../src/cli/commands/distort.js';
import { registerDefend } from '../src/cli/commands/defend.js';
import { parseInteger, parseLimit, parseNumber, parseNumberList } from '../src/cli/parse.js';
import { FormatError, MemoryError, NremError, OutputError, ValueError } from '../src/index.js';

const ALL = [registerAttack, registerEval, registerTrain, registerSleep, registerReproduce, registerDistort, registerDefend];

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ err: NremError; cpu: number }> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  const program = new Command().exitOverride();
  for (const r of ALL) r(program);
  const c0 = process.cpuUsage();
  try {
    await program.parseAsync(['node', 'nrem', ...args]);
    throw new Error(`expected ${args.join(' ')} to fail`);
  } catch (e) {
    const c = process.cpuUsage(c0);
    return { err: e as NremError, cpu: (c.user + c.system) / 1e6 };
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

describe('strict values', () => {
  it('numbers are the whole string in decimal notation', () => {
    expect(parseNumber('0.5', '--x')).toBe(0.5);
    expect(parseNumber('.5', '--x')).toBe(0.5);
    expect(parseNumber('1e-3', '--x')).toBe(0.001);
    for (const bad of ['', ' ', 'abc', '0x10', '0b1', '1e400', 'Infinity', 'NaN', '1,5', '5abc', '--1'])
      expect(() => parseNumber(bad, '--x'), JSON.stringify(bad)).toThrow(ValueError);
    expect(parseInteger('1e3', '--n')).toBe(1000);
    for (const bad of ['1.5', '9223372036854775808', '4294967297.5']) expect(() => parseInteger(bad, '--n')).toThrow(ValueError);
    expect(parseInteger('4294967297', '--n')).toBe(2 ** 32 + 1); // no silent truncation to 1
  });

  it('lists have no empty entries; limits are >= 1 or "all"', () => {
    expect(parseNumberList('0,0.1, 0.2', '--eps', { min: 0 })).toEqual([0, 0.1, 0.2]);
    for (const bad of ['0.1,,0.2', ',', '0.1,', '', '0.1,abc']) expect(() => parseNumberList(bad, '--eps'), bad).toThrow(/--eps/);
    expect(() => parseNumberList(Array(20).fill('1').join(','), '--eps', { maxCount: 10 })).toThrow(/at most 10/);
    expect(parseLimit('all')).toBeUndefined();
    expect(parseLimit(undefined)).toBeUndefined();
    expect(parseLimit('7')).toBe(7);
    for (const bad of ['-1', 'abc', '0', '1.5', '']) expect(() => parseLimit(bad), bad).toThrow(/--limit/);
  });
});

describe('the cases of issue 18 end in a typed error, fast', () => {
  const cases: [string, string[], new (...a: never[]) => Error, RegExp, Record<string, string>?][] = [
    ['attack --limit -1', ['attack', '--model', 'm.onnx', '--attack', 'fgsm', '--limit', '-1'], ValueError, /--limit: expected an integer >= 1 but received -1/],
    ['attack --limit abc', ['attack', '--model', 'm.onnx', '--attack', 'fgsm', '--limit', 'abc'], ValueError, /--limit/],
    ['attack --limit 0', ['attack', '--model', 'm.onnx', '--attack', 'fgsm', '--limit', '0'], ValueError, /--limit/],
    ['attack --eps 0.1,,0.2', ['attack', '--model', 'm.onnx', '--attack', 'pgd', '--eps', '0.1,,0.2'], ValueError, /--eps: entry 2 of "0\.1,,0\.2" is empty/],
    ['attack --eps 1e9', ['attack', '--model', 'm.onnx', '--attack', 'fgsm', '--eps', '1e9'], ValueError, /--eps entry 1: expected a number in \[0, 1\]/],
    ['attack --steps 2^63', ['attack', '--model', 'm.onnx', '--attack', 'pgd', '--steps', '9223372036854775808'], ValueError, /--steps/],
    ['eval --split nope', ['eval', '--model', 'm.onnx', '--split', 'nope'], ValueError, /--split: expected one of test, train but received "nope"/],
    ['train --arch 100,1e7,4 (16 GiB budget)', ['train', '--dataset', 'patches', '--arch', '100,1e7,4', '--out', '/tmp/x.onnx'], MemoryError, /100-10000000-4 .* needs about 27\.\d GiB/, { NREM_MEMORY_LIMIT: '16GiB' }],
    ['train --arch 100,1e6,1e6,4', ['train', '--dataset', 'patches', '--arch', '100,1e6,1e6,4', '--out', '/tmp/x.onnx'], MemoryError, /100-1000000-1000000-4 with batches of 100 needs about 10\.9 TiB/],
    ['train --arch 100,,4', ['train', '--arch', '100,,4', '--out', '/tmp/x.onnx'], ValueError, /--arch: entry 2/],
    ['train --out /nonexistent/dir/x.onnx', ['train', '--dataset', 'patches', '--arch', '100,8,4', '--out', '/nonexistent/dir/x.onnx'], OutputError, /the folder \/nonexistent\/dir does not exist/],
    ['train --seed abc', ['train', '--seed', 'abc', '--out', '/tmp/x.onnx'], ValueError, /--seed/],
    ['sleep --model /dev/zero', ['sleep', '--model', '/dev/zero', '--out', '/tmp/s.onnx'], FormatError, /\/dev\/zero: not a regular file/],
    ['sleep --steps 2^63', ['sleep', '--model', 'm.onnx', '--steps', '9223372036854775808', '--out', '/tmp/s.onnx'], ValueError, /--steps: expected an integer >= 1 but received "9223372036854775808"/],
    ['sleep --preset /dev/zero', ['sleep', '--model', 'm.onnx', '--preset', '/dev/zero', '--out', '/tmp/s.onnx'], FormatError, /character device/],
    ['reproduce --out /proc/x', ['reproduce', '--quick', '--out', '/proc/x'], OutputError, /--out \/proc\/x: cannot create the folder \/proc\/x/],
    ['reproduce --seeds 1.5', ['reproduce', '--seeds', '1.5'], ValueError, /--seeds/],
    ['distort --blur 1e9', ['distort', '--model', 'm.onnx', '--blur', '1e9'], ValueError, /--blur entry 1: expected a number in \[0, 1000000\]/],
    ['defend --method nope', ['defend', '--method', 'nope', '--out', '/tmp/d.onnx'], ValueError, /--method/],
    ['defend --eps 1e9', ['defend', '--method', 'pgd-train', '--eps', '1e9', '--out', '/tmp/d.onnx'], ValueError, /--eps/],
  ];
  for (const [name, args, cls, pattern, env] of cases)
    it(name, async () => {
      const { err, cpu } = await cli(args, env);
      expect(err).toBeInstanceOf(cls);
      expect(err.code).toMatch(/^ERR_[A-Z]+$/);
      expect(err.message).toMatch(pattern);
      expect(cpu).toBeLessThan(2);
    });
});

describe('the entry point', () => {
  it("prints commander's own errors with a code, and exits 1", () => {
    let stderr = '';
    try {
      execFileSync('npx', ['vite-node', 'src/cli/index.ts', 'attack', '--bogus'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      stderr = (e as { stderr: string }).stderr;
      expect((e as { status: number }).status).toBe(1);
    }
    expect(stderr).toMatch(/^nrem: ERR_ARGUMENT: /m);
  }, 60_000);
});
