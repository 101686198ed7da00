// A small fixed-size thread pool with a static parallel_for. Work is split into
// contiguous chunks by index; callers must make each index's result independent of how
// indices are grouped (that is what keeps results identical for any thread count).
#pragma once
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace nrem {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  // True while the current thread runs a chunk of a parallel_for.
  static bool in_task();

  // Calls fn(begin, end) on disjoint chunks covering [0, n); the calling thread takes
  // part. Chunks hold at least `grain` indices. Exceptions are re-thrown in the caller.
  // Nesting: a parallel_for called from inside a chunk (of this or any pool) runs
  // fn(0, n) inline on that thread, so an outer loop over independent items may call
  // kernels that are themselves parallel (e.g. one GEMM per image) without deadlock.
  // Callers already make results independent of the chunking, so this changes nothing
  // but the schedule.
  void parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn);

 private:
  void worker_loop(int id);
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(size_t, size_t)>* job_ = nullptr;
  size_t n_ = 0, chunk_ = 0, chunks_ = 0, next_ = 0, finished_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  std::mutex run_mu_;  // one parallel_for at a time per pool
};

// The process-wide compute pool used by the core. Size = set_threads() or, by default,
// the hardware concurrency (env NREM_THREADS overrides).
ThreadPool& pool();
void set_threads(int n);
int get_threads();

}  // namespace nrem
