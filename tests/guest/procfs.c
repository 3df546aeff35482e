/* procfs: the guest's own /proc files (issue 15): /proc/self/status, /proc/self/stat and
 * /proc/self/maps read as proc(5) lays them out, checked against what the program knows
 * of itself, and
 * pthread_getattr_np (glibc finds the main thread's stack in /proc/self/maps), and their
 * stat(2) and access(2). Prints
 * yes/no answers only, the same on any kernel that shows the guest's own process. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *yesno(int b) { return b ? "yes" : "no"; }

/* The value of "Key:" in /proc/self/status, or -1. */
static long status_field(const char *key)
{
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':') v = strtol(line + n + 1, NULL, 10);
    fclose(f);
    return v;
}

/* The permissions ("rwxp") of the /proc/self/maps line holding address a, and whether
 * the line names `name` (when given). 0 when no line holds it. */
static int maps_line(const void *a, char perms[5], const char *name, int *named)
{
    char line[512];
    int found = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return 0;
    while (!found && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char p[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) != 3) continue;
        if ((uintptr_t)a >= lo && (uintptr_t)a < hi) {
            memcpy(perms, p, 5);
            if (named) *named = name && strstr(line, name) != NULL;
            found = 1;
        }
    }
    fclose(f);
    return found;
}

static volatile int go;
static void *spin(void *arg)
{
    while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE)) sched_yield();
    return arg;
}

int main(void)
{
    printf("status: Tgid is getpid: %s\n", yesno(status_field("Tgid") == getpid()));
    printf("status: Pid is gettid: %s\n", yesno(status_field("Pid") == (long)syscall(SYS_gettid)));
    printf("status: PPid is getppid: %s\n", yesno(status_field("PPid") == getppid()));
    long before = status_field("Threads");
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, spin, NULL);
    long during = status_field("Threads");
    __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    printf("status: two threads more while they run: %s\n", yesno(during == before + 2));
    printf("status: VmRSS and VmSize present: %s\n", yesno(status_field("VmRSS") > 0 && status_field("VmSize") > 0));

    char perms[5];
    int local = 0, named = 0;
    printf("maps: the stack: %s", yesno(maps_line(&local, perms, "[stack]", &named)));
    printf(", %s, named [stack] %s\n", perms, yesno(named));
    printf("maps: main's code: %s", yesno(maps_line((void *)main, perms, NULL, NULL)));
    printf(", %s\n", perms);
    char *small = malloc(64);
    /* (Linux names it [heap]; qemu-aarch64 7.2 does not, so that is not printed.) */
    printf("maps: the heap: %s", yesno(maps_line(small, perms, "[heap]", &named)));
    printf(", %s\n", perms);
    free(small);
    char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(m + 4096, 4096, PROT_READ);
    printf("maps: an mmap with a read-only middle page:");
    for (int i = 0; i < 3; i++) {
        maps_line(m + i * 4096, perms, NULL, NULL);
        printf(" %s", perms);
    }
    printf("\n");
    munmap(m + 4096, 4096);
    printf("maps: the unmapped page is gone: %s\n", yesno(!maps_line(m + 4096, perms, NULL, NULL)));

    pthread_attr_t a;
    void *addr = NULL;
    size_t sz = 0;
    int r = pthread_getattr_np(pthread_self(), &a);
    pthread_attr_getstack(&a, &addr, &sz);
    printf("pthread_getattr_np: %d, the stack holds a local: %s\n", r,
           yesno((char *)&local >= (char *)addr && (char *)&local < (char *)addr + sz));

    /* stat: "pid (comm) state ppid ...", the name in parentheses (it may hold spaces and
     * parentheses: the last ')' ends it). */
    {
        char line[1024] = { 0 }, *open_p, *close_p;
        FILE *sf = fopen("/proc/self/stat", "r");
        int got = sf && fgets(line, sizeof line, sf) != NULL;
        if (sf) fclose(sf);
        open_p = strchr(line, '(');
        close_p = strrchr(line, ')');
        long pid = strtol(line, NULL, 10), ppid = 0;
        char comm[32] = { 0 };
        if (got && open_p && close_p && close_p > open_p && close_p - open_p < 32) {
            memcpy(comm, open_p + 1, close_p - open_p - 1);
            char state;
            if (sscanf(close_p + 2, "%c %ld", &state, &ppid) != 2) ppid = -1;
        }
        printf("stat: pid is getpid: %s, comm: %s, ppid is getppid: %s\n", yesno(pid == getpid()), comm,
               yesno(ppid == getppid()));
    }

    /* comm is the name prctl gives and sets. */
    char name[17] = { 0 }, comm[32] = { 0 };
    prctl(PR_GET_NAME, name);
    FILE *cf = fopen("/proc/self/comm", "r");
    if (cf && fgets(comm, sizeof comm, cf)) comm[strcspn(comm, "\n")] = 0;
    if (cf) fclose(cf);
    printf("comm: the name prctl gives: %s\n", yesno(strcmp(name, comm) == 0));
    prctl(PR_SET_NAME, "renamed-thread");
    cf = fopen("/proc/thread-self/comm", "r");
    memset(comm, 0, sizeof comm);
    if (cf && fgets(comm, sizeof comm, cf)) comm[strcspn(comm, "\n")] = 0;
    if (cf) fclose(cf);
    printf("comm: after PR_SET_NAME: %s\n", comm);

    /* (Opening maps for writing is EACCES on Linux; qemu-aarch64 7.2 allows it.) */
    int fd = open("/proc/self/status", O_RDONLY);
    char buf[6] = { 0 };
    printf("status by read(2): %s\n", yesno(read(fd, buf, 5) == 5 && strcmp(buf, "Name:") == 0));
    close(fd);

    /* stat(2) and access(2) of the files as proc(5) shows them: regular, size 0, one
     * link, owned by the process, status and maps 0444, comm 0644. */
    static const char *const files[] = { "/proc/self/status", "/proc/self/maps", "/proc/self/comm",
                                         "/proc/thread-self/status", "/proc/self/stat" };
    struct stat st;
    for (int i = 0; i < 5; i++) {
        int r = stat(files[i], &st);
        if (r != 0) {
            printf("stat %s: %s\n", files[i], strerror(errno));
            continue;
        }
        printf("stat %s: regular %s, mode %o, size %lld, links %lu, the process's %s, readable %s\n",
               files[i], yesno(S_ISREG(st.st_mode)), (unsigned)(st.st_mode & 07777),
               (long long)st.st_size, (unsigned long)st.st_nlink, yesno(st.st_uid == geteuid()),
               yesno(access(files[i], R_OK) == 0));
    }
    errno = 0;
    printf("stat /proc/self/status/x: %s\n", stat("/proc/self/status/x", &st) == 0 ? "found" : strerror(errno));
    return 0;
}
