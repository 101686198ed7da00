#include "cpu.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "common.h"
#include "cpu_target.h"

#if NREM_X86_KERNELS
#include <cpuid.h>
#endif

namespace nrem {

namespace {

const IsaKernels kGeneric{Isa::Generic, gemm_kernel_generic, sleep_kernels_generic, conv_kernels_generic, pool_kernels_generic};
#if NREM_X86_KERNELS
const IsaKernels kGenericFma{Isa::Generic, gemm_kernel_generic_fma, sleep_kernels_generic, conv_kernels_generic_fma, pool_kernels_generic};
const IsaKernels kAvx2{Isa::Avx2, gemm_kernel_avx2, sleep_kernels_avx2, conv_kernels_avx2, pool_kernels_avx2};
const IsaKernels kAvx512{Isa::Avx512, gemm_kernel_avx512, sleep_kernels_avx512, conv_kernels_avx512, pool_kernels_avx512};
// The avx512 path with the AVX2 GEMM micro-kernel (cpu.h: CPUs with half-width AVX-512).
const IsaKernels kAvx512Gemm256{Isa::Avx512, gemm_kernel_avx2, sleep_kernels_avx512, conv_kernels_avx512, pool_kernels_avx512};

bool has_flag(const std::string& name);
// The generic path's GEMM and direct conv built for FMA hardware (gemm_generic.cc,
// conv_direct_generic.cc) when the CPU has it and NREM_FMA=software does not ask for the
// exact software emulation; the same bits either way.
const IsaKernels* generic_kernels() {
  static const IsaKernels* k = [] {
    const char* e = std::getenv("NREM_FMA");
    const bool soft = e && std::strcmp(e, "software") == 0;
    return !soft && has_flag("fma") && has_flag("avx") && has_flag("os-ymm-state") ? &kGenericFma : &kGeneric;
  }();
  return k;
}
#else
const IsaKernels* generic_kernels() { return &kGeneric; }
#endif

// NREM_GEMM_KERNEL: "" (unset or auto), else avx512 or avx2; anything else throws.
std::string gemm_kernel_env() {
  const char* e = std::getenv("NREM_GEMM_KERNEL");
  const std::string v = e && std::strcmp(e, "auto") != 0 ? e : "";
  require(v.empty() || v == "avx512" || v == "avx2", "ERR_VALUE",
          "NREM_GEMM_KERNEL=" + v + " is not a choice (expected avx512, avx2 or auto: the avx512 path's GEMM micro-kernel)");
  return v;
}

// The avx512 path's GEMM kernel (cpu.h): 0 auto (the CPU rule), 1 avx512, 2 avx2; +4 when
// forced at run time (setGemmKernel) rather than by NREM_GEMM_KERNEL; -1 until
// NREM_GEMM_KERNEL is read.
std::atomic<int> g_gemm_choice{-1};
const char* const kGemmChoices[] = {"auto", "avx512", "avx2"};

int gemm_choice() {
  int c = g_gemm_choice.load(std::memory_order_acquire);
  if (c >= 0) return c;
  const std::string v = gemm_kernel_env();
  const int want = v.empty() ? 0 : v == "avx512" ? 1 : 2;
  g_gemm_choice.compare_exchange_strong(c, want);
  return g_gemm_choice.load();
}

// AMD family 19h with AVX-512 is Zen 4, which runs a 512-bit FMA as two 256-bit halves.
bool half_width_avx512() {
  const CpuFeatures& f = cpu_features();
  return f.vendor == "AuthenticAMD" && f.family == 0x19;
}

#if NREM_X86_KERNELS
const IsaKernels* avx512_kernels() {
  const int c = gemm_choice() & 3;
  return c == 2 || (c == 0 && half_width_avx512()) ? &kAvx512Gemm256 : &kAvx512;
}
#endif

// The dispatch table: one entry per path compiled into this build.
const IsaKernels* table(Isa isa) {
  switch (isa) {
#if NREM_X86_KERNELS
    case Isa::Avx2:
      return &kAvx2;
    case Isa::Avx512:
      return avx512_kernels();
#endif
    case Isa::Generic:
      return generic_kernels();
    default:
      return nullptr;
  }
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& f : v) s += (s.empty() ? "" : " ") + f;
  return s;
}

CpuFeatures detect() {
  CpuFeatures f;
#if NREM_X86_KERNELS
  unsigned a = 0, b = 0, c = 0, d = 0;
  const unsigned max_ext = __get_cpuid_max(0x80000000u, nullptr);
  if (max_ext >= 0x80000004u) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      __cpuid(0x80000002u + i, a, b, c, d);
      std::memcpy(brand + 16 * i, &a, 4);
      std::memcpy(brand + 16 * i + 4, &b, 4);
      std::memcpy(brand + 16 * i + 8, &c, 4);
      std::memcpy(brand + 16 * i + 12, &d, 4);
    }
    std::string s(brand);
    const size_t p = s.find_first_not_of(' ');
    f.model = p == std::string::npos ? "" : s.substr(p, s.find_last_not_of(' ') - p + 1);
  }
  if (f.model.empty()) f.model = "unknown x86-64";
  __cpuid(0, a, b, c, d);
  const unsigned max_leaf = a;
  {
    char vendor[13] = {};
    std::memcpy(vendor, &b, 4);
    std::memcpy(vendor + 4, &d, 4);
    std::memcpy(vendor + 8, &c, 4);
    f.vendor = vendor;
  }
  unsigned c1 = 0, d1 = 0, b7 = 0;
  if (max_leaf >= 1) {
    __cpuid(1, a, b, c1, d1);
    const int base = static_cast<int>((a >> 8) & 0xF);
    f.family = base == 0xF ? base + static_cast<int>((a >> 20) & 0xFF) : base;
  }
  if (max_leaf >= 7) __cpuid_count(7, 0, a, b7, c, d);
  // The OS must save the YMM (XCR0 bits 1-2) and ZMM/opmask (bits 5-7) state.
  unsigned long long xcr0 = 0;
  if (c1 & bit_OSXSAVE) {
    unsigned lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = (static_cast<unsigned long long>(hi) << 32) | lo;
  }
  const bool os_ymm = (xcr0 & 0x6) == 0x6, os_zmm = os_ymm && (xcr0 & 0xE0) == 0xE0;
  struct Flag {
    const char* name;
    bool has;
    bool avx512;  // needed by the avx512 path only
  };
  const Flag flags[] = {
      {"avx", (c1 & bit_AVX) != 0, false},         {"avx2", (b7 & bit_AVX2) != 0, false},
      {"fma", (c1 & bit_FMA) != 0, false},         {"bmi1", (b7 & bit_BMI) != 0, false},
      {"bmi2", (b7 & bit_BMI2) != 0, false},       {"popcnt", (c1 & bit_POPCNT) != 0, false},
      {"f16c", (c1 & bit_F16C) != 0, false},       {"os-ymm-state", os_ymm, false},
      {"avx512f", (b7 & bit_AVX512F) != 0, true},  {"avx512dq", (b7 & bit_AVX512DQ) != 0, true},
      {"avx512vl", (b7 & bit_AVX512VL) != 0, true}, {"avx512bw", (b7 & bit_AVX512BW) != 0, true},
      {"avx512cd", (b7 & bit_AVX512CD) != 0, true}, {"os-zmm-state", os_zmm, true},
  };
  for (const Flag& fl : flags) {
    if (fl.has)
      f.flags.push_back(fl.name);
    else
      (fl.avx512 ? f.missing_avx512 : f.missing_avx2).push_back(fl.name);
  }
  // avx512 needs everything avx2 needs too
  f.missing_avx512.insert(f.missing_avx512.begin(), f.missing_avx2.begin(), f.missing_avx2.end());
