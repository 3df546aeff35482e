/* signals: signal delivery inside one process. raise() and kill(getpid())
 * with sigaction handlers (SA_SIGINFO: si_signo, si_code), a SIGSEGV handler
 * that recovers with siglongjmp from a write to a read-only page and from a
 * NULL read (si_addr checked against the expected address), SIGFPE-free integer
 * division, blocked signals staying pending until unblocked (sigprocmask,
 * sigpending), SIG_IGN, SA_RESETHAND, SA_NODEFER, handler nesting, and the
 * signal mask restored after a handler returns. Exits 0 when the self-checks
 * pass, 1 otherwise. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int failures;
#define CHECK(cond) do { if (!(cond)) { printf("CHECK FAILED line %d: %s\n", __LINE__, #cond); failures++; } } while (0)

static volatile sig_atomic_t count_usr1, count_usr2, last_code, nested_depth, max_depth;
static volatile sig_atomic_t segv_count;
static volatile uintptr_t segv_addr;
static sigjmp_buf recover;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    count_usr1++;
    last_code = si->si_code;
    if (sig != SIGUSR1 || si->si_signo != SIGUSR1) failures++;
}

static void on_usr2(int sig)
{
    (void)sig;
    count_usr2++;
    nested_depth++;
    if (nested_depth > max_depth) max_depth = nested_depth;
    if (nested_depth < 3) raise(SIGUSR2); /* SA_NODEFER: nests */
    nested_depth--;
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    segv_count++;
    segv_addr = (uintptr_t)si->si_addr;
    last_code = si->si_code;
    if (sig != SIGSEGV) failures++;
    siglongjmp(recover, 1);
}

static int mask_has(int sig)
{
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, sig);
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);

    printf("== raise / kill\n");
    CHECK(raise(SIGUSR1) == 0);
    printf("after raise: count=%d code=%s\n", (int)count_usr1, last_code == SI_TKILL ? "SI_TKILL" : last_code == SI_USER ? "SI_USER" : "other");
    CHECK(kill(getpid(), SIGUSR1) == 0);
    printf("after kill: count=%d code=%s\n", (int)count_usr1, last_code == SI_USER ? "SI_USER" : "other");
    printf("mask after handler has USR1: %d\n", mask_has(SIGUSR1));

    printf("== blocking and pending\n");
    sigset_t set, old, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
    raise(SIGUSR1);
    raise(SIGUSR1); /* standard signals do not queue */
    sigpending(&pend);
    printf("blocked: count=%d pending=%d\n", (int)count_usr1, sigismember(&pend, SIGUSR1));
    CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
    printf("unblocked: count=%d\n", (int)count_usr1);
    CHECK(count_usr1 == 3);

    printf("== SIG_IGN, SA_RESETHAND, SA_NODEFER\n");
    signal(SIGUSR2, SIG_IGN);
    raise(SIGUSR2);
    printf("ignored USR2, still here\n");
    struct sigaction s2;
    memset(&s2, 0, sizeof s2);
    s2.sa_handler = on_usr2;
    s2.sa_flags = SA_NODEFER;
    sigaction(SIGUSR2, &s2, NULL);
    raise(SIGUSR2);
    printf("nodefer: count=%d max depth=%d\n", (int)count_usr2, (int)max_depth);
    CHECK(count_usr2 == 3 && max_depth == 3);
    s2.sa_flags = SA_RESETHAND;
    sigaction(SIGUSR2, &s2, NULL);
    nested_depth = 5; /* no nesting this time */
    raise(SIGUSR2);
    struct sigaction cur;
    sigaction(SIGUSR2, NULL, &cur);
    printf("resethand: count=%d handler now default=%d\n", (int)count_usr2, cur.sa_handler == SIG_DFL);

    printf("== SIGSEGV recovery\n");
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    unsigned char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(page != MAP_FAILED);
    page[100] = 7;
    mprotect(page, 4096, PROT_READ);
    if (sigsetjmp(recover, 1) == 0) {
        ((volatile unsigned char *)page)[123] = 1;
        printf("write to read-only page did not fault\n");
        failures++;
    }
    printf("ro write: segv=%d addr ok=%d code=%s value kept=%d\n", (int)segv_count, segv_addr == (uintptr_t)(page + 123),
           last_code == SEGV_ACCERR ? "SEGV_ACCERR" : last_code == SEGV_MAPERR ? "SEGV_MAPERR" : "other", page[100]);
    printf("mask restored by siglongjmp: %d\n", !mask_has(SIGSEGV));
    if (sigsetjmp(recover, 1) == 0) {
        static volatile uintptr_t sixteen = 16;
        volatile int *np = (volatile int *)sixteen;
        int v = *np;
        (void)v;
        failures++;
    }
    printf("null read: segv=%d addr=%lu code=%s\n", (int)segv_count, (unsigned long)segv_addr,
           last_code == SEGV_MAPERR ? "SEGV_MAPERR" : "other");
    munmap(page + 4096, 4096);
    if (sigsetjmp(recover, 1) == 0) {
        ((volatile unsigned char *)page)[4096 + 5] = 1;
        failures++;
    }
    printf("unmapped write: segv=%d addr ok=%d code=%s\n", (int)segv_count, segv_addr == (uintptr_t)(page + 4101),
           last_code == SEGV_MAPERR ? "SEGV_MAPERR" : "other");
    CHECK(segv_count == 3);

    printf("== integer division never traps on AArch64\n");
    volatile int z = 0, m = -2147483647 - 1, mo = -1;
    printf("1/0=%d INT_MIN/-1=%d\n", 1 / z, m / mo);

    signal(SIGSEGV, SIG_DFL);
    printf("signals: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
