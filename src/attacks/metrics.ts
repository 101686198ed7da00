/**
 * Figures of an attack run (experiments.md §2): accuracy under attack per eps for
 * fixed-budget attacks; success rate, median/mean L2, median L0, fraction of pixels
 * changed and DeepFool's rho = mean(‖r‖₂/‖x‖₂) for minimal-perturbation attacks. Norm
 * statistics are over the successful examples (the failures' perturbations are not
 * adversarial); rho too.
 */
import type { AttackResult } from './base.js';

export interface EpsSummary {
  epsilon: number;
  /** Fraction of all examples made adversarial. */
  successRate: number;
  /** Accuracy under attack: fraction still classified as labelled (untargeted attacks: 1 − successRate). */
  accuracy: number;
  succeeded: number;
  medianL2: number | null;
  meanL2: number | null;
  medianLinf: number | null;
  medianL0: number | null;
  /** Median over successes of L0 / d. */
  fractionChanged: number | null;
  /** mean over successes of ‖r‖₂ / ‖x‖₂. */
  rho: number | null;
}

export interface AttackSummary {
  attack: string;
  n: number;
  cleanAccuracy: number;
  perEpsilon: EpsSummary[];
  seconds: number;
}

export function median(v: number[]): number | null {
  if (!v.length) return null;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function mean(v: number[]): number | null {
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}

export function summarize(r: AttackResult, x: Float32Array, labels: ArrayLike<number>): AttackSummary {
  const n = r.clean.length;
  const d = n ? x.length / n : 0;
  const xn = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = i * d; j < (i + 1) * d; j++) s += x[j] * x[j];
    xn[i] = Math.sqrt(s);
  }
  let clean = 0;
  for (let i = 0; i < n; i++) if (r.clean[i] === labels[i]) clean++;
  const perEpsilon = r.epsilons.map((epsilon, e) => {
    const ok: number[] = [];
    let correct = 0;
    for (let i = 0; i < n; i++) {
      if (r.success[e][i]) ok.push(i);
      if (r.predictions[e][i] === labels[i]) correct++;
    }
    const l2 = ok.map((i) => r.l2[e][i]);
    const rhoV = ok.filter((i) => xn[i] > 0).map((i) => r.l2[e][i] / xn[i]);
    return {
      epsilon,
      successRate: n ? ok.length / n : 0,
      accuracy: n ? correct / n : 0,
      succeeded: ok.length,
      medianL2: median(l2),
      meanL2: mean(l2),
      medianLinf: median(ok.map((i) => r.linf[e][i])),
      medianL0: median(ok.map((i) => r.l0[e][i])),
      fractionChanged: median(ok.map((i) => r.l0[e][i] / d)),
      rho: mean(rhoV),
    };
  });
  return { attack: r.attack, n, cleanAccuracy: n ? clean / n : 0, perEpsilon, seconds: r.seconds };
}
