/**
 * AutoAttack's sanity checks (fra31/auto-attack checks.py): the ways a robustness evaluation
 * fools itself. Each check returns whether it fired and, when it did, a warning to print next
 * to the robust accuracy it undermines.
 *
 *   zero-gradient  examples whose loss gradient at the start point is exactly 0: gradient
 *                  attacks cannot move them (checks.check_zero_gradients)
 *   square         the gradient-free Square attack fools more than 0.2 % of the examples after
 *                  the gradient-based stages before it failed on them (checks.check_square_sr)
 *   transfer       examples crafted on another network fool more than 0.2 % of the examples
 *                  the white-box stages failed on (nrem's addition, same threshold)
 *   randomized     five forward passes of the same inputs disagree: normalised outputs
 *                  differ by more than 1e-4 in L2, or the number of correct predictions
 *                  changes (checks.check_randomized)
 *   probabilities  the logits every attack sees lie in [0, 1] (within 1e-5) and every row
 *                  sums to 1: the model hands out probabilities (checks.check_range_output)
 * The original's check for dynamic defences (tracing autograd calls in the forward pass)
 * has no counterpart: nrem's forward pass is a fixed native computation.
 */
export type CheckId = 'zero-gradient' | 'square' | 'transfer' | 'randomized' | 'probabilities';

export interface SanityCheck {
  id: CheckId;
  fired: boolean;
  /** What was measured, e.g. the fraction of zero gradients or Square's extra successes. */
  value: number;
  /** The warning (when fired) or what was checked (when not). */
  message: string;
}

/** Logits of n rows (n × K): what the attacks see. */
export type LogitsFn = (x: Float32Array, n: number) => Promise<Float32Array>;

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;

export function checkZeroGradient(stage: string, zero: number, rows: number): SanityCheck {
  const value = rows ? zero / rows : 0;
  return {
    id: 'zero-gradient',
    fired: zero > 0,
    value,
    message:
      zero > 0
        ? `${stage.toUpperCase()}: ${zero} of ${rows} attacked examples (${pct(value)}) have an exactly zero loss gradient at the start point — gradient-based attacks cannot move them, so the robust accuracy may be overstated (gradient masking).`
        : `${stage.toUpperCase()}: no attacked example has a zero gradient.`,
  };
}

/** Square's own successes (examples the earlier stages missed), as a fraction of all n. */
export function checkSquare(squareFooled: number, n: number, alpha = 0.002): SanityCheck {
  const value = n ? squareFooled / n : 0;
  return {
    id: 'square',
    fired: value > alpha,
    value,
    message:
      value > alpha
        ? `The gradient-free Square attack lowered the robust accuracy by ${pct(value)} after the gradient-based attacks had failed on those examples: their gradients mislead them, so the evaluation is unreliable (run Square with more queries or an adaptive attack).`
        : `Square found ${squareFooled} adversarial example(s) the gradient-based attacks missed (${pct(value)} ≤ ${pct(alpha)}).`,
  };
}

/**
 * transferFooled[i] = 1 where the transferred example fools this network; whiteRobust[i] = 1
 * where every white-box stage failed on example i.
 */
export function checkTransfer(transferFooled: Uint8Array, whiteRobust: Uint8Array, alpha = 0.002): SanityCheck {
  const n = whiteRobust.length;
  let extra = 0;
  for (let i = 0; i < n; i++) if (transferFooled[i] && whiteRobust[i]) extra++;
  const value = n ? extra / n : 0;
  return {
    id: 'transfer',
    fired: value > alpha,
    value,
    message:
      value > alpha
        ? `Examples transferred from another network fool ${extra} example(s) (${pct(value)}) on which every white-box attack failed: the white-box gradients mislead, so the robust accuracy is overstated.`
        : `Transferred examples fool ${extra} example(s) the white-box attacks missed (${pct(value)} ≤ ${pct(alpha)}).`,
  };
}

function rowNormalised(z: Float32Array, n: number, K: number): Float64Array {
  const out = new Float64Array(n * K);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += z[r * K + k] ** 2;
    const f = 1 / (Math.sqrt(s) + 1e-10);
    for (let k = 0; k < K; k++) out[r * K + k] = z[r * K + k] * f;
  }
  return out;
}

function correctCount(z: Float32Array, y: ArrayLike<number>, n: number, K: number): number {
  let c = 0;
  for (let r = 0; r < n; r++) {
    let b = 0;
    for (let k = 1; k < K; k++) if (z[r * K + k] > z[r * K + b]) b = k;
    if (b === y[r]) c++;
  }
  return c;
}

export async function checkRandomized(logits: LogitsFn, x: Float32Array, y: ArrayLike<number>, n: number, passes = 5, alpha = 1e-4): Promise<SanityCheck> {
  const outs: Float64Array[] = [];
  const correct: number[] = [];
  let K = 0;
  for (let p = 0; p < passes; p++) {
    const z = await logits(x, n);
    K = n ? z.length / n : 0;
    outs.push(rowNormalised(z, n, K));
    correct.push(correctCount(z, y, n, K));
  }
  let maxDiff = 0;
  for (let a = 0; a < passes; a++)
    for (let b = a + 1; b < passes; b++)
      for (let r = 0; r < n; r++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += (outs[a][r * K + k] - outs[b][r * K + k]) ** 2;
        maxDiff = Math.max(maxDiff, Math.sqrt(s));
      }
  const varies = correct.some((c) => c !== correct[passes - 1]);
  const fired = varies || maxDiff > alpha;
  return {
    id: 'randomized',
    fired,
    value: maxDiff,
    message: fired
      ? `The network's outputs change between ${passes} passes over the same inputs (largest difference of normalised outputs ${maxDiff.toExponential(2)}${varies ? `; correct predictions ${correct.join(' / ')}` : ''}): a randomised defence needs an expectation over its randomness (AutoAttack's 'rand' version), so these figures are unreliable.`
      : `${passes} passes over the same ${n} inputs give the same outputs (largest difference ${maxDiff.toExponential(2)}).`,
  };
}

export function checkProbabilities(z: Float32Array, K: number, alpha = 1e-5): SanityCheck {
  const n = K ? z.length / K : 0;
  let mx = -Infinity, mn = Infinity, worstSum = 0;
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let k = 0; k < K; k++) {
      const v = z[r * K + k];
      mx = Math.max(mx, v);
      mn = Math.min(mn, v);
      s += v;
    }
    worstSum = Math.max(worstSum, Math.abs(s - 1));
  }
  const fired = n > 0 && mx < 1 + alpha && mn > -alpha && worstSum < alpha;
  return {
    id: 'probabilities',
    fired,
    value: worstSum,
    message: fired
      ? 'The outputs the attacks see are probabilities (in [0, 1], each row summing to 1), not logits: the losses saturate and their gradients vanish, so the robust accuracy is overstated — attack the logits.'
      : 'The outputs the attacks see are logits, not probabilities.',
  };
}
