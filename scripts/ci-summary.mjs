// Sums vitest JSON reports and prints the one line CI reads: "N passed, N failed".
import { readFileSync, existsSync } from 'node:fs';
let passed = 0, failed = 0, skipped = 0;
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) { console.error(`ci-summary: ${file} missing (a test run crashed)`); failed++; continue; }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  if (r.numTotalTestSuites > 0 && r.testResults.some((s) => s.status === 'failed' && s.assertionResults.length === 0)) failed++;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed ? 1 : 0);
