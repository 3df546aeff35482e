/* sections.h: the frame of the guest test programs made of named sections
 * (syscalls2, mmapfile): a failure counter with CHECK, and main, which runs the
 * sections named on the command line (every one without arguments), unbuffered so
 * that output interleaves with children's in order, and exits 0 when no CHECK failed.
 * Include it after defining `sections[]` ({ name, run } pairs). */
#ifndef GPUOS_TEST_SECTIONS_H
#define GPUOS_TEST_SECTIONS_H
#include <stdio.h>
#include <string.h>

/* Usage: PROGRAM [SECTION...] (default: every section). */
int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0); /* every printf is a write(): order with children */
    unsigned n = sizeof sections / sizeof sections[0];
    for (unsigned i = 0; i < n; i++) {
        int want = argc < 2;
        for (int a = 1; a < argc; a++) want |= strcmp(argv[a], sections[i].name) == 0;
        if (want) sections[i].run();
    }
    printf("failures: %d\n", failures);
    return failures != 0;
}
#endif
