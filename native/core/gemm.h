// Single-precision matrix multiply, row-major:
//   C[M×N] = alpha · op(A) · op(B) + beta · C,  op(X) = X or Xᵀ
// Two implementations behind one call: OpenBLAS's cblas_sgemm when the build found it
// (NREM_HAVE_OPENBLAS), and nrem's own kernel (gemm_native.cc: packed panels, cache
// blocking, a register-blocked micro-kernel per CPU path, gemm_kernels.h). The kernel in
// use is chosen at run time (set_gemm_backend, env NREM_GEMM=native|openblas), so tests
// can run every caller against both. Either one is deterministic for any thread count:
// every entry of C is summed over K in an order fixed by (M, N, K) and constants; the two
// kernels round differently from each other. The own kernel gives the same bits on every
// CPU path (gemm_kernels.h); OpenBLAS chooses its kernels from the CPU it detects (not
// from NREM_ISA), so its bits may differ between kinds of CPU.
#pragma once
#include <functional>

#include "common.h"

namespace nrem {

enum class GemmBackend { Native = 0, OpenBlas = 1 };

bool have_openblas();
void set_gemm_backend(GemmBackend b);  // throws ERR_BACKEND if OpenBLAS is not built in
GemmBackend gemm_backend();
const char* gemm_backend_name();

// An element-wise step applied to each finished block of C (rows [i0, i0+m), columns
// [j0, j0+n)) by the thread that computed it, while the block is still in its cache
// (e.g. a ReLU), instead of a second pass over C.
using GemmEpilogue = std::function<void(int i0, int m, int j0, int n)>;

// lda/ldb/ldc: row strides of A, B, C as stored.
void sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc, const GemmEpilogue* epilogue = nullptr);

// dst (cols × ld, ld >= rows) = transpose of src (rows × cols, row-major), in cache-sized
// blocks; dst columns rows..ld-1 are left as they are.
void transpose(const float* src, int rows, int cols, int ld, float* dst);

// An operand that stays unchanged for a while (a network's weights while an attack runs on
// it): while a FrozenOperand for B (rows × cols, row stride cols) is alive, the own kernel
// packs op(B) of a call with that B once per transposition and CPU path, and reuses the panels
// in every later call, instead of packing them per call (for the few rows an attack keeps
// working on, the packing is most of a GEMM's work). The panels are the floats each call
// would pack, so the results are the same bits. B must not change while registered; several
// registrations of one B (concurrent attacks on one network) share the panels. OpenBLAS
// calls are unaffected.
class FrozenOperand {
 public:
  FrozenOperand(const float* B, int rows, int cols);
  ~FrozenOperand();
  FrozenOperand(const FrozenOperand&) = delete;
  FrozenOperand& operator=(const FrozenOperand&) = delete;

 private:
  const float* b_;
};

// The own kernel, always available (used directly by tests and benchmarks). Called from
// inside a pool chunk it runs on that thread alone (thread_pool.h).
void sgemm_native(bool transA, bool transB, int M, int N, int K, float alpha, const float* A,
                  int lda, const float* B, int ldb, float beta, float* C, int ldc,
                  const GemmEpilogue* epilogue = nullptr);

}  // namespace nrem
