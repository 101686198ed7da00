// Single-precision matrix multiply, row-major:
//   C[M×N] = alpha · op(A) · op(B) + beta · C,  op(X) = X or Xᵀ
// Two implementations behind one call: OpenBLAS's cblas_sgemm when the build found it
// (NREM_HAVE_OPENBLAS), and nrem's own cache-blocked kernel. The kernel in use is chosen
// at run time (set_gemm_backend), so tests can run every caller against both.
#pragma once
#include "common.h"

namespace nrem {

enum class GemmBackend { Native = 0, OpenBlas = 1 };

bool have_openblas();
void set_gemm_backend(GemmBackend b);  // throws ERR_BACKEND if OpenBLAS is not built in
GemmBackend gemm_backend();
const char* gemm_backend_name();

// lda/ldb/ldc: row strides of A, B, C as stored.
void sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc);

// The own kernel, always available (used directly by tests and benchmarks).
void sgemm_native(bool transA, bool transB, int M, int N, int K, float alpha, const float* A,
                  int lda, const float* B, int ldb, float beta, float* C, int ldc);

}  // namespace nrem
