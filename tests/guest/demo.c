/* demo: the program `gpuos demo` runs (shipped prebuilt as
 * crates/gpuos-cli/assets/demo.elf by scripts/build-demo.sh). With no
 * arguments it draws the Mandelbrot set in ASCII, counts primes with a sieve,
 * and prints a checksum of everything it computed: some tens of millions of
 * instructions, so the instructions-per-second figure means something, yet well
 * under a second under qemu. With `zoom FRAME` it draws frame FRAME of a zoom
 * into the set (about 0.6 M instructions, the same instructions for every frame):
 * on a GPU the demo runs one frame per lane. Deterministic; exit status 0 (2 on bad arguments). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W 72
#define H 24
#define MAXIT 1000

static uint32_t fnv = 2166136261u;
static void mix(uint32_t v)
{
    for (int i = 0; i < 4; i++) { fnv ^= (v >> (8 * i)) & 0xff; fnv *= 16777619u; }
}

/* Iterations of z = z^2 + c from 0 before |z| > 2, at most maxit. */
static int escape(double cr, double ci, int maxit)
{
    double zr = 0, zi = 0;
    int it = 0;
    while (it < maxit && zr * zr + zi * zi <= 4.0) {
        double t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci;
        zr = t;
        it++;
    }
    return it;
}

/* The escape iteration of c in at most maxit steps, computed without an early exit:
 * every point runs all maxit steps and the first step with |z| > 2 is kept with a
 * conditional select (z grows to inf and NaN afterwards, and NaN compares false).
 * Every lane of a GPU warp then runs the same instructions in step, as data-parallel
 * code is written for SIMD units; escape() above stops early, as scalar code does. */
static int escape_all_steps(double cr, double ci, int maxit)
{
    double zr = 0, zi = 0;
    int esc = maxit;
    for (int it = 0; it < maxit; it++) {
        double t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci;
        zr = t;
        int out = zr * zr + zi * zi > 4.0;
        esc = (out && esc == maxit) ? it + 1 : esc;
    }
    return esc;
}

/* Frame `frame` (0 to 65535) of a zoom towards a point on the set's boundary: each
 * frame is 1/1.0002 the size of the one before (frames past 40,000 start over). */
static int zoom(long frame)
{
    enum { ZW = 36, ZH = 12, ZIT = 96 };
    static const char shades[] = " .:-=+*#%@";
    double scale = 3.0, cx = -0.743643887037151, cy = 0.131825904205330, p = 1 / 1.0002;
    unsigned long f = (unsigned long)frame % 40000;
    for (int b = 0; b < 16; b++, p *= p) scale *= ((f >> b) & 1) ? p : 1.0;
    uint64_t iters = 0;
    printf("zoom frame %ld (width %.3g)\n", frame, scale);
    for (int y = 0; y < ZH; y++) {
        char line[ZW + 1];
        for (int x = 0; x < ZW; x++) {
            double cr = cx + (x - ZW / 2 + 0.5) * scale / ZW;
            double ci = cy + (y - ZH / 2 + 0.5) * scale * 0.8 / ZH;
            int it = escape_all_steps(cr, ci, ZIT);
            iters += (uint64_t)it;
            line[x] = shades[it >= ZIT ? 9 : (it * 9) / ZIT];
            mix((uint32_t)it);
        }
        line[ZW] = 0;
        printf("%s\n", line);
    }
    printf("iterations: %llu checksum: %08x\n", (unsigned long long)iters, fnv);
    return 0;
}

int main(int argc, char **argv)
{
    static const char shades[] = " .:-=+*#%@";
    if (argc == 3 && strcmp(argv[1], "zoom") == 0) return zoom(strtol(argv[2], 0, 10));
    if (argc != 1) {
        fprintf(stderr, "usage: demo [zoom FRAME]\n");
        return 2;
    }
    printf("gpuos demo: an AArch64 Linux program, run by gpuos\n\n");
    uint64_t iters = 0;
    for (int y = 0; y < H; y++) {
        char line[W + 1];
        for (int x = 0; x < W; x++) {
            /* Supersample 2x2 for a smoother picture (and more work). */
            int sum = 0;
            for (int s = 0; s < 4; s++) {
                double cr = -2.2 + (x + 0.25 + 0.5 * (s & 1)) * 3.2 / W;
                double ci = -1.2 + (y + 0.25 + 0.5 * (s >> 1)) * 2.4 / H;
                int it = escape(cr, ci, MAXIT);
                sum += it;
                iters += (uint64_t)it;
            }
            static const int steps[] = { 3, 5, 7, 10, 14, 20, 32, 64, MAXIT };
            int avg = sum / 4, k = 0;
            while (k < 9 && avg >= steps[k]) k++;
            line[x] = shades[k];
            mix((uint32_t)sum);
        }
        line[W] = 0;
        printf("%s\n", line);
    }

    enum { N = 2000000 };
    static uint8_t composite[N + 1];
    memset(composite, 0, sizeof composite);
    for (uint32_t i = 2; (uint64_t)i * i <= N; i++)
        if (!composite[i])
            for (uint32_t j = i * i; j <= N; j += i) composite[j] = 1;
    uint32_t count = 0, last = 0, twins = 0;
    for (uint32_t i = 2; i <= N; i++)
        if (!composite[i]) {
            count++;
            if (last && i - last == 2) twins++;
            last = i;
            mix(i);
        }
    printf("\nprimes below %d: %u (largest %u, %u twin pairs)\n", N, count, last, twins);
    printf("mandelbrot iterations: %llu\n", (unsigned long long)iters);
    printf("checksum: %08x\n", fnv);
    return 0;
}
