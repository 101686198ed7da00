// Fully connected layer (model.h LayerKind::Dense), a batch of n rows at a time.
//   forward         z = x Wᵀ + 1 bᵀ          x: n × in (the input flattened C×H×W), W: out × in
//   input gradient  dx = g W                 g = ∂L/∂z: n × out
//   weight gradient dW = gᵀ x   db = Σ_rows g (rows summed in order)
// All three are one GEMM (gemm.h); the bias is copied into z before the GEMM adds x Wᵀ to it.
// `epi` (optional) runs on each finished block of the GEMM's output while it is in cache.
#pragma once
#include <cstddef>

#include "../gemm.h"
#include "../model.h"

namespace nrem {

void dense_forward(const Layer& l, const float* x, size_t n, float* z, const GemmEpilogue* epi = nullptr);
void dense_input_grad(const Layer& l, const float* g, size_t n, float* dx, const GemmEpilogue* epi = nullptr);
void dense_weight_grad(const Layer& l, const float* g, const float* x, size_t n, float* dW, float* db);

}  // namespace nrem
