#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>

#include "cancel.h"
#include "common.h"

namespace nrem {

namespace {
// True on a thread while it runs a chunk of some pool's parallel_for (workers and the
// calling thread alike): a parallel_for issued from there runs inline (see the header).
thread_local bool t_in_task = false;
// The pool pool() returns on this thread: set by a PoolLease, and on a pool's workers.
thread_local ThreadPool* t_pool = nullptr;
std::atomic<int> g_alive{0};

struct InTask {
  bool saved;
  InTask() : saved(t_in_task) { t_in_task = true; }
  ~InTask() { t_in_task = saved; }
};
}  // namespace

bool ThreadPool::in_task() { return t_in_task; }

ThreadPool::ThreadPool(int threads) {
  threads = std::max(1, threads);
  try {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
  } catch (...) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    throw;
  }
  g_alive.fetch_add(1);
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  g_alive.fetch_sub(1);
}

void ThreadPool::worker_loop(int) {
  t_pool = this;
  uint64_t seen = 0;
  for (;;) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    while (next_ < chunks_) {
      size_t c = next_++;
      const auto* job = job_;
      const CancelToken* cancel = job_cancel_;
      const bool skip = static_cast<bool>(error_);
      size_t b = c * chunk_, e = std::min(n_, b + chunk_);
      lk.unlock();
      if (!skip) {
        try {
          InTask mark;
          CancelScope scope(cancel);
          (*job)(b, e);
        } catch (...) {
          std::lock_guard<std::mutex> g(mu_);
          if (!error_) error_ = std::current_exception();
        }
      }
      lk.lock();
      if (++finished_ == chunks_) done_cv_.notify_all();
    }
  }
}

void ThreadPool::parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn, size_t per_thread) {
  if (n == 0) return;
  grain = std::max<size_t>(1, grain);
  size_t threads = static_cast<size_t>(size());
  if (threads == 1 || n <= grain || t_in_task) {
    fn(0, n);  // inline; a nested call from here may still use the pool unless we are in a chunk
    return;
  }
  std::lock_guard<std::mutex> run(run_mu_);
  size_t chunks = std::min(threads * std::max<size_t>(1, per_thread), (n + grain - 1) / grain);
  size_t chunk = (n + chunks - 1) / chunks;
  chunks = (n + chunk - 1) / chunk;
  std::unique_lock<std::mutex> lk(mu_);
  job_ = &fn;
  job_cancel_ = current_cancel();
  n_ = n;
  chunk_ = chunk;
  chunks_ = chunks;
  next_ = 0;
  finished_ = 0;
  error_ = nullptr;
  ++generation_;
  cv_.notify_all();
  while (next_ < chunks_) {
    size_t c = next_++;
    const bool skip = static_cast<bool>(error_);
    size_t b = c * chunk_, e = std::min(n_, b + chunk_);
    lk.unlock();
    if (!skip) {
      try {
        InTask mark;
        fn(b, e);
      } catch (...) {
        std::lock_guard<std::mutex> g(mu_);
        if (!error_) error_ = std::current_exception();
      }
    }
    lk.lock();
    ++finished_;
  }
  done_cv_.wait(lk, [&] { return finished_ == chunks_; });
  job_ = nullptr;
  job_cancel_ = nullptr;
  auto err = error_;
  error_ = nullptr;
  lk.unlock();
  if (err) std::rethrow_exception(err);
}

namespace {
std::mutex g_pool_mu;
std::shared_ptr<ThreadPool> g_pool;
int g_threads = 0;  // 0: the default

int default_threads() {
  if (const char* env = std::getenv("NREM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return std::min(n, 1024);
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? static_cast<int>(std::min(hc, 1024u)) : 1;
}

std::shared_ptr<ThreadPool> current_pool() {
  std::lock_guard<std::mutex> lk(g_pool_mu);
  if (!g_pool) g_pool = std::make_shared<ThreadPool>(g_threads > 0 ? g_threads : default_threads());
  return g_pool;
}
}  // namespace

ThreadPool& pool() {
  if (t_pool) return *t_pool;
  std::lock_guard<std::mutex> lk(g_pool_mu);
  if (!g_pool) g_pool = std::make_shared<ThreadPool>(g_threads > 0 ? g_threads : default_threads());
  return *g_pool;
}

PoolLease::PoolLease() : saved_(t_pool) {
  if (!t_pool) {
    pool_ = current_pool();
    t_pool = pool_.get();
  }
}

PoolLease::~PoolLease() {
  t_pool = saved_;
  // pool_ (if this lease took one) is released here; the last holder of a replaced pool
  // joins its idle workers.
}

void set_threads(int n) {
  require(n >= 0 && n <= 1024, "ERR_VALUE", "threads must be in [1, 1024] (or 0 for the default), got " + std::to_string(n));
  std::shared_ptr<ThreadPool> old;
  {
    std::lock_guard<std::mutex> lk(g_pool_mu);
    const int want = n > 0 ? n : default_threads();
    const int have = g_threads > 0 ? g_threads : default_threads();
    g_threads = n;
    if (g_pool && want == have) return;
    old = std::move(g_pool);  // running calls hold their own reference
  }
  // `old` is released outside the lock: when no call holds it, its workers are joined here.
}

int get_threads() {
  std::lock_guard<std::mutex> lk(g_pool_mu);
  return g_threads > 0 ? g_threads : default_threads();
}

int pools_alive() { return g_alive.load(); }

}  // namespace nrem
