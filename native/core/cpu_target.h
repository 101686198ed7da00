// Compiling one file's kernels for an instruction set above the build's baseline, for
// runtime dispatch (cpu.h). Usage in a kernel file, after all its #includes:
//   #if NREM_X86_KERNELS
//   NREM_TARGET_AVX2_BEGIN
//   namespace nrem { namespace { ...kernels... } const GemmKernel gemm_kernel_avx2 = {...}; }
//   NREM_TARGET_END
//   #endif
// Everything defined between BEGIN and END may use the path's instructions, so it must be
// reached only through the dispatch table and must have internal linkage (anonymous
// namespace) except the table itself: an inline function or template with external linkage
// compiled here could be picked by the linker for baseline callers. Headers are included
// before BEGIN for the same reason.
#pragma once

#if (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__)
#define NREM_X86_KERNELS 1
#else
#define NREM_X86_KERNELS 0
#endif

#define NREM_ISA_AVX2_FLAGS "avx,avx2,fma,bmi,bmi2,popcnt,f16c"
#define NREM_ISA_AVX512_FLAGS "avx,avx2,fma,bmi,bmi2,popcnt,f16c,avx512f,avx512dq,avx512vl,avx512bw,avx512cd"

#if defined(__clang__)
#define NREM_PRAGMA(x) _Pragma(#x)
#define NREM_TARGET_BEGIN_(flags) NREM_PRAGMA(clang attribute push(__attribute__((target(flags))), apply_to = function))
#define NREM_TARGET_END _Pragma("clang attribute pop")
#elif defined(__GNUC__)
#define NREM_PRAGMA(x) _Pragma(#x)
#define NREM_TARGET_BEGIN_(flags) _Pragma("GCC push_options") NREM_PRAGMA(GCC target(flags))
#define NREM_TARGET_END _Pragma("GCC pop_options")
#endif

#define NREM_TARGET_AVX2_BEGIN NREM_TARGET_BEGIN_(NREM_ISA_AVX2_FLAGS)
#define NREM_TARGET_AVX512_BEGIN NREM_TARGET_BEGIN_(NREM_ISA_AVX512_FLAGS)
