/* threads: POSIX threads on glibc's NPTL (clone, futex, set_tid_address, tgkill,
 * TLS through TPIDR_EL0, rt signals for cancellation). Usage: threads SECTION, one of
 * create mutex cond barrier tls once_key detach_sem churn kill cancel gettid futex altstack
 * sigwait litmus
 * (each exits 0 when its self-checks pass, 1 otherwise), all (every one of those in
 * order), and the process-ending sections fork (0), exit_thread (0: the main thread
 * calls pthread_exit and the last thread's return ends the process) and exit_group
 * (3: a thread calls exit(3) while main waits in pthread_join).
 * Output is printed by the main thread after joins, or is independent of the order in
 * which threads run, so it is byte for byte the same under any scheduler; every wait
 * loop calls sched_yield (or blocks) so one CPU with long time slices cannot starve it,
 * and the only sleep is one 10 ms futex timeout. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;
#define CHECK(cond) do { if (!(cond)) { printf("CHECK FAILED line %d: %s\n", __LINE__, #cond); failures++; } } while (0)
/* A pthread call that must succeed (they return an error number, not -1/errno). */
#define OK(call) do { int rc_ = (call); if (rc_ != 0) { printf("FAILED line %d: %s = %d (%s)\n", __LINE__, #call, rc_, strerror(rc_)); failures++; } } while (0)

static const char *yesno(int b) { return b ? "yes" : "no"; }

/* Yield until *flag (read atomically) becomes nonzero. */
static void wait_flag(int *flag)
{
    while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE)) sched_yield();
}

/* ---- create: 4 threads sum disjoint quarters of an array; results via pthread_join. */
#define CR_N 4000
static int cr_data[CR_N];
static void *cr_sum(void *arg)
{
    intptr_t t = (intptr_t)arg;
    long s = 0;
    for (int i = t * (CR_N / 4); i < (t + 1) * (CR_N / 4); i++) s += cr_data[i];
    return (void *)s;
}
static void sec_create(void)
{
    pthread_t th[4];
    long expect = 0, total = 0;
    for (int i = 0; i < CR_N; i++) { cr_data[i] = (i * 37) % 1001; expect += cr_data[i]; }
    for (intptr_t t = 0; t < 4; t++) OK(pthread_create(&th[t], NULL, cr_sum, (void *)t));
    for (int t = 0; t < 4; t++) {
        void *ret = NULL;
        OK(pthread_join(th[t], &ret));
        printf("create: thread %d returned %ld\n", t, (long)ret);
        total += (long)ret;
    }
    printf("create: total %ld (expected %ld)\n", total, expect);
    CHECK(total == expect);
}

/* ---- mutex: 8 threads x 20000 increments under a mutex, and with atomic fetch_add. */
#define MX_THREADS 8
#define MX_ITERS 20000
static pthread_mutex_t mx_lock = PTHREAD_MUTEX_INITIALIZER;
static long mx_count;
static long mx_atomic;
static void *mx_worker(void *arg)
{
    intptr_t t = (intptr_t)arg;
    for (int i = 0; i < MX_ITERS; i++) {
        pthread_mutex_lock(&mx_lock);
        mx_count++;
        pthread_mutex_unlock(&mx_lock);
        __atomic_fetch_add(&mx_atomic, 1, (t & 1) ? __ATOMIC_SEQ_CST : __ATOMIC_RELAXED);
        if ((i & 1023) == 0) sched_yield(); /* interleave even on one CPU */
    }
    return NULL;
}
static void sec_mutex(void)
{
    pthread_t th[MX_THREADS];
    mx_count = mx_atomic = 0;
    for (intptr_t t = 0; t < MX_THREADS; t++) OK(pthread_create(&th[t], NULL, mx_worker, (void *)t));
    for (int t = 0; t < MX_THREADS; t++) OK(pthread_join(th[t], NULL));
    printf("mutex: count %ld (expected %d)\n", mx_count, MX_THREADS * MX_ITERS);
    printf("mutex: atomic %ld (expected %d)\n", mx_atomic, MX_THREADS * MX_ITERS);
    CHECK(mx_count == MX_THREADS * MX_ITERS);
    CHECK(mx_atomic == MX_THREADS * MX_ITERS);
    CHECK(pthread_mutex_trylock(&mx_lock) == 0);
    CHECK(pthread_mutex_trylock(&mx_lock) == EBUSY);
    OK(pthread_mutex_unlock(&mx_lock));
}

