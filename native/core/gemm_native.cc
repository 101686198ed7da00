// nrem's own GEMM (gemm.h sgemm_native): the BLIS loops around the micro-kernel and
// packing routines of the path in use (gemm_kernels.h, picked through cpu.h).
//
//   C is cut into tasks (row block of <= mc rows) × (run of nr-wide B panels), run in
//   parallel; per task, for each K block b in ascending k:
//     A block: alpha·op(A)[rows, K block] in mr-high panels (mc × kc floats, stays in L2)
//     B block: op(B)[K block, run] in nr-wide panels (kc × nr floats each, one in L1 at a time)
//     for each B panel q of the run, for each A panel p:
//       C tile (p, q) = (b == 0 ? beta·C : C) + Σ_k Ap[k] ⊗ Bq[k]        (micro-kernel)
//       after the last K block: the epilogue on the finished rows × panel columns
//   Which operand is packed once and shared: op(B) when there are many row blocks (each
//   task packs its own A block), alpha·op(A) when there are few (a mini-batch: each task
//   packs the B panels of its run just before it uses them, so they are hot in L2).
// Each entry of C is one chain over k in ascending order (gemm_kernels.h), so the result
// does not depend on the blocking, the tasks or the thread count; those are chosen for
// speed only (from M, N, K and the number of threads).
#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cpu.h"
#include "gemm.h"
#include "thread_pool.h"

namespace nrem {

namespace {

constexpr size_t kMaxPackedB = size_t{2} << 20;  // floats of a shared packed operand (8 MB)
constexpr int kPackPanels = 8;                   // B panels per packing task (shared-B mode)
constexpr int kMaxRunColumns = 128;              // columns of a task's own packed B block (shared-A mode)

// A grow-only, 64-byte aligned buffer per thread and purpose (0: shared B, 1: a task's
// own panels, 2: shared A).
float* scratch(int which, size_t floats) {
  thread_local std::unique_ptr<float[]> buf[3];
  thread_local size_t cap[3] = {0, 0, 0};
  if (cap[which] < floats) {
    buf[which].reset(new float[floats + 16]);
    cap[which] = floats;
  }
  auto p = reinterpret_cast<uintptr_t>(buf[which].get());
  return reinterpret_cast<float*>((p + 63) & ~uintptr_t{63});
}

struct Blocks {
  int count, size;  // K blocks of `size` (the last one shorter)
};
Blocks k_blocks(int K, int kc) {
  const int n = (K + kc - 1) / kc;
  const int size = (K + n - 1) / n;  // even blocks: no short tail block
  return {(K + size - 1) / size, size};
}

void scale_rows(int M, int N, float beta, float* C, size_t ldc) {
  if (beta == 1.0f) return;
  pool().parallel_for(static_cast<size_t>(M), 16, [&](size_t ib, size_t ie) {
    for (size_t i = ib; i < ie; ++i) {
      float* c = C + i * ldc;
      if (beta == 0.0f)
        std::fill(c, c + N, 0.0f);
      else
        for (int j = 0; j < N; ++j) c[j] *= beta;
    }
  });
}

// The frozen operands (gemm.h FrozenOperand): per B, its shape, its registrations, and the
// panels packed so far per (kernel, transposition), in the shared-B layout of one column
// group (K block b at b·size·npad, its panel q at + q·kc·NR).
struct Frozen {
  int rows = 0, cols = 0, refs = 0;
  std::mutex m;
  std::map<std::pair<const GemmKernel*, bool>, std::unique_ptr<float[]>> panels;
};
std::mutex g_frozen_mu;
std::unordered_map<const float*, std::shared_ptr<Frozen>> g_frozen;
std::atomic<int> g_frozen_count{0};

float* aligned64(float* p) { return reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(p) + 63) & ~uintptr_t{63}); }

// The packed op(B) of this call where B is frozen with this call's shape (the entry kept
// alive by `hold` for the call), else null. Packed on first use, as the call would pack it.
const float* frozen_panels(const GemmKernel& g, bool transB, const float* B, int ldb, int N, int K, const Blocks& kb,
                           bool parallel, std::shared_ptr<Frozen>& hold) {
  if (g_frozen_count.load(std::memory_order_acquire) == 0) return nullptr;
  {
    std::lock_guard<std::mutex> lk(g_frozen_mu);
    auto it = g_frozen.find(B);
    if (it == g_frozen.end()) return nullptr;
    hold = it->second;
  }
  Frozen& f = *hold;
  if (ldb != f.cols || !(transB ? N == f.rows && K == f.cols : K == f.rows && N == f.cols)) return nullptr;
  std::lock_guard<std::mutex> lk(f.m);
  std::unique_ptr<float[]>& slot = f.panels[{&g, transB}];
  if (slot) return aligned64(slot.get());
  const int NR = g.nr, np = (N + NR - 1) / NR;
  const size_t npad = static_cast<size_t>(np) * NR;
  std::unique_ptr<float[]> buf(new float[npad * K + 16]);
  float* dst = aligned64(buf.get());
  const int pieces = (np + kPackPanels - 1) / kPackPanels;
  auto pack = [&](size_t t) {
    const int b = static_cast<int>(t / pieces), q = static_cast<int>(t % pieces) * kPackPanels;
    const int k0 = b * kb.size, kc = std::min(kb.size, K - k0);
    const int j0 = q * NR;
    g.pack_b(transB, B, static_cast<size_t>(ldb), j0, std::min(kPackPanels * NR, N - j0), k0, kc,
             dst + static_cast<size_t>(k0) * npad + static_cast<size_t>(q) * kc * NR);
  };
  const size_t tasks = static_cast<size_t>(kb.count) * pieces;
  if (parallel)
    pool().parallel_for(tasks, 1, [&](size_t b, size_t e) {
      for (size_t t = b; t < e; ++t) pack(t);
    });
  else
    for (size_t t = 0; t < tasks; ++t) pack(t);
  slot = std::move(buf);
  return dst;
}

}  // namespace

