#include <napi.h>

#include "registry.h"

namespace nrem_addon {
std::vector<InitFn>& registry() {
  static std::vector<InitFn> fns;
  return fns;
}
}  // namespace nrem_addon

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  for (auto fn : nrem_addon::registry()) fn(env, exports);
  return exports;
}

NODE_API_MODULE(nrem, Init)
