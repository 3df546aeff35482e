/* POSIX timers: timer_create(2), timer_settime(2), timer_gettime(2),
 * timer_getoverrun(2), timer_delete(2). Signals with si_code SI_TIMER and the
 * timer's sigev_value, a one-shot and an interval timer, overruns while the signal is
 * blocked, SIGEV_NONE, an absolute expiry (past and future), SIGEV_THREAD_ID to
 * another thread, glibc's SIGEV_THREAD (a helper thread), disarming, and the errors.
 * Prints only what is the same on every machine: no times, no timer ids. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

static volatile sig_atomic_t hits, last_code, last_value;

static void on_sig(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    hits++;
    last_code = si->si_code;
    last_value = si->si_value.sival_int;
}

static timer_t make(clockid_t clk, int notify, int signo, int value) {
    struct sigevent sev;
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = notify;
    sev.sigev_signo = signo;
    sev.sigev_value.sival_int = value;
    timer_t t;
    if (timer_create(clk, &sev, &t) != 0) {
        printf("timer_create: %s\n", strerror(errno));
        _exit(1);
    }
    return t;
}

static void arm(timer_t t, int flags, long value_ns, long interval_ns) {
    struct itimerspec its = {{interval_ns / 1000000000, interval_ns % 1000000000},
                             {value_ns / 1000000000, value_ns % 1000000000}};
    if (timer_settime(t, flags, &its, NULL) != 0) printf("timer_settime: %s\n", strerror(errno));
}

/* Wait, with SIGUSR1 blocked outside sigsuspend, until `n` handler runs in all. */
static void wait_hits(int n) {
    sigset_t none;
    sigemptyset(&none);
    while (hits < n) sigsuspend(&none);
}

