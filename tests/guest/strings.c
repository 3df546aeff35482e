/* strings: string.h functions on many lengths and alignments (memcpy, memmove,
 * memset, memcmp, memchr, strlen, strnlen, strchr, strrchr, strcmp, strncmp,
 * strstr, strcpy, strncpy, strcat, strspn/strcspn, strtok_r, strdup), each
 * checked against a byte-by-byte reference; strings placed near page ends;
 * snprintf formatting; sorting strings. glibc picks optimised (SIMD) routines
 * for these, so this exercises many vector instructions. Exits 0 when the
 * self-checks pass, 1 otherwise. */
#define _GNU_SOURCE
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#pragma GCC diagnostic ignored "-Wformat-truncation"
#pragma GCC diagnostic ignored "-Wstringop-truncation"

static int failures;
#define CHECK(cond) do { if (!(cond)) { printf("CHECK FAILED line %d: %s\n", __LINE__, #cond); failures++; } } while (0)

static unsigned char bufa[1024], bufb[1024], bufc[1024];
static uint32_t seed = 1;
static unsigned rnd(void) { seed = seed * 1103515245u + 12345u; return seed >> 16; }

static size_t ref_strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
static int sgn(int x) { return (x > 0) - (x < 0); }
static int ref_memcmp(const unsigned char *a, const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
    return 0;
}
static int ref_strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) { a++; b++; }
    return sgn((unsigned char)*a - (unsigned char)*b);
}

static uint64_t hsh = 5381;
static void h(uint64_t v) { hsh = hsh * 33 ^ v; }

static void test_mem(void)
{
    printf("== mem*\n");
    int bad = 0;
    for (size_t len = 0; len < 300; len = len < 40 ? len + 1 : len * 3 / 2 + 1) {
        for (int sa = 0; sa < 16; sa += 3) {
            for (int da = 0; da < 16; da += 5) {
                for (int i = 0; i < 1024; i++) { bufa[i] = (unsigned char)rnd(); bufb[i] = 0xcc; }
                memcpy(bufb + da, bufa + sa, len);
                if (ref_memcmp(bufb + da, bufa + sa, len) || (da && bufb[da - 1] != 0xcc) || bufb[da + len] != 0xcc) bad++;
                memcpy(bufc, bufb, 1024);
                /* memmove overlapping both ways */
                memmove(bufb + da + 7, bufb + da, len);
                if (ref_memcmp(bufb + da + 7, bufa + sa, len)) bad++;
                memmove(bufc + da, bufc + da + 5, len);
                for (size_t k = 0; k < len; k++)
                    if (bufc[da + k] != (k + 5 < len ? bufa[sa + k + 5] : 0xcc)) { bad++; break; }
                memset(bufb + da, (int)(len & 0xff), len);
                for (size_t k = 0; k < len; k++) if (bufb[da + k] != (unsigned char)len) { bad++; break; }
                if (bufb[da + len] == (unsigned char)len && len < 7) bad++;
                /* memcmp with a difference at every position class */
                memcpy(bufb, bufa, 1024);
                if (len) {
                    size_t pos = rnd() % len;
                    bufb[sa + pos] ^= (unsigned char)(1 + rnd() % 255);
                    int r = memcmp(bufa + sa, bufb + sa, len);
                    if (sgn(r) != ref_memcmp(bufa + sa, bufb + sa, len)) bad++;
                    h((uint64_t)sgn(r) + 2 + pos);
                    const void *c = memchr(bufa + sa, bufa[sa + pos], len);
                    size_t ref = 0;
                    while (bufa[sa + ref] != bufa[sa + pos]) ref++;
                    if ((const unsigned char *)c != bufa + sa + ref) bad++;
                }
                if (memcmp(bufa + sa, bufa + sa, len) != 0) bad++;
            }
        }
    }
    printf("mem bad=%d\n", bad);
    CHECK(bad == 0);
    memset(bufa, 0, sizeof bufa);
    printf("memchr absent: %d\n", memchr(bufa, 1, sizeof bufa) == NULL);
    printf("memmem: %td\n", (const char *)memmem("hello world, hello there", 24, "lo t", 4) - "hello world, hello there");
}

