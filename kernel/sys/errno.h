// Linux errno values (include/uapi/asm-generic/errno-base.h, errno.h), returned negated.
#pragma once

enum {
    E_PERM = 1, E_NOENT = 2, E_SRCH = 3, E_INTR = 4, E_IO = 5, E_BADF = 9, E_CHILD = 10,
    E_AGAIN = 11, E_NOMEM = 12, E_ACCES = 13, E_FAULT = 14, E_EXIST = 17, E_NOTDIR = 20,
    E_ISDIR = 21, E_INVAL = 22, E_MFILE = 24, E_NOTTY = 25, E_FBIG = 27, E_NOSPC = 28,
    E_SPIPE = 29, E_ROFS = 30, E_PIPE = 32, E_RANGE = 34, E_NAMETOOLONG = 36, E_NOSYS = 38,
    E_NODEV = 19, E_2BIG = 7, E_NOEXEC = 8,
};

/// Negated errno as the u64 a syscall returns in X0.
GFN u64 err(int e) { return (u64)(i64)-e; }
