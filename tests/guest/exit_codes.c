/* exit_codes: prints its arguments and some environment handling, then exits
 * with the status given as argv[1] (decimal, taken modulo 256 by the kernel).
 * "exit_codes 42" exits 42. Special first arguments:
 *   _exit N     leave through _exit (stdio buffers are NOT flushed)
 *   return N    return N from main
 *   atexit N    run atexit handlers in order, then exit N
 *   none        exit 0 with no argument parsing
 * The environment variable GPUOS_TEST_VAR, if set, is printed; setenv,
 * unsetenv and putenv are exercised on private names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static void h1(void) { printf("atexit handler 1\n"); }
static void h2(void) { printf("atexit handler 2 (registered last, runs first)\n"); }

int main(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=[%s] len=%zu\n", i, argv[i], strlen(argv[i]));
    printf("argv[argc] is NULL: %d\n", argv[argc] == NULL);
    const char *v = getenv("GPUOS_TEST_VAR");
    printf("GPUOS_TEST_VAR=%s\n", v ? v : "(unset)");
    printf("GPUOS_SURELY_UNSET=%s\n", getenv("GPUOS_SURELY_UNSET") ? "set" : "(unset)");
    int n = 0, seen = 0;
    for (char **e = environ; *e; e++) {
        n++;
        if (strncmp(*e, "GPUOS_TEST_VAR=", 15) == 0) seen++;
    }
    printf("environ has GPUOS_TEST_VAR entries: %d (count>0: %d)\n", seen, n > 0);
    setenv("GPUOS_PRIVATE", "one", 1);
    setenv("GPUOS_PRIVATE", "two", 0);
    printf("setenv no-overwrite: %s\n", getenv("GPUOS_PRIVATE"));
    setenv("GPUOS_PRIVATE", "three", 1);
    printf("setenv overwrite: %s\n", getenv("GPUOS_PRIVATE"));
    static char pe[] = "GPUOS_PUT=put value";
    putenv(pe);
    printf("putenv: %s\n", getenv("GPUOS_PUT"));
    unsetenv("GPUOS_PRIVATE");
    printf("unsetenv: %s\n", getenv("GPUOS_PRIVATE") ? "still set" : "gone");

    int code = 0;
    const char *mode = "exit";
    if (argc > 1 && (strcmp(argv[1], "_exit") == 0 || strcmp(argv[1], "return") == 0 ||
                     strcmp(argv[1], "atexit") == 0)) {
        mode = argv[1];
        code = argc > 2 ? atoi(argv[2]) : 0;
    } else if (argc > 1 && strcmp(argv[1], "none") != 0) {
        code = atoi(argv[1]);
    }
    printf("leaving via %s with %d\n", mode, code);
    if (strcmp(mode, "_exit") == 0) {
        printf("this buffered line is lost when stdout is not a terminal\n");
        _exit(code);
    }
    if (strcmp(mode, "return") == 0)
        return code;
    if (strcmp(mode, "atexit") == 0) {
        atexit(h1);
        atexit(h2);
    }
    exit(code);
}