static void test_str(void)
{
    printf("== str*\n");
    int bad = 0;
    char *s = (char *)bufa, *t = (char *)bufb;
    for (size_t len = 0; len < 200; len = len < 40 ? len + 1 : len + 17) {
        for (int al = 0; al < 16; al++) {
            char *p = s + al;
            for (size_t i = 0; i < len; i++) p[i] = (char)('a' + rnd() % 26);
            p[len] = 0;
            if (strlen(p) != ref_strlen(p) || strlen(p) != len) bad++;
            if (strnlen(p, len / 2) != len / 2) bad++;
            char *q = t + (al * 7) % 16;
            strcpy(q, p);
            if (strcmp(p, q) != 0 || ref_strcmp(p, q) != 0) bad++;
            if (len) {
                size_t pos = rnd() % len;
                char ch = p[pos];
                char *first = strchr(p, ch), *last = strrchr(p, ch);
                size_t fi = 0, li = 0;
                for (size_t i = 0; i < len; i++) if (p[i] == ch) { li = i; }
                while (p[fi] != ch) fi++;
                if (first != p + fi || last != p + li) bad++;
                if (strchr(p, 0) != p + len || strchr(p, 'A') != NULL) bad++;
                q[pos] = (char)(q[pos] + 1 - 2 * (rnd() & 1));
                if (sgn(strcmp(p, q)) != ref_strcmp(p, q)) bad++;
                if (strncmp(p, q, pos) != 0) bad++;
                if (sgn(strncmp(p, q, pos + 1)) != ref_strcmp(p, q)) bad++;
                h((uint64_t)(sgn(strcmp(p, q)) + 1) * 1000 + pos);
                /* substring search */
                size_t sl = 1 + rnd() % 4;
                if (pos + sl <= len) {
                    char needle[8];
                    memcpy(needle, p + pos, sl);
                    needle[sl] = 0;
                    char *f = strstr(p, needle);
                    if (!f || f > p + pos || strncmp(f, needle, sl) != 0) bad++;
                    h((uint64_t)(f - p));
                }
            }
            if (strcmp(p, p) != 0) bad++;
        }
    }
    printf("str bad=%d\n", bad);
    CHECK(bad == 0);
    char b[64];
    strcpy(b, "alpha");
    strcat(b, "-beta");
    strncat(b, "-gammadelta", 6);
    printf("cat: %s\n", b);
    memset(b, 'x', sizeof b);
    strncpy(b, "abc", 6);
    printf("strncpy pad: %d %d %d %c\n", b[3], b[4], b[5], b[6]);
    printf("spn: %zu %zu %zu\n", strspn("aabbcxyz", "abc"), strcspn("hello, world", ",! "), strspn("", "a"));
    printf("pbrk: %s\n", strpbrk("key=value;other", "=;"));
    char line[] = "  the quick,brown fox ; jumps over,,the lazy dog  ";
    char *save, *tok;
    printf("tokens:");
    for (tok = strtok_r(line, " ,;", &save); tok; tok = strtok_r(NULL, " ,;", &save)) printf(" [%s]", tok);
    printf("\n");
    char *d = strdup("duplicate me");
    printf("strdup: %s %zu\n", d, strlen(d));
    free(d);
    printf("strstr: %s | %s | %d\n", strstr("abababc", "ababc"), strstr("haystack", ""), strstr("abc", "abcd") == NULL);
    printf("casecmp: %d %d\n", sgn(strcasecmp("HeLLo", "hello")), sgn(strncasecmp("abcX", "ABCy", 4)));
    printf("ctype:");
    for (int c = 32; c < 127; c += 9) printf(" %c%d%d%d%d", c, !!isalpha(c), !!isdigit(c), !!isspace(c), toupper(c));
    printf("\n");
}

