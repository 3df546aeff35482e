// C++ threads (issue 16): std::thread, std::async, std::mutex, std::condition_variable,
// std::atomic, std::promise/std::future, std::packaged_task, thread_local, exceptions
// carried across threads, std::jthread-style stop by flag, and a parallel reduction.
// Built static (libstdc++ on glibc's pthreads). Every line of output is deterministic:
// compared byte for byte with qemu-aarch64 by scripts/conformance.sh (cxx-threads-*).
//
// Usage: cxx_threads SECTION   (all, async, sync, future, tls, except, churn)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

// A parallel sum of 0..n-1 over k std::threads, each writing its own partial result.
static void section_threads() {
    const int k = 8;
    const long n = 1000000;
    std::vector<long> part(k, 0);
    std::vector<std::thread> ts;
    for (int t = 0; t < k; t++)
        ts.emplace_back([&part, t, n, k] {
            long s = 0;
            for (long i = t; i < n; i += k) s += i;
            part[t] = s;
        });
    for (auto& t : ts) t.join();
    std::printf("threads: sum %ld parts %zu joinable %d\n", std::accumulate(part.begin(), part.end(), 0L),
                part.size(), (int)ts[0].joinable());
}

// std::async with launch::async (a new thread each) and deferred (run by get()).
static void section_async() {
    std::vector<std::future<long>> fs;
    for (int i = 1; i <= 6; i++)
        fs.push_back(std::async(std::launch::async, [i] {
            long f = 1;
            for (int j = 2; j <= i + 10; j++) f *= j;
            return f % 1000003;
        }));
    auto lazy = std::async(std::launch::deferred, [] { return std::string("deferred ran"); });
    for (auto& f : fs) std::printf("async: %ld\n", f.get());
    std::printf("async: %s\n", lazy.get().c_str());
}

// A mutex-protected counter and a bounded producer/consumer queue on a condition variable.
static void section_sync() {
    std::mutex m;
    long counter = 0;
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; t++)
        ts.emplace_back([&] {
            for (int i = 0; i < 20000; i++) {
                std::lock_guard<std::mutex> g(m);
                counter++;
            }
        });
    for (auto& t : ts) t.join();
    std::printf("sync: counter %ld\n", counter);

    std::deque<int> q;
    std::condition_variable not_empty, not_full;
    bool done = false;
    long consumed = 0;
    int items = 0;
    std::thread consumer([&] {
        std::unique_lock<std::mutex> l(m);
        for (;;) {
            not_empty.wait(l, [&] { return !q.empty() || done; });
            if (q.empty()) break;
            consumed += q.front();
            q.pop_front();
            items++;
            not_full.notify_one();
        }
    });
    std::thread producer([&] {
        for (int i = 1; i <= 5000; i++) {
            std::unique_lock<std::mutex> l(m);
            not_full.wait(l, [&] { return q.size() < 16; });
            q.push_back(i);
            not_empty.notify_one();
        }
        std::lock_guard<std::mutex> g(m);
        done = true;
        not_empty.notify_all();
    });
    producer.join();
    consumer.join();
    std::printf("sync: consumed %d items, sum %ld\n", items, consumed);

    std::atomic<long> hits{0};
    std::atomic<int> spin{0};
    std::vector<std::thread> as;
    for (int t = 0; t < 4; t++)
        as.emplace_back([&] {
            for (int i = 0; i < 10000; i++) hits.fetch_add(1, std::memory_order_relaxed);
            int expect = spin.load();
            while (!spin.compare_exchange_weak(expect, expect + 1)) {
            }
        });
    for (auto& t : as) t.join();
    std::printf("sync: atomic %ld cas %d lock-free %d\n", hits.load(), spin.load(), (int)hits.is_lock_free());
}

