// Device GEMM of nrem's CUDA backend (no cuBLAS in this toolkit). See gemm.cu.
#pragma once
#include <cuda_runtime.h>

namespace nrem::cuda {

// C[M×N] = A[M×K] · op(B) (+ bias[N] broadcast over rows when bias != nullptr), row-major,
// device pointers. op(B) = Bᵀ with B stored N×K (trans_b, the forward pass z = a Wᵀ) or
// B stored K×N (the backward pass g W). lda/ldb/ldc are row strides.
void gemm(bool trans_b, int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C, int ldc,
          const float* bias, cudaStream_t stream);

}  // namespace nrem::cuda