/* ---- cond: bounded buffer of 4, 2 producers x 100 items, 2 consumers. */
#define CV_SIZE 4
#define CV_ITEMS 200
static pthread_mutex_t cv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv_not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t cv_not_empty = PTHREAD_COND_INITIALIZER;
static int cv_buf[CV_SIZE], cv_head, cv_len, cv_produced, cv_consumed;
static long cv_sum;
static void *cv_producer(void *arg)
{
    intptr_t p = (intptr_t)arg;
    for (int i = 1; i <= CV_ITEMS / 2; i++) {
        pthread_mutex_lock(&cv_lock);
        while (cv_len == CV_SIZE) pthread_cond_wait(&cv_not_full, &cv_lock);
        cv_buf[(cv_head + cv_len) % CV_SIZE] = (int)p * (CV_ITEMS / 2) + i; /* 1..200 */
        cv_len++;
        cv_produced++;
        if (cv_produced == CV_ITEMS) pthread_cond_broadcast(&cv_not_empty); /* the end */
        else pthread_cond_signal(&cv_not_empty);
        pthread_mutex_unlock(&cv_lock);
    }
    return NULL;
}
static void *cv_consumer(void *arg)
{
    long n = 0;
    for (;;) {
        pthread_mutex_lock(&cv_lock);
        while (cv_len == 0 && cv_produced < CV_ITEMS) pthread_cond_wait(&cv_not_empty, &cv_lock);
        if (cv_len == 0) { /* everything produced and consumed */
            pthread_mutex_unlock(&cv_lock);
            return (void *)n;
        }
        int v = cv_buf[cv_head];
        cv_head = (cv_head + 1) % CV_SIZE;
        cv_len--;
        cv_consumed++;
        cv_sum += v;
        n++;
        pthread_cond_signal(&cv_not_full);
        pthread_mutex_unlock(&cv_lock);
    }
}
static void sec_cond(void)
{
    pthread_t prod[2], cons[2];
    long per[2] = { 0, 0 };
    cv_head = cv_len = cv_produced = cv_consumed = 0;
    cv_sum = 0;
    for (intptr_t i = 0; i < 2; i++) OK(pthread_create(&cons[i], NULL, cv_consumer, NULL));
    for (intptr_t i = 0; i < 2; i++) OK(pthread_create(&prod[i], NULL, cv_producer, (void *)i));
    for (int i = 0; i < 2; i++) OK(pthread_join(prod[i], NULL));
    for (int i = 0; i < 2; i++) {
        void *r;
        OK(pthread_join(cons[i], &r));
        per[i] = (long)r;
    }
    printf("cond: consumed %d items, sum %ld (expected %d, %d)\n", cv_consumed, cv_sum,
           CV_ITEMS, CV_ITEMS * (CV_ITEMS + 1) / 2);
    printf("cond: consumers' counts add up: %s\n", yesno(per[0] + per[1] == CV_ITEMS));
    CHECK(cv_consumed == CV_ITEMS && cv_sum == CV_ITEMS * (CV_ITEMS + 1) / 2);
    CHECK(per[0] + per[1] == CV_ITEMS);
}

