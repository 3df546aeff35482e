/* epoll: epoll_create1, epoll_ctl and epoll_pwait over pipes (level- and edge-triggered,
 * one-shot, hang-up), their errors, a timeout, and a wait that blocks until another
 * thread writes; then an AF_UNIX socketpair (send/recv, FIONBIO, shutdown, options)
 * watched by epoll, as asyncio's self-pipe is, and eventfd counters. Prints the results, which are the same
 * on any Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *ename(int e)
{
    switch (e) {
    case 0: return "0";
    case EEXIST: return "EEXIST";
    case ENOENT: return "ENOENT";
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    default: return strerror(e);
    }
}

/* epoll_wait with timeout ms; prints the count and each event's bits and data. */
static int show_wait(int ep, int ms, const char *what)
{
    struct epoll_event ev[8];
    int n = epoll_wait(ep, ev, 8, ms);
    printf("%s: %d", what, n);
    for (int i = 0; i < n; i++) printf(" {0x%x %llu}", ev[i].events, (unsigned long long)ev[i].data.u64);
    printf("\n");
    return n;
}

static int wfd;
static void *late_writer(void *arg)
{
    for (int i = 0; i < 100; i++) sched_yield();
    if (write(wfd, "z", 1) != 1) return NULL;
    return arg;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int main(void)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    printf("epoll_create1: ok %d, cloexec %d\n", ep >= 0, (fcntl(ep, F_GETFD) & FD_CLOEXEC) != 0);
    int p[2];
    if (pipe(p) != 0) return 1;
    struct epoll_event e = { .events = EPOLLIN, .data.u64 = 111 };
    printf("add read end: %d\n", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e));
    show_wait(ep, 0, "empty pipe");
    if (write(p[1], "ab", 2) != 2) return 1;
    show_wait(ep, 0, "after a write (level)");
    show_wait(ep, 0, "again, not drained (level)");
    char buf[16];
    if (read(p[0], buf, sizeof buf) != 2) return 1;
    show_wait(ep, 0, "drained");

    e.events = EPOLLOUT;
    e.data.u64 = 222;
    printf("add write end: %d\n", epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &e));
    show_wait(ep, 0, "write end ready");
    printf("del write end: %d\n", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL));

    e.events = EPOLLIN | EPOLLONESHOT;
    e.data.u64 = 333;
    printf("mod one-shot: %d\n", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e));
    if (write(p[1], "c", 1) != 1) return 1;
    show_wait(ep, 0, "one-shot, first");
    show_wait(ep, 0, "one-shot, spent");
    if (read(p[0], buf, sizeof buf) != 1) return 1;

    e.events = EPOLLIN | EPOLLET;
    e.data.u64 = 444;
    printf("mod edge: %d\n", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e));
    if (write(p[1], "d", 1) != 1) return 1;
    show_wait(ep, 0, "edge, first");
    show_wait(ep, 0, "edge, nothing new");
    if (read(p[0], buf, sizeof buf) != 1) return 1;
    if (write(p[1], "e", 1) != 1) return 1;
    show_wait(ep, 0, "edge, after drain and a write");
    if (read(p[0], buf, sizeof buf) != 1) return 1;

    /* Errors. */
    errno = 0;
    int r = epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e);
    printf("add twice: %d %s\n", r, ename(errno));
    errno = 0;
    r = epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL);
    printf("del unlisted: %d %s\n", r, ename(errno));
    int reg = open("/proc/self/exe", O_RDONLY);
    errno = 0;
    r = epoll_ctl(ep, EPOLL_CTL_ADD, reg, &e);
    printf("add a regular file: %d %s\n", r, ename(errno));
    close(reg);
    errno = 0;
    r = epoll_ctl(p[0], EPOLL_CTL_ADD, p[1], &e);
    printf("epfd not an epoll fd: %d %s\n", r, ename(errno));
    errno = 0;
    r = epoll_ctl(ep, EPOLL_CTL_ADD, ep, &e);
    printf("add itself: %d %s\n", r, ename(errno));
    errno = 0;
    r = epoll_ctl(ep, EPOLL_CTL_ADD, 999, &e);
    printf("add a closed fd: %d %s\n", r, ename(errno));
    struct epoll_event one;
    errno = 0;
    r = epoll_wait(ep, &one, 0, 0);
    printf("maxevents 0: %d %s\n", r, ename(errno));
    errno = 0;
    r = (int)read(ep, buf, 8);
    printf("read an epoll fd: %d %s\n", r, ename(errno));

    /* A timeout, and a wait that blocks until another thread writes. */
    e.events = EPOLLIN;
    e.data.u64 = 555;
    epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e);
    long long t = now_ms();
    int n = epoll_wait(ep, &one, 1, 30);
    printf("30 ms timeout: %d, waited >= 30 ms %d\n", n, now_ms() - t >= 30);
    wfd = p[1];
    pthread_t th;
    pthread_create(&th, NULL, late_writer, NULL);
    n = epoll_wait(ep, &one, 1, -1);
    printf("blocking wait: %d {0x%x %llu}\n", n, one.events, (unsigned long long)one.data.u64);
    pthread_join(th, NULL);
    if (read(p[0], buf, sizeof buf) != 1) return 1;

    /* Hang-up: the write end closed. */
    close(p[1]);
    show_wait(ep, 0, "write end closed");
    close(p[0]);

    /* A socketpair. */
    int sv[2];
    printf("socketpair: %d\n", socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    int on = 1, type = 0;
    socklen_t len = sizeof type;
    printf("FIONBIO: %d, O_NONBLOCK now %d\n", ioctl(sv[0], FIONBIO, &on), (fcntl(sv[0], F_GETFL) & O_NONBLOCK) != 0);
    printf("SO_TYPE: %d %d\n", getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &len), type);
    errno = 0;
    ssize_t k = recv(sv[0], buf, sizeof buf, 0);
    printf("recv on empty, non-blocking: %zd %s\n", k, errno == EAGAIN ? "EAGAIN" : strerror(errno));
    e.events = EPOLLIN;
    e.data.u64 = 666;
    epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &e);
    show_wait(ep, 0, "socket, nothing sent");
    printf("send: %zd\n", send(sv[1], "ping", 4, 0));
    show_wait(ep, 0, "socket, after a send");
    k = recv(sv[0], buf, sizeof buf, 0);
    printf("recv: %zd %.4s\n", k, buf);
    printf("write back: %zd, read: %zd\n", write(sv[0], "pong!", 5), read(sv[1], buf, sizeof buf));
    printf("shutdown write: %d\n", shutdown(sv[1], SHUT_WR));
    show_wait(ep, 0, "socket, peer shut down");
    printf("recv after the peer's shutdown: %zd\n", recv(sv[0], buf, sizeof buf, 0));
    errno = 0;
    k = send(sv[1], "x", 1, MSG_NOSIGNAL);
    printf("send after shutdown: %zd %s\n", k, errno == EPIPE ? "EPIPE" : strerror(errno));
    errno = 0;
    k = send(p[0] >= 0 ? 0 : 0, "x", 1, MSG_NOSIGNAL);
    printf("send on a non-socket: %zd %s\n", k, errno == ENOTSOCK ? "ENOTSOCK" : strerror(errno));
    errno = 0;
    printf("socketpair AF_INET: %d %s\n", socketpair(AF_INET, SOCK_STREAM, 0, sv),
           errno == EOPNOTSUPP || errno == EAFNOSUPPORT ? "unsupported" : strerror(errno));

    /* eventfd: a counter, and a semaphore. */
    int ev = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    uint64_t v = 0;
    errno = 0;
    k = read(ev, &v, 8);
    printf("eventfd read at 0: %zd %s\n", k, errno == EAGAIN ? "EAGAIN" : strerror(errno));
    e.events = EPOLLIN;
    e.data.u64 = 777;
    epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e);
    show_wait(ep, 0, "eventfd at 0");
    v = 3;
    printf("eventfd write 3: %zd\n", write(ev, &v, 8));
    v = 4;
    printf("eventfd write 4: %zd\n", write(ev, &v, 8));
    show_wait(ep, 0, "eventfd at 7");
    printf("eventfd read: %zd, %llu\n", read(ev, &v, 8), (unsigned long long)v);
    errno = 0;
    k = read(ev, &v, 4);
    printf("eventfd short read: %zd %s\n", k, errno == EINVAL ? "EINVAL" : strerror(errno));
    int sem = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    uint64_t a = 0, b = 0, c = 0;
    ssize_t r1 = read(sem, &a, 8), r2 = read(sem, &b, 8), r3 = read(sem, &c, 8);
    printf("semaphore reads: %zd %llu, %zd %llu, %zd\n", r1, (unsigned long long)a, r2, (unsigned long long)b, r3);
    close(sem);
    close(ev);
    close(ep);
    return 0;
}
