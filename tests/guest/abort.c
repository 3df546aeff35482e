/* abort: prints a line, then calls abort(). Expected: killed by SIGABRT
 * (exit status 134 from a shell); stdout written with printf before abort()
 * is lost unless flushed, so flush it first. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    printf("calling abort()\n");
    fflush(stdout);
    abort();
    printf("not reached\n");
    return 0;
}
