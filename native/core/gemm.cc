#include "gemm.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "cpu.h"
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
  sgemm_native(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, epilogue);
}

}  // namespace nrem
