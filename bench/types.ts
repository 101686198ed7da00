/** One measured row of a benchmark suite. */
export interface BenchRow {
  suite: string;
  name: string;
  /** Wall seconds of one run of the measured operation (mean when sampled). */
  seconds: number;
  /** A ratio, with `versus` saying what it divides (e.g. "speed-up vs PyTorch CPU" = their time / ours). */
  ratio?: number;
  versus?: string;
  /** Throughput or other figures, e.g. { stepsPerSecond: 1e6 }. */
  figures?: Record<string, number>;
  notes?: string;
}

export type Suite = () => Promise<BenchRow[]>;