static void one_shot(void) {
    timer_t t = make(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR1, 42);
    arm(t, 0, 20 * 1000000L, 0);
    wait_hits(1);
    printf("one-shot: hits %d, SI_TIMER %d, value %d\n", (int)hits, last_code == SI_TIMER, (int)last_value);
    struct itimerspec cur;
    timer_gettime(t, &cur);
    printf("expired one-shot reads disarmed: %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);
    printf("getoverrun: %d\n", timer_getoverrun(t));
    timer_delete(t);
}

static void gettime_and_disarm(void) {
    timer_t t = make(CLOCK_REALTIME, SIGEV_SIGNAL, SIGUSR1, 1);
    arm(t, 0, 2000000000L, 500000000L);
    struct itimerspec cur, old;
    timer_gettime(t, &cur);
    long left = cur.it_value.tv_sec * 1000000000L + cur.it_value.tv_nsec;
    printf("armed: left in (1 s, 2 s]: %d, interval 0.5 s: %d\n", left > 1000000000L && left <= 2000000000L,
           cur.it_interval.tv_sec == 0 && cur.it_interval.tv_nsec == 500000000L);
    struct itimerspec zero = {{0, 0}, {0, 0}};
    timer_settime(t, 0, &zero, &old);
    printf("disarm's old value was armed: %d\n", old.it_value.tv_sec > 0 || old.it_value.tv_nsec > 0);
    timer_gettime(t, &cur);
    printf("disarmed reads zero: %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0 &&
                                            cur.it_interval.tv_sec == 0 && cur.it_interval.tv_nsec == 0);
    /* Longer than Linux's KTIME_MAX (292 years): clamped, not refused. */
    struct itimerspec huge = {{0, 0}, {1000000000000L, 0}};
    int r = timer_settime(t, 0, &huge, NULL);
    timer_gettime(t, &cur);
    printf("10^12 s: accepted %d, reads over 10^9 s: %d\n", r == 0, cur.it_value.tv_sec > 1000000000L);
    timer_delete(t);
}

static void interval_and_overrun(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    timer_t t = make(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR2, 7);
    arm(t, 0, 5 * 1000000L, 5 * 1000000L);
    int ok = 0;
    for (int i = 0; i < 3; i++) {
        siginfo_t si;
        if (sigwaitinfo(&set, &si) == SIGUSR2 && si.si_code == SI_TIMER && si.si_value.sival_int == 7) ok++;
    }
    printf("interval: %d of 3 signals from the timer\n", ok);
    /* Blocked and not waited for: the expiries meanwhile are overruns of one signal. */
    struct timespec nap = {0, 60 * 1000000L};
    nanosleep(&nap, NULL);
    siginfo_t si;
    sigwaitinfo(&set, &si);
    printf("overrun after 60 ms of a 5 ms timer: at least 5: %d; getoverrun agrees: %d\n", si.si_overrun >= 5,
           timer_getoverrun(t) == si.si_overrun);
    timer_delete(t);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static void sigev_none(void) {
    timer_t t = make(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0);
    arm(t, 0, 5000 * 1000000L, 0);
    struct itimerspec cur;
    timer_gettime(t, &cur);
    long left = cur.it_value.tv_sec * 1000000000L + cur.it_value.tv_nsec;
    printf("SIGEV_NONE counts down: %d\n", left > 0 && left < 5000 * 1000000L);
    timer_delete(t);
}

static void absolute(void) {
    int before = hits;
    timer_t t = make(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR1, 5);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long at = now.tv_sec * 1000000000L + now.tv_nsec + 15 * 1000000L;
    arm(t, TIMER_ABSTIME, at, 0);
    wait_hits(before + 1);
    printf("absolute, future: value %d\n", (int)last_value);
    arm(t, TIMER_ABSTIME, 1000000000L, 0); /* long past: at once */
    wait_hits(before + 2);
    printf("absolute, past: value %d\n", (int)last_value);
    timer_delete(t);
}

static sem_t ready, done;
static volatile int thread_result;

static void *target(void *arg) {
    (void)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN + 2);
    *(pid_t *)arg = (pid_t)syscall(SYS_gettid);
    sem_post(&ready);
    siginfo_t si;
    int s = sigwaitinfo(&set, &si);
    thread_result = s == SIGRTMIN + 2 && si.si_code == SI_TIMER ? si.si_value.sival_int : -1;
    return NULL;
}

static void thread_id(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN + 2);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* the new thread inherits it */
    sem_init(&ready, 0, 0);
    pid_t tid = 0;
    pthread_t th;
    pthread_create(&th, NULL, target, &tid);
    sem_wait(&ready);
    struct sigevent sev;
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGRTMIN + 2;
    sev.sigev_value.sival_int = 99;
    sev.sigev_notify_thread_id = tid;
    timer_t t;
    if (timer_create(CLOCK_MONOTONIC, &sev, &t) != 0) printf("SIGEV_THREAD_ID: %s\n", strerror(errno));
    arm(t, 0, 10 * 1000000L, 0);
    pthread_join(th, NULL);
    printf("SIGEV_THREAD_ID: the thread took it, value %d\n", thread_result);
    timer_delete(t);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static int notified_sum;

static void notified(union sigval v) {
    __atomic_fetch_add(&notified_sum, v.sival_int, __ATOMIC_SEQ_CST);
    sem_post(&done);
}

static void sigev_thread(void) {
    sem_init(&done, 0, 0);
    struct sigevent sev;
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD;
    sev.sigev_notify_function = notified;
    sev.sigev_value.sival_int = 1234;
    timer_t t, t2;
    if (timer_create(CLOCK_MONOTONIC, &sev, &t) != 0) printf("SIGEV_THREAD: %s\n", strerror(errno));
    arm(t, 0, 10 * 1000000L, 0);
    sem_wait(&done);
    printf("SIGEV_THREAD: the function ran with %d\n", notified_sum);
    /* Two timers of one signal (glibc's SIGTIMER) expiring together: both notify. */
    sev.sigev_value.sival_int = 5678;
    if (timer_create(CLOCK_MONOTONIC, &sev, &t2) != 0) printf("SIGEV_THREAD: %s\n", strerror(errno));
    notified_sum = 0;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long at = now.tv_sec * 1000000000L + now.tv_nsec + 10 * 1000000L;
    arm(t, TIMER_ABSTIME, at, 0);
    arm(t2, TIMER_ABSTIME, at, 0);
    sem_wait(&done);
    sem_wait(&done);
    printf("two SIGEV_THREAD timers at once: sum %d\n", notified_sum);
    timer_delete(t);
    timer_delete(t2);
}

static void errors(void) {
    struct sigevent sev;
    memset(&sev, 0, sizeof(sev));
    int id;
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR1;
    long r = syscall(SYS_timer_create, 12345, &sev, &id);
    printf("bad clock: %ld %s\n", r, r ? strerror(errno) : "");
    sev.sigev_notify = 99;
    r = syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id);
    printf("bad notify: %ld %s\n", r, r ? strerror(errno) : "");
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = 0;
    r = syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id);
    printf("signal 0: %ld %s\n", r, r ? strerror(errno) : "");
    sev.sigev_signo = 65;
    r = syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id);
    printf("signal 65: %ld %s\n", r, r ? strerror(errno) : "");
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGUSR1;
    sev.sigev_notify_thread_id = 999999;
    r = syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id);
    printf("no such thread: %ld %s\n", r, r ? strerror(errno) : "");
    timer_t t = make(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR1, 0);
    struct itimerspec bad = {{0, 0}, {0, 1000000000L}};
    printf("tv_nsec 1e9: %d %s\n", timer_settime(t, 0, &bad, NULL), strerror(errno));
    timer_delete(t);
    r = syscall(SYS_timer_delete, 4000);
    printf("delete of no timer: %ld %s\n", r, r ? strerror(errno) : "");
    r = syscall(SYS_timer_getoverrun, 4000);
    printf("getoverrun of no timer: %ld %s\n", r, r ? strerror(errno) : "");
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL); /* taken only inside sigsuspend */
    setvbuf(stdout, NULL, _IONBF, 0);
    one_shot();
    gettime_and_disarm();
    interval_and_overrun();
    sigev_none();
    absolute();
    thread_id();
    sigev_thread();
    errors();
    printf("done, %d handler runs\n", (int)hits);
    return 0;
}
