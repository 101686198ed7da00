/**
 * Where a command's wall time goes (issue 17: the CLI spent 20–28 s around 0.5 s of sleep):
 *   startup        Node and nrem's modules, before the command ran (performance.now() at its start)
 *   load           reading and parsing the model and the data set
 *   checks         the model-against-data checks (provenance, input range)
 *   normalisation  the sleep's scale factors (a forward pass over the training rows, or the cache)
 *   work           the command's own computation (sleep, training epochs, the attack, the evaluation)
 *   evaluate       accuracies the command reports besides its work (before/after a sleep, after training)
 *   recheck        ONNX Runtime re-checking adversarial examples
 *   units          reproduce: computing the study's units (their split by kind: reproduce --timings)
 *   report         reproduce: aggregating results.json and writing report.md / report.html
 *   write          the output model file (reproduce: results.json)
 * `lap(phase)` charges the time since the previous lap to `phase`. The JSON of the commands
 * carries `timings` (seconds per phase and total); --timings prints them on stderr.
 */
export const PHASES = ['startup', 'load', 'checks', 'normalisation', 'work', 'evaluate', 'recheck', 'units', 'report', 'write'] as const;
export type Phase = (typeof PHASES)[number];

export class Timings {
  private last = performance.now();
  readonly seconds: Partial<Record<Phase, number>> = {};

  constructor() {
    this.seconds.startup = this.last / 1000;
  }

  /** Charges the time since the last lap to `phase`. */
  lap(phase: Phase): void {
    const now = performance.now();
    this.seconds[phase] = (this.seconds[phase] ?? 0) + (now - this.last) / 1000;
    this.last = now;
  }

  /** Seconds per phase (rounded to ms) and their total, in PHASES order. */
  toJSON(): Partial<Record<Phase | 'total', number>> {
    const out: Partial<Record<Phase | 'total', number>> = {};
    let total = 0;
    for (const p of PHASES)
      if (this.seconds[p] !== undefined) {
        out[p] = Math.round(this.seconds[p]! * 1000) / 1000;
        total += this.seconds[p]!;
      }
    out.total = Math.round(total * 1000) / 1000;
    return out;
  }

  /** "timings: startup 0.41 s, load 0.30 s, … (total 2.10 s; the work 0.75 s)" */
  text(): string {
    const j = this.toJSON();
    const parts = PHASES.filter((p) => j[p] !== undefined).map((p) => `${p} ${j[p]!.toFixed(2)} s`);
    return `timings: ${parts.join(', ')} (total ${j.total!.toFixed(2)} s)`;
  }

  /** With --timings: the line on stderr. */
  report(enabled: boolean | undefined): void {
    if (enabled) process.stderr.write(`nrem: ${this.text()}\n`);
  }
}
