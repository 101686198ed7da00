/**
 * JSMA's pair search (native/core/jsma_pairs.h): the stand-alone C++ test compares the
 * vectorised search with the scalar scan it replaced — same pair, same score, ties (first pair
 * in (u, v) order) and NaN/±0/±inf included — built with the addon's flags.
 */
import { describe, expect, it } from 'vitest';
import { runNativeTest } from './helpers/native-test.js';

describe('JSMA pair search, stand-alone C++ test', () => {
  it('the vectorised search picks the scalar scan’s pair on every input, ties included', () => {
    const out = runNativeTest(['test/native-core/jsma_pairs_test.cc'], ['-O3', '-ffp-contract=off', '-fno-math-errno']);
    const m = /pairs: (\d+) searches, (\d+) with a pair, (\d+) decided among tied pairs/.exec(out);
    expect(m, out).not.toBeNull();
    // The draws exercise what they are for: most searches find a pair, many of them among ties.
    expect(Number(m![2])).toBeGreaterThan(Number(m![1]) / 2);
    expect(Number(m![3])).toBeGreaterThan(100);
    expect(out).toMatch(/^ok \d+ checks$/m);
  }, 120_000);
});
