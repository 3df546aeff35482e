// The clocks a guest reads (clock_gettime(2), gettimeofday(2)): each line states a
// property that holds on Linux whatever the time is, so the output equals qemu's.
// Under gpuos the wall and monotonic clocks are served on the device from offsets the
// host measured (kernel/sys/time_sys.h); the CPU-time clocks come from the host.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }
static long long now(clockid_t c) {
    struct timespec t;
    if (syscall(SYS_clock_gettime, c, &t) != 0) return -1;
    return ns(t);
}
static void say(const char* what, int ok) { printf("%-48s %s\n", what, ok ? "ok" : "WRONG"); }

int main(void) {
    // The wall clock agrees with the time the host's filesystem stamps on a new file.
    char name[64];
    snprintf(name, sizeof name, "clocks-%d.tmp", (int)getpid());
    long long before = now(CLOCK_REALTIME);
    int fd = open(name, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    struct stat st;
    int stat_ok = fd >= 0 && fstat(fd, &st) == 0;
    long long after = now(CLOCK_REALTIME);
    if (fd >= 0) close(fd);
    unlink(name);
    long long mtime = stat_ok ? ns(st.st_mtim) : 0;
    say("realtime brackets a new file's mtime (+-2 s)", stat_ok && mtime > before - 2000000000LL && mtime < after + 2000000000LL);

    // gettimeofday is the same clock, in microseconds; the timezone is UTC.
    struct timeval tv;
    struct timezone tz = {123, 456};
    int g = gettimeofday(&tv, &tz);
    long long real = now(CLOCK_REALTIME);
    long long tvns = tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
    say("gettimeofday agrees with CLOCK_REALTIME", g == 0 && tv.tv_usec >= 0 && tv.tv_usec < 1000000 && real - tvns >= 0 && real - tvns < 1000000000LL);
    say("gettimeofday's timezone is UTC", tz.tz_minuteswest == 0 && tz.tz_dsttime == 0);
    say("gettimeofday(NULL, NULL) succeeds", syscall(SYS_gettimeofday, NULL, NULL) == 0);

    // The monotonic clocks never go back, and advance over a sleep.
    long long last = now(CLOCK_MONOTONIC), backwards = 0;
    for (int i = 0; i < 20000; i++) {
        long long t = now(CLOCK_MONOTONIC);
        if (t < last) backwards++;
        last = t;
    }
    say("CLOCK_MONOTONIC never goes back (20000 reads)", backwards == 0);
    long long t0 = now(CLOCK_MONOTONIC);
    struct timespec d = {0, 20 * 1000 * 1000};
    nanosleep(&d, NULL);
    long long t1 = now(CLOCK_MONOTONIC);
    say("CLOCK_MONOTONIC advances over a 20 ms sleep", t1 - t0 >= 19000000LL && t1 - t0 < 5000000000LL);

    // A deadline on the monotonic clock, slept by the host, is reached on the guest's
    // own reading of that clock (within 1 ms: the device's offset is measured).
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    long long deadline = ns(dl) + 30000000LL;
    dl.tv_sec = deadline / 1000000000LL;
    dl.tv_nsec = deadline % 1000000000LL;
    int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &dl, NULL);
    say("an absolute monotonic sleep ends at its deadline", r == 0 && now(CLOCK_MONOTONIC) >= deadline - 1000000LL);

    // The other clocks: raw, coarse and boot time are close to their fine clocks.
    long long mono = now(CLOCK_MONOTONIC);
    long long raw = now(CLOCK_MONOTONIC_RAW), cm = now(CLOCK_MONOTONIC_COARSE);
    long long boot = now(CLOCK_BOOTTIME), cr = now(CLOCK_REALTIME_COARSE);
    real = now(CLOCK_REALTIME);
    say("CLOCK_MONOTONIC_RAW is within 1 s of MONOTONIC", raw > 0 && llabs(raw - mono) < 1000000000LL);
    say("CLOCK_MONOTONIC_COARSE is within 100 ms of MONOTONIC", cm > 0 && llabs(cm - mono) < 100000000LL);
    say("CLOCK_REALTIME_COARSE is within 100 ms of REALTIME", cr > 0 && llabs(cr - real) < 100000000LL);
    say("CLOCK_BOOTTIME is not behind MONOTONIC", boot >= mono - 1000000LL);
    say("CLOCK_PROCESS_CPUTIME_ID reads", now(CLOCK_PROCESS_CPUTIME_ID) >= 0);
    say("CLOCK_THREAD_CPUTIME_ID reads", now(CLOCK_THREAD_CPUTIME_ID) >= 0);

    // Errors: an unknown clock is EINVAL, a bad pointer EFAULT (raw syscalls: a vDSO
    // would fault in user space instead).
    struct timespec t;
    errno = 0;
    say("clock 99 is EINVAL", syscall(SYS_clock_gettime, 99, &t) == -1 && errno == EINVAL);
    errno = 0;
    say("a bad pointer is EFAULT (REALTIME)", syscall(SYS_clock_gettime, CLOCK_REALTIME, (void*)8) == -1 && errno == EFAULT);
    errno = 0;
    say("a bad pointer is EFAULT (MONOTONIC)", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (void*)8) == -1 && errno == EFAULT);
    errno = 0;
    say("gettimeofday with a bad pointer is EFAULT", syscall(SYS_gettimeofday, (void*)8, NULL) == -1 && errno == EFAULT);
    return 0;
}
