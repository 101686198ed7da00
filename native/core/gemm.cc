#include "gemm.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
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

void sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
#ifdef NREM_HAVE_OPENBLAS
  if (gemm_backend() == GemmBackend::OpenBlas) {
    // OpenBLAS threads over M and N only, so the summation order of each C entry does
    // not depend on its thread count; we still give it our pool's size for speed.
    static std::atomic<int> configured{-1};
    int t = get_threads();
    if (configured.exchange(t) != t) openblas_set_num_threads(t);
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
#endif
  sgemm_native(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// Own kernel. op(B) is packed once into a K×N row-major panel (kc rows at a time), then
// every row of C is accumulated as c += a_ik · b_k over k in increasing order: the sum
// order of an entry is fixed, whatever the threading (threads split rows of C).
void sgemm_native(bool transA, bool transB, int M, int N, int K, float alpha, const float* A,
                  int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  // Scale C by beta first.
  for (int i = 0; i < M; ++i) {
    float* c = C + static_cast<size_t>(i) * ldc;
    if (beta == 0.0f)
      std::fill(c, c + N, 0.0f);
    else if (beta != 1.0f)
      for (int j = 0; j < N; ++j) c[j] *= beta;
  }
  if (K <= 0 || alpha == 0.0f) return;
  const int KC = 256, NC = 1024;
  std::vector<float> panel(static_cast<size_t>(KC) * NC);
  for (int j0 = 0; j0 < N; j0 += NC) {
    int nb = std::min(NC, N - j0);
    for (int k0 = 0; k0 < K; k0 += KC) {
      int kb = std::min(KC, K - k0);
      for (int k = 0; k < kb; ++k) {
        float* dst = panel.data() + static_cast<size_t>(k) * nb;
        if (!transB) {
          std::memcpy(dst, B + static_cast<size_t>(k0 + k) * ldb + j0, sizeof(float) * nb);
        } else {
          for (int j = 0; j < nb; ++j) dst[j] = B[static_cast<size_t>(j0 + j) * ldb + k0 + k];
        }
      }
      const float* P = panel.data();
      pool().parallel_for(static_cast<size_t>(M), 4, [&](size_t ib, size_t ie) {
        for (size_t i = ib; i < ie; ++i) {
          float* __restrict c = C + i * ldc + j0;
          for (int k = 0; k < kb; ++k) {
            float a = transA ? A[static_cast<size_t>(k0 + k) * lda + i] : A[i * lda + k0 + k];
            if (a == 0.0f) continue;
            a *= alpha;
            const float* __restrict b = P + static_cast<size_t>(k) * nb;
            for (int j = 0; j < nb; ++j) c[j] += a * b[j];
          }
        }
      });
    }
  }
}

}  // namespace nrem
