// kill(-1, SIGTERM) from a process with no SIGTERM handler: Linux signals every process
// the caller may signal except init and the caller itself (kill(2)), so the caller
// survives and its children get the signal: one dies by it, one runs its handler, one
// ignores it. Then kill(-1, 0) with no child left: ESRCH. Then kill(0, SIGUSR1) and
// kill(-pgid, SIGUSR1): the caller's process group, the caller included.
// Compared with qemu-aarch64 by crates/gpuos-cli/tests/cli.rs, which runs qemu in a
// PID namespace and a session of its own (kill(-1) and kill(0) there reach nothing
// outside it).
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int report_fd;
static void on_term(int sig) {
    char m[] = "B: handler got signal 15\n";
    m[22] = (char)('0' + sig / 10);
    m[23] = (char)('0' + sig % 10);
    (void)!write(report_fd, m, sizeof m - 1);
    _exit(7);
}

static void status_line(const char* who, int st) {
    if (WIFEXITED(st)) printf("%s: exited %d\n", who, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("%s: killed by signal %d\n", who, WTERMSIG(st));
    else printf("%s: status %#x\n", who, st);
}

static volatile int usr1;
static void on_usr1(int sig) { usr1 += sig == SIGUSR1; }
static int group_rep;
static void on_usr1_child(int sig) {
    (void)!write(group_rep, sig == SIGUSR1 ? "u" : "?", 1);
    _exit(11);
}

// kill(0) and kill(-pgid): two children with a SIGUSR1 handler each report and exit 11;
// the caller's own handler runs too.
static void group_kill(void) {
    int ready[2], rep[2], hold[2];
    if (pipe(ready) || pipe(rep) || pipe(hold)) return;
    signal(SIGUSR1, on_usr1);
    pid_t kid[2];
    for (int k = 0; k < 2; k++) {
        kid[k] = fork();
        if (kid[k] != 0) continue;
        group_rep = rep[1];
        signal(SIGUSR1, on_usr1_child);
        (void)!write(ready[1], "r", 1);
        char b[1];
        (void)!read(hold[0], b, 1);  // nobody writes: blocks until the signal
        _exit(12);
    }
    char b[2];
    for (int got = 0; got < 2;) {
        ssize_t n = read(ready[0], b, (size_t)(2 - got));
        if (n <= 0) return;
        got += (int)n;
    }
    int r = kill(0, SIGUSR1);
    printf("kill(0, SIGUSR1) = %d, the caller's handler ran %d time(s)\n", r, usr1);
    for (int k = 0; k < 2; k++) {
        int st = 0;
        waitpid(kid[k], &st, 0);
        status_line(k ? "group child 2" : "group child 1", st);
    }
    ssize_t n = read(rep[0], b, 2);
    printf("children's reports: %d\n", (int)n);
    r = kill(-getpgid(0), SIGUSR1);
    printf("kill(-pgid, SIGUSR1) = %d, the caller's handler ran %d time(s)\n", r, usr1);
}

int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    int ready[2], hold[2], release[2], rep[2];
    if (pipe(ready) || pipe(hold) || pipe(release) || pipe(rep)) return 2;
    report_fd = rep[1];
    pid_t kid[3];
    for (int k = 0; k < 3; k++) {
        kid[k] = fork();
        if (kid[k] < 0) return 3;
        if (kid[k] != 0) continue;
        char buf[1];
        if (k == 1) signal(SIGTERM, on_term);
        if (k == 2) signal(SIGTERM, SIG_IGN);
        (void)!write(ready[1], "r", 1);
        if (k == 2) {  // survives: waits for the parent to let it go
            close(release[1]);
            _exit(read(release[0], buf, 1) == 0 ? 5 : 6);
        }
        (void)!read(hold[0], buf, 1);  // blocks until a signal ends it
        _exit(9);
    }
    char buf[3];
    for (int got = 0; got < 3;) {
        ssize_t n = read(ready[0], buf, (size_t)(3 - got));
        if (n <= 0) return 4;
        got += (int)n;
    }
    int r = kill(-1, SIGTERM);
    printf("kill(-1, SIGTERM) = %d: the caller is still alive\n", r);
    close(release[1]);
    const char* who[3] = {"A (default)", "B (handler)", "C (ignores)"};
    for (int k = 0; k < 3; k++) {
        int st = 0;
        if (waitpid(kid[k], &st, 0) != kid[k]) printf("%s: wait failed: %s\n", who[k], strerror(errno));
        else status_line(who[k], st);
    }
    close(rep[1]);
    char m[64];
    ssize_t n = read(rep[0], m, sizeof m);
    printf("%.*s", n > 0 ? (int)n : 0, m);
    errno = 0;
    r = kill(-1, 0);
    printf("kill(-1, 0) with no child left = %d (%s)\n", r, r ? strerror(errno) : "ok");
    group_kill();
    return 0;
}
