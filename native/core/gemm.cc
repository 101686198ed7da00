#include "gemm.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "thread_pool.h"

#ifdef NREM_HAVE_OPENBLAS
extern "C" {
#include <cblas.h>
void openblas_set_num_threads(int);
}
#endif

namespace nrem {

namespace {
std::atomic<int> g_backend{
#ifdef NREM_HAVE_OPENBLAS
    static_cast<int>(GemmBackend::OpenBlas)
#else
    static_cast<int>(GemmBackend::Native)
#endif
};

struct EnvInit {
  EnvInit() {
    const char* e = std::getenv("NREM_GEMM");
    if (e && std::strcmp(e, "native") == 0) g_backend = static_cast<int>(GemmBackend::Native);
  }
} g_env_init;
}  // namespace

bool have_openblas() {
#ifdef NREM_HAVE_OPENBLAS
  return true;
#else
  return false;
#endif
}

void set_gemm_backend(GemmBackend b) {
  require(b == GemmBackend::Native || have_openblas(), "ERR_BACKEND",
          "OpenBLAS was not found when nrem was built; only the native GEMM kernel is available");
  g_backend = static_cast<int>(b);
}

GemmBackend gemm_backend() { return static_cast<GemmBackend>(g_backend.load()); }

const char* gemm_backend_name() {
  return gemm_backend() == GemmBackend::OpenBlas ? "openblas" : "native";
}

void transpose(const float* src, int rows, int cols, int ld, float* dst) {
  constexpr int B = 32;
  for (int r0 = 0; r0 < rows; r0 += B)
    for (int c0 = 0; c0 < cols; c0 += B) {
      const int r1 = std::min(rows, r0 + B), c1 = std::min(cols, c0 + B);
      for (int r = r0; r < r1; ++r)
        for (int c = c0; c < c1; ++c) dst[static_cast<size_t>(c) * ld + r] = src[static_cast<size_t>(r) * cols + c];
    }
}

void sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc, const GemmEpilogue* epilogue) {
  if (M <= 0 || N <= 0) return;
#ifdef NREM_HAVE_OPENBLAS
  if (gemm_backend() == GemmBackend::OpenBlas) {
    // OpenBLAS's own threading changes its K blocking with the thread count (measured:
    // 100×1200×784 differs between 1 and 2 threads), so it runs single-threaded and we
    // split C into tiles fixed by (M, N) alone: every tile is the same OpenBLAS call
    // whatever the thread count, hence bit-identical results; the pool runs the tiles.
    static std::once_flag single;
    std::call_once(single, [] { openblas_set_num_threads(1); });
    auto call = [&](int i0, int m, int j0, int n) {
      const float* a = transA ? A + i0 : A + static_cast<size_t>(i0) * lda;
      const float* b = transB ? B + static_cast<size_t>(j0) * ldb : B + j0;
      cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, K,
                  alpha, a, lda, b, ldb, beta, C + static_cast<size_t>(i0) * ldc + j0, ldc);
      if (epilogue) (*epilogue)(i0, m, j0, n);
    };
    const double work = static_cast<double>(M) * N * std::max(K, 1);
    if (work < 2.0e6) {
      call(0, M, 0, N);
      return;
    }
    // Few large tiles in an even number (measured on 500-10,000 × 1200 × 784-1200: OpenBLAS
    // re-packs A and B for every tile, so 256×128 tiles lost 15-30 %, and an odd count
    // leaves a core idle at the end): 256 rows (all when M <= 384) by half the columns
    // (all when N < 512). Chosen from M and N alone, never from the thread count.
    const int tm = M > 384 ? 256 : M;
    const int tn = N >= 512 ? (N / 2 + 15) / 16 * 16 : N;
    const int rows = (M + tm - 1) / tm;
    const int cols = (N + tn - 1) / tn;
    pool().parallel_for(static_cast<size_t>(cols) * rows, 1, [&](size_t b, size_t e) {
      for (size_t t = b; t < e; ++t) {
        const int i0 = static_cast<int>(t / cols) * tm, j0 = static_cast<int>(t % cols) * tn;
        call(i0, std::min(tm, M - i0), j0, std::min(tn, N - j0));
      }
    });
    return;
  }
