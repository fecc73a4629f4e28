/* vmaflags: VMA flags that split mappings without changing their protection (mlock, mlock2
 * MLOCK_ONFAULT, munlock, mseal), for the map-count ground truth (tests/data/make_captures.sh).
 * Marks the point of truth with a PROT_NONE page at 0x7ace00000000 (as capture.c does) and
 * writes its own /proc/self/maps and smaps to the files named on the command line. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dump.h"

#define MARK ((void *)0x7ace00000000UL)

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    long page = sysconf(_SC_PAGESIZE);
    char *p = mmap(NULL, 16 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mlock(p + page, page);                        /* split in three */
    mlock2(p + 3 * page, 2 * page, MLOCK_ONFAULT); /* and again */
    munlock(p + page, page);                      /* merged back */
    syscall(462, p + 8 * page, page, 0);          /* mseal (Linux 6.10+; ENOSYS before) */
    if (mmap(MARK, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != MARK)
        perror("mmap mark");
    copy("/proc/self/maps", argv[1]);
    copy("/proc/self/smaps", argv[2]);
    return 0;
}
