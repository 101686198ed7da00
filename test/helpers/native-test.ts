/**
 * The stand-alone C++ tests of test/native-core (no Node): built with the system compiler
 * ($CXX, else c++) into a temporary folder, run, and their stdout returned (a build error or
 * a non-zero exit throws, with the compiler's or the test's output).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

export function runNativeTest(sources: string[], flags: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'nrem-native-test-'));
  try {
    const exe = join(dir, basename(sources[0]).replace(/\.cc$/, ''));
    execFileSync(process.env.CXX ?? 'c++', ['-std=c++17', ...flags, ...sources, '-o', exe], { stdio: 'pipe' });
    return execFileSync(exe, { encoding: 'utf8' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
