/**
 * Eigendecomposition of a small symmetric matrix by cyclic Jacobi rotations (for the
 * CMA-ES covariance, dimension ≤ a few dozen).
 *
 * Each rotation (p, q) zeroes A[p][q]: with θ = (A_qq − A_pp) / (2 A_pq),
 * t = sign(θ) / (|θ| + sqrt(θ² + 1)), c = 1/sqrt(t² + 1), s = t·c,
 * A ← Jᵀ A J and V ← V J. Sweeps repeat until the off-diagonal norm is below
 * 1e-22 · ‖A‖² (or 100 sweeps). A = V diag(λ) Vᵀ; eigenvalues ascending, columns of V
 * the matching unit eigenvectors.
 */
export interface Eigen {
  values: number[];
  /** vectors[i][k] = component i of eigenvector k. */
  vectors: number[][];
}

export function symmetricEigen(m: number[][]): Eigen {
  const n = m.length;
  const a = m.map((r) => [...r]);
  const v: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  let total = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) total += a[i][j] * a[i][j];
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += a[i][j] * a[i][j];
    if (off <= 1e-22 * total || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p][q];
        if (apq === 0) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k][p];
          const akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k];
          const aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k][p];
          const vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[i][i] - a[j][j]);
  return {
    values: order.map((i) => a[i][i]),
    vectors: v.map((row) => order.map((k) => row[k])),
  };
}
