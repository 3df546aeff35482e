/* A 3 GiB .bss (as far as ADRP reaches): the image template reserves it lazily (no frames, no time to clear
 * them), and each process gets zero pages where it touches it. */
#include <stdio.h>

static unsigned char big[3ul << 30];

int main(void) {
    unsigned long offs[] = {0, 4096, 1ul << 21, 1ul << 30, (1ul << 31) + 77, (3ul << 30) - 1};
    unsigned n = sizeof(offs) / sizeof(offs[0]), sum = 0;
    for (unsigned i = 0; i < n; i++) sum += big[offs[i]];
    printf("untouched sum %u\n", sum);
    for (unsigned i = 0; i < n; i++) big[offs[i]] = (unsigned char)(i + 1);
    for (unsigned i = 0; i < n; i++) sum += big[offs[i]] * (i + 1);
    printf("touched sum %u\n", sum);
    return 0;
}
