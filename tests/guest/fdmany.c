// Many descriptors held at once: the same file opened 300 times (each open with its
// own offset), a directory opened 200 times (each stream read a bit at a time, round
// robin), 150 pipes (300 fds) filled and drained, a pipe across fork, and the
// answers Linux gives on each kind of fd (F_GETFL, fstat, ESPIPE, EBADF, poll).
// gpuos serves these without a host descriptor per guest fd (host/shared.rs,
// host/pipe.rs); the output must still be what qemu-aarch64 gives.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NFILE 300
#define NDIR 200
#define NPIPE 150

static unsigned long mix(unsigned long h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ul;
    return h;
}

static int files(void) {
    static int fd[NFILE];
    const char *path = "/etc/passwd";
    for (int i = 0; i < NFILE; i++) {
        fd[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (fd[i] < 0) {
            printf("open %s #%d: %s\n", path, i, strerror(errno));
            return 1;
        }
    }
    struct stat st;
    fstat(fd[0], &st);
    long size = st.st_size;
    // Each fd at its own offset; reads move only that fd's offset.
    unsigned long h = 1469598103934665603ul;
    for (int i = 0; i < NFILE; i++) lseek(fd[i], i % (size ? size : 1), SEEK_SET);
    char buf[16];
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < NFILE; i++) {
            ssize_t n = read(fd[i], buf, 5);
            if (n > 0) h = mix(h, buf, (size_t)n);
            h = mix(h, &n, sizeof n);
        }
    long pos17 = lseek(fd[17], 0, SEEK_CUR);
    long end = lseek(fd[18], -3, SEEK_END);
    ssize_t tail = read(fd[18], buf, sizeof buf);
    int avail = -1;
    lseek(fd[19], 10, SEEK_SET);
    ioctl(fd[19], FIONREAD, &avail);
    long bad = lseek(fd[20], -1, SEEK_SET);
    int e_bad = errno;
    errno = 0;
    ssize_t w = write(fd[21], "x", 1);
    int e_w = errno;
    int fl = fcntl(fd[22], F_GETFL);
    int dupfd = dup(fd[23]);
    lseek(fd[23], 7, SEEK_SET);
    long dpos = lseek(dupfd, 0, SEEK_CUR);
    printf("files: %d fds, hash %016lx, pos17 %ld (size+%ld), end-3 %ld (size+%ld), tail %zd\n",
           NFILE, h, pos17, pos17 - size, end, end - size, tail);
    printf("files: FIONREAD after 10 = size-%ld, lseek -1 = %ld %s, write = %zd %s\n",
           size - avail, bad, strerror(e_bad), w, strerror(e_w));
    printf("files: F_GETFL %#o, dup shares offset: %ld\n", fl, dpos);
    close(dupfd);
    for (int i = 0; i < NFILE; i++) close(fd[i]);
    return 0;
}

static int dirs(void) {
    static DIR *d[NDIR];
    static int count[NDIR];
    static unsigned long hash[NDIR];
    for (int i = 0; i < NDIR; i++) {
        d[i] = opendir("/etc");
        if (!d[i]) {
            printf("opendir /etc #%d: %s\n", i, strerror(errno));
            return 1;
        }
        hash[i] = 1469598103934665603ul;
    }
    // Round robin, one entry per stream per turn, until every stream ends.
    for (int left = NDIR; left > 0;) {
        left = 0;
        for (int i = 0; i < NDIR; i++) {
            if (!d[i]) continue;
            struct dirent *e = readdir(d[i]);
            if (!e) {
                closedir(d[i]);
                d[i] = NULL;
                continue;
            }
            left++;
            count[i]++;
            hash[i] = mix(hash[i], e->d_name, strlen(e->d_name));
        }
    }
    int same = 1;
    for (int i = 1; i < NDIR; i++) same &= count[i] == count[0] && hash[i] == hash[0];
    printf("dirs: %d streams of /etc, all the same: %s\n", NDIR, same ? "yes" : "no");

    // telldir/seekdir and rewinddir on one stream.
    DIR *s = opendir("/etc");
    int fd = dirfd(s);
    for (int i = 0; i < 5; i++) readdir(s);
    long where = telldir(s);
    struct dirent *e = readdir(s);
    char name[256] = "";
    if (e) snprintf(name, sizeof name, "%s", e->d_name);
    for (int i = 0; i < 3; i++) readdir(s);
    seekdir(s, where);
    e = readdir(s);
    printf("dirs: seekdir back: %s\n", e && !strcmp(e->d_name, name) ? "same entry" : "different");
    rewinddir(s);
    int n = 0;
    while (readdir(s)) n++;
    errno = 0;
    ssize_t rd = read(fd, name, 4);
    int e_rd = errno;
    int fl = fcntl(fd, F_GETFL);
    printf("dirs: rewinddir: %s, read on a dir: %zd %s, F_GETFL %#o\n",
           n == count[0] ? "all again" : "short", rd, strerror(e_rd), fl);
    closedir(s);
    return 0;
}

