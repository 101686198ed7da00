// 2-D convolution (model.h LayerKind::Conv): cross-correlation as in PyTorch and ONNX,
// dilation 1, one group, zero padding, on C×H×W rows:
//   z[o,y,x] = b[o] + Σ_{c,i,j} W[o,c,i,j] · x[c, y·sh + i − pt, x·sw + j − pl]    (x = 0 outside)
//              y < Ho = ⌊(H + pt + pb − kh)/sh⌋ + 1,  x < Wo = ⌊(W + pl + pr − kw)/sw⌋ + 1
//   input gradient   dx[c,u,v] = Σ_{o,y,x,i,j : u = y·sh+i−pt, v = x·sw+j−pl} W[o,c,i,j] · g[o,y,x]
//   weight gradient  dW[o,c,i,j] = Σ_rows Σ_{y,x} g[o,y,x] · x[c, y·sh+i−pt, x·sw+j−pl]
//                    db[o] = Σ_rows Σ_{y,x} g[o,y,x]                          (g = ∂L/∂z)
// Forward of a stride-1 layer with at least 4 output columns: the direct kernel
// (conv_kernels.h: per output a chain over t = (c·kh + i)·kw + j, then + b and the epilogue),
// one image per task. Every other forward, and every backward:
// As GEMMs over im2col, for a group of q images (P = Ho·Wo, K = C·kh·kw):
//   col[(c·kh + i)·kw + j, q·P + y·Wo + x] = x_q[c, y·sh+i−pt, x·sw+j−pl]
//   Z = W col (C_out × qP);  dW = Σ_groups G colᵀ;  dcol = Wᵀ G, then dx by col2im.
// Groups are fixed by the layer's shape (conv_group), never by the thread count; groups
// run in parallel, one single-threaded GEMM each, and dW, db are summed over groups in
// group order — so results do not depend on the thread count.
#pragma once
#include <cstddef>

#include "../model.h"

namespace nrem {

// Images per im2col group of a layer.
size_t conv_group(const Layer& l);

// z (n × C_out×Ho×Wo) = m·act(pre·conv(x)) (layers/epilogue.h with multiplier m).
void conv_forward(const Layer& l, const float* x, size_t n, float* z, const Epilogue& e, float m);

// conv then the pooling layer pl on each image while it is in cache: z (n × pl's output) is
// exactly what conv_forward and then pool_forward give. False (and nothing done) where the
// conv layer does not take the direct kernel.
bool conv_pool_forward(const Layer& l, const float* x, size_t n, const Epilogue& e, float m, const Layer& pl,
                       const Epilogue& pe, float pm, float* z);

// From g = ∂L/∂z (n × C_out×Ho×Wo) and the layer's input x: dx (n × C×H×W, overwritten;
// optional), dW and db (overwritten; optional).
void conv_backward(const Layer& l, const float* x, const float* g, size_t n, float* dx, float* dW, float* db);

}  // namespace nrem