/* ---- barrier: 4 threads, 10 rounds; per-round sums and one serial thread per round. */
#define BA_THREADS 4
#define BA_ROUNDS 10
static pthread_barrier_t ba_barrier;
static int ba_slot[BA_ROUNDS], ba_serial[BA_ROUNDS], ba_other[BA_ROUNDS], ba_seen[BA_ROUNDS];
static void *ba_worker(void *arg)
{
    intptr_t t = (intptr_t)arg;
    for (int r = 0; r < BA_ROUNDS; r++) {
        __atomic_fetch_add(&ba_slot[r], (int)(t + 1) * (r + 1), __ATOMIC_SEQ_CST);
        int rc = pthread_barrier_wait(&ba_barrier);
        if (rc == PTHREAD_BARRIER_SERIAL_THREAD) __atomic_fetch_add(&ba_serial[r], 1, __ATOMIC_SEQ_CST);
        else if (rc == 0) __atomic_fetch_add(&ba_other[r], 1, __ATOMIC_SEQ_CST);
        /* Past the barrier every thread's add for this round is visible. */
        if (__atomic_load_n(&ba_slot[r], __ATOMIC_SEQ_CST) == 10 * (r + 1))
            __atomic_fetch_add(&ba_seen[r], 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}
static void sec_barrier(void)
{
    pthread_t th[BA_THREADS];
    memset(ba_slot, 0, sizeof ba_slot);
    memset(ba_serial, 0, sizeof ba_serial);
    memset(ba_other, 0, sizeof ba_other);
    memset(ba_seen, 0, sizeof ba_seen);
    OK(pthread_barrier_init(&ba_barrier, NULL, BA_THREADS));
    for (intptr_t t = 0; t < BA_THREADS; t++) OK(pthread_create(&th[t], NULL, ba_worker, (void *)t));
    for (int t = 0; t < BA_THREADS; t++) OK(pthread_join(th[t], NULL));
    OK(pthread_barrier_destroy(&ba_barrier));
    for (int r = 0; r < BA_ROUNDS; r++) {
        printf("barrier: round %d total %d serial %d others %d complete-after-wait %d\n", r,
               ba_slot[r], ba_serial[r], ba_other[r], ba_seen[r]);
        CHECK(ba_slot[r] == 10 * (r + 1));
        CHECK(ba_serial[r] == 1 && ba_other[r] == BA_THREADS - 1 && ba_seen[r] == BA_THREADS);
    }
}

/* ---- tls: __thread and static __thread data are per thread; main's stay unchanged. */
#define TL_THREADS 4
__thread int tl_value = 42;
static __thread int tl_array[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static __thread long tl_zero[16]; /* .tbss */
static int tl_report[TL_THREADS], tl_init_ok[TL_THREADS], tl_ok[TL_THREADS];
static uintptr_t tl_addr[TL_THREADS];
static void *tl_worker(void *arg)
{
    intptr_t t = (intptr_t)arg;
    int init = tl_value == 42 && tl_array[0] == 1 && tl_array[7] == 8;
    for (int i = 0; i < 16; i++) init &= tl_zero[i] == 0;
    tl_value = 100 + (int)t;
    for (int i = 0; i < 8; i++) tl_array[i] = (int)t * 10 + i;
    for (int i = 0; i < 16; i++) tl_zero[i] = t + i;
    for (int k = 0; k < 20; k++) sched_yield(); /* let the others write theirs */
    int ok = tl_value == 100 + t;
    int sum = tl_value;
    for (int i = 0; i < 8; i++) { ok &= tl_array[i] == t * 10 + i; sum += tl_array[i]; }
    for (int i = 0; i < 16; i++) ok &= tl_zero[i] == t + i;
    tl_report[t] = sum;
    tl_init_ok[t] = init;
    tl_ok[t] = ok;
    tl_addr[t] = (uintptr_t)&tl_value;
    return NULL;
}
static void sec_tls(void)
{
    pthread_t th[TL_THREADS];
    tl_value = 42; /* (again, for `all`) */
    for (intptr_t t = 0; t < TL_THREADS; t++) OK(pthread_create(&th[t], NULL, tl_worker, (void *)t));
    for (int t = 0; t < TL_THREADS; t++) OK(pthread_join(th[t], NULL));
    int distinct = 1;
    for (int t = 0; t < TL_THREADS; t++) {
        printf("tls: thread %d saw initial values %s, kept its own %s, reported %d\n", t,
               yesno(tl_init_ok[t]), yesno(tl_ok[t]), tl_report[t]);
        CHECK(tl_init_ok[t] && tl_ok[t]);
        CHECK(tl_report[t] == 100 + t + 80 * t + 28);
        distinct &= tl_addr[t] != (uintptr_t)&tl_value;
        for (int u = 0; u < t; u++) distinct &= tl_addr[t] != tl_addr[u];
    }
    int main_ok = tl_value == 42 && tl_array[0] == 1 && tl_array[7] == 8 && tl_zero[15] == 0;
    printf("tls: distinct addresses per thread %s\n", yesno(distinct));
    printf("tls: main's values unchanged %s (tl_value %d)\n", yesno(main_ok), tl_value);
    CHECK(distinct && main_ok);
}

/* ---- once_key: pthread_once runs once across 4 threads; key destructors at exit. */
#define OK_THREADS 4
static pthread_once_t ok_once = PTHREAD_ONCE_INIT;
static int ok_init_runs, ok_dtor_runs, ok_dtor_sum, ok_get_ok;
static pthread_key_t ok_key;
static int ok_vals[OK_THREADS];
static void ok_init(void)
{
    __atomic_fetch_add(&ok_init_runs, 1, __ATOMIC_SEQ_CST);
    for (int k = 0; k < 10; k++) sched_yield(); /* others must wait for it to finish */
}
static void ok_dtor(void *p)
{
    __atomic_fetch_add(&ok_dtor_runs, 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&ok_dtor_sum, *(int *)p, __ATOMIC_SEQ_CST);
}
static void *ok_worker(void *arg)
{
    intptr_t t = (intptr_t)arg;
    pthread_once(&ok_once, ok_init);
    int init_done = __atomic_load_n(&ok_init_runs, __ATOMIC_SEQ_CST) == 1;
    int empty = pthread_getspecific(ok_key) == NULL;
    ok_vals[t] = 1000 + (int)t;
    pthread_setspecific(ok_key, &ok_vals[t]);
    sched_yield();
    if (init_done && empty && pthread_getspecific(ok_key) == &ok_vals[t])
        __atomic_fetch_add(&ok_get_ok, 1, __ATOMIC_SEQ_CST);
    return NULL;
}
static void sec_once_key(void)
{
    pthread_t th[OK_THREADS];
    OK(pthread_key_create(&ok_key, ok_dtor));
    for (intptr_t t = 0; t < OK_THREADS; t++) OK(pthread_create(&th[t], NULL, ok_worker, (void *)t));
    for (int t = 0; t < OK_THREADS; t++) OK(pthread_join(th[t], NULL));
    pthread_once(&ok_once, ok_init); /* already done: does nothing */
    printf("once_key: init ran %d time(s)\n", ok_init_runs);
    printf("once_key: threads saw init done and their own value: %d\n", ok_get_ok);
    printf("once_key: destructors ran %d time(s), value sum %d\n", ok_dtor_runs, ok_dtor_sum);
    printf("once_key: main's value is NULL %s\n", yesno(pthread_getspecific(ok_key) == NULL));
    CHECK(ok_init_runs == 1 && ok_get_ok == OK_THREADS);
    CHECK(ok_dtor_runs == OK_THREADS && ok_dtor_sum == 4 * 1000 + 6);
    OK(pthread_key_delete(ok_key));
}

/* ---- detach_sem: 5 detached threads post a semaphore; sem_trywait when empty. */
#define DS_THREADS 5
static sem_t ds_sem;
static long ds_result[DS_THREADS];
static void *ds_worker(void *arg)
{
    intptr_t t = (intptr_t)arg;
    long f = 1;
    for (int i = 2; i <= 10 + t; i++) f = f * i % 1000003;
    ds_result[t] = f;
    sem_post(&ds_sem);
    return NULL;
}
static void sec_detach_sem(void)
{
    OK(sem_init(&ds_sem, 0, 0));
    errno = 0;
    int rc = sem_trywait(&ds_sem);
    printf("detach_sem: trywait on empty: %d %s\n", rc, errno == EAGAIN ? "EAGAIN" : strerror(errno));
    CHECK(rc == -1 && errno == EAGAIN);
    pthread_attr_t attr;
    OK(pthread_attr_init(&attr));
    OK(pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED));
    for (intptr_t t = 0; t < DS_THREADS; t++) {
        pthread_t th;
        if (t < 3) {
            OK(pthread_create(&th, &attr, ds_worker, (void *)t));
        } else { /* detached after creation */
            OK(pthread_create(&th, NULL, ds_worker, (void *)t));
            OK(pthread_detach(th));
        }
    }
    OK(pthread_attr_destroy(&attr));
    for (int i = 0; i < DS_THREADS; i++) {
        while (sem_wait(&ds_sem) != 0) CHECK(errno == EINTR);
    }
    for (int t = 0; t < DS_THREADS; t++) printf("detach_sem: thread %d result %ld\n", t, ds_result[t]);
    errno = 0;
    rc = sem_trywait(&ds_sem);
    int val = -1;
    sem_getvalue(&ds_sem, &val);
    printf("detach_sem: trywait after 5 waits: %d %s, value %d\n", rc,
           errno == EAGAIN ? "EAGAIN" : strerror(errno), val);
    CHECK(rc == -1 && errno == EAGAIN && val == 0);
    sem_post(&ds_sem);
    CHECK(sem_trywait(&ds_sem) == 0);
    /* The detached threads may still be exiting; the semaphore stays valid (static). */
}

/* ---- churn: 300 threads created and joined 10 at a time, some with small stacks. */
#define CH_TOTAL 300
#define CH_BATCH 10
static void *ch_worker(void *arg)
{
    intptr_t i = (intptr_t)arg;
    volatile char pad[4096]; /* touch some of the stack */
    pad[0] = (char)i;
    pad[4095] = (char)i;
    return (void *)(i * 3 + (pad[0] - (char)i) + (pad[4095] - (char)i));
}
static void sec_churn(void)
{
    pthread_attr_t small;
    OK(pthread_attr_init(&small));
    /* glibc's PTHREAD_STACK_MIN on AArch64 is 128 KiB: 64 KiB is refused with EINVAL. */
    int rc64 = pthread_attr_setstacksize(&small, 64 * 1024);
    printf("churn: setstacksize(64 KiB) = %s\n", rc64 == 0 ? "0" : rc64 == EINVAL ? "EINVAL" : strerror(rc64));
    if (rc64 != 0) OK(pthread_attr_setstacksize(&small, PTHREAD_STACK_MIN));
    size_t got = 0;
    OK(pthread_attr_getstacksize(&small, &got));
    printf("churn: small stack size %zu KiB\n", got / 1024);
    long sum = 0;
    int bad = 0;
    for (int b = 0; b < CH_TOTAL / CH_BATCH; b++) {
        pthread_t th[CH_BATCH];
        for (int k = 0; k < CH_BATCH; k++) {
            intptr_t i = b * CH_BATCH + k;
            int rc = pthread_create(&th[k], (b & 1) ? &small : NULL, ch_worker, (void *)i);
            if (rc != 0) { printf("churn: create %ld failed: %s\n", (long)i, strerror(rc)); failures++; th[k] = 0; }
        }
        for (int k = 0; k < CH_BATCH; k++) {
            void *r = NULL;
            if (th[k] == 0) continue;
            OK(pthread_join(th[k], &r));
            bad += (long)r != (long)(b * CH_BATCH + k) * 3;
            sum += (long)r;
        }
    }
    OK(pthread_attr_destroy(&small));
    printf("churn: %d threads, sum %ld (expected %d), wrong returns %d\n", CH_TOTAL, sum,
           3 * CH_TOTAL * (CH_TOTAL - 1) / 2, bad);
    CHECK(sum == 3 * CH_TOTAL * (CH_TOTAL - 1) / 2 && bad == 0);
}

/* ---- kill: pthread_kill(SIGUSR1) runs the handler on the target thread. */
static volatile sig_atomic_t ki_hit;
static pthread_t ki_handler_self;
static int ki_ready;
static void ki_handler(int sig)
{
    ki_handler_self = pthread_self();
    ki_hit = 1;
}
static void *ki_worker(void *arg)
{
    __atomic_store_n(&ki_ready, 1, __ATOMIC_RELEASE);
    while (!ki_hit) sched_yield();
    return (void *)1;
}
static void sec_kill(void)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ki_handler;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, &old) == 0);
    ki_hit = 0;
    ki_ready = 0;
    pthread_t th;
    OK(pthread_create(&th, NULL, ki_worker, NULL));
    wait_flag(&ki_ready);
    OK(pthread_kill(th, SIGUSR1));
    void *r = NULL;
    OK(pthread_join(th, &r));
    int same = pthread_equal(ki_handler_self, th);
    printf("kill: handler ran %s, on the target thread %s, thread returned %ld\n", yesno(ki_hit), yesno(same), (long)r);
    CHECK(ki_hit && same && r == (void *)1);
    OK(pthread_kill(pthread_self(), 0)); /* signal 0: existence check */
    CHECK(sigaction(SIGUSR1, &old, NULL) == 0);
}

