/* fileio: file system calls in a temporary directory made under the current
 * directory (mkdtemp "./gpuos-test-XXXXXX"; its random name is never printed):
 * stdio (fopen/fprintf/fgets/fread/fseek), open/write/read/pread/pwrite/lseek,
 * ftruncate, fstat/stat sizes and types, readv/writev, dup/dup2, readdir (listing
 * sorted), rename, link/symlink/readlink, unlink, mkdir/rmdir, getcwd/chdir,
 * access, error numbers of failing calls. Everything is removed at the end.
 * Exits 0 when the self-checks pass, 1 otherwise. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static int failures;
#define CHECK(cond) do { if (!(cond)) { printf("CHECK FAILED line %d: %s (errno %d)\n", __LINE__, #cond, errno); failures++; } } while (0)

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list_dir(const char *path)
{
    DIR *d = opendir(path);
    CHECK(d != NULL);
    if (!d) return;
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 64) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmpstr);
    printf("ls %s:", path);
    for (int i = 0; i < n; i++) {
        char p[256];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", path, names[i]);
        const char *type = "?";
        long size = -1;
        if (lstat(p, &st) == 0) {
            type = S_ISDIR(st.st_mode) ? "d" : S_ISLNK(st.st_mode) ? "l" : S_ISREG(st.st_mode) ? "f" : "o";
            size = S_ISDIR(st.st_mode) ? 0 : (long)st.st_size;
        }
        printf(" %s(%s,%ld)", names[i], type, size);
        free(names[i]);
    }
    printf("\n");
}

static const char *errname(int e)
{
    switch (e) {
    case 0: return "0";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EACCES: return "EACCES";
    case ESPIPE: return "ESPIPE";
    default: return "other";
    }
}

static void test_stdio(void)
{
    printf("== stdio\n");
    FILE *f = fopen("text.txt", "w");
    CHECK(f != NULL);
    for (int i = 0; i < 200; i++)
        fprintf(f, "line %03d: %s %d %.3f\n", i, (i % 3) ? "abc" : "xyzzy", i * i, i / 7.0);
    CHECK(fclose(f) == 0);
    f = fopen("text.txt", "r");
    char line[128];
    int lines = 0;
    long total = 0;
    while (fgets(line, sizeof line, f)) { lines++; total += (long)strlen(line); if (lines % 50 == 1) printf("read: %s", line); }
    printf("lines=%d bytes=%ld ftell=%ld\n", lines, total, ftell(f));
    CHECK(fseek(f, 1000, SEEK_SET) == 0);
    char buf[64];
    size_t n = fread(buf, 1, 40, f);
    printf("fread at 1000: %zu [%.*s]\n", n, (int)n, buf);
    fseek(f, -30, SEEK_END);
    n = fread(buf, 1, 64, f);
    printf("tail read %zu feof=%d [%.*s]\n", n, feof(f), (int)n - 1, buf);
    fclose(f);
    f = fopen("text.txt", "a+");
    fprintf(f, "appended\n");
    rewind(f);
    CHECK(fgets(line, sizeof line, f) != NULL);
    printf("first after append: %s", line);
    fclose(f);
    f = fopen("nonexistent/file", "r");
    printf("fopen missing: %s %s\n", f ? "opened" : "NULL", errname(errno));
    /* Binary round trip. */
    f = fopen("data.bin", "wb");
    unsigned int vals[1000];
    for (int i = 0; i < 1000; i++) vals[i] = (unsigned)i * 2654435761u;
    CHECK(fwrite(vals, sizeof vals[0], 1000, f) == 1000);
    fclose(f);
    unsigned int back[1000];
    f = fopen("data.bin", "rb");
    CHECK(fread(back, sizeof back[0], 1000, f) == 1000);
    fclose(f);
    printf("binary round trip: %s\n", memcmp(vals, back, sizeof vals) == 0 ? "same" : "DIFFERENT");
}

