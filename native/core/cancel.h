// Cancellation of a running call, reachable from any core loop without passing a flag
// through every signature.
//
// The addon's task (native/addon/task.cc) owns one CancelToken per call: the JavaScript
// side raises `flag` (element 0 of a shared Int32Array) when the AbortSignal fires, and the
// addon raises `internal` itself (a progress callback threw). For the duration of the call
// the token is installed on the thread that runs it (CancelScope), and the thread pool
// installs the caller's token on each worker while it runs a chunk of that caller's
// parallel_for. So a kernel anywhere below the call may poll cancel_requested() or call
// check_cancel() (throws ERR_ABORTED) between units of work; with no token installed
// (plain C++ use, tests) both are no-ops.
//
// Contract for long loops: poll at least every ~50 ms of work, and only between units
// whose partial results are either discarded or complete (an aborted call leaves no
// half-written state that a later call would read).
#pragma once
#include <atomic>
#include <cstdint>

namespace nrem {

struct CancelToken {
  const int32_t* flag = nullptr;  // raised by JavaScript (AbortSignal); may be null
  std::atomic<int> internal{0};   // raised by the addon
  bool requested() const {
    return internal.load(std::memory_order_relaxed) != 0 ||
           (flag != nullptr && __atomic_load_n(flag, __ATOMIC_RELAXED) != 0);
  }
};

// The token installed on this thread, or null.
const CancelToken* current_cancel();

// Installs `token` on this thread until destruction (restores the previous one).
class CancelScope {
 public:
  explicit CancelScope(const CancelToken* token);
  ~CancelScope();
  CancelScope(const CancelScope&) = delete;
  CancelScope& operator=(const CancelScope&) = delete;

 private:
  const CancelToken* saved_;
};

inline bool cancel_requested() {
  const CancelToken* t = current_cancel();
  return t != nullptr && t->requested();
}

// Throws nrem::Error("ERR_ABORTED") when the current call was cancelled.
void check_cancel();

}  // namespace nrem
