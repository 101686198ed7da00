/**
 * Where a study's units spent this run's wall time, per unit kind (train, sleep, distill,
 * finetune, eval-fgsm-mse, …), gathered from the runner's unit-end events: how many units
 * were computed now and how many found finished in the store (they cost nothing here), and
 * the total and largest wall seconds of the computed ones (the units' own wallSeconds, as
 * their records in the store keep them). `nrem reproduce --timings` prints it.
 */
import type { RunEvent } from './progress.js';

export interface KindTiming {
  computed: number;
  reused: number;
  seconds: number;
  maxSeconds: number;
}

export class UnitTimings {
  readonly byKind: Record<string, KindTiming> = {};

  observe(e: RunEvent): void {
    if (e.type !== 'unit-end') return;
    const k = (this.byKind[e.kind] ??= { computed: 0, reused: 0, seconds: 0, maxSeconds: 0 });
    if (e.reused) k.reused++;
    else {
      k.computed++;
      k.seconds += e.seconds;
      k.maxSeconds = Math.max(k.maxSeconds, e.seconds);
    }
  }

  /** Per kind, in the order the kinds first finished; seconds rounded to ms. */
  toJSON(): Record<string, KindTiming> {
    const r = (s: number) => Math.round(s * 1000) / 1000;
    return Object.fromEntries(Object.entries(this.byKind).map(([kind, t]) => [kind, { ...t, seconds: r(t.seconds), maxSeconds: r(t.maxSeconds) }]));
  }

  /** A table, one line per kind. */
  lines(): string[] {
    const kinds = Object.keys(this.byKind);
    const w = Math.max(4, ...kinds.map((k) => k.length));
    const row = (a: string, b: string, c: string, d: string, e: string) => `${a.padEnd(w)}  ${b.padStart(8)}  ${c.padStart(6)}  ${d.padStart(9)}  ${e.padStart(9)}`;
    return [
      row('kind', 'computed', 'reused', 'total s', 'max s'),
      ...kinds.map((k) => {
        const t = this.byKind[k];
        return row(k, String(t.computed), String(t.reused), t.seconds.toFixed(2), t.maxSeconds.toFixed(2));
      }),
    ];
  }
}
