/* memdemo: exercises the memory syscalls tracemem models, then prints its own
 * /proc/self/smaps and /proc/self/status so a trace can be checked against the kernel.
 * Built and traced by tests/data/make_traces.sh. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

static void *worker(void *arg) {
    size_t n = (size_t)arg;
    char *p = malloc(n);           /* a thread arena: glibc reserves 64 MiB NORESERVE */
    memset(p, 1, n);
    free(p);
    return NULL;
}

static void dump(const char *path) {
    char buf[4096];
    FILE *f = fopen(path, "r");
    size_t n;
    if (!f) return;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
    fclose(f);
}

int main(int argc, char **argv) {
    long page = sysconf(_SC_PAGESIZE);
    /* 1. committed anonymous memory, touched */
    char *rw = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(rw, 7, 1 << 20);
    /* 2. a PROT_NONE reservation, committed piece by piece (the Go arena pattern) */
    char *res = mmap(NULL, 64 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    mprotect(res, 4 << 20, PROT_READ | PROT_WRITE);
    memset(res, 1, 4 << 20);
    mmap(res + (8 << 20), 2 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    /* 3. munmap the middle of a mapping: a split */
    char *three = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(three + page, page);
    /* 4. mremap grow (may move) and shrink */
    char *grow = mmap(NULL, 256 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    grow = mremap(grow, 256 << 10, 1 << 20, MREMAP_MAYMOVE);
    grow = mremap(grow, 1 << 20, 512 << 10, 0);
    /* 5. madvise: released and hugepage hints */
    madvise(rw, 512 << 10, MADV_DONTNEED);
    madvise(res, 2 << 20, MADV_FREE);
    madvise(grow, 512 << 10, MADV_HUGEPAGE);
    /* 6. brk through malloc, and a big malloc (its own mmap) */
    void *small[64];
    for (int i = 0; i < 64; i++) small[i] = malloc(4096);
    char *big = malloc(8 << 20);
    memset(big, 3, 8 << 20);
    free(big);
    /* 7. a named anonymous mapping (EINVAL on kernels without CONFIG_ANON_VMA_NAME) */
    char *named = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)named, 2 * page, (unsigned long)"memdemo-named");
    /* 8. shared anonymous memory, and a failing call */
    mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    mmap(NULL, (size_t)1 << 50, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    /* 9. threads (stacks with guard pages, malloc arenas) */
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, worker, (void *)(size_t)(256 << 10));
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    /* 10. a forked child with its own address space */
    pid_t child = fork();
    if (child == 0) {
        char *c = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        memset(c, 9, 4 << 20);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    for (int i = 0; i < 64; i++) free(small[i]);
    if (argc > 1 && strcmp(argv[1], "--maps") == 0) {
        dump("/proc/self/smaps");
        dump("/proc/self/status");
    }
    if (argc > 1 && strcmp(argv[1], "--crash") == 0) {
        volatile int *null = NULL;
        *null = 1;                 /* SIGSEGV: the tracee crashes */
    }
    return 0;
}
