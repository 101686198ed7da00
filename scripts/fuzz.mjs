#!/usr/bin/env node
// Fuzzing nrem's readers and command line, each case in its own child process.
//
//   npm run fuzz -- [--cases N] [--seed S] [--formats onnx,npy,…] [--jobs J] [--timeout MS]
//                   [--json out.json] [--keep dir]
//
// Formats (scripts/fuzz/formats.mjs, scripts/fuzz/cli.mjs): onnx, onnx-ort, npy, npz, idx, csv,
// spec, preset, cli. Case k of a format is a valid file (or command line) built by nrem and
// mutated by a PRNG seeded with (seed, format, k), so a run is reproducible. Each case runs
// in a child (scripts/fuzz/case.mjs, or the CLI itself) and is classified:
//   accepted  the input was read (or the command succeeded)
//   typed     an NremError with an ERR_* code (the CLI: "nrem: ERR_…: …" on stderr)
//   untyped   any other error or message            ← failure
//   crash     killed by a signal / died without a result  ← failure
//   hang      still running after --timeout          ← failure
// Failing cases are copied to --keep (default fuzz-failures/) with a line to rerun them.
// Exit code 1 on any failure. Needs the compiled library (npx tsc -p tsconfig.json).
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { rng } from './fuzz/mutate.mjs';
import { FORMATS } from './fuzz/formats.mjs';
import { makeCliCase, prepareCli } from './fuzz/cli.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : def;
};
const ALL = [...Object.keys(FORMATS), 'cli'];
const cases = Number(opt('cases', '300'));
const seed = Number(opt('seed', '1'));
const formats = opt('formats', ALL.join(',')).split(',');
const jobs = Number(opt('jobs', String(Math.max(1, availableParallelism()))));
const timeout = Number(opt('timeout', '20000'));
const jsonOut = opt('json', '');
const keep = opt('keep', join(root, 'fuzz-failures'));
/** Per-format case counts relative to --cases (ONNX Runtime and the CLI start heavy processes). */
const SHARE = { 'onnx-ort': 0.25, cli: 0.4 };

for (const f of formats) if (!ALL.includes(f)) throw new Error(`fuzz: unknown format ${f} (known: ${ALL.join(', ')})`);
if (!Number.isInteger(cases) || cases < 1) throw new Error(`fuzz: --cases must be an integer >= 1`);
if (!existsSync(join(root, 'dist', 'src', 'index.js'))) throw new Error('fuzz: dist/ is missing: run npx tsc -p tsconfig.json first');

const lib = await import(pathToFileURL(join(root, 'dist', 'src', 'index.js')).href);
const work = mkdtempSync(join(tmpdir(), 'nrem-fuzz-'));
const cliFiles = formats.includes('cli') ? await prepareCli(lib, work) : null;

function run(cmd, args, cwd) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NREM_THREADS: '1' } });
    let out = '', err = '', hung = false;
    child.stdout.on('data', (d) => (out = (out + d).slice(-20000)));
    child.stderr.on('data', (d) => (err = (err + d).slice(-20000)));
    const t = setTimeout(() => ((hung = true), child.kill('SIGKILL')), timeout);
    child.on('close', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, out, err, hung, ms: performance.now() - t0 });
    });
  });
}

function classify(format, res) {
  if (res.hung) return { outcome: 'hang' };
  if (format === 'cli') {
    if (res.signal) return { outcome: 'crash', detail: `signal ${res.signal}` };
    if (res.code === 0) return { outcome: 'accepted' };
    // The error is the first line of stderr that is not progress output; it must carry a code.
    const lines = res.err.split('\n').map((l) => l.trim()).filter(Boolean);
    const first = lines.find((l) => l.startsWith('nrem: ') || l.startsWith('error: ')) ?? lines[0] ?? '';
    const m = /^nrem: (ERR_[A-Z_]+): /.exec(first);
    if (m) return { outcome: 'typed', code: m[1] };
    return { outcome: 'untyped', detail: first.slice(0, 300) || `exit ${res.code}, no message` };
  }
  const line = res.out.split('\n').find((l) => l.startsWith('FUZZ-RESULT '));
  if (!line) return { outcome: 'crash', detail: res.signal ? `signal ${res.signal}` : `exit ${res.code}: ${res.err.trim().split('\n').slice(-3).join(' | ').slice(0, 300)}` };
  const r = JSON.parse(line.slice('FUZZ-RESULT '.length));
  if (res.signal || (res.code !== 0 && r.outcome !== 'untyped')) return { outcome: 'crash', detail: `exit ${res.code ?? res.signal} after ${r.outcome}` };
  return { ...r, detail: r.outcome === 'untyped' ? `${r.name}: ${r.message}` : undefined };
}

