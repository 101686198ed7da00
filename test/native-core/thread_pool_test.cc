// Stand-alone tests of native/core/thread_pool + cancel (no Node): run by
// test/thread-pool.test.ts, and under ThreadSanitizer by scripts/sanitize.sh.
// Prints one line per check and "ok N checks"; exits 1 on the first failure.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../../native/core/cancel.h"
#include "../../native/core/common.h"
#include "../../native/core/thread_pool.h"

using namespace nrem;

static std::atomic<int> checks{0};
#define CHECK(cond, what)                                                        \
  do {                                                                           \
    ++checks;                                                                    \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "FAIL %s (%s:%d): %s\n", what, __FILE__, __LINE__, #cond); \
      std::exit(1);                                                              \
    }                                                                            \
  } while (0)

// Σ f(i) over [0, n) through parallel_for, each index visited once.
static uint64_t covered_sum(ThreadPool& p, size_t n, size_t grain, std::vector<int>* visits = nullptr) {
  std::vector<std::atomic<int>> seen(n);
  std::atomic<uint64_t> sum{0};
  p.parallel_for(n, grain, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      seen[i].fetch_add(1);
      sum.fetch_add(i * i + 1);
    }
  });
  if (visits) {
    visits->resize(n);
    for (size_t i = 0; i < n; ++i) (*visits)[i] = seen[i].load();
  }
  return sum.load();
}

static void test_coverage() {
  for (int threads : {1, 2, 8}) {
    ThreadPool p(threads);
    CHECK(p.size() == threads, "pool size");
    for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{1000}, size_t{100003}}) {
      std::vector<int> v;
      uint64_t want = 0;
      for (size_t i = 0; i < n; ++i) want += i * i + 1;
      CHECK(covered_sum(p, n, 3, &v) == want, "sum over [0, n)");
      bool once = true;
      for (int c : v) once = once && c == 1;
      CHECK(once, "every index exactly once");
    }
  }
  std::puts("coverage: 1, 2 and 8 threads cover [0, n) exactly once");
}

static void test_nesting() {
  ThreadPool p(4);
  std::atomic<int> inline_runs{0}, wrong{0};
  p.parallel_for(64, 1, [&](size_t b, size_t e) {
    CHECK(ThreadPool::in_task(), "in_task inside a chunk");
    const auto me = std::this_thread::get_id();
    for (size_t i = b; i < e; ++i) {
      int calls = 0;
      p.parallel_for(1000, 1, [&](size_t ib, size_t ie) {
        ++calls;
        if (ib != 0 || ie != 1000 || std::this_thread::get_id() != me) wrong.fetch_add(1);
      });
      if (calls == 1) inline_runs.fetch_add(1);
    }
  });
  CHECK(wrong.load() == 0, "a nested parallel_for runs fn(0, n) on the calling chunk's thread");
  CHECK(inline_runs.load() == 64, "each nested parallel_for ran inline exactly once");
  CHECK(!ThreadPool::in_task(), "in_task false outside");
  std::puts("nesting: a parallel_for inside a chunk runs inline (no deadlock)");
}

static void test_exceptions() {
  ThreadPool p(8);  // 32 chunks
  std::atomic<int> ran{0};
  bool threw = false;
  try {
    p.parallel_for(10000, 1, [&](size_t, size_t) {
      // The first chunk to start throws at once; the others take 5 ms each.
      if (ran.fetch_add(1) == 0) throw Error("ERR_VALUE", "boom");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    });
  } catch (const Error& e) {
    threw = std::strcmp(e.code(), "ERR_VALUE") == 0;
  }
  CHECK(threw, "the chunk's exception reaches the caller");
  CHECK(ran.load() < 32, "chunks not started when it was thrown are skipped");
  uint64_t want = 0;
  for (size_t i = 0; i < 5000; ++i) want += i * i + 1;
  CHECK(covered_sum(p, 5000, 1) == want, "the pool works after an exception");
  std::puts("exceptions: re-thrown in the caller, later chunks skipped, pool reusable");
}