FrozenOperand::FrozenOperand(const float* B, int rows, int cols) : b_(B) {
  std::lock_guard<std::mutex> lk(g_frozen_mu);
  std::shared_ptr<Frozen>& e = g_frozen[B];
  if (!e) {
    e = std::make_shared<Frozen>();
    e->rows = rows;
    e->cols = cols;
  } else if (e->rows != rows || e->cols != cols) {
    // the same memory frozen under another shape: a caller's error; this registration then
    // packs nothing (calls fall back to packing per call), and the first one stays
    b_ = nullptr;
    return;
  }
  ++e->refs;
  g_frozen_count.fetch_add(1, std::memory_order_release);
}

FrozenOperand::~FrozenOperand() {
  if (!b_) return;
  std::lock_guard<std::mutex> lk(g_frozen_mu);
  auto it = g_frozen.find(b_);
  // calls still using the entry hold their own reference to it
  if (it != g_frozen.end() && --it->second->refs == 0) g_frozen.erase(it);
  g_frozen_count.fetch_sub(1, std::memory_order_release);
}

void sgemm_native(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
                  const float* B, int ldb, float beta, float* C, int ldc, const GemmEpilogue* epilogue) {
  if (M <= 0 || N <= 0) return;
  const size_t ldC = static_cast<size_t>(ldc);
  if (K <= 0 || alpha == 0.0f) {
    scale_rows(M, N, beta, C, ldC);
    if (epilogue) (*epilogue)(0, M, 0, N);
    return;
  }
  const GemmKernel& g = kernels().gemm;
  const int MR = g.mr, NR = g.nr;
  const Blocks kb = k_blocks(K, g.kc);
  const int threads = pool().size();
  const bool parallel = threads > 1 && !ThreadPool::in_task() && static_cast<double>(M) * N * K >= 2.0e5;
  auto run_all = [&](size_t n, size_t grain, const auto& fn) {
    if (parallel)
      pool().parallel_for(n, grain, [&](size_t b, size_t e) {
        for (size_t t = b; t < e; ++t) fn(t);
      });
    else
      for (size_t t = 0; t < n; ++t) fn(t);
  };

  // Row blocks of at most mc rows, as even as whole A panels allow.
  const int rblocks = (M + g.mc - 1) / g.mc;
  const int mb = ((M + rblocks - 1) / rblocks + MR - 1) / MR * MR;
  const int rows = (M + mb - 1) / mb;
  const int ap_block = mb / MR;  // A panels per full row block
  // About three tasks per thread, so that a core slowed by other work evens out.
  const int want = parallel ? 3 * threads : 1;

  // Two schedules (the same arithmetic per entry either way):
  //  shared B  (many row blocks): op(B) of a column group is packed once, in parallel, and
  //            read by every task (one row block each), which packs its own A block;
  //  shared A  (few row blocks, e.g. a mini-batch): alpha·op(A) is packed once, and each task
  //            (row block × run of columns, the run's packed B block within L2) packs its
  //            own B panels just before it uses them.
  const size_t mpad = static_cast<size_t>(rows) * mb;
  const bool shared_b = rows >= want || mpad * K > kMaxPackedB;
  const int max_run = std::max(1, kMaxRunColumns / NR);  // B panels per task in shared-A mode
  // A frozen B (gemm.h): its panels packed once, in one column group, read by every task.
  std::shared_ptr<Frozen> frozen;
  const float* Bfrozen = frozen_panels(g, transB, B, ldb, N, K, kb, parallel, frozen);
  const int group = shared_b && !Bfrozen ? std::max(NR, static_cast<int>(kMaxPackedB / static_cast<size_t>(K)) / NR * NR) : N;

  float* Ashared = nullptr;  // shared A: row block r, K block b (k from b·size) at r·mb·K + b·size·mb
  if (!shared_b) {
    Ashared = scratch(2, mpad * K);
    run_all(static_cast<size_t>(rows) * kb.count * ap_block, 8, [&](size_t t) {
      const int p = static_cast<int>(t % ap_block), b = static_cast<int>(t / ap_block % kb.count);
      const int r = static_cast<int>(t / ap_block / kb.count);
      const int i = r * mb + p * MR;
      if (i >= M) return;
      const int k0 = b * kb.size, kc = std::min(kb.size, K - k0);
      g.pack_a(transA, A, static_cast<size_t>(lda), i, std::min(MR, M - i), k0, kc, alpha,
               Ashared + static_cast<size_t>(r) * mb * K + static_cast<size_t>(k0) * mb + static_cast<size_t>(p) * MR * kc);
    });
  }

  for (int jg = 0; jg < N; jg += group) {
    const int ng = std::min(group, N - jg);
    const int np = (ng + NR - 1) / NR;  // B panels of the group
    const size_t npad = static_cast<size_t>(np) * NR;
    const float* Bshared = Bfrozen;  // shared B (or frozen): K block b at b·size·npad, its panel q at + q·kcb·NR
    if (shared_b && !Bfrozen) {
      float* packed = scratch(0, npad * K);
      // in pieces of kPackPanels panels per K block
      const int pieces = (np + kPackPanels - 1) / kPackPanels;
      run_all(static_cast<size_t>(kb.count) * pieces, 1, [&](size_t t) {
        const int b = static_cast<int>(t / pieces), q = static_cast<int>(t % pieces) * kPackPanels;
        const int k0 = b * kb.size, kc = std::min(kb.size, K - k0);
        const int j0 = jg + q * NR;
        g.pack_b(transB, B, static_cast<size_t>(ldb), j0, std::min(kPackPanels * NR, jg + ng - j0), k0, kc,
                 packed + static_cast<size_t>(k0) * npad + static_cast<size_t>(q) * kc * NR);
      });
      Bshared = packed;
    }
    int runs = 1;
    if (!shared_b) runs = std::min(np, std::max((want + rows - 1) / rows, (np + max_run - 1) / max_run));
    const int run = (np + runs - 1) / runs;
    const int nruns = (np + run - 1) / run;

    auto task = [&](size_t t) {
      const int r = static_cast<int>(t / nruns);
      const int i0 = r * mb, m = std::min(mb, M - i0);
      const int qa = static_cast<int>(t % nruns) * run, qb = std::min(np, qa + run);
      const int ap = (m + MR - 1) / MR;  // A panels of the block
      float* Aown = shared_b ? scratch(1, static_cast<size_t>(ap) * MR * kb.size) : nullptr;
      float* Bown = Bshared ? nullptr : scratch(1, static_cast<size_t>(run) * NR * kb.size);
      alignas(64) float edge[kGemmMaxTile];
      for (int b = 0; b < kb.count; ++b) {
        const int k0 = b * kb.size, kc = std::min(kb.size, K - k0);
        const float* Ablk;
        if (shared_b) {
          for (int p = 0; p < ap; ++p)
            g.pack_a(transA, A, static_cast<size_t>(lda), i0 + p * MR, std::min(MR, m - p * MR), k0, kc, alpha,
                     Aown + static_cast<size_t>(p) * MR * kc);
          Ablk = Aown;
        } else {
          Ablk = Ashared + static_cast<size_t>(r) * mb * K + static_cast<size_t>(k0) * mb;
          const int j0 = jg + qa * NR;
          if (Bown) g.pack_b(transB, B, static_cast<size_t>(ldb), j0, std::min((qb - qa) * NR, jg + ng - j0), k0, kc, Bown);
        }
        const float bb = b == 0 ? beta : 1.0f;
        const bool last = b + 1 == kb.count;
        for (int q = qa; q < qb; ++q) {
          const float* Bq = Bshared ? Bshared + static_cast<size_t>(k0) * npad + static_cast<size_t>(q) * kc * NR
                                     : Bown + static_cast<size_t>(q - qa) * kc * NR;
          const int j = jg + q * NR, w = std::min(NR, jg + ng - j);
          for (int p = 0; p < ap; ++p) {
            const int i = i0 + p * MR, h = std::min(MR, M - i);
            const float* Apan = Ablk + static_cast<size_t>(p) * MR * kc;
            float* c = C + static_cast<size_t>(i) * ldC + j;
            if (p + 1 < ap)  // the next tile's rows of C, while this one computes
              for (int rr = 0; rr < MR; ++rr) __builtin_prefetch(c + static_cast<size_t>(MR + rr) * ldC, 1);
            if (h == MR && w == NR) {
              g.micro(kc, Apan, Bq, c, ldC, bb);
              continue;
            }
            // Edge tile: through a full tile of scratch (same operations per entry).
            if (bb != 0.0f)
              for (int rr = 0; rr < MR; ++rr)
                for (int cc = 0; cc < NR; ++cc)
                  edge[rr * NR + cc] = rr < h && cc < w ? c[static_cast<size_t>(rr) * ldC + cc] : 0.0f;
            g.micro(kc, Apan, Bq, edge, static_cast<size_t>(NR), bb);
            for (int rr = 0; rr < h; ++rr)
              std::memcpy(c + static_cast<size_t>(rr) * ldC, edge + rr * NR, static_cast<size_t>(w) * sizeof(float));
          }
          if (last && epilogue) (*epilogue)(i0, m, j, w);
        }
      }
    };
    run_all(static_cast<size_t>(rows) * nruns, 1, task);
  }
}

}  // namespace nrem
