// Binding for tests and benchmarks of the GEMM kernels (synchronous; small sizes only).
//   gemm(kernel: "current"|"native"|"frozen", transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
//   C[M×N] = alpha·op(A)·op(B) + beta·C, row-major with row strides lda, ldb, ldc.
//   "frozen": the own kernel with B registered as a FrozenOperand (rows × cols as stored),
//   called twice — once on a copy of C (packs B's panels), then on C (reuses them).
#include <vector>

#include "../core/gemm.h"
#include "convert.h"
#include "registry.h"

namespace nrem_addon {
namespace {

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    nrem::require(info.Length() == 14, "ERR_ARGUMENT", "gemm expects 14 arguments");
    nrem::require(info[0].IsString(), "ERR_ARGUMENT", "Expected a string for kernel");
    std::string kernel = info[0].As<Napi::String>().Utf8Value();
    nrem::require(kernel == "current" || kernel == "native" || kernel == "frozen", "ERR_VALUE",
                  "kernel must be current, native or frozen");
    auto num = [&](int i, const char* name) {
      nrem::require(info[i].IsNumber(), "ERR_ARGUMENT", std::string("Expected a number for ") + name);
      return info[i].As<Napi::Number>().DoubleValue();
    };
    const bool ta = info[1].ToBoolean(), tb = info[2].ToBoolean();
    const int M = static_cast<int>(num(3, "M")), N = static_cast<int>(num(4, "N")), K = static_cast<int>(num(5, "K"));
    const float alpha = static_cast<float>(num(6, "alpha")), beta = static_cast<float>(num(11, "beta"));
    const int lda = static_cast<int>(num(8, "lda")), ldb = static_cast<int>(num(10, "ldb")),
              ldc = static_cast<int>(num(13, "ldc"));
    nrem::require(M >= 0 && N >= 0 && K >= 0, "ERR_VALUE", "M, N, K must be >= 0");
    const int arows = ta ? K : M, acols = ta ? M : K, brows = tb ? N : K, bcols = tb ? K : N;
    nrem::require(lda >= acols && ldb >= bcols && ldc >= N, "ERR_VALUE", "leading dimensions too small");
    F32 A = get_f32(info[7], "A"), B = get_f32(info[9], "B"), C = get_f32(info[12], "C");
    auto need = [](int rows, int ld, int cols) { return rows == 0 ? 0 : static_cast<size_t>(rows - 1) * ld + cols; };
    nrem::require(A.length >= need(arows, lda, acols) && B.length >= need(brows, ldb, bcols) &&
                      C.length >= need(M, ldc, N),
                  "ERR_SHAPE", "a matrix is shorter than its dimensions say");
    if (kernel == "frozen") {
      nrem::FrozenOperand frozen(B.data, brows, bcols);
      std::vector<float> first(C.data, C.data + C.length);
      nrem::sgemm_native(ta, tb, M, N, K, alpha, A.data, lda, B.data, ldb, beta, first.data(), ldc);
      nrem::sgemm_native(ta, tb, M, N, K, alpha, A.data, lda, B.data, ldb, beta, C.data, ldc);
    } else if (kernel == "native")
      nrem::sgemm_native(ta, tb, M, N, K, alpha, A.data, lda, B.data, ldb, beta, C.data, ldc);
    else
      nrem::sgemm(ta, tb, M, N, K, alpha, A.data, lda, B.data, ldb, beta, C.data, ldc);
    return info.Env().Undefined();
  });
}

void Init(Napi::Env env, Napi::Object exports) { exports.Set("gemm", Napi::Function::New(env, Gemm)); }

}  // namespace
NREM_ADDON_MODULE(Init);
}  // namespace nrem_addon