/* ---- cancel: a thread in pthread_cond_wait is cancelled; its cleanup handler runs. */
static pthread_mutex_t ca_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ca_cond = PTHREAD_COND_INITIALIZER;
static int ca_waiting, ca_never, ca_cleanup_ran, ca_cleanup_owned;
static void ca_cleanup(void *arg)
{
    /* The mutex is held again when a cancelled pthread_cond_wait runs the handlers. */
    ca_cleanup_owned = pthread_mutex_trylock(arg) == EBUSY;
    ca_cleanup_ran = 1;
    pthread_mutex_unlock(arg);
}
static void *ca_worker(void *arg)
{
    pthread_mutex_lock(&ca_lock);
    pthread_cleanup_push(ca_cleanup, &ca_lock);
    ca_waiting = 1;
    while (!ca_never) pthread_cond_wait(&ca_cond, &ca_lock);
    pthread_cleanup_pop(1);
    return (void *)1;
}
static void sec_cancel(void)
{
    pthread_t th;
    ca_waiting = ca_never = ca_cleanup_ran = ca_cleanup_owned = 0;
    OK(pthread_create(&th, NULL, ca_worker, NULL));
    /* Once main holds the mutex and sees ca_waiting, the thread is inside cond_wait. */
    for (;;) {
        pthread_mutex_lock(&ca_lock);
        int w = ca_waiting;
        pthread_mutex_unlock(&ca_lock);
        if (w) break;
        sched_yield();
    }
    OK(pthread_cancel(th));
    void *r = NULL;
    OK(pthread_join(th, &r));
    int unlocked = pthread_mutex_trylock(&ca_lock) == 0;
    if (unlocked) pthread_mutex_unlock(&ca_lock);
    printf("cancel: join returned PTHREAD_CANCELED %s\n", yesno(r == PTHREAD_CANCELED));
    printf("cancel: cleanup ran %s, with the mutex held %s, mutex free afterwards %s\n",
           yesno(ca_cleanup_ran), yesno(ca_cleanup_owned), yesno(unlocked));
    CHECK(r == PTHREAD_CANCELED && ca_cleanup_ran && ca_cleanup_owned && unlocked);
}

/* ---- fork: fork with 3 threads blocked on a condvar; the child exits 7 computed from
 * values the threads wrote; parent reaps, then wakes and joins its threads. (The child
 * makes no thread: qemu-aarch64 7.2 aborts on clone in a child forked from a
 * multithreaded process.) */
