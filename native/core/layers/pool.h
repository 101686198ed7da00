// Pooling layers (model.h LayerKind::MaxPool, AvgPool) on C×H×W rows, window kh × kw,
// stride sh × sw, padding pt, pl, pb, pr; the cells of window (c,y,x) are
//   S(y,x) = { (u,v) : u = y·sh + i − pt, v = x·sw + j − pl, 0 ≤ i < kh, 0 ≤ j < kw, inside the input }
// max-pool   z[c,y,x] = max_{S} x[c,u,v]     (padding never wins: it is not a cell)
//            ∂/∂x: g[c,y,x] goes to the first maximal cell in (i, j) order (arg[] below)
// avg-pool   z[c,y,x] = Σ_{S} x[c,u,v] / N,  N = kh·kw (count_include_pad) or |S|
//            ∂/∂x: g[c,y,x] / N to every cell of S
// GlobalAveragePool is avg-pool with the window = the whole input.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../model.h"

namespace nrem {

// z (n × out) = m·act(pre·pool(x)) (layers/epilogue.h); arg (optional, n × out): the input
// index (within the row) of each max-pool output's winning cell.
void pool_forward(const Layer& l, const float* x, size_t n, float* z, int32_t* arg, const Epilogue& e, float m);
// The same on one row (the fused conv + pool forward, conv.h).
void pool_forward_row(const Layer& l, const float* x, float* z, int32_t* arg, const Epilogue& e, float m);

// dx (n × in, overwritten) from g = ∂L/∂z (n × out); max-pool needs the forward's arg.
void pool_backward(const Layer& l, const float* g, const int32_t* arg, size_t n, float* dx);
// pool_backward, then the activation backward of the layer before (epilogue_backward with
// its output a: n × in, e, m) on dx: the same values. For a max-pool whose windows do not
// overlap (each cell in at most one window) in one pass that writes the zeros and then the
// window maxima's cells only (the activation backward of a zero is a zero); otherwise in two.
void pool_backward_act(const Layer& l, const float* g, const int32_t* arg, size_t n, float* dx, const float* a,
                       const Epilogue& e, float m);

}  // namespace nrem
