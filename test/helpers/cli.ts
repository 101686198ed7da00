/**
 * Runs `nrem ARGS` in-process (commander, as the entry point registers the commands): the
 * stdout lines, the stderr text, and the NremError it ended with (any other error is thrown).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, vi } from 'vitest';
import { NremError } from '../../src/errors.js';

export type Register = (program: Command) => void;

export async function runCli(registers: Register[], args: string[]): Promise<{ out: string[]; err: string; error?: NremError }> {
  const program = new Command().exitOverride();
  for (const r of registers) r(program);
  const out: string[] = [];
  let err = '';
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (out.push(...String(s).replace(/\n$/, '').split('\n')), true));
  const ewrite = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    await program.parseAsync(['node', 'nrem', ...args]);
    return { out, err };
  } catch (e) {
    if (!(e instanceof NremError)) throw e;
    return { out, err, error: e };
  } finally {
    log.mockRestore();
    write.mockRestore();
    ewrite.mockRestore();
  }
}

/** The last stdout line, parsed (the commands' --json object). */
export const lastJson = (lines: string[]) => JSON.parse(lines[lines.length - 1]);

/**
 * A temporary folder for a test file, with nrem's data cache (NREM_CACHE_DIR) inside it for
 * the file's duration; both undone after the file's tests.
 */
export function testDirWithCache(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const saved = process.env.NREM_CACHE_DIR;
  process.env.NREM_CACHE_DIR = join(dir, 'cache');
  afterAll(() => {
    if (saved === undefined) delete process.env.NREM_CACHE_DIR;
    else process.env.NREM_CACHE_DIR = saved;
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}