static void test_page_edges(void)
{
    printf("== page edges\n");
    /* Strings ending right at the end of a mapped page, followed by an
     * inaccessible page: vectorised routines must not fault. */
    unsigned char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK(mprotect(p + 4096, 4096, PROT_NONE) == 0);
    int bad = 0;
    for (int len = 0; len < 70; len++) {
        char *s = (char *)p + 4096 - len - 1;
        memset(s, 'q', len);
        s[len] = 0;
        if ((int)strlen(s) != len) bad++;
        if (strchr(s, 'z') != NULL) bad++;
        if (strrchr(s, 'q') != (len ? s + len - 1 : NULL)) bad++;
        if (memchr(s, 'z', len + 1) != NULL) bad++;
        if (strcmp(s, s) != 0) bad++;
        char cp[80];
        strcpy(cp, s);
        if (memcmp(cp, s, len + 1) != 0) bad++;
    }
    printf("page edge bad=%d\n", bad);
    CHECK(bad == 0);
    munmap(p, 8192);
}

static void test_snprintf(void)
{
    printf("== snprintf\n");
    char b[256];
    int n;
    n = snprintf(b, sizeof b, "%d|%5d|%-5d|%05d|%+d|% d|%x|%X|%#x|%o|%#o|%u", 42, -42, 42, 42, 42, 42, 255, 255, 255, 8, 8, -1);
    printf("%d: %s\n", n, b);
    n = snprintf(b, sizeof b, "%ld|%lld|%hd|%hhd|%zu|%jd|%" PRIu64 "|%lx", LONG_MIN, LLONG_MAX, (short)-32768, (signed char)200, (size_t)-1, (intmax_t)-5, UINT64_MAX, 0xdeadbeefUL);
    printf("%d: %s\n", n, b);
    n = snprintf(b, sizeof b, "[%s] [%10s] [%-10s] [%.3s] [%c] [%%] [%*d] [%-*.*s]", "str", "right", "left", "truncate", 'C', 6, 7, 8, 3, "abcdef");
    printf("%d: %s\n", n, b);
    n = snprintf(b, 10, "%s", "this is longer than ten");
    printf("truncated: %d [%s]\n", n, b);
    n = snprintf(NULL, 0, "%d %s", 123456, "counted");
    printf("count only: %d\n", n);
    n = snprintf(b, sizeof b, "%p %p", (void *)0, (void *)0x1234);
    printf("%d: %s\n", n, b);
    n = snprintf(b, sizeof b, "%.2f %10.4e %-8g| %G %a", 3.14159, -0.000123, 1e20, 1e-20, 0.5);
    printf("%d: %s\n", n, b);
    n = snprintf(b, sizeof b, "%1$s %2$d %1$s", "pos", 5);
    printf("%d: %s\n", n, b);
    long long big = 1;
    for (int i = 0; i < 20; i++) {
        snprintf(b, sizeof b, "%lld %llx %llo", big, big, big);
        h(strlen(b));
        if (i % 5 == 4) printf("%s\n", b);
        big = big * 9 + i;
    }
    int pos1, pos2;
    sscanf("  12 abc 3.5 0x1f rest", "%d %n%*s %n", &pos1, &pos1, &pos2);
    int a, x; char w[16]; double f;
    int got = sscanf("  12 abc 3.5 0x1f rest", "%d %15s %lf %i", &a, w, &f, &x);
    printf("sscanf: %d %d %s %g %d n=%d,%d\n", got, a, w, f, x, pos1, pos2);
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void test_sort(void)
{
    printf("== sort strings\n");
    enum { N = 400 };
    static char store[N][16];
    static char *ptrs[N];
    for (int i = 0; i < N; i++) {
        int l = 1 + rnd() % 12;
        for (int k = 0; k < l; k++) store[i][k] = (char)('a' + rnd() % 6);
        store[i][l] = 0;
        ptrs[i] = store[i];
    }
    qsort(ptrs, N, sizeof ptrs[0], cmp);
    int ok = 1;
    for (int i = 1; i < N; i++) if (strcmp(ptrs[i - 1], ptrs[i]) > 0) ok = 0;
    printf("sorted=%d first=%s last=%s mid=%s\n", ok, ptrs[0], ptrs[N - 1], ptrs[N / 2]);
    for (int i = 0; i < N; i += 40) printf("%s ", ptrs[i]);
    printf("\n");
    CHECK(ok);
}

int main(void)
{
    test_mem();
    test_str();
    test_page_edges();
    test_snprintf();
    test_sort();
    printf("hash=%016" PRIx64 "\n", hsh);
    printf("strings: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
