/* diffdemo: a small C program for the "compare two runs" fixtures (tests/data/diff/, built
 * and traced by tests/data/make_diff_pairs.sh). By default it makes some small mallocs (the
 * brk heap), one anonymous private mmap of 16 MiB that it touches, and one 1 MiB malloc from
 * the main thread (glibc serves it with its own mmap). Arguments:
 *   thread  also start one pthread that mallocs (glibc gives it a new arena: a 64 MiB
 *           PROT_NONE reservation with a committed start; the thread's stack is 8 MiB
 *           plus a guard page), and join it;
 *   bigmap  the anonymous mmap is 48 MiB instead of 16 MiB.
 * It prints one short line. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Where the blocks go, so the compiler keeps every malloc (gcc -O1 drops a malloc whose block
 * is only written and freed). */
static void *volatile sink[64];

static void *worker(void *arg) {
    (void)arg;
    char *p = malloc(4096);        /* first malloc of this thread: a new arena */
    memset(p, 5, 4096);
    sink[63] = p;
    return NULL;
}

int main(int argc, char **argv) {
    int thread = 0, bigmap = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "thread") == 0) thread = 1;
        else if (strcmp(argv[i], "bigmap") == 0) bigmap = 1;
        else { fprintf(stderr, "usage: diffdemo [thread] [bigmap]\n"); return 2; }
    }
    /* some small mallocs: the brk heap */
    void *small[32];
    for (int i = 0; i < 32; i++) {
        small[i] = malloc(1024);
        memset(small[i], i, 1024);
        sink[i] = small[i];
    }
    /* one anonymous mmap, touched */
    size_t maplen = (size_t)(bigmap ? 48 : 16) << 20;
    char *map = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) { perror("mmap"); return 1; }
    memset(map, 1, maplen);
    sink[33] = map;
    /* one malloc from the main thread, above the mmap threshold */
    char *big = malloc(1 << 20);
    memset(big, 2, 1 << 20);
    sink[32] = big;
    if (thread) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker, NULL) != 0) { fprintf(stderr, "pthread_create failed\n"); return 1; }
        pthread_join(t, NULL);
    }
    printf("diffdemo: map %zu MiB%s\n", maplen >> 20, thread ? ", one thread" : "");
    for (int i = 0; i < 32; i++) free(small[i]);
    return 0;
}
