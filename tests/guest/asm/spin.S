// Freestanding smoke test (no libc): computes a checksum over a loop of N iterations
// (N from argv[1] if given, as decimal, else 1000000), prints it in hex, and exits with
// status (checksum & 0x3f). Exercises integer ALU, branches, loads/stores, write, exit.
    .global _start
    .text
_start:
    ldr     x9, [sp]            // argc
    mov     x10, #16960         // default N = 1000000 (0xF4240)
    movk    x10, #15, lsl #16
    cmp     x9, #2
    b.lt    1f
    ldr     x11, [sp, #16]      // argv[1]
    mov     x10, #0
2:  ldrb    w12, [x11], #1
    cbz     w12, 1f
    sub     w12, w12, #'0'
    mov     x13, #10
    madd    x10, x10, x13, x12
    b       2b
1:  adrp    x20, buf
    add     x20, x20, :lo12:buf
    mov     x0, #0x1234
    mov     x1, #0
3:  eor     x0, x0, x0, lsl #13
    eor     x0, x0, x0, lsr #7
    eor     x0, x0, x0, lsl #17
    and     x2, x1, #63
    str     x0, [x20, x2, lsl #3]
    ldr     x3, [x20, x2, lsl #3]
    add     x1, x1, #1
    cmp     x1, x10
    b.ne    3b
    mov     x19, x0
    // format x19 as 16 hex digits + newline into out
    adrp    x21, out
    add     x21, x21, :lo12:out
    mov     x4, #15
4:  and     x5, x0, #15
    cmp     x5, #10
    add     x6, x5, #'0'
    add     x7, x5, #('a' - 10)
    csel    x6, x6, x7, lt
    strb    w6, [x21, x4]
    lsr     x0, x0, #4
    subs    x4, x4, #1
    b.ge    4b
    mov     w6, #10
    strb    w6, [x21, #16]
    mov     x0, #1
    mov     x1, x21
    mov     x2, #17
    mov     x8, #64             // write
    svc     #0
    and     x0, x19, #0x3f
    mov     x8, #94             // exit_group
    svc     #0
    .bss
    .balign 8
buf: .skip 512
out: .skip 32
