/* Threads that compute while their process changes its address space: what gpuos's
 * spare lanes (kernel/proc/spare.h) must get right when a process's threads run on
 * other lanes beside it. Every section prints only what any correct kernel gives, so
 * its output is compared byte for byte with qemu-aarch64's.
 *
 *   compute   eight threads of pure arithmetic (the work that spreads over lanes)
 *   churn     threads that allocate, fill, hash and free large blocks (mmap and munmap
 *             underneath) while the others compute
 *   fork      a fork while threads write the memory the child then reads (copy-on-write
 *             breaks in the parent while its other threads run)
 *   mprotect  one thread makes pages read-only and writable again while others read
 *             and write other pages of the same mapping
 *   signal    pthread_kill to threads busy computing; each handler sets its flag
 *   exit      exit(3) while every other thread computes without end
 *   forks     two forked processes, each joining a thread that computes: both mains
 *             wait on a futex at the same address of their own memory, and each
 *             thread's end must wake its own process's main (a futex in private
 *             memory is its process's, whatever its address)
 *
 * Usage: spare SECTION [THREADS]
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXT 16
static int nthreads = 8;
static uint64_t results[MAXT];

static uint64_t lcg_run(uint64_t x, long n) {
    uint64_t s = 0;
    for (long i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        s += x >> 29;
    }
    return s;
}

static void run_threads(void* (*fn)(void*)) {
    pthread_t th[MAXT];
    for (long i = 0; i < nthreads; i++) {
        if (pthread_create(&th[i], 0, fn, (void*)i) != 0) {
            printf("create failed\n");
            exit(1);
        }
    }
    for (int i = 0; i < nthreads; i++) pthread_join(th[i], 0);
}

static void print_results(const char* what) {
    uint64_t all = 0;
    for (int i = 0; i < nthreads; i++) {
        printf("%s %d: %llu\n", what, i, (unsigned long long)results[i]);
        all ^= results[i];
    }
    printf("%s all: %llu\n", what, (unsigned long long)all);
}

static void* compute(void* a) {
    long id = (long)a;
    results[id] = lcg_run((uint64_t)id + 1, 400000);
    return 0;
}

static void* churn(void* a) {
    long id = (long)a;
    if (id % 2) return compute(a);
    uint64_t h = 1469598103934665603ull;
    for (int round = 0; round < 40; round++) {
        size_t n = (size_t)(256 + 64 * (id + round % 3)) * 1024;
        unsigned char* p = malloc(n);
        if (!p) {
            printf("malloc failed\n");
            exit(1);
        }
        for (size_t i = 0; i < n; i += 61) p[i] = (unsigned char)(i * 7 + round + id);
        for (size_t i = 0; i < n; i += 61) h = (h ^ p[i]) * 1099511628211ull;
        free(p);
    }
    results[id] = h;
    return 0;
}

#define SHARED_WORDS (64 * 1024)
static uint64_t shared_words[SHARED_WORDS];
static pthread_barrier_t bar;

static void* fork_writer(void* a) {
    long id = (long)a;
    size_t per = SHARED_WORDS / nthreads;
    for (int round = 0; round < 4; round++) {
        for (size_t i = id * per; i < (id + 1) * per; i++) shared_words[i] = shared_words[i] * 31 + round + id;
        pthread_barrier_wait(&bar);  /* round 1: main forks here */
        pthread_barrier_wait(&bar);
    }
    uint64_t s = 0;
    for (size_t i = id * per; i < (id + 1) * per; i++) s += shared_words[i];
    results[id] = s;
    return 0;
}

static void section_fork(void) {
    for (size_t i = 0; i < SHARED_WORDS; i++) shared_words[i] = i;
    pthread_barrier_init(&bar, 0, (unsigned)nthreads + 1);
    pthread_t th[MAXT];
    for (long i = 0; i < nthreads; i++) pthread_create(&th[i], 0, fork_writer, (void*)i);
    int fds[2];
    if (pipe(fds) != 0) return;
    for (int round = 0; round < 4; round++) {
        pthread_barrier_wait(&bar);
        if (round == 1) {
            pid_t pid = fork();
            if (pid == 0) {  /* the child sees the words as they were at the fork */
                uint64_t s = 0;
                for (size_t i = 0; i < SHARED_WORDS; i++) s += shared_words[i] * (i | 1);
                if (write(fds[1], &s, sizeof s) != sizeof s) _exit(2);
                _exit(0);
            }
            uint64_t s = 0;
            if (read(fds[0], &s, sizeof s) != sizeof s) printf("child read failed\n");
            int st = 0;
            waitpid(pid, &st, 0);
            printf("child: %llu, status %d\n", (unsigned long long)s, WEXITSTATUS(st));
        }
        pthread_barrier_wait(&bar);
    }
    for (int i = 0; i < nthreads; i++) pthread_join(th[i], 0);
    print_results("fork");
}

