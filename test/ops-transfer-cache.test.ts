/**
 * The study's transfer examples (ops-real.ts CraftedExamples): PGD examples crafted on the
 * control are crafted once per source network, rows, eps, PGD settings and seed, and shared by
 * every target's transfer curve and AutoAttack transfer check — the same accuracies as crafting
 * them afresh for each target; a craft that was aborted is not kept. Real MNIST digits, the
 * authors' control.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { builtinSpec } from '../src/experiments/spec.js';
import { realOps } from '../src/experiments/ops-real.js';
import { PGD } from '../src/attacks/pgd.js';
import { loadMnist } from '../src/data/mnist.js';
import { head } from '../src/data/dataset.js';
import { AbortError } from '../src/errors.js';
import { controlNetwork } from './helpers/control-net.js';

const ev = builtinSpec('paper-mnist', { quick: true }).evaluation;
ev.pgd = { ...ev.pgd, steps: 5 };
const test = loadMnist().test;
const rows = head(test, 40);
const eps = [0.1, 0.3];

afterEach(() => vi.restoreAllMocks());

describe('transfer examples crafted once per source', () => {
  it('two targets of one control: one PGD craft, the accuracies of crafting afresh', async () => {
    const control = controlNetwork();
    const a = controlNetwork();
    const b = controlNetwork();
    b.setWeights(2, b.getWeights(2).map((w, i) => w * (1 + 0.4 * Math.floor(i / 1200)))); // another network: output k scaled by 1 + 0.4k
    const runs = vi.spyOn(PGD.prototype, 'run');
    const ops = realOps();
    try {
      const toA = await ops.transfer(control, a, rows, eps, ev, 1, {});
      const toB = await ops.transfer(control, b, head(test, 40), eps, ev, 1, {}); // the same rows, another view
      expect(runs).toHaveBeenCalledTimes(1);
      // Other rows, eps or seed: crafted again.
      await ops.transfer(control, b, head(test, 30), eps, ev, 1, {});
      await ops.transfer(control, b, rows, [0.2], ev, 1, {});
      await ops.transfer(control, b, rows, eps, ev, 2, {});
      expect(runs).toHaveBeenCalledTimes(4);
      // Crafting afresh for the second target gives the same accuracies.
      const fresh = realOps();
      try {
        expect(await fresh.transfer(control, b, rows, eps, ev, 1, {})).toEqual(toB);
        expect(await fresh.transfer(control, a, rows, eps, ev, 1, {})).toEqual(toA);
      } finally {
        await fresh.release();
      }
      expect(toA).not.toEqual(toB);
    } finally {
      await ops.release();
    }
  });

  it('a craft that was aborted is not kept: the next unit crafts again', async () => {
    const control = controlNetwork();
    const ops = realOps();
    const runs = vi.spyOn(PGD.prototype, 'run');
    try {
      const ac = new AbortController();
      ac.abort();
      await expect(ops.transfer(control, control, rows, eps, ev, 1, { signal: ac.signal })).rejects.toBeInstanceOf(AbortError);
      const acc = await ops.transfer(control, control, rows, eps, ev, 1, {});
      expect(runs).toHaveBeenCalledTimes(2);
      expect(acc[1]).toBeLessThan(acc[0] + 1e-9); // a larger eps fools at least as many on the source itself
    } finally {
      await ops.release();
    }
  });
});