static void test_concurrent_callers() {
  ThreadPool p(3);
  std::atomic<int> bad{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      uint64_t want = 0;
      for (size_t i = 0; i < 20000; ++i) want += i * i + 1;
      for (int r = 0; r < 50; ++r)
        if (covered_sum(p, 20000, 16) != want) bad.fetch_add(1);
    });
  for (auto& t : ts) t.join();
  CHECK(bad.load() == 0, "parallel_for from 4 threads at once on one pool");
  std::puts("concurrency: 4 callers x 50 loops on one pool, all correct");
}

static void test_cancel_propagation() {
  ThreadPool p(4);
  CancelToken token;
  int32_t flag = 0;
  token.flag = &flag;
  std::atomic<int> seen_token{0};
  {
    CancelScope scope(&token);
    p.parallel_for(64, 1, [&](size_t, size_t) {
      if (current_cancel() == &token) seen_token.fetch_add(1);
    });
    CHECK(seen_token.load() > 0 && seen_token.load() <= 64, "workers run chunks under the caller's token");
    __atomic_store_n(&flag, 1, __ATOMIC_RELAXED);
    bool aborted = false;
    try {
      p.parallel_for(1 << 20, 1, [&](size_t, size_t) { check_cancel(); });
    } catch (const Error& e) {
      aborted = std::strcmp(e.code(), "ERR_ABORTED") == 0;
    }
    CHECK(aborted, "check_cancel in a chunk throws ERR_ABORTED once the flag is raised");
  }
  CHECK(current_cancel() == nullptr, "the scope is restored");
  check_cancel();  // no token: a no-op
  token.internal.store(1);
  CHECK(token.requested(), "the internal flag also cancels");
  std::puts("cancel: the caller's token reaches the workers");
}

// A "call" holding a lease runs parallel loops while the main thread replaces the pool
// 20 times: it must keep its own pool, get correct results, and the replaced pools must
// be freed once it ends.
static void test_lease_survives_set_threads() {
  set_threads(2);
  const int alive0 = pools_alive();
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, loops{0};
  std::atomic<ThreadPool*> first{nullptr};
  std::vector<std::thread> calls;
  for (int c = 0; c < 3; ++c)
    calls.emplace_back([&] {
      PoolLease lease;
      ThreadPool* mine = &pool();
      first.store(mine);
      uint64_t want = 0;
      for (size_t i = 0; i < 50000; ++i) want += i * i + 1;
      while (!stop.load()) {
        if (&pool() != mine) bad.fetch_add(1);
        if (covered_sum(pool(), 50000, 64) != want) bad.fetch_add(1);
        loops.fetch_add(1);
      }
    });
  while (first.load() == nullptr) std::this_thread::yield();
  for (int k = 0; k < 20; ++k) {
    set_threads(k % 2 ? 2 : 5);
    // A call started now gets the new pool.
    std::thread([&, k] {
      PoolLease lease;
      if (pool().size() != (k % 2 ? 2 : 5)) bad.fetch_add(1);
    }).join();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  stop.store(true);
  for (auto& t : calls) t.join();
  CHECK(bad.load() == 0, "running calls keep their pool and their results across 20 set_threads");
  CHECK(loops.load() > 0, "the calls ran");
  CHECK(pools_alive() <= alive0 + 1, "replaced pools are freed when their last call ends");
  CHECK(get_threads() == 2 || get_threads() == 5, "get_threads reports the last setting");
  std::printf("lease: 3 calls x %d loops while the pool was replaced 20 times, all correct\n", loops.load());
}

static void test_set_threads_range() {
  bool bad_neg = false, bad_big = false;
  try {
    set_threads(-1);
  } catch (const Error& e) {
    bad_neg = std::strcmp(e.code(), "ERR_VALUE") == 0;
  }
  try {
    set_threads(1025);
  } catch (const Error& e) {
    bad_big = std::strcmp(e.code(), "ERR_VALUE") == 0;
  }
  CHECK(bad_neg && bad_big, "set_threads refuses < 0 and > 1024");
  set_threads(3);
  CHECK(get_threads() == 3 && pool().size() == 3, "set_threads(3)");
  set_threads(0);
  CHECK(get_threads() >= 1, "set_threads(0) restores the default");
  std::puts("set_threads: range checked, 0 = default");
}

int main() {
  test_coverage();
  test_nesting();
  test_exceptions();
  test_concurrent_callers();
  test_cancel_propagation();
  test_lease_survives_set_threads();
  test_set_threads_range();
  std::printf("ok %d checks\n", checks.load());
  return 0;
}