static pthread_mutex_t fk_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fk_cond = PTHREAD_COND_INITIALIZER;
static int fk_go, fk_blocked, fk_vals[3];
static void *fk_worker(void *arg)
{
    intptr_t t = (intptr_t)arg;
    pthread_mutex_lock(&fk_lock);
    fk_vals[t] = 1 << t; /* 1 + 2 + 4 = 7 */
    fk_blocked++;
    while (!fk_go) pthread_cond_wait(&fk_cond, &fk_lock);
    pthread_mutex_unlock(&fk_lock);
    return (void *)(t + 10);
}
static void sec_fork(void)
{
    pthread_t th[3];
    for (intptr_t t = 0; t < 3; t++) OK(pthread_create(&th[t], NULL, fk_worker, (void *)t));
    for (;;) {
        pthread_mutex_lock(&fk_lock);
        int n = fk_blocked;
        pthread_mutex_unlock(&fk_lock);
        if (n == 3) break;
        sched_yield();
    }
    printf("fork: parent has 3 blocked threads, forking\n");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* Single-threaded child: the mutex was free at fork (main did not hold it). */
        int locked = pthread_mutex_trylock(&fk_lock) == 0;
        int code = fk_vals[0] + fk_vals[1] + fk_vals[2];
        printf("fork: child: lock free %s, tid == pid %s, exiting with %d\n", yesno(locked),
               yesno(syscall(SYS_gettid) == getpid()), code);
        fflush(stdout);
        _exit(locked ? code : 99);
    }
    CHECK(pid > 0);
    int status = 0;
    pid_t w;
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {}
    CHECK(w == pid);
    printf("fork: parent: child exited %s, status %d\n", yesno(WIFEXITED(status)), WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
    pthread_mutex_lock(&fk_lock);
    fk_go = 1;
    pthread_cond_broadcast(&fk_cond);
    pthread_mutex_unlock(&fk_lock);
    long sum = 0;
    for (int t = 0; t < 3; t++) {
        void *r = NULL;
        OK(pthread_join(th[t], &r));
        sum += (long)r;
    }
    printf("fork: parent joined its threads, returns sum %ld\n", sum);
    CHECK(sum == 33);
}

/* ---- exit_thread: main calls pthread_exit; the other thread joins main, prints, and its
 * return (the last thread's) ends the process with status 0. */
static pthread_t et_main;
static int et_go;
static void *et_worker(void *arg)
{
    wait_flag(&et_go);
    for (int i = 0; i < 300; i++) sched_yield();
    /* The main thread's tid (set_tid_address) is cleared by the kernel when it exits. */
    int rc = pthread_join(et_main, NULL);
    printf("exit_thread: second thread: joined the main thread: %s\n", rc == 0 ? "yes" : strerror(rc));
    printf("exit_thread: second thread: done, returning (last thread: exit status 0)\n");
    fflush(stdout);
    return NULL;
}
static void sec_exit_thread(void)
{
    pthread_t th;
    et_main = pthread_self();
    OK(pthread_create(&th, NULL, et_worker, NULL));
    printf("exit_thread: main: calling pthread_exit\n");
    fflush(stdout);
    __atomic_store_n(&et_go, 1, __ATOMIC_RELEASE);
    pthread_exit(NULL);
}

/* ---- exit_group: a thread calls exit(3) while main waits in pthread_join. */
static void *eg_worker(void *arg)
{
    for (int i = 0; i < 50; i++) sched_yield(); /* main is (likely) in pthread_join by now */
    printf("exit_group: thread: calling exit(3)\n");
    fflush(stdout);
    exit(3);
}
static void sec_exit_group(void)
{
    pthread_t th;
    printf("exit_group: main: joining a thread that calls exit(3)\n");
    fflush(stdout);
    OK(pthread_create(&th, NULL, eg_worker, NULL));
    pthread_join(th, NULL);
    printf("exit_group: main: pthread_join returned (wrong)\n");
    exit(1);
}

/* ---- gettid: main's tid is the pid; a thread's is not; getpid is the same in threads. */
static pid_t gt_tid, gt_pid;
static void *gt_worker(void *arg)
{
    gt_tid = (pid_t)syscall(SYS_gettid);
    gt_pid = getpid();
    return NULL;
}
static void sec_gettid(void)
{
    pthread_t th;
    pid_t pid = getpid(), tid = (pid_t)syscall(SYS_gettid);
    OK(pthread_create(&th, NULL, gt_worker, NULL));
    OK(pthread_join(th, NULL));
    printf("gettid: main's tid == pid: %s\n", yesno(tid == pid));
    printf("gettid: thread's tid != pid: %s\n", yesno(gt_tid != pid && gt_tid > 0));
    printf("gettid: thread's getpid == main's: %s\n", yesno(gt_pid == pid));
    printf("gettid: gettid() == syscall: %s\n", yesno(gettid() == tid));
    CHECK(tid == pid && gt_tid != pid && gt_tid > 0 && gt_pid == pid && gettid() == tid);
}

/* ---- futex: raw FUTEX_WAIT/WAKE results, and a real wait woken by main. */
static long futex(int *uaddr, int op, int val, const struct timespec *ts, int *uaddr2, int val3)
{
    return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}
