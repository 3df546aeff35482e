// openat2(2): struct open_how's size and flag checks, and each RESOLVE_* restriction
// (issue 15 item 7). Built for AArch64 and for the host (bin/native/openat2): the
// conformance case's oracle is the host kernel itself, as qemu-aarch64 7.2 answers
// ENOSYS to openat2. Every path is relative to the scratch directory, and only
// errno names and file contents are printed, so both builds print the same.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#define RESOLVE_CACHED 0x20

struct open_how_ {
    uint64_t flags, mode, resolve;
};

static long openat2_raw(int dirfd, const char* path, const void* how, size_t size) {
    return syscall(SYS_openat2, dirfd, path, how, size);
}

static long o2(int dirfd, const char* path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct open_how_ h = {flags, mode, resolve};
    return openat2_raw(dirfd, path, &h, sizeof h);
}

// One result: "ok" and the file's first line when it opened a regular file, "ok" for
// anything else, or the errno's name. The fd is closed.
static void show(const char* what, long r) {
    if (r < 0) {
        printf("%-34s %s\n", what, strerrorname_np(errno));
        return;
    }
    char buf[64] = {0};
    struct stat st;
    fstat((int)r, &st);
    if (S_ISREG(st.st_mode)) {
        ssize_t n = pread((int)r, buf, sizeof buf - 1, 0);
        if (n < 0) snprintf(buf, sizeof buf, "(unreadable: %s)", strerrorname_np(errno));
        char* nl = strchr(buf, '\n');
        if (nl) *nl = 0;
        printf("%-34s ok: %s\n", what, buf);
    } else {
        printf("%-34s ok (%s)\n", what, S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ? "link" : "other");
    }
    close((int)r);
}

static void put(const char* path, const char* text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) < 0) perror(path);
    close(fd);
}