async function oneCase(format, k) {
  const r = rng(seed, format, k);
  const dir = join(work, `${format}-${k}`);
  mkdirSync(dir, { recursive: true });
  let res;
  let rerun;
  if (format === 'cli') {
    const args = makeCliCase(cliFiles, dir, r);
    res = await run(process.execPath, [join(root, 'dist', 'src', 'cli', 'index.js'), ...args], dir);
    rerun = `node dist/src/cli/index.js ${args.map((a) => JSON.stringify(a)).join(' ')}`;
  } else {
    const c = FORMATS[format].make(lib, r);
    for (const [name, bytes] of Object.entries(c.files)) writeFileSync(join(dir, name), bytes);
    res = await run(process.execPath, [join(root, 'scripts', 'fuzz', 'case.mjs'), format, join(dir, c.arg)], dir);
    rerun = `node scripts/fuzz/case.mjs ${format} fuzz-failures/${format}-${k}/${c.arg}`;
  }
  const v = classify(format, res);
  if (['untyped', 'crash', 'hang'].includes(v.outcome)) {
    mkdirSync(keep, { recursive: true });
    if (format !== 'cli') cpSync(dir, join(keep, `${format}-${k}`), { recursive: true });
    writeFileSync(join(keep, `${format}-${k}.txt`), `${v.outcome}: ${v.detail ?? ''}\n${rerun}\n`);
  }
  rmSync(dir, { recursive: true, force: true });
  return { ...v, ms: res.ms, rerun };
}

const t0 = performance.now();
const summary = {};
const failures = [];
for (const format of formats) {
  const n = Math.max(1, Math.round(cases * (SHARE[format] ?? 1)));
  const s = { cases: n, accepted: 0, typed: 0, untyped: 0, crash: 0, hang: 0, acceptedNonFinite: 0, codes: {}, seconds: 0 };
  const f0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(jobs, n) }, async () => {
      for (let k; (k = next++) < n; ) {
        const v = await oneCase(format, k);
        s[v.outcome]++;
        if (v.outcome === 'typed') s.codes[v.code] = (s.codes[v.code] ?? 0) + 1;
        if (v.outcome === 'accepted' && v.nonFinite) s.acceptedNonFinite++;
        if (['untyped', 'crash', 'hang'].includes(v.outcome)) failures.push({ format, case: k, outcome: v.outcome, detail: v.detail, rerun: v.rerun });
      }
    }),
  );
  s.seconds = Math.round((performance.now() - f0) / 100) / 10;
  summary[format] = s;
  console.log(
    `fuzz ${format.padEnd(9)} ${String(n).padStart(5)} cases: ${s.accepted} accepted${s.acceptedNonFinite ? ` (${s.acceptedNonFinite} non-finite)` : ''}, ${s.typed} typed, ${s.untyped} untyped, ${s.crash} crashes, ${s.hang} hangs (${s.seconds} s) ${JSON.stringify(s.codes)}`,
  );
}
rmSync(work, { recursive: true, force: true });
const total = Object.values(summary).reduce((a, s) => ({ cases: a.cases + s.cases, bad: a.bad + s.untyped + s.crash + s.hang }), { cases: 0, bad: 0 });
const seconds = Math.round((performance.now() - t0) / 100) / 10;
for (const f of failures.slice(0, 20)) console.log(`  FAIL ${f.format} #${f.case} ${f.outcome}: ${f.detail ?? ''}\n       ${f.rerun}`);
console.log(`fuzz: ${total.cases} cases, ${total.bad} failures (untyped, crash or hang), seed ${seed}, ${jobs} jobs, ${seconds} s`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ seed, casesPerFormat: cases, jobs, seconds, formats: summary, failures }, null, 1));
process.exit(total.bad ? 1 : 0);
