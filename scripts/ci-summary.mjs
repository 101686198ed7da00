// Sums vitest JSON reports and prints the one line CI reads: "N passed, N failed", after
// one line per report (its file name: passed, failed, skipped) so that a failure in the
// second run (NREM_ISA=avx2 NREM_GEMM=native) is told apart from one in the first.
// With --fuzz FILE (scripts/fuzz.mjs --json) and --sanitize FILE (scripts/sanitize.sh), their
// counts are printed just above it, and a failing fuzz or sanitizer run counts as failed.
import { readFileSync, existsSync } from 'node:fs';
const args = process.argv.slice(2);
const take = (flag) => {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args.splice(i, 2)[1];
};
const fuzzFile = take('--fuzz');
const sanitizeFile = take('--sanitize');
let passed = 0, failed = 0, skipped = 0;
for (const file of args) {
  if (!existsSync(file)) {
    console.error(`ci-summary: ${file} missing (a test run crashed)`);
    failed++;
    crashContext(file.replace(/\.json$/, '.log'));
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const crashed = r.numTotalTestSuites > 0 && r.testResults.some((s) => s.status === 'failed' && s.assertionResults.length === 0) ? 1 : 0;
  const sk = r.numPendingTests + (r.numTodoTests ?? 0);
  console.error(`${file}: ${r.numPassedTests} passed, ${r.numFailedTests + crashed} failed, ${sk} skipped`);
  passed += r.numPassedTests; failed += r.numFailedTests + crashed; skipped += sk;
  // Each failing test by name with the head of its message, so that CI's tail (which may be
  // all there is to read) says what failed, not just how many.
  for (const s of r.testResults)
    for (const t of s.assertionResults.filter((a) => a.status === 'failed')) {
      // eslint-disable-next-line no-control-regex
      const msg = (t.failureMessages ?? []).join('\n').replace(/\x1b\[[0-9;]*m/g, '').split('\n').slice(0, 8).join('\n    ');
      console.log(`FAILED ${s.name.replace(/^.*?(test\/)/, '$1')} > ${t.fullName} (${Math.round(t.duration ?? 0)} ms)\n    ${msg}`);
    }
}
if (fuzzFile) {
  if (!existsSync(fuzzFile)) {
    console.log(`fuzz: ${fuzzFile} missing (the fuzz run crashed)`);
    failed++;
  } else {
    const f = JSON.parse(readFileSync(fuzzFile, 'utf8'));
    const rows = Object.entries(f.formats);
    const bad = rows.reduce((a, [, s]) => a + s.untyped + s.crash + s.hang, 0);
    const cases = rows.reduce((a, [, s]) => a + s.cases, 0);
    console.log(`fuzz: ${cases} cases (seed ${f.seed}, ${f.seconds} s), ${bad} failures`);
    for (const [name, s] of rows)
      console.log(`  ${name.padEnd(9)} ${String(s.cases).padStart(4)} cases: ${s.typed} typed, ${s.accepted} accepted, ${s.untyped} untyped, ${s.crash} crashes, ${s.hang} hangs`);
    if (bad) failed++;
  }
}
if (sanitizeFile) {
  if (!existsSync(sanitizeFile)) {
    console.log(`sanitizers: ${sanitizeFile} missing (the sanitizer run crashed)`);
    failed++;
  } else {
    const s = JSON.parse(readFileSync(sanitizeFile, 'utf8'));
    const a = s.asan ?? {}, t = s.tsan ?? {};
    const tests = a.tests ? `${a.tests.passed} tests passed, ${a.tests.failed} failed` : 'no tests ran';
    console.log(`sanitizers: asan+ubsan ${a.ok ? 'clean' : 'FAILED'} (${tests}, ${a.reports ?? '?'} reports); tsan thread pool ${t.ok ? 'clean' : 'FAILED'} (${t.checks ?? 0} checks)`);
    if (!a.ok || !t.ok) failed++;
  }
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed ? 1 : 0);

/** The lines before the first sign of a crash in a run's log, so that CI's tail shows where it died. */
function crashContext(log) {
  if (!existsSync(log)) return;
  // eslint-disable-next-line no-control-regex
  const lines = readFileSync(log, 'utf8').replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  const at = lines.findIndex((l) => /terminate called|FATAL ERROR|Segmentation fault|SIGSEGV|SIGABRT|Aborted|Channel closed|heap out of memory/.test(l));
  if (at < 0) return console.error(`ci-summary: no crash message in ${log}; its last lines:\n${lines.slice(-15).join('\n')}`);
  const files = lines.slice(0, at).filter((l) => /^\s*[✓❯×]\s+test\//.test(l));
  console.error(`ci-summary: ${log}, the last test files before the crash:\n${files.slice(-3).join('\n')}`);
  console.error(lines.slice(Math.max(0, at - 12), at + 6).join('\n'));
}
