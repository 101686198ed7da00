/** One measured row of a benchmark suite. */
export interface BenchRow {
  suite: string;
  name: string;
  /** Wall seconds of one run of the measured operation (mean when sampled). */
  seconds: number;
  /** Speed-up against the reference named in `versus` (reference time / our time). */
  ratio?: number;
  versus?: string;
  /** Throughput or other figures, e.g. { stepsPerSecond: 1e6 }. */
  figures?: Record<string, number>;
  notes?: string;
}

export type Suite = () => Promise<BenchRow[]>;
