/* exe_probe: prints what /proc/self/exe names, then, given arguments, executes them
 * (execv(argv[1], argv + 1)): what a program sees of itself after an execve. */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    char b[4096];
    ssize_t n = readlink("/proc/self/exe", b, sizeof b);
    printf("exe: %.*s\n", n < 0 ? 0 : (int)n, b);
    fflush(stdout);
    if (argc > 1) {
        execv(argv[1], argv + 1);
        perror("execv");
        return 127;
    }
    return 0;
}
