// Executes a permanently undefined instruction (UDF #0x1234): the process must be
// killed by SIGILL with the PC and the instruction word reported.
    .global _start
    .text
_start:
    nop
    udf     #0x1234
