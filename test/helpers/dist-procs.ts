/**
 * Child processes of the distributed tests, run from source (node --import tsx): workers
 * (`nrem worker` itself, or test/helpers/dist-worker.ts — the same startWorker with a
 * processor that can be told to fail), and coordinators (`nrem reproduce --redis`). Each
 * collects its stdout lines (JSON events of workers) and stderr.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));
const HELPER_WORKER = fileURLToPath(new URL('./dist-worker.ts', import.meta.url));

/** Fast lock and stalled checks: a killed worker's unit is handed on within seconds. */
export const TEST_LOCK_MS = 4000;
export const TEST_STALLED_MS = 1000;

export interface WorkerEventLine {
  type: string;
  key?: string;
  kind?: string;
  label?: string;
  status?: string;
  message?: string;
  worker?: string;
  [k: string]: unknown;
}

export class Proc {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly events: WorkerEventLine[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  private waiters: (() => void)[] = [];

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.lines.push(line);
        if (line.startsWith('{'))
          try {
            this.events.push(JSON.parse(line) as WorkerEventLine);
          } catch {
            /* not an event */
          }
        this.notify();
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      this.notify();
    });
    this.exited = new Promise((r) => this.child.once('exit', (code) => (this.notify(), r(code))));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves with the first value `f` returns that is not undefined (checked on every output). */
  async waitFor<T>(f: () => T | undefined, timeoutMs: number, what = 'output'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = f();
      if (v !== undefined && v !== false) return v;
      if (!this.alive && this.child.exitCode !== null && f() === undefined && Date.now() > deadline) break;
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => (clearTimeout(t), r()));
      });
    }
    throw new Error(`timed out waiting for ${what}; stdout:\n${this.lines.slice(-20).join('\n')}\nstderr:\n${this.stderr.slice(-2000)}`);
  }

  event(pred: (e: WorkerEventLine) => boolean): WorkerEventLine | undefined {
    return this.events.find(pred);
  }

  /** Child processes of this one (the sandboxed processors of a worker). */
  children(): number[] {
    const r = spawnSync('ps', ['-o', 'pid=', '--ppid', String(this.pid)], { encoding: 'utf8' });
    return r.stdout
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

/** A worker of the tests: startWorker with the fault-injecting processor, fast stalled checks, JSON events. */
export function helperWorker(redis: string, env: NodeJS.ProcessEnv = {}): Proc {
  return new Proc([HELPER_WORKER, redis], env);
}

/** `nrem worker` itself. */
export function cliWorker(redis: string, extra: string[] = []): Proc {
  return new Proc([CLI, 'worker', '--redis', redis, '--json', '--threads', '1', '--lock-duration', String(TEST_LOCK_MS), '--stalled-interval', String(TEST_STALLED_MS), ...extra]);
}

/** Any `nrem` command line. */
export function cli(args: string[]): Proc {
  return new Proc([CLI, ...args]);
}

export async function ready(ws: Proc[]): Promise<void> {
  await Promise.all(ws.map((w) => w.waitFor(() => w.event((e) => e.type === 'ready'), 60_000, 'the worker to be ready')));
}

/** Whether a process runs (an exited one that nobody reaped — an orphan's zombie — does not). */
export function isAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}
