// One async primitive for every heavy call: a Napi::AsyncProgressQueueWorker that runs
// `exec` on a worker thread, forwards progress events to an optional JS callback, watches
// a cancel flag (an Int32Array whose element 0 the TypeScript side sets when its
// AbortSignal fires), keeps every JS array it was given alive until it settles, and
// settles a Promise: resolved with done(env), or rejected with a JS Error carrying .code.
// exec must never touch JS values; it reads only the C++ copies and raw array pointers.
#pragma once
#include <napi.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../core/common.h"

namespace nrem_addon {

struct Progress {
  std::string phase;
  double done = 0, total = 0;
  std::vector<std::pair<std::string, double>> values;
};

class Cancel {
 public:
  explicit Cancel(const int32_t* flag = nullptr) : flag_(flag) {}
  bool requested() const { return flag_ && __atomic_load_n(flag_, __ATOMIC_RELAXED) != 0; }
  void check() const {
    if (requested()) throw nrem::Error("ERR_ABORTED", "The operation was aborted");
  }

 private:
  const int32_t* flag_;
};

using ProgressFn = std::function<void(const Progress&)>;
using ExecFn = std::function<void(const ProgressFn&, const Cancel&)>;
using DoneFn = std::function<Napi::Value(Napi::Env)>;

// control: undefined or { onProgress?: (p) => void, cancel?: Int32Array }.
Napi::Promise start_task(Napi::Env env, ExecFn exec, DoneFn done, const std::vector<Napi::Value>& keep_alive,
                         const Napi::Value& control);

}  // namespace nrem_addon