static int pipes(void) {
    static int p[NPIPE][2];
    for (int i = 0; i < NPIPE; i++)
        if (pipe(p[i]) != 0) {
            printf("pipe #%d: %s\n", i, strerror(errno));
            return 1;
        }
    for (int i = 0; i < NPIPE; i++) dprintf(p[i][1], "pipe %d\n", i);
    unsigned long h = 1469598103934665603ul;
    char buf[64];
    for (int i = NPIPE - 1; i >= 0; i--) {
        ssize_t n = read(p[i][0], buf, sizeof buf);
        if (n > 0) h = mix(h, buf, (size_t)n);
    }
    struct stat st;
    fstat(p[0][0], &st);
    errno = 0;
    long sk = lseek(p[0][0], 0, SEEK_CUR);
    int e_sk = errno;
    ssize_t pr = pread(p[0][0], buf, 1, 0);
    int e_pr = errno;
    ssize_t wr = write(p[0][0], "x", 1);
    int e_wr = errno;
    printf("pipes: %d, hash %016lx, fifo %d, lseek %ld %s, pread %zd %s, write on read end %zd %s\n",
           NPIPE, h, S_ISFIFO(st.st_mode), sk, strerror(e_sk), pr, strerror(e_pr), wr,
           strerror(e_wr));
    printf("pipes: F_GETFL read end %#o, write end %#o\n", fcntl(p[1][0], F_GETFL),
           fcntl(p[1][1], F_GETFL));

    // poll: empty, then data, then the writer gone.
    struct pollfd q[2] = {{p[2][0], POLLIN, 0}, {p[2][1], POLLOUT, 0}};
    int r0 = poll(q, 2, 0);
    printf("pipes: poll empty: %d, revents %#x %#x\n", r0, q[0].revents, q[1].revents);
    write(p[2][1], "abc", 3);
    int avail = 0;
    ioctl(p[2][0], FIONREAD, &avail);
    close(p[2][1]);
    q[0].revents = 0;
    int r1 = poll(q, 1, 0);
    printf("pipes: FIONREAD %d, poll after close: %d, revents %#x\n", avail, r1, q[0].revents);
    read(p[2][0], buf, sizeof buf);
    printf("pipes: then read %zd (end of file)\n", read(p[2][0], buf, sizeof buf));

    // Non-blocking read of an empty pipe, and a write with no reader left.
    fcntl(p[3][0], F_SETFL, O_NONBLOCK);
    errno = 0;
    ssize_t nb = read(p[3][0], buf, 1);
    printf("pipes: O_NONBLOCK empty read %zd %s\n", nb, strerror(errno));
    for (int i = 0; i < NPIPE; i++) {
        close(p[i][0]);
        if (i != 2) close(p[i][1]);
    }

    // Across fork: the child writes a lot, the parent reads it all, then end of file.
    int c[2];
    pipe(c);
    pid_t pid = fork();
    if (pid == 0) {
        close(c[0]);
        char big[10000];
        for (int i = 0; i < 20; i++) {
            memset(big, 'a' + i, sizeof big);
            size_t off = 0;
            while (off < sizeof big) {
                ssize_t n = write(c[1], big + off, sizeof big - off);
                if (n <= 0) _exit(3);
                off += (size_t)n;
            }
        }
        _exit(0);
    }
    close(c[1]);
    unsigned long ch = 1469598103934665603ul;
    long total = 0;
    for (;;) {
        ssize_t n = read(c[0], buf, sizeof buf);
        if (n <= 0) break;
        ch = mix(ch, buf, (size_t)n);
        total += n;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    close(c[0]);
    printf("pipes: from a child: %ld bytes, hash %016lx, child status %d\n", total, ch,
           WEXITSTATUS(status));
    return 0;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int bad = files();
    bad |= dirs();
    bad |= pipes();
    return bad;
}
