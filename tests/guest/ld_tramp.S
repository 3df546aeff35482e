// ld_tramp: the smallest program interpreter (PT_INTERP), for the loader's tests: it
// finds AT_ENTRY in the auxiliary vector of the initial stack and jumps there with the
// stack as the kernel left it, which is all a static program needs (ld.so would first
// map and relocate the libraries). Exits 127 when there is no AT_ENTRY. Built as a
// shared object (ET_DYN, position independent); with -DWITH_INTERP it names an
// interpreter of its own, which Linux and qemu ignore for an interpreter.
    .text
    .globl _start
    .type _start, %function
_start:
    mov x9, sp
    ldr x10, [x9], #8           // argc
    add x9, x9, x10, lsl #3     // past argv
    add x9, x9, #8              // and its NULL
1:  ldr x11, [x9], #8           // past envp and its NULL
    cbnz x11, 1b
2:  ldp x11, x12, [x9], #16     // auxv (type, value) pairs
    cbz x11, 3f                 // AT_NULL
    cmp x11, #9                 // AT_ENTRY
    b.ne 2b
    mov x0, #0                  // no rtld_fini for the program's atexit
    br x12
3:  mov x0, #127
    mov x8, #93                 // exit
    svc #0
#ifdef WITH_INTERP
    .section .interp, "a"
    .asciz "/nonexistent/interpreter"
#endif
