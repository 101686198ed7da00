/**
 * scan_values (native/core/tensor_ops.h): min and max over the finite entries, the first
 * non-finite index and the first index outside [lo, hi], against a plain loop, on arrays
 * long enough for the native core's vector blocks and chunks (4,096 and 2^18 values).
 */
import { describe, expect, it } from 'vitest';
import { addon } from '../../src/native/binding.js';
import { rand } from '../helpers/random.js';

function reference(x: Float32Array, lo: number, hi: number) {
  let min = Infinity, max = -Infinity, firstNonFinite = -1, firstOutside = -1, finite = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (!Number.isFinite(v)) {
      if (firstNonFinite < 0) firstNonFinite = i;
      if (firstOutside < 0) firstOutside = i;
      continue;
    }
    finite++;
    if (v < min) min = v;
    if (v > max) max = v;
    if (firstOutside < 0 && !(v >= lo && v <= hi)) firstOutside = i;
  }
  if (!finite) min = max = 0;
  return { min, max, firstNonFinite, firstOutside };
}

describe('scanValues', () => {
  const n = (1 << 18) + 3 * 4096 + 5;  // two chunks, whole blocks and a tail
  const cases: [string, (x: Float32Array) => void][] = [
    ['clean', () => {}],
    ['a NaN in the second chunk', (x) => { x[(1 << 18) + 77] = NaN; }],
    ['an Inf in the tail, a NaN later', (x) => { x[n - 4] = -Infinity; x[n - 1] = NaN; }],
    ['values outside the range in two blocks', (x) => { x[5000] = 1.5; x[9001] = -0.25; }],
    ['zeros of both signs, -0 first (the min keeps the first zero)', (x) => { x.fill(0.5); x[70] = -0; x[71] = 0; x[9000] = 0; }],
    ['zeros of both signs, +0 first', (x) => { x.fill(0.5); x[70] = 0; x[71] = -0; }],
    ['all zeros, -0 first', (x) => { x.fill(0); x[0] = -0; }],
  ];
  for (const [name, edit] of cases)
    it(name, async () => {
      const x = rand(n, 3).map((v) => (v + 1) / 2);  // [0, 1)
      edit(x);
      for (const [lo, hi] of [[0, 1], [-Infinity, Infinity]]) {
        const got = await addon().scanValues(x, lo, hi);
        const want = reference(x, lo, hi);
        expect({ ...got, min: Object.is(got.min, -0) ? '-0' : got.min, max: Object.is(got.max, -0) ? '-0' : got.max }).toEqual({
          ...want,
          min: Object.is(want.min, -0) ? '-0' : want.min,
          max: Object.is(want.max, -0) ? '-0' : want.max,
        });
      }
    });
});
