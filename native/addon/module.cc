#include <napi.h>

#include "../core/cpu.h"
#include "convert.h"
#include "registry.h"

namespace nrem_addon {
std::vector<InitFn>& registry() {
  static std::vector<InitFn> fns;
  return fns;
}
}  // namespace nrem_addon

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // A NREM_ISA this CPU cannot run fails here, with the reason, before any kernel runs.
  try {
    nrem::isa_init();
  } catch (const nrem::Error& e) {
    throw nrem_addon::to_js_error(env, e);
  }
  for (auto fn : nrem_addon::registry()) fn(env, exports);
  return exports;
}

NODE_API_MODULE(nrem, Init)
