/**
 * CPU accounting from Linux's /proc, for benchmarks that share a machine with other work:
 *
 *   machine busy seconds  = Σ over CPUs of (all time − idle − iowait)        (/proc/stat;
 *                           the hypervisor's steal counts as busy: cores nobody here had)
 *   a process's seconds   = utime + stime (all its threads)                  (/proc/PID/stat)
 *   a process tree's      = Σ over it and its live descendants of utime + stime
 *                           + cutime + cstime (what its reaped children used)
 *
 * so that, over an interval, (machine busy − this benchmark's tree) / wall is how many cores
 * everything else on the machine used meanwhile: the part of the machine a parallel run
 * could not have. (On Linux with autogroup scheduling, other sessions get their share of the
 * cores whatever this one's nice value, so that share is the ceiling of any speed-up here.)
 * Clock ticks are USER_HZ = 100 on Linux. Elsewhere (no /proc) every figure is NaN.
 */
import { readdirSync, readFileSync } from 'node:fs';

const HZ = 100;

interface Stat {
  ppid: number;
  own: number;
  reaped: number;
}

function readStat(pid: number | string): Stat | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state ppid … utime(14) stime(15) cutime(16) cstime(17), 1-based.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), own: (Number(f[11]) + Number(f[12])) / HZ, reaped: (Number(f[13]) + Number(f[14])) / HZ };
  } catch {
    return undefined; // gone meanwhile, or no /proc
  }
}

/** Busy CPU seconds of the whole machine since boot, all CPUs together. */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = line; // idle and iowait left out
    return (user + nice + system + irq + softirq + steal) / HZ;
  } catch {
    return NaN;
  }
}

/** CPU seconds of `pid` alone (all its threads). */
export function processSeconds(pid: number): number {
  return readStat(pid)?.own ?? NaN;
}

/** CPU seconds of `pid` and all its descendants, those already exited and reaped included. */
export function treeSeconds(pid: number): number {
  let all: string[];
  try {
    all = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return NaN;
  }
  const stats = new Map<number, Stat>();
  const children = new Map<number, number[]>();
  for (const d of all) {
    const st = readStat(d);
    if (!st) continue;
    stats.set(Number(d), st);
    const c = children.get(st.ppid);
    if (c) c.push(Number(d));
    else children.set(st.ppid, [Number(d)]);
  }
  if (!stats.has(pid)) return NaN;
  let total = 0;
  for (const todo = [pid]; todo.length; ) {
    const p = todo.pop()!;
    const st = stats.get(p)!;
    total += st.own + st.reaped;
    todo.push(...(children.get(p) ?? []));
  }
  return total;
}
