/* auxv: what the initial stack's auxiliary vector says about the program and its
 * interpreter, as relations that hold wherever they are loaded (qemu-aarch64 and gpuos
 * place them differently): AT_PHDR is where the program headers are mapped, AT_ENTRY
 * the program's _start, AT_BASE the interpreter's ELF header (0 without one), the
 * break after the program. Built three ways by build.sh: static (no interpreter), and
 * static or static-PIE with a PT_INTERP naming INTERP (tests/guest/ld_tramp.S), whose
 * interpreter jumps to AT_ENTRY. */
#include <elf.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#ifdef INTERP
const char gpuos_interp[] __attribute__((section(".interp"), used)) = INTERP;
#endif

extern const Elf64_Ehdr __ehdr_start;
extern char _start[], end[];

int main(int argc, char **argv)
{
    unsigned long base = getauxval(AT_BASE), phdr = getauxval(AT_PHDR);
    const Elf64_Ehdr *eh = &__ehdr_start;
    printf("AT_PHDR is the program headers: %d\n", phdr == (unsigned long)eh + eh->e_phoff);
    printf("AT_PHNUM: %lu of %u\n", getauxval(AT_PHNUM), eh->e_phnum);
    printf("AT_PHENT: %lu\n", getauxval(AT_PHENT));
    printf("AT_ENTRY is _start: %d\n", getauxval(AT_ENTRY) == (unsigned long)_start);
    printf("AT_PAGESZ: %lu\n", getauxval(AT_PAGESZ));
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    printf("AT_EXECFN is argv[0]: %d\n", execfn && strcmp(execfn, argv[0]) == 0);
    const char *platform = (const char *)getauxval(AT_PLATFORM);
    printf("AT_PLATFORM: %s\n", platform ? platform : "(none)");
    printf("AT_RANDOM given: %d\n", getauxval(AT_RANDOM) != 0);
    printf("AT_BASE given: %d\n", base != 0);
    if (base) {
        const Elf64_Ehdr *ih = (const Elf64_Ehdr *)base;
        printf("AT_BASE page aligned: %d\n", (base & 4095) == 0);
        printf("AT_BASE holds an ELF header: %d\n", memcmp(ih->e_ident, ELFMAG, SELFMAG) == 0);
        printf("interpreter type %u, machine %u, %u program headers\n", ih->e_type, ih->e_machine,
               ih->e_phnum);
        printf("interpreter apart from the program: %d\n", base >= (unsigned long)end ||
               base + 65536 <= (unsigned long)eh);
    }
    /* The break follows the program's .bss (static glibc takes a little of it for the
     * TLS at start), not the interpreter. */
    unsigned long brk = (unsigned long)sbrk(0);
    printf("break after the program: %d\n", brk >= (unsigned long)end && brk - (unsigned long)end < (1ul << 20));
    printf("argc=%d\n", argc);
    return 0;
}