static int fx_word, fx_started, fx_done;
static void *fx_worker(void *arg)
{
    __atomic_store_n(&fx_started, 1, __ATOMIC_RELEASE);
    while (__atomic_load_n(&fx_word, __ATOMIC_ACQUIRE) == 0)
        futex(&fx_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    __atomic_store_n(&fx_done, 1, __ATOMIC_RELEASE);
    return NULL;
}
static const char *errname(long rc)
{
    if (rc >= 0) return "ok";
    switch (errno) {
    case EAGAIN: return "EAGAIN";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EINVAL: return "EINVAL";
    case EINTR: return "EINTR";
    default: return strerror(errno);
    }
}
static void sec_futex(void)
{
    int word = 1;
    errno = 0;
    long rc = futex(&word, FUTEX_WAIT, 0, NULL, NULL, 0);
    printf("futex: WAIT with wrong value: %ld %s\n", rc, errname(rc));
    CHECK(rc == -1 && errno == EAGAIN);

    struct timespec ts = { 0, 10 * 1000 * 1000 }; /* relative, 10 ms */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do { errno = 0; rc = futex(&word, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0); } while (rc == -1 && errno == EINTR);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("futex: WAIT 10 ms timeout: %ld %s, waited at least 9 ms %s\n", rc, errname(rc), yesno(ms >= 9));
    CHECK(rc == -1 && errno == ETIMEDOUT && ms >= 9);

    rc = futex(&word, FUTEX_WAKE, 1, NULL, NULL, 0);
    printf("futex: WAKE with no waiters: %ld\n", rc);
    CHECK(rc == 0);
    rc = futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    printf("futex: WAKE_PRIVATE with no waiters: %ld\n", rc);
    CHECK(rc == 0);

    errno = 0;
    rc = futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 1, NULL, NULL, 0);
    printf("futex: WAIT_BITSET with bitset 0: %ld %s\n", rc, errname(rc));
    CHECK(rc == -1 && errno == EINVAL);

    /* WAKE_OP: *uaddr2 += 5 (old value compared with 0), no waiters to wake. */
    int word2 = 7;
    rc = futex(&word, FUTEX_WAKE_OP_PRIVATE, 1, (const struct timespec *)1, &word2,
               FUTEX_OP(FUTEX_OP_ADD, 5, FUTEX_OP_CMP_EQ, 0));
    printf("futex: WAKE_OP add 5: %ld, word2 %d\n", rc, word2);
    rc = futex(&word, FUTEX_WAKE_OP_PRIVATE, 1, (const struct timespec *)1, &word2,
               FUTEX_OP(FUTEX_OP_OR, 4, FUTEX_OP_CMP_GT, 0) | (FUTEX_OP_OPARG_SHIFT << 28));
    printf("futex: WAKE_OP or 1<<4: %ld, word2 %d\n", rc, word2);
    /* CMP_REQUEUE: EAGAIN when the word is not val3; with no waiters, 0. */
    errno = 0;
    rc = futex(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (const struct timespec *)1, &word2, word + 1);
    printf("futex: CMP_REQUEUE with a stale value: %ld %s\n", rc, errname(rc));
    rc = futex(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (const struct timespec *)1, &word2, word);
    printf("futex: CMP_REQUEUE, nobody waiting: %ld\n", rc);

    /* A waiter blocked in the kernel: wake it (word unchanged) until a wake finds it
     * (returns 1), so a real sleep and wake happen; it waits again; then set the word
     * and wake until it is done. */
    pthread_t th;
    fx_word = fx_started = fx_done = 0;
    OK(pthread_create(&th, NULL, fx_worker, NULL));
    wait_flag(&fx_started);
    int woke_blocked = 0;
    for (long i = 0; i < 10000000 && !woke_blocked; i++) {
        if (futex(&fx_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) == 1) woke_blocked = 1;
        else sched_yield();
    }
    __atomic_store_n(&fx_word, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&fx_done, __ATOMIC_ACQUIRE)) {
        futex(&fx_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
        sched_yield();
    }
    OK(pthread_join(th, NULL));
    printf("futex: a WAKE found the blocked waiter (returned 1): %s\n", yesno(woke_blocked));
    printf("futex: waiter finished after the word changed: %s\n", yesno(fx_done));
    CHECK(woke_blocked && fx_done);
}

/* ---- altstack: sigaltstack(2) and an SA_ONSTACK handler, in main and in a thread
 * (a new thread has none: clone clears it). */
static char as_stacks[2][65536] __attribute__((aligned(16)));
static __thread int as_idx;
static volatile int as_on[2], as_flags_in[2], as_eperm[2];
static void as_handler(int sig)
{
    char local;
    int k = as_idx;
    stack_t cur, again = { .ss_sp = as_stacks[k], .ss_flags = 0, .ss_size = sizeof as_stacks[k] };
    sigaltstack(NULL, &cur);
    as_on[k] = &local > as_stacks[k] && &local < as_stacks[k] + sizeof as_stacks[k];
    as_flags_in[k] = cur.ss_flags;
    as_eperm[k] = sigaltstack(&again, NULL) == -1 && errno == EPERM;
}
static void as_run(int k, const char *who)
{
    as_idx = k;
    stack_t ss = { .ss_sp = as_stacks[k], .ss_flags = 0, .ss_size = sizeof as_stacks[k] }, old, now;
    sigaltstack(NULL, &old);
    printf("altstack %s: at first disabled %s\n", who, yesno(old.ss_flags == SS_DISABLE));
    CHECK(sigaltstack(&ss, NULL) == 0);
    raise(SIGUSR2);
    sigaltstack(NULL, &now);
    printf("altstack %s: handler on the stack %s, SS_ONSTACK there %s, change refused (EPERM) %s\n", who,
           yesno(as_on[k]), yesno(as_flags_in[k] == SS_ONSTACK), yesno(as_eperm[k]));
    printf("altstack %s: after the handler flags %d size %zu same base %s\n", who, now.ss_flags, now.ss_size,
           yesno(now.ss_sp == as_stacks[k]));
    stack_t small = { .ss_sp = as_stacks[k], .ss_flags = 0, .ss_size = 1024 }, bad = ss;
    bad.ss_flags = 99;
    errno = 0;
    int r1 = sigaltstack(&small, NULL), e1 = errno;
    errno = 0;
    int r2 = sigaltstack(&bad, NULL), e2 = errno;
    printf("altstack %s: too small %d %s, bad flags %d %s\n", who, r1, e1 == ENOMEM ? "ENOMEM" : "?", r2,
           e2 == EINVAL ? "EINVAL" : "?");
    ss.ss_flags = SS_DISABLE;
    CHECK(sigaltstack(&ss, NULL) == 0);
    sigaltstack(NULL, &now);
    printf("altstack %s: disabled again %s\n", who, yesno(now.ss_flags == SS_DISABLE));
}
static void *as_worker(void *arg)
{
    as_run(1, "thread");
    return arg;
}
static void sec_altstack(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = as_handler;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
    as_run(0, "main");
    pthread_t th;
    OK(pthread_create(&th, NULL, as_worker, NULL));
    OK(pthread_join(th, NULL));
}