// promise/future, shared_future seen by several threads, packaged_task, wait_for.
static void section_future() {
    std::promise<int> p;
    std::future<int> f = p.get_future();
    std::thread t([&p] { p.set_value(42); });
    std::printf("future: %d\n", f.get());
    t.join();

    std::promise<std::string> go;
    std::shared_future<std::string> sf = go.get_future().share();
    std::vector<std::future<size_t>> lens;
    for (int i = 0; i < 3; i++)
        lens.push_back(std::async(std::launch::async, [sf, i] { return sf.get().size() + i; }));
    go.set_value("shared value");
    for (auto& l : lens) std::printf("future: shared %zu\n", l.get());

    std::packaged_task<long(long, long)> task([](long a, long b) { return a * b; });
    auto tf = task.get_future();
    std::thread tt(std::move(task), 6, 7);
    std::printf("future: task %ld\n", tf.get());
    tt.join();

    std::promise<void> never;
    auto nf = never.get_future();
    auto st = nf.wait_for(std::chrono::milliseconds(20));
    std::printf("future: wait_for %s\n", st == std::future_status::timeout ? "timeout" : "ready");
    never.set_value();
    std::printf("future: after set %s\n",
                nf.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready ? "ready" : "timeout");
}

// thread_local storage: each thread sees its own copy, constructed on first use.
struct Tracker {
    int id;
    Tracker() : id(-1) {}
};
static thread_local Tracker tracker;
static thread_local int tls_counter = 100;

static void section_tls() {
    std::mutex m;
    std::vector<std::string> seen;
    std::vector<std::thread> ts;
    for (int t = 0; t < 5; t++)
        ts.emplace_back([&, t] {
            tracker.id = t;
            for (int i = 0; i < t; i++) tls_counter++;
            char buf[64];
            std::snprintf(buf, sizeof buf, "tls: thread %d id %d counter %d", t, tracker.id, tls_counter);
            std::lock_guard<std::mutex> g(m);
            seen.push_back(buf);
        });
    for (auto& t : ts) t.join();
    std::sort(seen.begin(), seen.end());
    for (auto& s : seen) std::printf("%s\n", s.c_str());
    std::printf("tls: main id %d counter %d\n", tracker.id, tls_counter);
}

// An exception thrown in a thread reaches the future's get() in another.
static void section_except() {
    auto f = std::async(std::launch::async, []() -> int { throw std::runtime_error("from a thread"); });
    try {
        f.get();
        std::printf("except: no exception\n");
    } catch (const std::exception& e) {
        std::printf("except: caught '%s'\n", e.what());
    }
    std::promise<int> p;
    auto pf = p.get_future();
    std::thread t([&p] {
        try {
            throw std::out_of_range("index 7");
        } catch (...) {
            p.set_exception(std::current_exception());
        }
    });
    t.join();
    try {
        pf.get();
    } catch (const std::out_of_range& e) {
        std::printf("except: out_of_range '%s'\n", e.what());
    }
}

// Hundreds of short threads, a few alive at a time, and a stop flag.
static void section_churn() {
    std::atomic<long> total{0};
    for (int round = 0; round < 50; round++) {
        std::vector<std::thread> ts;
        for (int t = 0; t < 6; t++) ts.emplace_back([&total, round, t] { total += round * 10 + t; });
        for (auto& t : ts) t.join();
    }
    std::atomic<bool> stop{false};
    std::atomic<long> spins{0};
    std::thread worker([&] {
        while (!stop.load()) {
            spins++;
            std::this_thread::yield();
        }
    });
    while (spins.load() < 1000) std::this_thread::yield();
    stop = true;
    worker.join();
    std::printf("churn: total %ld stopped %d hw>0 %d\n", total.load(), (int)stop.load(),
                (int)(std::thread::hardware_concurrency() > 0));
}

int main(int argc, char** argv) {
    const char* s = argc > 1 ? argv[1] : "all";
    bool all = std::strcmp(s, "all") == 0;
    if (all || !std::strcmp(s, "threads")) section_threads();
    if (all || !std::strcmp(s, "async")) section_async();
    if (all || !std::strcmp(s, "sync")) section_sync();
    if (all || !std::strcmp(s, "future")) section_future();
    if (all || !std::strcmp(s, "tls")) section_tls();
    if (all || !std::strcmp(s, "except")) section_except();
    if (all || !std::strcmp(s, "churn")) section_churn();
    return 0;
}
