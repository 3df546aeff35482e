/* crash_null: prints a line, flushes, then stores through a NULL pointer.
 * Expected: killed by SIGSEGV (exit status 139 from a shell), the line printed
 * before the crash is visible, the line after it is not. */
#include <stdio.h>

int main(int argc, char **argv)
{
    printf("about to write through NULL\n");
    fflush(stdout);
    volatile int *p = (volatile int *)(argc > 100 ? (void *)argv : NULL);
    *p = 42;
    printf("still alive?\n");
    return 0;
}
