/* mmapshared: writable MAP_SHARED file mappings (issue 15 item 4): what is written
 * through them reaches the file on msync (MS_SYNC, MS_ASYNC), munmap, MAP_FIXED over
 * them, execve and the writer's end (exit, a fatal signal), and every process that
 * maps the file shared sees the others' writes at once; past the end of the file
 * nothing is written back; EACCES without O_RDWR. Prints only what qemu-aarch64 and
 * gpuos must agree on. Writes its files in the working directory.
 * Usage: mmapshared SECTION. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096

/* A file of n bytes, each '.', open read-write. */
static int make(const char *name, size_t n)
{
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
    char buf[PG];
    memset(buf, '.', sizeof buf);
    for (size_t done = 0; done < n;) {
        size_t k = n - done < sizeof buf ? n - done : sizeof buf;
        if (write(fd, buf, k) != (ssize_t)k) perror("write");
        done += k;
    }
    return fd;
}

/* Print what read(2) finds at off (len bytes, '.' runs shortened), from a fresh open. */
static void file_at(const char *what, const char *name, off_t off, size_t len)
{
    char buf[64] = {0};
    int fd = open(name, O_RDONLY);
    ssize_t n = pread(fd, buf, len < sizeof buf - 1 ? len : sizeof buf - 1, off);
    struct stat st;
    fstat(fd, &st);
    close(fd);
    printf("%-28s file[%ld..]: \"%.*s\" (size %ld)\n", what, (long)off, (int)(n > 0 ? n : 0), buf, (long)st.st_size);
}

static char *map(int fd, size_t len, int prot)
{
    char *p = mmap(NULL, len, prot, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        printf("mmap: %s\n", strerrorname_np(errno));
        exit(1);
    }
    return p;
}

static void wait_child(const char *what, pid_t pid)
{
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st)) printf("%-28s exit %d\n", what, WEXITSTATUS(st));
    else printf("%-28s signal %d\n", what, WTERMSIG(st));
}

