// Runtime CPU dispatch: the one place that decides which instruction-set path the hot
// kernels run on. The addon is compiled for baseline x86-64 (or any other target, e.g.
// arm64); the AVX2+FMA and AVX-512 variants of each kernel are compiled in their own
// files under a GCC/Clang target pragma (cpu_target.h) and picked here at load time.
//
//   paths:    generic  plain C++ / GCC vector extensions (SSE2 on x86-64, NEON on arm64)
//             avx2     x86-64 with AVX, AVX2, FMA, BMI1/2, POPCNT (and the OS saving YMM state)
//             avx512   avx2 + AVX-512 F, DQ, VL, BW, CD (Skylake-X and later; OS saving ZMM state)
//   choice:   NREM_ISA=avx512|avx2|generic forces a path (an error at load if this CPU or
//             this build cannot run it); unset or "auto": the widest path the CPU runs.
//             The generic GEMM and direct conv use the CPU's FMA instructions where it has
//             them (fma, avx, OS YMM state), else an exact software fma (fma_soft.h);
//             NREM_FMA=software forces the latter on x86-64 (tests, benchmarks; arm64
//             always has FMA).
//             The avx512 path's GEMM uses the 12x32 AVX-512 micro-kernel, except on CPUs
//             that execute a 512-bit FMA as two 256-bit halves (AMD family 19h, Zen 4),
//             where the AVX2 6x16 kernel has the same peak and pads a mini-batch of 100 rows
//             to 102 rows instead of 108 (measured on a Zen 4 EPYC: the paper-recipe
//             training epoch 10-15 % faster); its other kernels stay AVX-512.
//             NREM_GEMM_KERNEL=avx512|avx2 forces the avx512 path's GEMM kernel (tests,
//             benchmarks; "auto" or unset: the rule above); the other paths always use
//             their own.
//   results:  bit-identical on every path: the sleep kernels give the same spikes and
//             weights, the GEMM and direct-conv kernels compute every entry as the same
//             chain of fused multiply-adds in the same order (gemm_kernels.h,
//             layers/conv_kernels.h), and the 2×2 pooling kernels apply the scalar rule's
//             comparisons and sums (layers/pool_kernels.h). Every other kernel of the
//             forward, backward, training and attacks (bias, activations, losses, im2col,
//             other pooling windows, optimizers) is compiled once, for the baseline, and runs
//             the same instructions whatever the path; none depends on the GEMM's tile sizes.
#pragma once
#include <string>
#include <vector>

#include "gemm_kernels.h"
#include "layers/conv_kernels.h"
#include "layers/pool_kernels.h"
#include "sleep_kernels.h"

namespace nrem {

enum class Isa : int { Generic = 0, Avx2 = 1, Avx512 = 2 };

const char* isa_name(Isa isa);

// What the CPU offers (cpuid + xgetbv; all false off x86-64).
struct CpuFeatures {
  std::string model;   // brand string, e.g. "AMD EPYC 7B13"
  std::string vendor;  // cpuid vendor, e.g. "AuthenticAMD", "GenuineIntel" ("" off x86-64)
  int family = 0;      // display family (base + extended), e.g. 0x19 for AMD Zen 3/4
  std::vector<std::string> flags;  // the flags the paths need that the CPU has
  std::vector<std::string> missing_avx2, missing_avx512;  // flags a path needs that it lacks
};
const CpuFeatures& cpu_features();

bool isa_compiled(Isa isa);   // this build has the path's kernels
bool isa_supported(Isa isa);  // compiled, and this CPU (and OS) can run it

// The kernels of every hot loop for one path.
struct IsaKernels {
  Isa isa;
  GemmKernel gemm;
  SleepKernels sleep;
  ConvKernels conv;
  PoolKernels pool;
};

// The path in use; the first call reads NREM_ISA (throws ERR_BACKEND naming the missing
// flags when the forced path cannot run here, ERR_VALUE for an unknown name).
const IsaKernels& kernels();
Isa current_isa();
std::string isa_reason();  // why this path: "NREM_ISA=avx2" or "auto: ...".
// Why the path in use runs its GEMM micro-kernel (kernels().gemm): the path's own, or on
// the avx512 path the rule or NREM_GEMM_KERNEL that chose it.
std::string gemm_kernel_reason();
// Called by the addon at load so that a bad NREM_ISA fails there, not mid-run.
void isa_init();
// Switches the path for later calls (tests, benchmarks); throws ERR_BACKEND if this CPU
// cannot run it. Calls already running keep the kernels they started with.
void set_isa(Isa isa);
Isa parse_isa(const std::string& name);  // "generic"|"avx2"|"avx512", else ERR_VALUE
// Chooses the avx512 path's GEMM micro-kernel for later calls: "auto" (the CPU rule above),
// "avx512" or "avx2" (tests, benchmarks); ERR_VALUE for another name. No effect on the
// kernels of the other paths, nor on results (every kernel gives the same bits).
void set_gemm_kernel(const std::string& choice);

}  // namespace nrem
