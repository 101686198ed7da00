// Packing of GEMM operand panels (gemm_kernels.h), plain loops parametrised by the panel
// sizes; each kernel file includes this inside its target region so that the loops are
// compiled (and vectorised) for that path. Internal linkage on purpose (see cpu_target.h).
// Transposed B panels (op(B) = Bᵀ, the forward pass's Wᵀ) use pack_b_trans8 from the
// AVX files instead where they can.
#pragma once
#include <cstddef>
#include <cstring>

namespace nrem {
namespace {

template <int MR>
void pack_a_plain(bool trans, const float* A, size_t lda, int i0, int h, int k0, int kc, float alpha, float* dst) {
  if (trans) {
    for (int k = 0; k < kc; ++k) {
      const float* src = A + static_cast<size_t>(k0 + k) * lda + i0;
      float* d = dst + static_cast<size_t>(k) * MR;
      for (int r = 0; r < h; ++r) d[r] = alpha * src[r];
      for (int r = h; r < MR; ++r) d[r] = 0.0f;
    }
    return;
  }
  const float* rows[MR];
  for (int r = 0; r < MR; ++r) rows[r] = A + static_cast<size_t>(i0 + (r < h ? r : 0)) * lda + k0;
  if (h == MR) {
    for (int k = 0; k < kc; ++k)
      for (int r = 0; r < MR; ++r) dst[static_cast<size_t>(k) * MR + r] = alpha * rows[r][k];
  } else {
    for (int k = 0; k < kc; ++k)
      for (int r = 0; r < MR; ++r) dst[static_cast<size_t>(k) * MR + r] = r < h ? alpha * rows[r][k] : 0.0f;
  }
}

// ceil(w / NR) consecutive B panels (w columns from j0); panel q at dst + q·kc·NR.
template <int NR>
void pack_b_plain(bool trans, const float* B, size_t ldb, int j0, int w, int k0, int kc, float* dst) {
  const int panels = (w + NR - 1) / NR;
  const size_t pstride = static_cast<size_t>(kc) * NR;
  if (!trans) {
    // Row by row: each row of the run is read once, contiguously.
    const int full = w / NR;
    for (int k = 0; k < kc; ++k) {
      const float* src = B + static_cast<size_t>(k0 + k) * ldb + j0;
      float* d = dst + static_cast<size_t>(k) * NR;
      for (int q = 0; q < full; ++q) std::memcpy(d + q * pstride, src + q * NR, NR * sizeof(float));
      if (full < panels) {
        float* e = d + full * pstride;
        const int rest = w - full * NR;
        for (int c = 0; c < rest; ++c) e[c] = src[full * NR + c];
        for (int c = rest; c < NR; ++c) e[c] = 0.0f;
      }
    }
    return;
  }
  for (int q = 0; q < panels; ++q) {
    float* pd = dst + q * pstride;
    const int wq = w - q * NR < NR ? w - q * NR : NR;
    for (int c = 0; c < NR; ++c) {
      if (c < wq) {
        const float* src = B + static_cast<size_t>(j0 + q * NR + c) * ldb + k0;
        for (int k = 0; k < kc; ++k) pd[static_cast<size_t>(k) * NR + c] = src[k];
      } else {
        for (int k = 0; k < kc; ++k) pd[static_cast<size_t>(k) * NR + c] = 0.0f;
      }
    }
  }
}

}  // namespace
}  // namespace nrem