/* ---- sigwait: a thread takes process-directed signals with sigwait/sigtimedwait
 * (blocked in every thread), sigsuspend with a temporary mask, and ITIMER_REAL. */
static volatile int sw_got[3], sw_timeout_ok;
static void *sw_worker(void *arg)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    for (int k = 0; k < 2; k++) {
        int sig = 0;
        if (sigwait(&set, &sig) == 0) sw_got[k] = sig;
    }
    struct timespec ts = { 0, 5 * 1000000L };
    siginfo_t si;
    sw_timeout_ok = sigtimedwait(&set, &si, &ts) == -1 && errno == EAGAIN;
    return arg;
}
static volatile int ss_handled, al_count;
static void ss_handler(int sig) { ss_handled = sig; }
static void al_handler(int sig) { al_count++; }
static void sec_sigwait(void)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    OK(pthread_sigmask(SIG_BLOCK, &set, &old));
    pthread_t th;
    OK(pthread_create(&th, NULL, sw_worker, NULL));
    kill(getpid(), SIGUSR2);
    kill(getpid(), SIGUSR1);
    OK(pthread_join(th, NULL));
    int lo = sw_got[0] < sw_got[1] ? sw_got[0] : sw_got[1], hi = sw_got[0] ^ sw_got[1] ^ lo;
    printf("sigwait: got %d and %d, then a 5 ms sigtimedwait timed out: %s\n", lo, hi, yesno(sw_timeout_ok));
    /* A pending blocked signal taken at once, with its siginfo. */
    raise(SIGUSR2);
    siginfo_t si;
    struct timespec zero = { 0, 0 };
    int r = sigtimedwait(&set, &si, &zero);
    printf("sigtimedwait: pending one %d si_signo %d\n", r, si.si_signo);
    errno = 0;
    r = sigtimedwait(&set, &si, &zero);
    printf("sigtimedwait: none pending, zero timeout: %d %s\n", r, errno == EAGAIN ? "EAGAIN" : "?");

    /* sigsuspend: SIGUSR1 stays blocked but is pending; the temporary mask lets it in. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ss_handler;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    raise(SIGUSR1);
    sigset_t during;
    sigfillset(&during);
    sigdelset(&during, SIGUSR1);
    errno = 0;
    r = sigsuspend(&during);
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("sigsuspend: %d %s, handler saw %d, mask restored (SIGUSR1 blocked again) %s\n", r,
           errno == EINTR ? "EINTR" : "?", ss_handled, yesno(sigismember(&now, SIGUSR1)));

    /* ITIMER_REAL every 2 ms: three SIGALRMs, each awaited with sigsuspend. */
    sa.sa_handler = al_handler;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    sigset_t alrm;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    sigprocmask(SIG_BLOCK, &alrm, NULL);
    struct itimerval it = { { 0, 2000 }, { 0, 2000 } }, cur;
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    getitimer(ITIMER_REAL, &cur);
    /* [0, 2000]: 0 when the process was descheduled past the first expiry, as a loaded
     * machine does to the oracle (Linux re-arms ITIMER_REAL when its SIGALRM, blocked
     * here, is dequeued). */
    printf("itimer: armed interval %ld us, value in [0, 2000] us %s\n", (long)cur.it_interval.tv_usec,
           yesno(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec >= 0 && cur.it_value.tv_usec <= 2000));
    sigset_t wait_mask;
    sigprocmask(SIG_BLOCK, NULL, &wait_mask);
    sigdelset(&wait_mask, SIGALRM);
    while (al_count < 3) sigsuspend(&wait_mask);
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    CHECK(setitimer(ITIMER_REAL, &off, &cur) == 0);
    printf("itimer: 3 SIGALRMs %s, old interval %ld us\n", yesno(al_count >= 3), (long)cur.it_interval.tv_usec);
    getitimer(ITIMER_REAL, &cur);
    printf("itimer: disarmed %s\n", yesno(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0));
    OK(pthread_sigmask(SIG_SETMASK, &old, NULL));
}

/* ---- litmus: outcomes the Arm memory model forbids between two threads (issue 16's
 * litmus check), which run in parallel on spare lanes (or in turn on one lane):
 * - mp: message passing. The writer stores data = r, then flag = r with a store-release
 *   (STLR), for r = 1..LT_ROUNDS; the reader loads flag with a load-acquire (LDAR), then
 *   data: data below the flag it saw is forbidden. Again with plain stores and loads
 *   ordered by DMB ISH (__atomic_thread_fence) instead.
 * - sb: store buffering with DMB ISH between each thread's store and its load, the two
 *   threads started together each round: both loads seeing the other's old value is
 *   forbidden.
 * Prints the rounds and the forbidden outcomes seen (0). */