#endif
  sgemm_native(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (epilogue)
    pool().parallel_for(static_cast<size_t>(M), 64, [&](size_t b, size_t e) {
      (*epilogue)(static_cast<int>(b), static_cast<int>(e - b), 0, N);
    });
}

// Own kernel (after the GotoBLAS/BLIS scheme). For each block of NC columns and KC of
// the inner dimension:
//   pack op(B)[pc:pc+KC, jc:jc+NC] into NR-wide panels   Bp[q][k][0..NR)
//   pack alpha·op(A)[:, pc:pc+KC] into MR-high panels    Ap[p][k][0..MR)   (zero padded)
//   for every MR×NR tile of C (in parallel over tiles):  C_tile += Σ_k Ap[p][k] ⊗ Bp[q][k]
// The micro-kernel keeps the tile in vector registers (GCC vector extensions: AVX-512 when
// the build has it, else 256-bit) and adds products with separate mul and add (no FMA).
// Each C entry is summed in increasing k, in blocks fixed by constants only, so results
// do not depend on the thread count. C is scaled by beta first.
namespace {

#if defined(__AVX512F__)
constexpr int VW = 16;
constexpr int MR = 8;
#else
constexpr int VW = 8;
constexpr int MR = 6;
#endif
constexpr int NR = 2 * VW;
constexpr int KC = 256;
constexpr int NC = 2048;  // multiple of NR

typedef float vf __attribute__((vector_size(VW * sizeof(float)), aligned(sizeof(float))));

inline vf loadv(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof(vf));
  return v;
}
inline void storev(float* p, vf v) { std::memcpy(p, &v, sizeof(vf)); }

// C (MR × NR at stride ldc) += Σ_k Ap[k][·] ⊗ Bp[k][·]
inline void micro_kernel(int kc, const float* __restrict Ap, const float* __restrict Bp, float* C, int ldc) {
  vf c0[MR], c1[MR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    c0[i] = loadv(C + static_cast<size_t>(i) * ldc);
    c1[i] = loadv(C + static_cast<size_t>(i) * ldc + VW);
  }
  for (int k = 0; k < kc; ++k) {
    const vf b0 = loadv(Bp + static_cast<size_t>(k) * NR);
    const vf b1 = loadv(Bp + static_cast<size_t>(k) * NR + VW);
    const float* a = Ap + static_cast<size_t>(k) * MR;
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const float ai = a[i];  // scalar ⊗ vector: a broadcast, no extra arithmetic
      c0[i] = c0[i] + ai * b0;
      c1[i] = c1[i] + ai * b1;
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    storev(C + static_cast<size_t>(i) * ldc, c0[i]);
    storev(C + static_cast<size_t>(i) * ldc + VW, c1[i]);
  }
}

}  // namespace

