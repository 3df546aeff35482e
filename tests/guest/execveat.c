// execveat(2): a program found from a directory fd, the file of an fd itself
// (AT_EMPTY_PATH, also an O_PATH fd), AT_SYMLINK_NOFOLLOW, and the errors (issue 15
// item 7). The program executes itself; the exec'd copy prints its argv, environment,
// AT_EXECFN and whether a close-on-exec fd was closed. Built for AArch64 and for the
// host (bin/native/execveat): the conformance case's oracle is the host kernel itself,
// as qemu-aarch64 7.2 answers ENOSYS to execveat. Paths and fd numbers are printed
// only as what they are meant to be, so both builds print the same.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_execveat
#define SYS_execveat 281
#endif

static char self[4096];

static long execveat_raw(int dirfd, const char* path, char** argv, char** envp, int flags) {
    return syscall(SYS_execveat, dirfd, path, argv, envp, flags);
}

// The exec'd copy: argv[2] is the AT_EXECFN the caller expects (printed as argv[3]
// says: a description without fd numbers or paths), argv[4] a close-on-exec fd.
static int child_main(int argc, char** argv) {
    const char* execfn = (const char*)getauxval(AT_EXECFN);
    printf("  child: argc %d, argv[5] '%s', env '%s'\n", argc, argc > 5 ? argv[5] : "",
           getenv("EXECVEAT_TEST") ? getenv("EXECVEAT_TEST") : "(unset)");
    if (execfn && !strcmp(execfn, argv[2])) printf("  child: AT_EXECFN is %s\n", argv[3]);
    else printf("  child: AT_EXECFN is '%s', not the expected one\n", execfn ? execfn : "(none)");
    int ce = atoi(argv[4]);
    printf("  child: close-on-exec fd %s\n", fcntl(ce, F_GETFD) == -1 && errno == EBADF ? "closed" : "OPEN");
    return 3;
}

// Run execveat(dirfd, path, ..., flags) in a child; the child reports what it became.
static void run(const char* what, int dirfd, const char* path, int flags, const char* execfn,
                const char* execfn_desc) {
    printf("%s\n", what);
    fflush(stdout);
    int ce = open(".", O_RDONLY | O_CLOEXEC);
    char cebuf[16];
    snprintf(cebuf, sizeof cebuf, "%d", ce);
    pid_t pid = fork();
    if (pid == 0) {
        char* argv[] = {"execveat", "child", (char*)execfn, (char*)execfn_desc, cebuf, "last arg", 0};
        char* envp[] = {"EXECVEAT_TEST=from execveat", 0};
        execveat_raw(dirfd, path, argv, envp, flags);
        printf("  execveat failed: %s\n", strerrorname_np(errno));
        fflush(stdout);
        _exit(99);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    printf("  status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    close(ce);
}

// An execveat that must fail (it runs in this process: a success would replace it).
static void fails(const char* what, int dirfd, const char* path, int flags) {
    char* argv[] = {"execveat", "unexpected", 0};
    long r = execveat_raw(dirfd, path, argv, argv + 1, flags);
    printf("%-40s %ld %s\n", what, r, r < 0 ? strerrorname_np(errno) : "");
}

static void put(const char* path, const char* text, mode_t mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, text, strlen(text)) < 0) perror(path);
    close(fd);
    chmod(path, mode);
}

int main(int argc, char** argv) {
    if (argc > 4 && !strcmp(argv[1], "child")) return child_main(argc, argv);
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        perror("readlink /proc/self/exe");
        return 1;
    }
    self[n] = 0;
    char dirbuf[4096], basebuf[4096], want[4200];
    strcpy(dirbuf, self);
    strcpy(basebuf, self);
    const char* dir = dirname(dirbuf);
    const char* base = basename(basebuf);

    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    snprintf(want, sizeof want, "/dev/fd/%d/%s", dfd, base);
    run("dirfd and a relative name", dfd, base, 0, want, "/dev/fd/DIRFD/NAME");
    run("absolute name, dirfd ignored", 12345, self, 0, self, "the absolute name");
    run("AT_FDCWD and the absolute name", AT_FDCWD, self, 0, self, "the absolute name");

    int fd = open(self, O_RDONLY);
    snprintf(want, sizeof want, "/dev/fd/%d", fd);
    run("AT_EMPTY_PATH with the program's fd", fd, "", AT_EMPTY_PATH, want, "/dev/fd/FD");
    int pfd = open(self, O_PATH);
    snprintf(want, sizeof want, "/dev/fd/%d", pfd);
    run("AT_EMPTY_PATH with an O_PATH fd", pfd, "", AT_EMPTY_PATH, want, "/dev/fd/FD");
    int cfd = open(self, O_RDONLY | O_CLOEXEC);
    snprintf(want, sizeof want, "/dev/fd/%d", cfd);
    run("AT_EMPTY_PATH with a close-on-exec fd", cfd, "", AT_EMPTY_PATH, want, "/dev/fd/FD");

    symlink(self, "selflink");
    run("a symlink, followed", AT_FDCWD, "selflink", 0, "selflink", "selflink");
    run("a symlink with AT_SYMLINK_NOFOLLOW", AT_FDCWD, "selflink", AT_SYMLINK_NOFOLLOW, "", "");

    printf("-- errors\n");
    put("plain.txt", "not a program\n", 0644);
    put("junk", "\x01\x02\x03 not a known format\n", 0755);
    put("script.sh", "#!/nonexistent/interpreter\necho hi\n", 0755);
    mkdir("sub", 0755);
    int sub = open("sub", O_RDONLY | O_DIRECTORY);
    int plain = open("plain.txt", O_RDONLY);
    fails("unknown flag", AT_FDCWD, self, 0x2);
    fails("empty path, unknown flag", AT_FDCWD, "", 0x2);
    fails("empty path without AT_EMPTY_PATH", fd, "", 0);
    fails("missing file", AT_FDCWD, "missing", 0);
    fails("missing file from a dirfd", sub, "missing", 0);
    fails("no execute permission", AT_FDCWD, "plain.txt", 0);
    fails("no execute permission, by fd", plain, "", AT_EMPTY_PATH);
    fails("a directory by fd", sub, "", AT_EMPTY_PATH);
    fails("a directory by name", AT_FDCWD, "sub", 0);
    fails("bad dirfd, relative name", 99, "junk", 0);
    fails("bad fd, AT_EMPTY_PATH", 99, "", AT_EMPTY_PATH);
    fails("a file as dirfd", plain, "junk", 0);
    fails("unknown format", AT_FDCWD, "junk", 0);
    fails("unknown format by fd", open("junk", O_RDONLY), "", AT_EMPTY_PATH);
    fails("script, missing interpreter", AT_FDCWD, "script.sh", 0);
    fails("NULL path", AT_FDCWD, NULL, 0);
    unlink("selflink");  // its target is the program's path, which is each build's own
    return 0;
}
