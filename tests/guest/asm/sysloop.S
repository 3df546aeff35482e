// Freestanding syscall round-trip probe (no libc): calls getgroups(0, NULL) (served by
// the host, no side effect, no output: the count of the host's supplementary groups)
// N times (argv[1], decimal; default 10000), then writes "ok\n" and exits 0. (getuid,
// its call until the forty-first session, is answered on the device now.)
    .global _start
    .text
_start:
    ldr     x9, [sp]            // argc
    mov     x19, #10000
    cmp     x9, #2
    b.lt    1f
    ldr     x11, [sp, #16]      // argv[1]
    mov     x19, #0
2:  ldrb    w12, [x11], #1
    cbz     w12, 1f
    sub     w12, w12, #'0'
    mov     x13, #10
    madd    x19, x19, x13, x12
    b       2b
1:  cbz     x19, 3f
    mov     x0, #0              // size 0: the count only
    mov     x1, #0
    mov     x8, #158            // getgroups
    svc     #0
    sub     x19, x19, #1
    b       1b
3:  adrp    x1, msg
    add     x1, x1, :lo12:msg
    mov     x0, #1
    mov     x2, #3
    mov     x8, #64             // write
    svc     #0
    mov     x0, #0
    mov     x8, #94             // exit_group
    svc     #0
    .section .rodata
msg: .ascii "ok\n"
