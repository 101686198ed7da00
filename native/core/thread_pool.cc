#include "thread_pool.h"

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace nrem {

namespace {
// True on a thread while it runs a chunk of some pool's parallel_for (workers and the
// calling thread alike): a parallel_for issued from there runs inline (see the header).
thread_local bool t_in_task = false;

struct InTask {
  bool saved;
  InTask() : saved(t_in_task) { t_in_task = true; }
  ~InTask() { t_in_task = saved; }
};
}  // namespace

bool ThreadPool::in_task() { return t_in_task; }

ThreadPool::ThreadPool(int threads) {
  threads = std::max(1, threads);
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::worker_loop(int) {
  uint64_t seen = 0;
  for (;;) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    while (next_ < chunks_) {
      size_t c = next_++;
      const auto* job = job_;
      size_t b = c * chunk_, e = std::min(n_, b + chunk_);
      lk.unlock();
      try {
        InTask mark;
        (*job)(b, e);
      } catch (...) {
        std::lock_guard<std::mutex> g(mu_);
        if (!error_) error_ = std::current_exception();
      }
      lk.lock();
      if (++finished_ == chunks_) done_cv_.notify_all();
    }
  }
}

void ThreadPool::parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  grain = std::max<size_t>(1, grain);
  size_t threads = static_cast<size_t>(size());
  if (threads == 1 || n <= grain || t_in_task) {
    fn(0, n);  // inline; a nested call from here may still use the pool unless we are in a chunk
    return;
  }
  std::lock_guard<std::mutex> run(run_mu_);
  size_t chunks = std::min(threads * 4, (n + grain - 1) / grain);
  size_t chunk = (n + chunks - 1) / chunks;
  chunks = (n + chunk - 1) / chunk;
  std::unique_lock<std::mutex> lk(mu_);
  job_ = &fn;
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
    size_t b = c * chunk_, e = std::min(n_, b + chunk_);
    lk.unlock();
    try {
      InTask mark;
      fn(b, e);
    } catch (...) {
      std::lock_guard<std::mutex> g(mu_);
      if (!error_) error_ = std::current_exception();
    }
    lk.lock();
    ++finished_;
  }
  done_cv_.wait(lk, [&] { return finished_ == chunks_; });
  job_ = nullptr;
  auto err = error_;
  error_ = nullptr;
  lk.unlock();
  if (err) std::rethrow_exception(err);
}

namespace {
std::mutex g_pool_mu;
std::unique_ptr<ThreadPool> g_pool;
int g_threads = 0;

int default_threads() {
  if (const char* env = std::getenv("NREM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? static_cast<int>(hc) : 1;
}
}  // namespace

ThreadPool& pool() {
  std::lock_guard<std::mutex> lk(g_pool_mu);
  if (!g_pool) {
    if (g_threads <= 0) g_threads = default_threads();
    g_pool = std::make_unique<ThreadPool>(g_threads);
  }
  return *g_pool;
}

void set_threads(int n) {
  std::lock_guard<std::mutex> lk(g_pool_mu);
  if (n <= 0) n = default_threads();
  if (g_pool && n == g_threads) return;
  g_threads = n;
  g_pool.reset();
}

int get_threads() {
  std::lock_guard<std::mutex> lk(g_pool_mu);
  return g_threads > 0 ? g_threads : default_threads();
}

}  // namespace nrem