static void test_fd(void)
{
    printf("== fd calls\n");
    int fd = open("fd.dat", O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK(fd >= 0);
    char block[4096];
    for (int i = 0; i < 4096; i++) block[i] = (char)('a' + i % 26);
    ssize_t w = 0;
    for (int i = 0; i < 5; i++) w += write(fd, block, sizeof block);
    printf("wrote %zd\n", w);
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    printf("fstat size=%lld regular=%d mode=%o\n", (long long)st.st_size, S_ISREG(st.st_mode), (unsigned)(st.st_mode & 0777) & ~0022u);
    printf("lseek cur=%lld end=%lld set=%lld\n", (long long)lseek(fd, 0, SEEK_CUR),
           (long long)lseek(fd, -100, SEEK_END), (long long)lseek(fd, 7, SEEK_SET));
    char r[32];
    ssize_t n = read(fd, r, 10);
    printf("read after seek: %zd [%.10s]\n", n, r);
    CHECK(pwrite(fd, "PWRITE", 6, 8000) == 6);
    CHECK(pread(fd, r, 12, 7996) == 12);
    printf("pread: [%.12s] pos still %lld\n", r, (long long)lseek(fd, 0, SEEK_CUR));
    /* Holes: write past the end. */
    CHECK(pwrite(fd, "END", 3, 30000) == 3);
    fstat(fd, &st);
    printf("after hole write size=%lld\n", (long long)st.st_size);
    CHECK(pread(fd, r, 8, 25000) == 8);
    int zeros = 0;
    for (int i = 0; i < 8; i++) zeros += r[i] == 0;
    printf("hole reads zeros=%d\n", zeros);
    CHECK(ftruncate(fd, 1234) == 0);
    fstat(fd, &st);
    printf("ftruncate size=%lld\n", (long long)st.st_size);
    CHECK(ftruncate(fd, 5000) == 0);
    CHECK(pread(fd, r, 10, 1230) == 10);
    printf("extended: [%.4s] zero tail=%d\n", r, r[4] == 0 && r[9] == 0);
    n = pread(fd, r, 10, 4995);
    printf("short pread at end: %zd\n", n);
    n = pread(fd, r, 10, 9999);
    printf("pread past end: %zd\n", n);
    /* readv / writev */
    lseek(fd, 0, SEEK_SET);
    struct iovec iov[3] = { { "one ", 4 }, { "two ", 4 }, { "three\n", 6 } };
    printf("writev=%zd\n", writev(fd, iov, 3));
    char a[3], b[5], c[20];
    struct iovec riov[3] = { { a, 3 }, { b, 5 }, { c, 6 } };
    lseek(fd, 0, SEEK_SET);
    printf("readv=%zd [%.3s|%.5s|%.6s]\n", readv(fd, riov, 3), a, b, c);
    /* dup / dup2 share the offset */
    int d = dup(fd);
    lseek(fd, 100, SEEK_SET);
    printf("dup shares offset: %lld\n", (long long)lseek(d, 0, SEEK_CUR));
    int d2 = dup2(fd, 50);
    printf("dup2 -> %d\n", d2);
    close(d);
    close(d2);
    fsync(fd);
    close(fd);
    errno = 0;
    printf("read closed fd: %zd %s\n", read(fd, r, 1), errname(errno));
    errno = 0;
    printf("lseek on bad fd: %lld %s\n", (long long)lseek(-5, 0, SEEK_SET), errname(errno));
    errno = 0;
    printf("open missing: %d %s\n", open("missing.txt", O_RDONLY), errname(errno));
    errno = 0;
    printf("open O_EXCL existing: %d %s\n", open("fd.dat", O_CREAT | O_EXCL | O_WRONLY, 0644), errname(errno));
    fd = open("fd.dat", O_WRONLY | O_APPEND);
    write(fd, "tail", 4);
    fstat(fd, &st);
    printf("O_APPEND size=%lld\n", (long long)st.st_size);
    close(fd);
    errno = 0;
    int p[2];
    if (pipe(p) == 0) {
        printf("pipe write=%zd ", write(p[1], "through a pipe", 14));
        n = read(p[0], c, sizeof c);
        printf("read=%zd [%.*s] lseek=%lld %s\n", n, (int)n, c, (long long)lseek(p[0], 0, SEEK_SET), errname(errno));
        close(p[0]);
        close(p[1]);
    }
}

static void test_dirs(void)
{
    printf("== directories\n");
    CHECK(mkdir("sub", 0755) == 0);
    CHECK(mkdir("sub/deeper", 0700) == 0);
    errno = 0;
    printf("mkdir existing: %d %s\n", mkdir("sub", 0755), errname(errno));
    for (int i = 9; i >= 0; i--) {
        char name[32];
        snprintf(name, sizeof name, "sub/file%d.txt", i);
        FILE *f = fopen(name, "w");
        for (int k = 0; k <= i; k++) fputs("0123456789", f);
        fclose(f);
    }
    list_dir("sub");
    CHECK(rename("sub/file3.txt", "sub/renamed.txt") == 0);
    CHECK(rename("sub/file4.txt", "sub/deeper/moved.txt") == 0);
    CHECK(rename("sub/file5.txt", "sub/file6.txt") == 0); /* replaces */
    CHECK(unlink("sub/file0.txt") == 0);
    errno = 0;
    printf("unlink missing: %d %s\n", unlink("sub/file0.txt"), errname(errno));
    errno = 0;
    printf("rmdir non-empty: %d %s\n", rmdir("sub"), errname(errno));
    errno = 0;
    printf("unlink dir: %d %s\n", unlink("sub/deeper") == 0 ? 0 : -1, errno == EISDIR || errno == EPERM ? "EISDIR/EPERM" : errname(errno));
    CHECK(link("sub/file1.txt", "sub/hardlink") == 0);
    CHECK(symlink("file2.txt", "sub/symlink") == 0);
    char target[64];
    ssize_t n = readlink("sub/symlink", target, sizeof target);
    printf("readlink: %zd [%.*s]\n", n, (int)(n > 0 ? n : 0), target);
    struct stat st;
    CHECK(stat("sub/symlink", &st) == 0);
    printf("stat through symlink size=%lld; hardlink nlink=", (long long)st.st_size);
    CHECK(stat("sub/hardlink", &st) == 0);
    printf("%ld\n", (long)st.st_nlink);
    list_dir("sub");
    list_dir("sub/deeper");
    /* chdir / getcwd */
    char cwd[4096], cwd2[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir("sub/deeper") == 0);
    CHECK(getcwd(cwd2, sizeof cwd2) != NULL);
    size_t lc = strlen(cwd);
    printf("getcwd after chdir: prefix same=%d suffix=%s\n", strncmp(cwd, cwd2, lc) == 0, cwd2 + lc);
    FILE *f = fopen("../relative.txt", "w");
    fputs("relative\n", f);
    fclose(f);
    CHECK(chdir("../..") == 0);
    CHECK(getcwd(cwd2, sizeof cwd2) != NULL);
    printf("back: %d\n", strcmp(cwd, cwd2) == 0);
    int dfd = open("sub", O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    int fd = openat(dfd, "relative.txt", O_RDONLY);
    char buf[16] = { 0 };
    printf("openat read %zd [%.8s]\n", read(fd, buf, 8), buf);
    close(fd);
    CHECK(fchdir(dfd) == 0);
    printf("fchdir access relative.txt: %d\n", access("relative.txt", F_OK));
    CHECK(chdir("..") == 0);
    close(dfd);
    /* access */
    printf("access: F_OK=%d R_OK=%d missing=%d %s\n", access("sub/file1.txt", F_OK), access("sub/file1.txt", R_OK),
           access("sub/nothere", F_OK), errname(errno));
    CHECK(chmod("sub/file1.txt", 0600) == 0);
    stat("sub/file1.txt", &st);
    printf("chmod: %o\n", (unsigned)(st.st_mode & 0777));
    errno = 0;
    printf("stat file as dir: %d %s\n", stat("sub/file1.txt/x", &st), errname(errno));
    /* Clean up this level. */
    const char *rm[] = { "sub/file1.txt", "sub/file2.txt", "sub/file6.txt", "sub/file7.txt", "sub/file8.txt",
                         "sub/file9.txt", "sub/renamed.txt", "sub/hardlink", "sub/symlink", "sub/relative.txt",
                         "sub/deeper/moved.txt" };
    for (int i = 0; i < (int)(sizeof rm / sizeof rm[0]); i++)
        if (unlink(rm[i]) != 0) { printf("unlink %s failed\n", rm[i]); failures++; }
    CHECK(rmdir("sub/deeper") == 0);
    CHECK(rmdir("sub") == 0);
}

int main(void)
{
    char tmpl[] = "./gpuos-test-XXXXXX";
    if (!mkdtemp(tmpl)) { perror("mkdtemp"); return 2; }
    if (chdir(tmpl) != 0) { perror("chdir"); return 2; }
    test_stdio();
    test_fd();
    test_dirs();
    list_dir(".");
    unlink("text.txt");
    unlink("data.bin");
    unlink("fd.dat");
    list_dir(".");
    CHECK(chdir("..") == 0);
    CHECK(rmdir(tmpl) == 0);
    printf("temporary directory removed: %d\n", access(tmpl, F_OK) != 0);
    printf("fileio: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
