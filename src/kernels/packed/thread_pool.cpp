// A small persistent thread pool for the packed kernels: n-1 worker threads plus the caller.
// Workers spin briefly for new work (decode GEMVs take well under a millisecond, so waking a
// sleeping thread would cost a noticeable share), then sleep on a condition variable.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "common/error.h"
#include "kernels/packed/internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define AS_CPU_RELAX() _mm_pause()
#else
#define AS_CPU_RELAX() ((void)0)
#endif

namespace as::packed {
namespace detail {
namespace {

thread_local bool tl_in_pool_task = false;

class Pool {
 public:
  static Pool& get() {
    static Pool p;
    return p;
  }
  ~Pool() { stop_workers(); }

  int threads() const { return n_threads_.load(std::memory_order_relaxed); }

  void set_threads(int n) {
    std::lock_guard<std::mutex> run_lock(run_mu_);
    if (n == n_threads_.load()) return;
    stop_workers();
    n_threads_.store(n);
    start_workers();
  }

  void run(int64_t n_tasks, FnRef<void(int64_t)> fn) {
    if (n_tasks <= 0) return;
    if (n_tasks == 1 || tl_in_pool_task || n_threads_.load(std::memory_order_relaxed) == 1) {
      for (int64_t t = 0; t < n_tasks; ++t) fn(t);
      return;
    }
    std::lock_guard<std::mutex> run_lock(run_mu_);
    job_fn_ = &fn;
    job_tasks_ = n_tasks;
    next_task_.store(0, std::memory_order_relaxed);
    // Every worker takes part in every job (and is waited for), so none can lag into the next.
    pending_.store(int(workers_.size()), std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lk(mu_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    work();
    // Wait for the helpers that took part.
    for (int spin = 0; pending_.load(std::memory_order_acquire) != 0; ++spin) {
      if (spin < 20000)
        AS_CPU_RELAX();
      else
        std::this_thread::yield();
    }
    job_fn_ = nullptr;
  }

 private:
  Pool() {
    n_threads_.store(2);
    start_workers();
  }

  void work() {
    const bool was = tl_in_pool_task;
    tl_in_pool_task = true;
    for (;;) {
      const int64_t t = next_task_.fetch_add(1, std::memory_order_relaxed);
      if (t >= job_tasks_) break;
      (*job_fn_)(t);
    }
    tl_in_pool_task = was;
  }

  // `seen` is the generation when the worker was created: a job posted before the thread gets to
  // run must still count as new for it (the caller waits for every worker).
  void worker_main(uint64_t seen) {
    for (;;) {
      // Spin a little, then sleep.
      uint64_t g = seen;
      for (int spin = 0; spin < 4000; ++spin) {
        g = generation_.load(std::memory_order_acquire);
        if (g != seen || stop_.load(std::memory_order_relaxed)) break;
        AS_CPU_RELAX();
      }
      if (g == seen) {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] {
          return generation_.load(std::memory_order_acquire) != seen || stop_.load(std::memory_order_relaxed);
        });
        g = generation_.load(std::memory_order_acquire);
      }
      if (stop_.load(std::memory_order_relaxed)) return;
      seen = g;
      work();
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  void start_workers() {
    stop_.store(false);
    for (int i = 0; i + 1 < n_threads_.load(); ++i)
      workers_.emplace_back([this, g = generation_.load()] { worker_main(g); });
  }
  void stop_workers() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_.store(true);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  std::atomic<int> n_threads_{1};
  std::vector<std::thread> workers_;
  std::mutex run_mu_;  // one job at a time
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> next_task_{0};
  std::atomic<int> pending_{0};
  int64_t job_tasks_ = 0;
  FnRef<void(int64_t)>* job_fn_ = nullptr;
};

}  // namespace

void parallel_for(int64_t n_tasks, FnRef<void(int64_t)> fn) { Pool::get().run(n_tasks, fn); }

void parallel_ranges(int64_t n, int64_t grain, int64_t align, FnRef<void(int64_t, int64_t)> fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(align, (grain + align - 1) / align * align);
  const int64_t chunks = (n + grain - 1) / grain;
  parallel_for(chunks, [&](int64_t c) { fn(c * grain, std::min(n, (c + 1) * grain)); });
}

}  // namespace detail

void set_num_threads(int n) {
  as::check(n >= 1 && n <= 1024, "packed: set_num_threads needs 1..1024 threads, got " + std::to_string(n));
  detail::Pool::get().set_threads(n);
}
int num_threads() { return detail::Pool::get().threads(); }

}  // namespace as::packed