int main(int argc, char **argv)
{
    const char *s = argc > 1 ? argv[1] : "";
    if (!strcmp(s, "exec-child")) return 0;  /* what the exec'd copy does */
    if (!strcmp(s, "msync")) {
        int fd = make("f", 3 * PG);
        char *p = map(fd, 3 * PG, PROT_READ | PROT_WRITE);
        memcpy(p + 10, "hello", 5);
        memcpy(p + PG + 1, "second", 6);
        printf("msync MS_SYNC: %d\n", msync(p, 3 * PG, MS_SYNC));
        file_at("after MS_SYNC", "f", 10, 5);
        file_at("after MS_SYNC", "f", PG + 1, 6);
        memcpy(p + 2 * PG + 100, "async", 5);
        printf("msync MS_ASYNC: %d\n", msync(p + 2 * PG, PG, MS_ASYNC));
        file_at("after MS_ASYNC", "f", 2 * PG + 100, 5);
        memcpy(p + 20, "unmap", 5);
        printf("munmap: %d\n", munmap(p, 3 * PG));
        file_at("after munmap", "f", 20, 5);
        /* The file's new bytes in a mapping made afterwards, shared and private. */
        char *q = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0);
        printf("private map after: \"%.5s\"\n", q + 10);
        char *r = map(fd, PG, PROT_READ);
        printf("shared map after: \"%.5s\" \"%.5s\"\n", r + 10, r + 20);
        /* write(2), then a new shared mapping sees it. */
        pwrite(fd, "WRITE", 5, 30);
        char *t = map(fd, PG, PROT_READ | PROT_WRITE);
        printf("shared map after write(2): \"%.5s\"\n", t + 30);
        close(fd);
        /* The mapping outlives its descriptor. */
        memcpy(t + 40, "noFD!", 5);
        msync(t, PG, MS_SYNC);
        file_at("after close and msync", "f", 40, 5);
    } else if (!strcmp(s, "fork")) {
        int fd = make("f", 2 * PG);
        char *p = map(fd, 2 * PG, PROT_READ | PROT_WRITE);
        memcpy(p, "parent", 6);
        pid_t pid = fork();
        if (pid == 0) {
            printf("child sees: \"%.6s\"\n", p);
            memcpy(p + PG, "from child", 10);
            fflush(stdout);
            _exit(0);  /* no msync, no munmap: written back at its end */
        }
        wait_child("child", pid);
        printf("parent sees: \"%.10s\"\n", p + PG);
        file_at("after the child's exit", "f", PG, 10);
        /* An independent mapping in another process, both writing. */
        int pipefd[2];
        pipe(pipefd);
        pid = fork();
        if (pid == 0) {
            int f2 = open("f", O_RDWR);
            char *c = map(f2, 2 * PG, PROT_READ | PROT_WRITE);
            memcpy(c + 100, "child map", 9);
            write(pipefd[1], "x", 1);
            while (c[200] != 'P') usleep(1000);  /* the parent's write, through its own mapping */
            printf("child's mapping sees: \"%.6s\"\n", c + 200);
            fflush(stdout);
            _exit(0);
        }
        char b;
        read(pipefd[0], &b, 1);
        printf("parent's mapping sees: \"%.9s\"\n", p + 100);
        memcpy(p + 200, "Parent", 6);
        wait_child("second child", pid);
        munmap(p, 2 * PG);
        file_at("after both", "f", 100, 9);
        file_at("after both", "f", 200, 6);
    } else if (!strcmp(s, "end")) {
        /* A writer that ends by a fatal signal, and one that execs. */
        int fd = make("f", PG);
        static const struct {
            const char *how, *text;
            int off;
        } ends[] = {{"SIGKILL", "killed", 5}, {"SIGSEGV", "segv", 50}, {"execve", "exec'd", 60}};
        for (int k = 0; k < 3; k++) {
            pid_t pid = fork();
            if (pid == 0) {
                char *c = map(fd, PG, PROT_READ | PROT_WRITE);
                memcpy(c + ends[k].off, ends[k].text, strlen(ends[k].text));
                if (k == 0) raise(SIGKILL);
                if (k == 1) *(volatile int *)(uintptr_t)argc = 1; /* argc is 2: an unmapped address */
                char *av[] = {"mmapshared", "exec-child", 0};
                execv("/proc/self/exe", av);
                /* qemu-aarch64 cannot exec an aarch64 file: do what the copy does. */
                _exit(0);
            }
            char what[64];
            snprintf(what, sizeof what, "after %s", ends[k].how);
            wait_child(what, pid);
            file_at(what, "f", ends[k].off, strlen(ends[k].text));
        }
        /* MAP_FIXED over a written page. */
        char *p = map(fd, 2 * PG, PROT_READ | PROT_WRITE);
        memcpy(p + 70, "fixed", 5);
        mmap(p, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        file_at("after MAP_FIXED over it", "f", 70, 5);
    } else if (!strcmp(s, "eof")) {
        /* A file of 5000 bytes mapped over two pages: bytes past its end are not
         * written back (what memory then holds there depends on Linux's file system:
         * a disk file system's write-back zeroes them, tmpfs keeps them). */
        int fd = make("f", 5000);
        char *p = map(fd, 2 * PG, PROT_READ | PROT_WRITE);
        memcpy(p + 4995, "abcdefghij", 10);
        msync(p, 2 * PG, MS_SYNC);
        file_at("last bytes", "f", 4990, 20);
        munmap(p, 2 * PG);
        /* An offset mapping. */
        p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PG);
        memcpy(p + 4, "offset", 6);
        munmap(p, PG);
        file_at("offset mapping", "f", PG + 4, 6);
    } else if (!strcmp(s, "errors")) {
        int fd = make("f", PG);
        close(fd);
        fd = open("f", O_RDONLY);
        void *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        printf("shared writable, O_RDONLY: %s\n", p == MAP_FAILED ? strerrorname_np(errno) : "mapped");
        p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        printf("private writable, O_RDONLY: %s\n", p == MAP_FAILED ? strerrorname_np(errno) : "mapped");
        close(fd);
        fd = open("f", O_WRONLY);
        p = mmap(NULL, PG, PROT_WRITE, MAP_SHARED, fd, 0);
        printf("shared, O_WRONLY: %s\n", p == MAP_FAILED ? strerrorname_np(errno) : "mapped");
        close(fd);
        fd = open("f", O_RDWR);
        char *q = map(fd, PG, PROT_READ | PROT_WRITE);
        errno = 0;
        printf("msync bad flags: %d %s\n", msync(q, PG, MS_SYNC | MS_ASYNC), strerrorname_np(errno));
        munmap(q, PG);
        errno = 0;
        printf("msync unmapped: %d %s\n", msync(q, PG, MS_SYNC), strerrorname_np(errno));
    } else {
        fprintf(stderr, "usage: mmapshared msync|fork|end|eof|errors\n");
        return 2;
    }
    return 0;
}
