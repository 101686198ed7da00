#include "forward.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "layers/conv.h"
#include "layers/dense.h"
#include "layers/epilogue.h"
#include "layers/pool.h"
#include "thread_pool.h"

namespace nrem {

namespace {
// Rows per chunk: 2,048 (fully connected networks: the two intermediate buffers stay small
// and are reused per thread) or fewer when a layer is wide (conv feature maps), so that a
// chunk's activations stay near 4 M floats.
size_t chunk_rows(const Model& m) {
  return std::max<size_t>(1, std::min<size_t>(2048, (size_t{4} << 20) / std::max<size_t>(1, m.widest())));
}

float* scratch(int which, size_t count) {
  thread_local std::unique_ptr<float[]> buf[3];
  thread_local size_t cap[3] = {0, 0, 0};
  if (cap[which] < count) {
    buf[which].reset(new float[count]);
    cap[which] = count;
  }
  return buf[which].get();
}
}  // namespace

void apply_input_ops(const Model& m, float* x, size_t n) {
  if (m.input_ops.empty()) return;
  const size_t d = m.input.size();
  pool().parallel_for(n, 16, [&](size_t rb, size_t re) {
    for (size_t r = rb; r < re; ++r) {
      float* __restrict row = x + r * d;
      for (const InputOp& op : m.input_ops) {
        const float* __restrict c = op.value.data();
        switch (op.kind) {
          case InputOpKind::Add: for (size_t j = 0; j < d; ++j) row[j] = row[j] + c[j]; break;
          case InputOpKind::Sub: for (size_t j = 0; j < d; ++j) row[j] = row[j] - c[j]; break;
          case InputOpKind::Mul: for (size_t j = 0; j < d; ++j) row[j] = row[j] * c[j]; break;
          case InputOpKind::Div: for (size_t j = 0; j < d; ++j) row[j] = row[j] / c[j]; break;
        }
      }
    }
  });
}

void input_ops_backward(const Model& m, float* g, size_t n) {
  if (m.input_ops.empty()) return;
  const size_t d = m.input.size();
  pool().parallel_for(n, 16, [&](size_t rb, size_t re) {
    for (size_t r = rb; r < re; ++r) {
      float* __restrict row = g + r * d;
      for (size_t k = m.input_ops.size(); k-- > 0;) {
        const InputOp& op = m.input_ops[k];
        const float* __restrict c = op.value.data();
        if (op.kind == InputOpKind::Mul)
          for (size_t j = 0; j < d; ++j) row[j] = row[j] * c[j];
        else if (op.kind == InputOpKind::Div)
          for (size_t j = 0; j < d; ++j) row[j] = row[j] / c[j];
      }
    }
  });
}

void forward(const Model& m, const float* X, size_t n, float* out, const ForwardOptions& o) {
  const int L = static_cast<int>(m.layers.size());
  require(o.first >= 0 && o.first < L, "ERR_ARGUMENT", "forward: no layer " + std::to_string(o.first));
  const size_t chunk = chunk_rows(m), widest = m.widest();
  const size_t d_in = m.layers[o.first].in.size(), K = m.layers[L - 1].out.size();
  float* const buf[2] = {scratch(0, chunk * widest), scratch(1, chunk * widest)};
  for (size_t r0 = 0; r0 < n; r0 += chunk) {
    const size_t rows = std::min(chunk, n - r0);
    const float* in = X + r0 * d_in;
    if (o.first == 0 && !m.input_ops.empty()) {
      float* x0 = scratch(2, chunk * d_in);
      std::memcpy(x0, in, sizeof(float) * rows * d_in);
      apply_input_ops(m, x0, rows);
      in = x0;
    }
    // Where layer l's output goes: the caller's buffer for the last layer or a kept layer,
    // else the one of two per-thread buffers that does not hold the layer's input.
    int held = -1;  // the buffer holding `in`, or -1
    auto dest = [&](int l) -> float* {
      const size_t w = m.layers[l].out.size();
      if (l == L - 1) return out + r0 * K;
      if (o.layer_out && o.layer_out[l]) return o.layer_out[l] + r0 * w;
      return buf[held == 0 ? 1 : 0];
    };
    for (int l = o.first; l < L; ++l) {
      const Layer& ly = m.layers[l];
      const size_t w = ly.out.size();
      float* z = dest(l);
      const float mult = epilogue_mult(ly.act, m.hidden_scale);
      switch (ly.kind) {
        case LayerKind::Dense: {
          // The epilogue on each GEMM tile while it is in cache (hidden layers: relu, scale).
          const Epilogue e = ly.act;
          const GemmEpilogue epi = [z, w, e, mult](int i0, int bm, int j0, int bn) {
            epilogue_block(z + static_cast<size_t>(i0) * w + j0, bm, bn, w, e, mult);
          };
          dense_forward(ly, in, rows, z, epilogue_identity(e, mult) ? nullptr : &epi);
          break;
        }
        case LayerKind::Conv: {
          // A pooling layer right after, whose input nobody asked to keep: both in one pass.
          const bool fuse = l + 1 < L && m.layers[l + 1].kind != LayerKind::Dense &&
                            m.layers[l + 1].kind != LayerKind::Conv && !(o.layer_out && o.layer_out[l]);
          if (fuse) {
            const Layer& pl = m.layers[l + 1];
            float* zp = dest(l + 1);
            if (conv_pool_forward(ly, in, rows, ly.act, mult, pl, pl.act, epilogue_mult(pl.act, m.hidden_scale), zp)) {
              z = zp;
              ++l;
              break;
            }
          }
          conv_forward(ly, in, rows, z, ly.act, mult);
          break;
        }
        default: pool_forward(ly, in, rows, z, nullptr, ly.act, mult); break;
      }
      if (l == L - 1) {
        if (!o.logits) output_rows(z, rows, static_cast<int>(K), m.out, m.temperature);
        if (o.layer_out && o.layer_out[l] && o.layer_out[l] != out)
          std::copy(z, z + rows * K, o.layer_out[l] + r0 * K);
      }
      in = z;
      held = z == buf[0] ? 0 : z == buf[1] ? 1 : -1;
      if (o.check && *o.check) (*o.check)();
    }
  }
}

}  // namespace nrem
