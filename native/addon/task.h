// One async primitive for every heavy call: a Napi::AsyncProgressQueueWorker that runs
// `exec` on a worker thread, forwards progress events to an optional JS callback, watches
// a cancel flag (an Int32Array whose element 0 the TypeScript side sets when its
// AbortSignal fires), keeps every JS array it was given alive until it settles, and
// settles a Promise: resolved with done(env), or rejected with a JS Error carrying .code.
// exec must never touch JS values; it reads only the C++ copies and raw array pointers.
//
// For its whole duration exec runs under a PoolLease (set_threads cannot free the pool it
// uses, native/core/thread_pool.h) and a CancelScope (any core loop may check_cancel(),
// native/core/cancel.h). A progress callback that throws stops the call at its next
// cancellation check and rejects the Promise with the callback's own error (also when
// the work had already finished); the callback is not called again.
#pragma once
#include <napi.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../core/cancel.h"
#include "../core/common.h"

namespace nrem_addon {

struct Progress {
  std::string phase;
  double done = 0, total = 0;
  std::vector<std::pair<std::string, double>> values;
};

// The call's cancel token as exec sees it (the same token check_cancel() reads).
class Cancel {
 public:
  explicit Cancel(const nrem::CancelToken* token = nullptr) : token_(token) {}
  bool requested() const { return token_ && token_->requested(); }
  void check() const {
    if (requested()) throw nrem::Error("ERR_ABORTED", "The operation was aborted");
  }

 private:
  const nrem::CancelToken* token_;
};

using ProgressFn = std::function<void(const Progress&)>;
using ExecFn = std::function<void(const ProgressFn&, const Cancel&)>;
using DoneFn = std::function<Napi::Value(Napi::Env)>;

// control: undefined or { onProgress?: (p) => void, cancel?: Int32Array }.
Napi::Promise start_task(Napi::Env env, ExecFn exec, DoneFn done, const std::vector<Napi::Value>& keep_alive,
                         const Napi::Value& control);

}  // namespace nrem_addon