#else
#if defined(__aarch64__)
  f.model = "arm64";
#else
  f.model = "unknown (not x86-64)";
#endif
  f.missing_avx2 = {"x86-64"};
  f.missing_avx512 = {"x86-64"};
#endif
  return f;
}

#if NREM_X86_KERNELS
bool has_flag(const std::string& name) {
  const auto& f = cpu_features().flags;
  return std::find(f.begin(), f.end(), name) != f.end();
}
#endif

std::once_flag g_once;
std::atomic<const IsaKernels*> g_kernels{nullptr};
std::string g_reason, g_initial_reason;
Isa g_initial = Isa::Generic;
std::mutex g_reason_mu;

Isa best_supported() {
  if (isa_supported(Isa::Avx512)) return Isa::Avx512;
  if (isa_supported(Isa::Avx2)) return Isa::Avx2;
  return Isa::Generic;
}

// Why `isa` cannot run here, or "" when it can.
std::string why_not(Isa isa) {
  if (!isa_compiled(isa)) return std::string("this build has no ") + isa_name(isa) + " kernels (not an x86-64 build)";
  const CpuFeatures& f = cpu_features();
  const auto& miss = isa == Isa::Avx512 ? f.missing_avx512 : isa == Isa::Avx2 ? f.missing_avx2 : std::vector<std::string>{};
  if (miss.empty()) return "";
  return "this CPU (" + f.model + ") lacks " + join(miss);
}

std::string auto_reason(Isa chosen) {
  const CpuFeatures& f = cpu_features();
  switch (chosen) {
    case Isa::Avx512:
      return "auto: the CPU has AVX-512 (avx512f dq vl bw cd)";
    case Isa::Avx2:
      return "auto: the CPU has avx2 and fma but lacks " + join(f.missing_avx512);
    default:
      return "auto: " + why_not(Isa::Avx2);
  }
}