#define PROT_PAGES 64
static unsigned char* prot_area;
static volatile int prot_done;

static void* prot_worker(void* a) {
    long id = (long)a;
    long page = 1 + id;  /* page 0 is the one that changes protection */
    uint64_t s = 0;
    for (int round = 0; round < 3000; round++) {
        unsigned char* p = prot_area + page * 4096;
        for (int i = 0; i < 4096; i += 64) p[i] = (unsigned char)(p[i] + round + i);
        for (int i = 0; i < 4096; i += 64) s += p[i];
    }
    results[id] = s;
    return 0;
}

static void section_mprotect(void) {
    prot_area = mmap(0, PROT_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (prot_area == MAP_FAILED) return;
    memset(prot_area, 1, PROT_PAGES * 4096);
    pthread_t th[MAXT];
    for (long i = 0; i < nthreads; i++) pthread_create(&th[i], 0, prot_worker, (void*)i);
    unsigned sum = 0;
    for (int i = 0; i < 300; i++) {
        mprotect(prot_area, 4096, PROT_READ);
        sum += prot_area[i % 4096];
        mprotect(prot_area, 4096, PROT_READ | PROT_WRITE);
        prot_area[i % 4096] = (unsigned char)i;
    }
    for (int i = 0; i < nthreads; i++) pthread_join(th[i], 0);
    printf("mprotect main: %u\n", sum);
    print_results("mprotect");
}

static volatile sig_atomic_t flags[MAXT];
static pthread_t sig_threads[MAXT];

static void on_usr1(int sig) {
    (void)sig;
    pthread_t self = pthread_self();
    for (int i = 0; i < nthreads; i++)
        if (pthread_equal(self, sig_threads[i])) flags[i] = 1;
}

static void* sig_worker(void* a) {
    long id = (long)a;
    uint64_t x = (uint64_t)id + 7;
    while (!flags[id]) x = lcg_run(x, 1000);
    results[id] = flags[id];  /* its own handler ran in it */
    return 0;
}

static void section_signal(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, 0);
    for (long i = 0; i < nthreads; i++) pthread_create(&sig_threads[i], 0, sig_worker, (void*)i);
    usleep(20000);
    for (int i = 0; i < nthreads; i++) pthread_kill(sig_threads[i], SIGUSR1);
    for (int i = 0; i < nthreads; i++) pthread_join(sig_threads[i], 0);
    print_results("signal");
}

static void* spin_forever(void* a) {
    uint64_t x = (uint64_t)(long)a;
    for (;;) x = lcg_run(x, 100000);
    return 0;
}

static void section_exit(void) {
    pthread_t th[MAXT];
    for (long i = 0; i < nthreads; i++) pthread_create(&th[i], 0, spin_forever, (void*)i);
    usleep(20000);
    printf("exit while %d threads compute\n", nthreads);
    fflush(stdout);
    exit(3);
}

static void* forks_worker(void* a) {
    results[0] = lcg_run((uint64_t)(long)a + 1, 3000000);
    return 0;
}

static void section_forks(void) {
    pid_t kids[2];
    for (long k = 0; k < 2; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            pthread_t t;
            pthread_create(&t, 0, forks_worker, (void*)k);
            pthread_join(t, 0);
            _exit((int)(results[0] % 100));  /* the parent prints it, in order */
        }
    }
    for (int k = 0; k < 2; k++) {
        int st = 0;
        waitpid(kids[k], &st, 0);
        printf("forks child %d: status %d\n", k, WEXITSTATUS(st));
    }
}

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: spare compute|churn|fork|mprotect|signal|exit|forks [THREADS]\n");
        return 2;
    }
    if (argc > 2) nthreads = atoi(argv[2]);
    if (nthreads < 1 || nthreads > MAXT) nthreads = 8;
    const char* s = argv[1];
    if (!strcmp(s, "compute")) {
        run_threads(compute);
        print_results("compute");
    } else if (!strcmp(s, "churn")) {
        run_threads(churn);
        print_results("churn");
    } else if (!strcmp(s, "fork")) {
        section_fork();
    } else if (!strcmp(s, "mprotect")) {
        section_mprotect();
    } else if (!strcmp(s, "signal")) {
        section_signal();
    } else if (!strcmp(s, "exit")) {
        section_exit();
    } else if (!strcmp(s, "forks")) {
        section_forks();
    } else {
        fprintf(stderr, "unknown section %s\n", s);
        return 2;
    }
    return 0;
}