void sgemm_native(bool transA, bool transB, int M, int N, int K, float alpha, const float* A,
                  int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  pool().parallel_for(static_cast<size_t>(M), 16, [&](size_t ib, size_t ie) {
    for (size_t i = ib; i < ie; ++i) {
      float* c = C + i * ldc;
      if (beta == 0.0f)
        std::fill(c, c + N, 0.0f);
      else if (beta != 1.0f)
        for (int j = 0; j < N; ++j) c[j] *= beta;
    }
  });
  if (K <= 0 || alpha == 0.0f) return;
  const int mp = (M + MR - 1) / MR;  // A panels
  std::vector<float> Ap(static_cast<size_t>(mp) * MR * KC);
  std::vector<float> Bp(static_cast<size_t>(NC) * KC);
  for (int jc = 0; jc < N; jc += NC) {
    const int nc = std::min(NC, N - jc);
    const int np = (nc + NR - 1) / NR;  // B panels
    for (int pc = 0; pc < K; pc += KC) {
      const int kc = std::min(KC, K - pc);
      pool().parallel_for(static_cast<size_t>(np), 1, [&](size_t qb, size_t qe) {
        for (size_t q = qb; q < qe; ++q) {
          float* dst = Bp.data() + q * static_cast<size_t>(KC) * NR;
          const int j0 = jc + static_cast<int>(q) * NR;
          const int w = std::min(NR, jc + nc - j0);
          if (!transB) {
            for (int k = 0; k < kc; ++k) {
              const float* src = B + static_cast<size_t>(pc + k) * ldb + j0;
              float* d = dst + static_cast<size_t>(k) * NR;
              for (int c = 0; c < w; ++c) d[c] = src[c];
              for (int c = w; c < NR; ++c) d[c] = 0.0f;
            }
          } else {
            for (int c = 0; c < NR; ++c) {
              if (c < w) {
                const float* src = B + static_cast<size_t>(j0 + c) * ldb + pc;
                for (int k = 0; k < kc; ++k) dst[static_cast<size_t>(k) * NR + c] = src[k];
              } else {
                for (int k = 0; k < kc; ++k) dst[static_cast<size_t>(k) * NR + c] = 0.0f;
              }
            }
          }
        }
      });
      pool().parallel_for(static_cast<size_t>(mp), 1, [&](size_t pb, size_t pe) {
        for (size_t p = pb; p < pe; ++p) {
          float* dst = Ap.data() + p * static_cast<size_t>(KC) * MR;
          const int i0 = static_cast<int>(p) * MR;
          const int h = std::min(MR, M - i0);
          if (transA) {
            for (int k = 0; k < kc; ++k) {
              const float* src = A + static_cast<size_t>(pc + k) * lda + i0;
              float* d = dst + static_cast<size_t>(k) * MR;
              for (int r = 0; r < h; ++r) d[r] = alpha * src[r];
              for (int r = h; r < MR; ++r) d[r] = 0.0f;
            }
          } else {
            for (int r = 0; r < MR; ++r) {
              if (r < h) {
                const float* src = A + static_cast<size_t>(i0 + r) * lda + pc;
                for (int k = 0; k < kc; ++k) dst[static_cast<size_t>(k) * MR + r] = alpha * src[k];
              } else {
                for (int k = 0; k < kc; ++k) dst[static_cast<size_t>(k) * MR + r] = 0.0f;
              }
            }
          }
        }
      });
      // Tiles in B-panel-major order: a chunk of consecutive tiles shares B panels.
      const size_t tiles = static_cast<size_t>(mp) * np;
      pool().parallel_for(tiles, 4, [&](size_t tb, size_t te) {
        float edge[MR * NR];
        for (size_t t = tb; t < te; ++t) {
          const int q = static_cast<int>(t / mp), p = static_cast<int>(t % mp);
          const int i0 = p * MR, j0 = jc + q * NR;
          const int h = std::min(MR, M - i0), w = std::min(NR, N - j0);
          const float* a = Ap.data() + static_cast<size_t>(p) * KC * MR;
          const float* b = Bp.data() + static_cast<size_t>(q) * KC * NR;
          float* c = C + static_cast<size_t>(i0) * ldc + j0;
          if (h == MR && w == NR) {
            micro_kernel(kc, a, b, c, ldc);
          } else {
            for (int r = 0; r < MR; ++r)
              for (int cc = 0; cc < NR; ++cc)
                edge[r * NR + cc] = (r < h && cc < w) ? c[static_cast<size_t>(r) * ldc + cc] : 0.0f;
            micro_kernel(kc, a, b, edge, NR);
            for (int r = 0; r < h; ++r)
              for (int cc = 0; cc < w; ++cc) c[static_cast<size_t>(r) * ldc + cc] = edge[r * NR + cc];
          }
        }
      });
    }
  }
}

}  // namespace nrem
