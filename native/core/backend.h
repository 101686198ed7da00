// Which compute backend runs a call. Entry points that have a CUDA implementation take a
// Backend in their options: Cpu, Cuda (ERR_BACKEND with the reason when no usable GPU),
// or Auto (Cuda when available, else Cpu, keeping the reason for the caller).
#pragma once
#include <string>

#include "common.h"

namespace nrem {

enum class Backend { Cpu = 0, Cuda = 1, Auto = 2 };

Backend parse_backend(const std::string& name);  // "cpu" | "cuda" | "auto", else ERR_VALUE
const char* backend_name(Backend b);

struct BackendChoice {
  Backend backend = Backend::Cpu;  // Cpu or Cuda, never Auto
  std::string reason;              // why Auto fell back to the CPU (empty otherwise)
};

BackendChoice resolve_backend(Backend requested);

}  // namespace nrem
