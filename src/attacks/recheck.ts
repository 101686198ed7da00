/**
 * Every adversarial example counts only after ONNX Runtime, running the exported model
 * (the deployed artefact), agrees (experiments.md §2). A disagreement between the native
 * forward pass and ONNX Runtime is reported, never hidden.
 */
import type { Network } from '../model/network.js';
import { OrtModel } from '../model/ort.js';
import type { RunOptions } from '../util/control.js';
import type { AttackResult } from './base.js';

export interface RecheckReport {
  /** Per eps: examples ONNX Runtime confirms as adversarial. */
  confirmed: Uint8Array[];
  /** Per eps: how many successes ONNX Runtime confirms, and how many it does not. */
  confirmedCount: number[];
  rejected: number[];
  /** Per eps: rows where ONNX Runtime's class differs from the native forward's (any row, success or not). */
  disagreements: { epsilon: number; rows: number[]; native: number[]; ort: number[] }[];
}

/** `session`: an ONNX Runtime session of `net` to use (and leave open), e.g. one shared by several re-checks. */
export async function recheckWithOrt(net: Network, result: AttackResult, labels: ArrayLike<number>, opts?: RunOptions & { session?: OrtModel }): Promise<RecheckReport> {
  const ort = opts?.session ?? (await OrtModel.fromNetwork(net));
  const ro: RunOptions = { signal: opts?.signal, onProgress: opts?.onProgress };
  try {
    const n = result.clean.length;
    const confirmed: Uint8Array[] = [];
    const confirmedCount: number[] = [];
    const rejected: number[] = [];
    const disagreements: RecheckReport['disagreements'] = [];
    for (let e = 0; e < result.epsilons.length; e++) {
      const p = await ort.predict(result.clipped[e], n, ro);
      const c = new Uint8Array(n);
      let ok = 0, bad = 0;
      const rows: number[] = [], nat: number[] = [], o: number[] = [];
      for (let i = 0; i < n; i++) {
        const adv = result.targets ? p[i] === result.targets[i] : p[i] !== labels[i];
        c[i] = +(adv && result.success[e][i] === 1);
        if (result.success[e][i]) adv ? ok++ : bad++;
        if (p[i] !== result.predictions[e][i]) {
          rows.push(i);
          nat.push(result.predictions[e][i]);
          o.push(p[i]);
        }
      }
      confirmed.push(c);
      confirmedCount.push(ok);
      rejected.push(bad);
      disagreements.push({ epsilon: result.epsilons[e], rows, native: nat, ort: o });
    }
    return { confirmed, confirmedCount, rejected, disagreements };
  } finally {
    if (!opts?.session) await ort.dispose();
  }
}
