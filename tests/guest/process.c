// Processes: fork, vfork, execve, wait4/waitpid, pipes (EOF, blocking reads and
// writes, SIGPIPE/EPIPE), poll, orphans. Compared with qemu-aarch64 by
// scripts/conformance.sh.
//
// qemu-aarch64 cannot execve an aarch64 file (the host kernel would have to run it),
// so where exec fails with ENOEXEC the child does in place what the exec'd program
// would do (close its close-on-exec fds, then run exec_main): the output is the same,
// and under gpuos the real execve runs.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int sigchld_count;
static void on_sigchld(int sig) { sigchld_count += sig == SIGCHLD; }

static void say(const char* s) { (void)!write(1, s, strlen(s)); }

static void status_line(const char* what, int st) {
    char b[128];
    if (WIFEXITED(st)) snprintf(b, sizeof b, "%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) snprintf(b, sizeof b, "%s: killed by signal %d\n", what, WTERMSIG(st));
    else snprintf(b, sizeof b, "%s: status %#x\n", what, st);
    say(b);
}

// The exec'd program: argv[1] == "exec-child", then a pipe fd to report on, a
// close-on-exec fd and a plain one.
static int exec_main(int argc, char** argv) {
    char b[256];
    int n = snprintf(b, sizeof b, "exec child: argc %d:", argc);
    for (int i = 1; i < argc; i++) n += snprintf(b + n, sizeof b - n, " [%s]", argv[i]);
    snprintf(b + n, sizeof b - n, " env=%s\n", getenv("PROCESS_TEST") ? getenv("PROCESS_TEST") : "(none)");
    int out = atoi(argv[2]), cloexec = atoi(argv[3]), plain = atoi(argv[4]);
    (void)!write(out, b, strlen(b));
    snprintf(b, sizeof b, "exec child: cloexec fd %s, plain fd %s\n",
             fcntl(cloexec, F_GETFD) == -1 && errno == EBADF ? "closed" : "OPEN",
             fcntl(plain, F_GETFD) == 0 ? "open" : "CLOSED");
    (void)!write(out, b, strlen(b));
    return 42;
}

static void do_exec(int out, int cloexec, int plain) {
    char a[3][16];
    snprintf(a[0], 16, "%d", out);
    snprintf(a[1], 16, "%d", cloexec);
    snprintf(a[2], 16, "%d", plain);
    char* argv[] = {"process", "exec-child", a[0], a[1], a[2], "last arg", 0};
    char* envp[] = {"PROCESS_TEST=from execve", 0};
    execve("/proc/self/exe", argv, envp);
    if (errno != ENOEXEC) _exit(100 + errno);
    // qemu-aarch64: do what the new image would.
    close(cloexec);
    environ = envp;
    _exit(exec_main(6, argv));
}

int main(int argc, char** argv) {
    if (argc > 1 && !strcmp(argv[1], "exec-child")) return exec_main(argc, argv);
    setvbuf(stdout, 0, _IONBF, 0);
    int st;
    pid_t me = getpid();

    // 1. fork + pipe: the parent reads until EOF (every write end closed), then reaps.
    int p[2];
    if (pipe(p)) return 1;
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        const char* m = "hello through the pipe\n";
        (void)!write(p[1], m, strlen(m));
        _exit(getppid() == me ? 7 : 8);
    }
    close(p[1]);
    char buf[256];
    ssize_t n, got = 0;
    while ((n = read(p[0], buf + got, sizeof buf - 1 - got)) > 0) got += n;
    buf[got] = 0;
    printf("parent read %zd bytes: %s", got, buf);
    close(p[0]);
    pid_t w = waitpid(c, &st, 0);
    printf("waitpid returned the child: %d\n", w == c);
    status_line("child 1", st);

    // 2. A child killed by a signal, and one by SIGPIPE (its pipe has no reader).
    c = fork();
    if (c == 0) {
        kill(getpid(), SIGKILL);
        _exit(1);
    }
    waitpid(c, &st, 0);
    status_line("child 2", st);
    if (pipe(p)) return 1;
    close(p[0]);
    c = fork();
    if (c == 0) {
        (void)!write(p[1], "x", 1);
        _exit(3);
    }
    close(p[1]);
    waitpid(c, &st, 0);
    status_line("child 3 (writes to a closed pipe)", st);
    signal(SIGPIPE, SIG_IGN);
    if (pipe(p)) return 1;
    close(p[0]);
    errno = 0;
    n = write(p[1], "x", 1);
    printf("write with SIGPIPE ignored: %zd, EPIPE %d\n", n, errno == EPIPE);
    close(p[1]);
    signal(SIGPIPE, SIG_DFL);

    // 3. WNOHANG while the child is blocked reading an empty pipe; then release it.
    int go[2];
    if (pipe(go)) return 1;
    c = fork();
    if (c == 0) {
        char x;
        close(go[1]);
        _exit(read(go[0], &x, 1) == 1 ? x - '0' : 99);
    }
    close(go[0]);
    printf("WNOHANG while running: %d\n", waitpid(c, &st, WNOHANG));
    (void)!write(go[1], "5", 1);
    close(go[1]);
    waitpid(-1, &st, 0);
    status_line("child 4", st);
    errno = 0;
    printf("no children left: %d ECHILD %d\n", waitpid(-1, &st, 0), errno == ECHILD);

    // 4. A pipe bigger than its buffer: the writer blocks until the reader drains it.
    if (pipe(p)) return 1;
    c = fork();
    if (c == 0) {
        close(p[0]);
        static char big[200000];
        for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 7);
        size_t off = 0;
        while (off < sizeof big) {
            ssize_t k = write(p[1], big + off, sizeof big - off);
            if (k <= 0) _exit(2);
            off += (size_t)k;
        }
        _exit(0);
    }
    close(p[1]);
    unsigned long sum = 0;
    got = 0;
    while ((n = read(p[0], buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) sum += (unsigned char)buf[i];
        got += n;
    }
    close(p[0]);
    waitpid(c, &st, 0);
    printf("big pipe: %zd bytes, sum %lu, ", got, sum);
    status_line("writer", st);

    // 5. poll with no timeout waits for the child's write.
    if (pipe(p)) return 1;
    c = fork();
    if (c == 0) {
        (void)!write(p[1], "ready", 5);
        _exit(0);
    }
    struct pollfd pf = {p[0], POLLIN, 0};
    int r = poll(&pf, 1, -1);
    printf("poll: %d revents POLLIN %d\n", r, (pf.revents & POLLIN) != 0);
    pf.fd = p[1];
    pf.events = POLLOUT;
    printf("poll write end: %d\n", poll(&pf, 1, 0));
    close(p[0]);
    close(p[1]);
    waitpid(c, &st, 0);

    // 5b. poll with a finite timeout: it waits its whole timeout when nothing comes, and
    // returns as soon as a child writes when something does.
    if (pipe(p)) return 1;
    struct timespec t0, t1;
    pf.fd = p[0];
    pf.events = POLLIN;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = poll(&pf, 1, 150);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long waited_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("poll 150 ms, nothing written: %d, waited >= 150 ms: %d\n", r, waited_ms >= 150);
    c = fork();
    if (c == 0) {
        struct timespec d = {0, 200 * 1000000};
        nanosleep(&d, NULL);
        (void)!write(p[1], "late", 4);
        _exit(0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = poll(&pf, 1, 5000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    waited_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("poll 5 s, child writes after 200 ms: %d revents POLLIN %d, before the timeout: %d\n", r,
           (pf.revents & POLLIN) != 0, waited_ms < 5000);
    close(p[0]);
    close(p[1]);
    waitpid(c, &st, 0);

    // 6. Many children at once, reaped in any order.
    int total = 0;
    for (int i = 0; i < 20; i++) {
        if (fork() == 0) _exit(i);
    }
    for (int i = 0; i < 20; i++) {
        if (wait(&st) > 0 && WIFEXITED(st)) total += WEXITSTATUS(st);
    }
    printf("20 children, exit codes sum to %d\n", total);

    // 7. An orphan: its parent exits at once; it runs on and reports through a pipe.
    int sig[2];
    if (pipe(p) || pipe(sig)) return 1;
    c = fork();
    if (c == 0) {
        if (fork() == 0) {
            char x;
            close(p[0]);
            close(sig[1]);
            // Wait for the middle process to be gone: the top parent sends a byte.
            if (read(sig[0], &x, 1) < 0) {}
            (void)!write(p[1], "orphan ran\n", 11);
            _exit(0);
        }
        _exit(0);
    }
    close(p[1]);
    close(sig[0]);
    waitpid(c, &st, 0);
    status_line("orphan's parent", st);
    (void)!write(sig[1], "!", 1);
    close(sig[1]);
    got = read(p[0], buf, sizeof buf - 1);
    buf[got > 0 ? got : 0] = 0;
    printf("%s", buf);
    close(p[0]);

    // 8. vfork + execve, and fork + execve (close-on-exec fds, argv, envp).
    for (int k = 0; k < 2; k++) {
        int rep[2], ce[2];
        if (pipe(rep) || pipe2(ce, O_CLOEXEC)) return 1;
        c = k == 0 ? vfork() : fork();
        if (c == 0) do_exec(rep[1], ce[0], rep[0]);
        close(rep[1]);
        got = 0;
        while ((n = read(rep[0], buf + got, sizeof buf - 1 - got)) > 0) got += n;
        buf[got] = 0;
        printf("%s%s", k == 0 ? "vfork: " : "fork: ", buf);
        waitpid(c, &st, 0);
        status_line("exec'd child", st);
        close(rep[0]);
        close(ce[0]);
        close(ce[1]);
    }

    // 9. kill(2) of a child blocked reading a pipe; SIGCHLD to a handler.
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigchld;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCHLD, &sa, 0);
    if (pipe(p)) return 1;
    c = fork();
    if (c == 0) {
        char x;
        close(p[1]);
        (void)!read(p[0], &x, 1);
        _exit(1);
    }
    close(p[0]);
    printf("kill a blocked child: %d\n", kill(c, SIGTERM));
    waitpid(c, &st, 0);
    status_line("child 5", st);
    close(p[1]);
    printf("SIGCHLD handler ran: %d\n", sigchld_count > 0);
    signal(SIGCHLD, SIG_DFL);

    // 10. exec of something that is not a program.
    c = fork();
    if (c == 0) {
        char* av[] = {"words", 0};
        execve("nonexistent-file", av, av + 1);
        _exit(errno == ENOENT ? 20 : 21);
    }
    waitpid(c, &st, 0);
    status_line("exec of a missing file", st);
    return 0;
}
