// Tiled fp32 GEMM:  C[M×N] = A[M×K] · op(B) (+ bias),  op(B) = Bᵀ (B: N×K) or B (B: K×N).
//
// CPU reference: native/core/gemm.cc sgemm (same row-major contract).
//
// Each 256-thread block computes a 128×128 tile of C, marching over K in slices of 8:
//   As[k][m] = A[bm+m, k0+k],  Bs[k][n] = op(B)[k0+k, bn+n]     (zero outside the matrix)
//   acc[i][j] += As[k][ty+16i] · Bs[k][tx+16j]                   i, j = 0..7
// Thread (tx, ty) = (t mod 16, t div 16) owns rows ty+16i and columns tx+16j of the tile:
// the strided micro-tile makes the shared-memory reads of a warp conflict-free (Bs) or
// broadcasts (As), and the stores of C coalesced. Shared tiles are double-buffered so the
// global loads of slice s+1 overlap the arithmetic of slice s. Sums are in fp32 with FMA,
// in a different order from the CPU: results agree to rounding (≈ 1e-6 relative · √K).
#include "common.cuh"
#include "gemm.cuh"

namespace nrem::cuda {
namespace {

constexpr int BM = 128, BN = 128, BK = 8, TM = 8, TN = 8, THREADS = 256;

template <bool TRANS_B>
__global__ void __launch_bounds__(THREADS) gemm_kernel(int M, int N, int K, const float* __restrict__ A, int lda,
                                                       const float* __restrict__ B, int ldb, float* __restrict__ C,
                                                       int ldc, const float* __restrict__ bias) {
  __shared__ float As[2][BK][BM];
  __shared__ float Bs[2][BK][BN];
  const int t = threadIdx.x, tx = t % 16, ty = t / 16;
  const int bm = blockIdx.y * BM, bn = blockIdx.x * BN;

  float ra[4], rb[4];
  auto load = [&](int k0) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int idx = t + i * THREADS;
      const int m = idx / BK, kk = idx % BK;  // A: 8 consecutive k per row
      const int gm = bm + m, gk = k0 + kk;
      ra[i] = (gm < M && gk < K) ? A[static_cast<size_t>(gm) * lda + gk] : 0.0f;
      if (TRANS_B) {
        const int gn = bn + m;
        rb[i] = (gn < N && gk < K) ? B[static_cast<size_t>(gn) * ldb + gk] : 0.0f;
      } else {
        const int kb = idx / BN, n = idx % BN;  // B: consecutive n within a row
        const int gkb = k0 + kb, gn = bn + n;
        rb[i] = (gkb < K && gn < N) ? B[static_cast<size_t>(gkb) * ldb + gn] : 0.0f;
      }
    }
  };
  auto store = [&](int buf) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int idx = t + i * THREADS;
      As[buf][idx % BK][idx / BK] = ra[i];
      if (TRANS_B)
        Bs[buf][idx % BK][idx / BK] = rb[i];
      else
        Bs[buf][idx / BN][idx % BN] = rb[i];
    }
  };

  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

  load(0);
  store(0);
  __syncthreads();
  int buf = 0;
  for (int k0 = 0; k0 < K; k0 += BK) {
    const bool more = k0 + BK < K;
    if (more) load(k0 + BK);
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
      float a[TM], b[TN];
#pragma unroll
      for (int i = 0; i < TM; ++i) a[i] = As[buf][kk][ty + 16 * i];
#pragma unroll
      for (int j = 0; j < TN; ++j) b[j] = Bs[buf][kk][tx + 16 * j];
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] += a[i] * b[j];
    }
    if (more) {
      store(buf ^ 1);
      __syncthreads();
      buf ^= 1;
    }
  }

#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int gm = bm + ty + 16 * i;
    if (gm >= M) continue;
#pragma unroll
    for (int j = 0; j < TN; ++j) {
      const int gn = bn + tx + 16 * j;
      if (gn < N) C[static_cast<size_t>(gm) * ldc + gn] = acc[i][j] + (bias ? bias[gn] : 0.0f);
    }
  }
}

}  // namespace

void gemm(bool trans_b, int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C, int ldc,
          const float* bias, cudaStream_t stream) {
  if (M <= 0 || N <= 0) return;
  dim3 grid(cdiv(N, BN), cdiv(M, BM));
  require(grid.y <= 65535u, "ERR_SHAPE", "gemm: too many rows for one launch");
  if (trans_b)
    gemm_kernel<true><<<grid, THREADS, 0, stream>>>(M, N, K, A, lda, B, ldb, C, ldc, bias);
  else
    gemm_kernel<false><<<grid, THREADS, 0, stream>>>(M, N, K, A, lda, B, ldb, C, ldc, bias);
  NREM_CUDA_LAUNCHED("gemm_kernel");
}

}  // namespace nrem::cuda