#define LT_ROUNDS 2000
static long lt_data, lt_flag, lt_x, lt_y, lt_go, lt_done;
static long lt_forbidden[3];
static void lt_wait(long *p, long v)
{
    for (unsigned spins = 0; __atomic_load_n(p, __ATOMIC_ACQUIRE) < v; spins++)
        if ((spins & 63) == 63) sched_yield(); /* one CPU with long slices: let it run */
}
static void *lt_mp_writer(void *arg)
{
    int fenced = (int)(intptr_t)arg;
    for (long r = 1; r <= LT_ROUNDS; r++) {
        if (fenced) {
            *(volatile long *)&lt_data = r;
            __atomic_thread_fence(__ATOMIC_SEQ_CST); /* DMB ISH */
            *(volatile long *)&lt_flag = r;
        } else {
            __atomic_store_n(&lt_data, r, __ATOMIC_RELAXED);
            __atomic_store_n(&lt_flag, r, __ATOMIC_RELEASE); /* STLR */
        }
        if ((r & 127) == 0) sched_yield();
    }
    return NULL;
}
static void *lt_mp_reader(void *arg)
{
    int fenced = (int)(intptr_t)arg;
    long seen = 0;
    for (unsigned spins = 0; seen < LT_ROUNDS; spins++) {
        long f, d;
        if (fenced) {
            f = *(volatile long *)&lt_flag;
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            d = *(volatile long *)&lt_data;
        } else {
            f = __atomic_load_n(&lt_flag, __ATOMIC_ACQUIRE); /* LDAR */
            d = __atomic_load_n(&lt_data, __ATOMIC_RELAXED);
        }
        if (d < f) lt_forbidden[fenced]++;
        if (f > seen) seen = f;
        if ((spins & 63) == 63) sched_yield();
    }
    return NULL;
}
static void *lt_sb_thread(void *arg)
{
    int me = (int)(intptr_t)arg;
    long *mine = me ? &lt_y : &lt_x, *other = me ? &lt_x : &lt_y;
    for (long r = 1; r <= LT_ROUNDS; r++) {
        lt_wait(&lt_go, r);
        *(volatile long *)mine = r;
        __atomic_thread_fence(__ATOMIC_SEQ_CST); /* DMB ISH */
        long o = *(volatile long *)other;
        if (o < r) __atomic_fetch_add(&lt_forbidden[2], 1, __ATOMIC_RELAXED); /* counted below */
        __atomic_fetch_add(&lt_done, 1, __ATOMIC_RELEASE);
    }
    return NULL;
}
static void sec_litmus(void)
{
    for (int fenced = 0; fenced < 2; fenced++) {
        pthread_t w, r;
        lt_data = lt_flag = 0;
        OK(pthread_create(&r, NULL, lt_mp_reader, (void *)(intptr_t)fenced));
        OK(pthread_create(&w, NULL, lt_mp_writer, (void *)(intptr_t)fenced));
        OK(pthread_join(w, NULL));
        OK(pthread_join(r, NULL));
        printf("litmus mp (%s): %d rounds, forbidden outcomes %ld\n", fenced ? "dmb" : "stlr/ldar", LT_ROUNDS,
               lt_forbidden[fenced]);
        CHECK(lt_forbidden[fenced] == 0);
    }
    /* sb: a round is forbidden when both threads read the other's old value; each
     * thread counts its own old reads (one alone is allowed), and the rounds run one at
     * a time, so a round that added two is a forbidden one. */
    pthread_t t0, t1;
    lt_x = lt_y = lt_go = lt_done = 0;
    lt_forbidden[2] = 0;
    OK(pthread_create(&t0, NULL, lt_sb_thread, (void *)0));
    OK(pthread_create(&t1, NULL, lt_sb_thread, (void *)1));
    long both = 0;
    for (long r = 1; r <= LT_ROUNDS; r++) {
        long before = __atomic_load_n(&lt_forbidden[2], __ATOMIC_ACQUIRE);
        __atomic_store_n(&lt_go, r, __ATOMIC_RELEASE);
        lt_wait(&lt_done, 2 * r);
        if (__atomic_load_n(&lt_forbidden[2], __ATOMIC_ACQUIRE) - before == 2) both++;
    }
    OK(pthread_join(t0, NULL));
    OK(pthread_join(t1, NULL));
    printf("litmus sb (dmb): %d rounds, forbidden outcomes %ld\n", LT_ROUNDS, both);
    CHECK(both == 0);
}

static const struct {
    const char *name;
    void (*run)(void);
    int in_all;
} sections[] = {
    { "create", sec_create, 1 },
    { "mutex", sec_mutex, 1 },
    { "cond", sec_cond, 1 },
    { "barrier", sec_barrier, 1 },
    { "tls", sec_tls, 1 },
    { "once_key", sec_once_key, 1 },
    { "detach_sem", sec_detach_sem, 1 },
    { "churn", sec_churn, 1 },
    { "kill", sec_kill, 1 },
    { "cancel", sec_cancel, 1 },
    { "fork", sec_fork, 0 },
    { "exit_thread", sec_exit_thread, 0 },
    { "exit_group", sec_exit_group, 0 },
    { "gettid", sec_gettid, 1 },
    { "futex", sec_futex, 1 },
    { "altstack", sec_altstack, 1 },
    { "sigwait", sec_sigwait, 1 },
    { "litmus", sec_litmus, 1 },
};

/* Usage: threads SECTION (or all). Exits 0 when every check passed, 1 if one failed,
 * 2 on a bad argument; exit_group exits 3. */
int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    unsigned n = sizeof sections / sizeof sections[0];
    int all = argc == 2 && strcmp(argv[1], "all") == 0, ran = 0;
    for (unsigned i = 0; argc == 2 && i < n; i++) {
        if (all ? sections[i].in_all : strcmp(argv[1], sections[i].name) == 0) {
            sections[i].run();
            ran++;
        }
    }
    if (ran == 0) {
        fprintf(stderr, "usage: threads SECTION|all; sections:");
        for (unsigned i = 0; i < n; i++) fprintf(stderr, " %s", sections[i].name);
        fprintf(stderr, "\n");
        return 2;
    }
    printf("threads %s: %s\n", argv[1], failures ? "FAILED" : "ok");
    return failures != 0;
}
