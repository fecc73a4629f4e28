/* cwork: a C program that does its own work without any socket: heap allocations (brk and a
 * large malloc's mmap), an anonymous mapping it touches and unmaps, then a line on stdout.
 * Its phases are the loader's and its own (`main` from the end of the dynamic loader's work).
 * Built and traced by tests/data/make_phases.sh, under `sh -c` (a forked child and an exec
 * in the shell's own process). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int main(int argc, char **argv) {
    size_t total = 0;
    char *small[64];
    for (int i = 0; i < 64; i++) {          /* 64 KiB each: the brk heap grows */
        small[i] = malloc(64 << 10);
        memset(small[i], i, 64 << 10);
        total += 64 << 10;
    }
    char *big = malloc(8 << 20);            /* above the mmap threshold: its own mapping */
    memset(big, 1, 8 << 20);
    char *map = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) return 1;
    memset(map, 2, 4 << 20);
    munmap(map, 4 << 20);
    free(big);
    for (int i = 0; i < 64; i++) free(small[i]);
    printf("%s: %zu bytes in small blocks, 8 MiB and 4 MiB in mappings\n", argc > 1 ? argv[1] : "cwork", total);
    return 0;
}
