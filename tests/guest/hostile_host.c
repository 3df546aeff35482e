// Host-side corners of isolation and limits (issue 12), one mode per run:
//   futimens            futimens(fd, times) and utimensat(AT_FDCWD, NULL, ...)
//   sendfile            sendfile with a NULL and with a bad offset pointer
//   sleepkids N MS      N forked children each sleep MS ms; says whether they slept
//                       together (as on Linux) or one after another
//   bigout MIB          write MIB MiB of a known pattern to stdout, 64 KiB at a time
//   sleep S             print a line, sleep S seconds, print another
//   race N OUTSIDE      a forked child swaps directory d with a symlink to OUTSIDE N
//                       times while the parent creates and reads files beneath d
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void show(const char* what, long r) {
    if (r < 0) printf("%s = -1 %s\n", what, strerror(errno));
    else printf("%s = %ld\n", what, r);
}

static int do_futimens(void) {
    int fd = open("stamped", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) return 1;
    struct timespec ts[2] = {{1000000000, 5}, {1234567890, 0}};
    show("futimens", futimens(fd, ts));
    struct stat st;
    fstat(fd, &st);
    printf("atime %ld mtime %ld\n", (long)st.st_atim.tv_sec, (long)st.st_mtim.tv_sec);
    // glibc refuses a NULL path itself (EINVAL); the kernel's answers, raw:
    show("SYS_utimensat(fd, NULL)", syscall(SYS_utimensat, fd, NULL, ts, 0));
    show("SYS_utimensat(AT_FDCWD, NULL)", syscall(SYS_utimensat, AT_FDCWD, NULL, ts, 0));
    struct timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    show("futimens omit", futimens(fd, omit));
    close(fd);
    unlink("stamped");
    return 0;
}

static int do_sendfile(void) {
    int fd = open("sent", O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0) return 1;
    if (write(fd, "0123456789\n", 11) != 11) return 1;
    lseek(fd, 0, SEEK_SET);
    fflush(stdout);
    show("sendfile bad offset", sendfile(1, fd, (off_t*)8, 5));
    fflush(stdout);
    long n = sendfile(1, fd, NULL, 11);
    show("sendfile NULL offset", n);
    close(fd);
    unlink("sent");
    return 0;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int do_sleepkids(int n, int ms) {
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) {
            struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
            nanosleep(&d, NULL);
            _exit(i);
        }
        if (p < 0) return 1;
    }
    int sum = 0, st;
    for (int i = 0; i < n; i++) {
        if (wait(&st) < 0) return 1;
        sum += WEXITSTATUS(st);
    }
    double ms_took = (now_s() - t0) * 1000;
    // Together: well under the sum of the sleeps (n * ms); half of it leaves room for a
    // slow or busy machine (forks, scheduling) without taking serial sleeps for together.
    printf("%d children, exit statuses sum %d, slept %s\n", n, sum,
           ms_took >= ms && ms_took < ms * (n > 4 ? n / 2.0 : 2.0) ? "together" : "one after another");
    return 0;
}

static int do_bigout(long mib) {
    static char buf[65536];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = 'a' + i % 26;
    for (long k = 0; k < mib * 16; k++) {
        buf[0] = '0' + k % 10;
        size_t off = 0;
        while (off < sizeof buf) {
            ssize_t w = write(1, buf + off, sizeof buf - off);
            if (w <= 0) return 1;
            off += w;
        }
    }
    return 0;
}

static int do_race(int n, const char* outside) {
    mkdir("d", 0755);
    unlink("l");
    if (symlink(outside, "l") != 0) return 1;
    pid_t p = fork();
    if (p == 0) {
        for (int i = 0; i < n; i++) {
            rename("d", "t");
            rename("l", "d");
            rename("d", "l");
            rename("t", "d");
        }
        _exit(0);
    }
    int created = 0, leaked = 0;
    for (int i = 0; i < n; i++) {
        int fd = open("d/new", O_CREAT | O_WRONLY, 0644);
        if (fd >= 0) {
            created++;
            close(fd);
            unlink("d/new");
        }
        char b[16] = {0};
        fd = open("d/secret", O_RDONLY);
        if (fd >= 0) {
            if (read(fd, b, sizeof b - 1) > 0 && strncmp(b, "secret", 6) == 0) leaked++;
            close(fd);
        }
    }
    int st;
    waitpid(p, &st, 0);
    printf("race: %d created beneath d, %d reads of the secret\n", created, leaked);
    return 0;
}

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    const char* m = argv[1];
    if (!strcmp(m, "futimens")) return do_futimens();
    if (!strcmp(m, "sendfile")) return do_sendfile();
    if (!strcmp(m, "sleepkids") && argc > 3) return do_sleepkids(atoi(argv[2]), atoi(argv[3]));
    if (!strcmp(m, "bigout") && argc > 2) return do_bigout(atol(argv[2]));
    if (!strcmp(m, "sleep") && argc > 2) {
        printf("before sleeping\n");
        fflush(stdout);
        sleep(atoi(argv[2]));
        printf("after sleeping\n");
        return 0;
    }
    if (!strcmp(m, "race") && argc > 3) return do_race(atoi(argv[2]), argv[3]);
    return 2;
}