void init_once() {
  std::call_once(g_once, [] {
    gemm_kernel_env();  // a bad NREM_GEMM_KERNEL fails at load, whatever the path
    const char* fma = std::getenv("NREM_FMA");
    require(!fma || !*fma || std::strcmp(fma, "auto") == 0 || std::strcmp(fma, "software") == 0, "ERR_VALUE",
            std::string("NREM_FMA=") + (fma ? fma : "") + " is not a choice (expected software or auto)");
    const char* env = std::getenv("NREM_ISA");
    Isa isa;
    std::string reason;
    if (env && *env && std::strcmp(env, "auto") != 0) {
      require(std::strcmp(env, "generic") == 0 || std::strcmp(env, "avx2") == 0 || std::strcmp(env, "avx512") == 0,
              "ERR_VALUE", std::string("NREM_ISA=") + env + " is not a CPU path (expected generic, avx2, avx512 or auto)");
      isa = parse_isa(env);
      const std::string why = why_not(isa);
      require(why.empty(), "ERR_BACKEND",
              std::string("NREM_ISA=") + env + " asks for the " + isa_name(isa) + " kernels, but " + why +
                  "; unset NREM_ISA or choose one of: generic" + (isa_supported(Isa::Avx2) ? ", avx2" : "") +
                  (isa_supported(Isa::Avx512) ? ", avx512" : ""));
      reason = std::string("forced by NREM_ISA=") + env;
    } else {
      isa = best_supported();
      reason = auto_reason(isa);
    }
    {
      std::lock_guard<std::mutex> lk(g_reason_mu);
      g_reason = g_initial_reason = reason;
      g_initial = isa;
    }
    g_kernels = table(isa);
  });  // a bad NREM_ISA throws here, and again on every later call (call_once retries)
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx2:
      return "avx2";
    case Isa::Avx512:
      return "avx512";
    default:
      return "generic";
  }
}

Isa parse_isa(const std::string& name) {
  if (name == "generic") return Isa::Generic;
  if (name == "avx2") return Isa::Avx2;
  if (name == "avx512") return Isa::Avx512;
  throw Error("ERR_VALUE", "Unknown ISA '" + name + "' (expected generic, avx2 or avx512)");
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

bool isa_compiled(Isa isa) { return table(isa) != nullptr; }

bool isa_supported(Isa isa) {
  if (!isa_compiled(isa)) return false;
  if (isa == Isa::Generic) return true;
  const CpuFeatures& f = cpu_features();
  return (isa == Isa::Avx512 ? f.missing_avx512 : f.missing_avx2).empty();
}

void isa_init() { init_once(); }

const IsaKernels& kernels() {
  const IsaKernels* k = g_kernels.load(std::memory_order_acquire);
  if (k) return *k;
  init_once();
  return *g_kernels.load();
}

Isa current_isa() { return kernels().isa; }

std::string gemm_kernel_reason() {
  if (kernels().isa != Isa::Avx512) return std::string("the ") + isa_name(kernels().isa) + " path's own kernel";
  const int c = gemm_choice();
  const std::string name = kGemmChoices[c & 3];
  if (c & 4) return "set at run time (setGemmKernel('" + name + "'))";
  if (c != 0) return "forced by NREM_GEMM_KERNEL=" + name;
  return half_width_avx512() ? "auto: this CPU (AMD family 19h, Zen 4) runs a 512-bit FMA as two 256-bit halves, so the "
                               "AVX2 kernel has the same peak with less row padding"
                             : "auto: the avx512 path's own kernel";
}

std::string isa_reason() {
  kernels();
  std::lock_guard<std::mutex> lk(g_reason_mu);
  return g_reason;
}

void set_gemm_kernel(const std::string& choice) {
  require(choice == "auto" || choice == "avx512" || choice == "avx2", "ERR_VALUE",
          "Unknown GEMM kernel '" + choice + "' (expected auto, avx512 or avx2: the avx512 path's GEMM micro-kernel)");
  kernels();
  g_gemm_choice = choice == "auto" ? 0 : (choice == "avx512" ? 1 : 2) | 4;  // "auto": the CPU rule, as at load
  if (kernels().isa == Isa::Avx512) g_kernels = table(Isa::Avx512);
}

void set_isa(Isa isa) {
  kernels();
  const std::string why = why_not(isa);
  require(why.empty(), "ERR_BACKEND", std::string("Cannot use the ") + isa_name(isa) + " kernels: " + why);
  {
    std::lock_guard<std::mutex> lk(g_reason_mu);
    g_reason = isa == g_initial ? g_initial_reason : std::string("set at run time (setIsa('") + isa_name(isa) + "'))";
  }
  g_kernels = table(isa);
}

}  // namespace nrem
