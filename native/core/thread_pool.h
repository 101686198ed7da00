// A small fixed-size thread pool with a static parallel_for. Work is split into
// contiguous chunks by index; callers must make each index's result independent of how
// indices are grouped (that is what keeps results identical for any thread count).
//
// Lifetime (why set_threads cannot pull a pool from under a running call): the
// process-wide pool is reference-counted. A call that runs on a worker thread of the
// addon holds a PoolLease for its whole duration (native/addon/task.cc takes one per
// call), and pool() on that thread — and on the pool's own workers — returns the leased
// pool. set_threads(n) only replaces the pool that calls started AFTER it get; a call
// already running finishes on the pool it started with, which is freed (its workers
// joined) when the last lease on it ends. set_threads never blocks and never fails
// because calls are running. Outside a lease (the main thread's synchronous calls, plain
// C++ use) pool() returns the current pool, valid until the next set_threads on the same
// thread.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace nrem {

struct CancelToken;

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
  // part. Chunks hold at least `grain` indices. The first exception thrown by a chunk is
  // re-thrown in the caller; chunks not yet started when it was thrown are skipped.
  // Workers run their chunks under the caller's cancel token (cancel.h), so a chunk may
  // call check_cancel().
  // Nesting: a parallel_for called from inside a chunk (of this or any pool) runs
  // fn(0, n) inline on that thread, so an outer loop over independent items may call
  // kernels that are themselves parallel (e.g. one GEMM per image) without deadlock.
  // Callers already make results independent of the chunking, so this changes nothing
  // but the schedule. Calls from several threads at once are serialised (one
  // parallel_for at a time per pool).
  // per_thread: chunks per thread at most (default 4); more chunks balance the threads
  // better where one may be slowed (a shared machine), at a small cost per chunk.
  void parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn, size_t per_thread = 4);

 private:
  void worker_loop(int id);
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(size_t, size_t)>* job_ = nullptr;
  const CancelToken* job_cancel_ = nullptr;
  size_t n_ = 0, chunk_ = 0, chunks_ = 0, next_ = 0, finished_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  std::mutex run_mu_;  // one parallel_for at a time per pool
};

// The compute pool of the current call: the leased one on this thread (a call holding a
// PoolLease, or a worker of a pool), else the process-wide current pool. Its size is
// set_threads() or, by default, the hardware concurrency (env NREM_THREADS overrides).
ThreadPool& pool();

// Pins the current pool on this thread until destruction (see the header comment). A
// lease taken on a thread that already has one (nested) pins the same pool.
class PoolLease {
 public:
  PoolLease();
  ~PoolLease();
  PoolLease(const PoolLease&) = delete;
  PoolLease& operator=(const PoolLease&) = delete;
  ThreadPool& get() const { return *pool_; }

 private:
  std::shared_ptr<ThreadPool> pool_;
  ThreadPool* saved_;
};

// n in [1, 1024]: the size of the pool of calls started from now on. 0: the default
// (hardware concurrency or NREM_THREADS). Anything else throws ERR_VALUE.
void set_threads(int n);
int get_threads();
// Pools alive (the current one and any still leased by running calls); for tests.
int pools_alive();

}  // namespace nrem