int main(void) {
    // d/f, d/sub/g, outside; d/lnk -> f, d/absf -> /f, d/up -> ../outside,
    // d/sub/dotdot -> .., dl -> d.
    mkdir("d", 0755);
    mkdir("d/sub", 0755);
    put("d/f", "in d\n");
    put("d/sub/g", "in d/sub\n");
    put("outside", "outside d\n");
    symlink("f", "d/lnk");
    symlink("/f", "d/absf");
    symlink("../outside", "d/up");
    symlink("..", "d/sub/dotdot");
    symlink("d", "dl");
    int d = open("d", O_RDONLY | O_DIRECTORY);
    int file = open("d/f", O_RDONLY);

    printf("-- the struct\n");
    show("plain", o2(AT_FDCWD, "d/f", O_RDONLY, 0, 0));
    struct open_how_ h = {O_RDONLY, 0, 0};
    show("size 23", openat2_raw(AT_FDCWD, "d/f", &h, 23));
    show("size 0", openat2_raw(AT_FDCWD, "d/f", &h, 0));
    uint64_t big[600];
    memset(big, 0, sizeof big);
    big[0] = O_RDONLY;
    show("size 32, zero tail", openat2_raw(AT_FDCWD, "d/f", big, 32));
    show("size 4096, zero tail", openat2_raw(AT_FDCWD, "d/f", big, 4096));
    big[3] = 1;
    show("size 32, non-zero tail", openat2_raw(AT_FDCWD, "d/f", big, 32));
    big[3] = 0;
    show("size 4097", openat2_raw(AT_FDCWD, "d/f", big, 4097));
    show("NULL how", openat2_raw(AT_FDCWD, "d/f", NULL, 24));
    show("NULL path", o2(AT_FDCWD, NULL, O_RDONLY, 0, 0));

    printf("-- flags\n");
    show("unknown flag bit 40", o2(AT_FDCWD, "d/f", O_RDONLY | (1ull << 40), 0, 0));
    show("unknown resolve 0x40", o2(AT_FDCWD, "d/f", O_RDONLY, 0, 0x40));
    show("mode without O_CREAT", o2(AT_FDCWD, "d/f", O_RDONLY, 0644, 0));
    show("mode 010000 with O_CREAT", o2(AT_FDCWD, "new1", O_WRONLY | O_CREAT, 010000, 0));
    show("O_CREAT 0640", o2(AT_FDCWD, "new2", O_WRONLY | O_CREAT | O_EXCL, 0640, 0));
    struct stat st;
    if (stat("new2", &st) == 0) printf("%-34s %o\n", "new2's mode", st.st_mode & 07777);
    show("O_CREAT|O_EXCL again", o2(AT_FDCWD, "new2", O_WRONLY | O_CREAT | O_EXCL, 0640, 0));
    show("O_PATH|O_APPEND", o2(AT_FDCWD, "d/f", O_PATH | O_APPEND, 0, 0));
    show("O_PATH|O_NOFOLLOW", o2(AT_FDCWD, "d/lnk", O_PATH | O_NOFOLLOW, 0, 0));
    show("O_NOFOLLOW on a symlink", o2(AT_FDCWD, "d/lnk", O_RDONLY | O_NOFOLLOW, 0, 0));
    show("O_CREAT|O_DIRECTORY", o2(AT_FDCWD, "new3", O_RDWR | O_CREAT | O_DIRECTORY, 0644, 0));
    show("O_TMPFILE read-only", o2(AT_FDCWD, "d", O_TMPFILE | O_RDONLY, 0600, 0));
    show("BENEATH|IN_ROOT", o2(d, "f", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT));
    show("CACHED", o2(AT_FDCWD, "d/f", O_RDONLY, 0, RESOLVE_CACHED));
    show("CACHED|O_CREAT", o2(AT_FDCWD, "d/f", O_RDONLY | O_CREAT, 0600, RESOLVE_CACHED));
    show("CACHED|O_TRUNC", o2(AT_FDCWD, "d/f", O_RDWR | O_TRUNC, 0, RESOLVE_CACHED));

    printf("-- lookups\n");
    show("empty path", o2(AT_FDCWD, "", O_RDONLY, 0, 0));
    show("empty path, resolve", o2(AT_FDCWD, "", O_RDONLY, 0, RESOLVE_BENEATH));
    show("bad dirfd", o2(99, "f", O_RDONLY, 0, RESOLVE_BENEATH));
    show("file as dirfd", o2(file, "f", O_RDONLY, 0, RESOLVE_BENEATH));
    show("missing", o2(d, "nope", O_RDONLY, 0, RESOLVE_BENEATH));

    printf("-- RESOLVE_NO_SYMLINKS\n");
    show("d/f", o2(AT_FDCWD, "d/f", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
    show("d/lnk", o2(AT_FDCWD, "d/lnk", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
    show("d/lnk O_PATH|O_NOFOLLOW", o2(AT_FDCWD, "d/lnk", O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS));
    show("dl/f", o2(AT_FDCWD, "dl/f", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
    show("dl/f unrestricted", o2(AT_FDCWD, "dl/f", O_RDONLY, 0, 0));

    printf("-- RESOLVE_NO_MAGICLINKS\n");
    char magic[64];
    snprintf(magic, sizeof magic, "/proc/self/fd/%d", file);
    show("/proc/self/fd/N", o2(AT_FDCWD, magic, O_RDONLY, 0, 0));
    show("/proc/self/fd/N no magic", o2(AT_FDCWD, magic, O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));
    show("/proc/self/fd/N no symlinks", o2(AT_FDCWD, magic, O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
    show("d/lnk no magic", o2(AT_FDCWD, "d/lnk", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));

    // The scoped lookups from d: RESOLVE_BENEATH keeps them below d, RESOLVE_IN_ROOT
    // takes d as their root.
    static const char* const scoped[] = {"f", "sub/../f", "sub/dotdot/f", "lnk", "..", "../outside",
                                         "../f", "sub/../../../f", "up", "absf", "/f", "/sub/g", "/"};
    static const struct {
        const char* name;
        uint64_t resolve;
    } scopes[] = {{"RESOLVE_BENEATH", RESOLVE_BENEATH}, {"RESOLVE_IN_ROOT", RESOLVE_IN_ROOT}};
    for (size_t k = 0; k < sizeof scopes / sizeof scopes[0]; k++) {
        printf("-- %s (from d)\n", scopes[k].name);
        for (size_t i = 0; i < sizeof scoped / sizeof scoped[0]; i++)
            show(scoped[i], o2(d, scoped[i], O_RDONLY, 0, scopes[k].resolve));
        show("d/f from cwd", o2(AT_FDCWD, "d/f", O_RDONLY, 0, scopes[k].resolve));
        show("O_CREAT sub/h", o2(d, "sub/h", O_WRONLY | O_CREAT, 0644, scopes[k].resolve));
        show("O_CREAT ../h", o2(d, "../h", O_WRONLY | O_CREAT, 0644, scopes[k].resolve));
    }

    printf("-- RESOLVE_NO_XDEV\n");
    show("d/f", o2(AT_FDCWD, "d/f", O_RDONLY, 0, RESOLVE_NO_XDEV));
    show("from d: sub/../f", o2(d, "sub/../f", O_RDONLY, 0, RESOLVE_NO_XDEV));
    show("/proc/cpuinfo", o2(AT_FDCWD, "/proc/cpuinfo", O_RDONLY, 0, RESOLVE_NO_XDEV));
    show("/proc/self/fd/N", o2(AT_FDCWD, magic, O_RDONLY, 0, RESOLVE_NO_XDEV));
    close(d);
    close(file);
    return 0;
}
