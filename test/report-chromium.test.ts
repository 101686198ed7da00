/**
 * report.html opens in headless Chromium without console errors and with every figure
 * present in the DOM. Runs where Debian's chromium is installed (/usr/bin/chromium or
 * NREM_CHROMIUM).
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeReport } from '../src/report/report.js';
import { syntheticResults } from './helpers/synthetic-results.js';

const chromium = process.env.NREM_CHROMIUM ?? '/usr/bin/chromium';

function run(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(chromium, args, { timeout: 90_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err && !stdout) reject(Object.assign(err, { stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

describe.skipIf(!existsSync(chromium))('report.html in headless Chromium', () => {
  it('renders with no console errors and every SVG figure in the DOM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nrem-report-'));
    try {
      const { figures } = await writeReport(syntheticResults({ sleepGain: -0.02 }), dir);
      const profile = join(dir, 'profile');
      const { stdout, stderr } = await run([
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        `--user-data-dir=${profile}`,
        '--enable-logging=stderr',
        '--v=0',
        '--dump-dom',
        `file://${join(dir, 'report.html')}`,
      ]);
      const consoleErrors = stderr.split('\n').filter((l) => /CONSOLE|Uncaught|SyntaxError|Failed to load resource/.test(l));
      expect(consoleErrors).toEqual([]);
      expect((stdout.match(/<svg/g) ?? []).length).toBe(figures.length);
      expect(stdout).toContain('</figure>');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
