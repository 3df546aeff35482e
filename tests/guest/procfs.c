/* procfs: the guest's own /proc files (issue 15): /proc/self/status, /proc/self/stat and
 * /proc/self/maps read as proc(5) lays them out, checked against what the program knows
 * of itself, and
 * pthread_getattr_np (glibc finds the main thread's stack in /proc/self/maps), and their
 * stat(2) and access(2). Prints
 * yes/no answers only, the same on any kernel that shows the guest's own process.
 * `procfs maps [STRIP]`: the file mappings maps names (maps_files), by path, perms,
 * offset and size. */
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
#include <sys/wait.h>
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

/* One /proc/self/maps line that names a file: its path, perms, offset and size. */
struct fileline {
    char path[256], perms[5];
    unsigned long off, size;
};

static int fileline_cmp(const void *a, const void *b)
{
    const struct fileline *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    if (c) return c;
    if (x->off != y->off) return x->off < y->off ? -1 : 1;
    if (x->size != y->size) return x->size < y->size ? -1 : 1;
    return strcmp(x->perms, y->perms);
}

/* The lines of /proc/self/maps that name a file (a path from '/'), as (path, perms,
 * offset, size), sorted: what does not depend on where the kernel put the mappings
 * (qemu-user and gpuos place them differently). `strip` (qemu -L DIR shows the host's
 * path of the sysroot's files) is taken off the paths' front. */
static void print_file_maps(const char *tag, const char *strip)
{
    static struct fileline v[128];
    char line[1024];
    int n = 0;
    size_t sl = strip ? strlen(strip) : 0;
    if (sl && strip[sl - 1] == '/') sl--;
    FILE *f = fopen("/proc/self/maps", "r");
    while (f && n < 128 && fgets(line, sizeof line, f)) {
        unsigned long lo, hi, off;
        char perms[5];
        int name = 0;
        if (sscanf(line, "%lx-%lx %4s %lx %*s %*s %n", &lo, &hi, perms, &off, &name) != 4 || !name) continue;
        char *path = line + name;
        path[strcspn(path, "\n")] = 0;
        if (path[0] != '/') continue;
        if (sl && strncmp(path, strip, sl) == 0 && path[sl] == '/') path += sl;
        snprintf(v[n].path, sizeof v[n].path, "%s", path);
        memcpy(v[n].perms, perms, 5);
        v[n].off = off;
        v[n].size = hi - lo;
        n++;
    }
    if (f) fclose(f);
    qsort(v, n, sizeof v[0], fileline_cmp);
    for (int i = 0; i < n; i++)
        printf("%s: %s %s %lx %lx\n", tag, v[i].path, v[i].perms, v[i].off, v[i].size);
}

/* maps [STRIP]: the file mappings /proc/self/maps names (print_file_maps): the
 * program's segments (and with a dynamic program its interpreter's and libraries'),
 * then mappings of its own file made, split by an anonymous MAP_FIXED, cut by munmap,
 * shared, moved by mremap; and a forked child's (inherited, then its own). (Not
 * after an execve: qemu-user runs what its guest execs on the host.) */
static int maps_files(const char *strip)
{
    const long pg = 4096;
    char exe[512] = { 0 };
    if (readlink("/proc/self/exe", exe, sizeof exe - 1) <= 0) return 1;
    print_file_maps("start", strip);
    int fd = open(exe, O_RDONLY);
    char *m1 = mmap(NULL, 4 * pg, PROT_READ, MAP_PRIVATE, fd, pg);
    mmap(m1 + pg, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0);
    munmap(m1 + 3 * pg, pg);
    char *m2 = mmap(NULL, 2 * pg, PROT_READ, MAP_SHARED, fd, 2 * pg);
    char *m3 = mmap(NULL, 2 * pg, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 5 * pg);
    m3 = mremap(m3, 2 * pg, pg, 0);
    m3 = mremap(m3, pg, 3 * pg, MREMAP_MAYMOVE);
    close(fd);
    if (m1 == MAP_FAILED || m2 == MAP_FAILED || m3 == MAP_FAILED) return 1;
    print_file_maps("mapped", strip);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        print_file_maps("child", strip);
        munmap(m2, 2 * pg);
        print_file_maps("child after munmap", strip);
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    print_file_maps("parent after the child", strip);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "maps") == 0) return maps_files(argc > 2 ? argv[2] : NULL);
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
