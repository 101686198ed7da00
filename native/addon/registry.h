// Each addon source file registers its exports with NREM_ADDON_MODULE(fn); module.cc
// calls every registered fn at load time. Adding a binding never touches another file.
#pragma once
#include <napi.h>

#include <vector>

namespace nrem_addon {

using InitFn = void (*)(Napi::Env, Napi::Object);
std::vector<InitFn>& registry();
struct Registrar {
  explicit Registrar(InitFn fn) { registry().push_back(fn); }
};

}  // namespace nrem_addon

#define NREM_ADDON_MODULE(fn) static ::nrem_addon::Registrar nrem_registrar_##fn(fn)
