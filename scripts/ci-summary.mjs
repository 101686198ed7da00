// Sums vitest JSON reports and prints the one line CI reads: "N passed, N failed", after
// one line per report (its file name: passed, failed, skipped) so that a failure in the
// second run (NREM_ISA=avx2 NREM_GEMM=native) is told apart from one in the first.
import { readFileSync, existsSync } from 'node:fs';
let passed = 0, failed = 0, skipped = 0;
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) { console.error(`ci-summary: ${file} missing (a test run crashed)`); failed++; continue; }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const crashed = r.numTotalTestSuites > 0 && r.testResults.some((s) => s.status === 'failed' && s.assertionResults.length === 0) ? 1 : 0;
  const sk = r.numPendingTests + (r.numTodoTests ?? 0);
  console.error(`${file}: ${r.numPassedTests} passed, ${r.numFailedTests + crashed} failed, ${sk} skipped`);
  passed += r.numPassedTests; failed += r.numFailedTests + crashed; skipped += sk;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed ? 1 : 0);
