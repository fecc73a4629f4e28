/* capture: a small C program for the capture-form ground truth (tests/data/make_captures.sh).
 *
 * It maps, reserves and commits memory, starts a thread that stays alive (its glibc arena and
 * its stack are in the final maps), forks a child that unmaps a mapping it inherited (which must
 * not vanish from the parent) and maps its own, waits for it (SIGCHLD), then marks the point of
 * truth with a syscall every memory filter shows, and writes its own /proc/self/maps and smaps
 * to the files named on the command line.
 *
 *   capture MAPS SMAPS            run through
 *   capture MAPS SMAPS --wait     wait for SIGUSR1 first (a tracer attaches with -p meanwhile)
 *
 * The mark: mmap(0x7ace00000000, 4096, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE),
 * a successful memory call (so -z and every memory filter show it), in the maps too; the tests
 * cut the log at it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dump.h"

#define MARK ((void *)0x7ace00000000UL)

static int hold[2];
void *volatile kept[2];   /* volatile: the compiler may not drop the allocations */

static void *worker(void *arg) {
    (void)arg;
    kept[0] = malloc(1000);        /* the thread's own arena: glibc reserves 64 MiB NORESERVE */
    kept[1] = malloc(256 << 10);   /* over the mmap threshold: a mapping of its own */
    memset(kept[1], 1, 256 << 10);
    char c;
    if (read(hold[0], &c, 1) < 0) perror("read");   /* stay alive until main has dumped */
    free(kept[1]);
    free(kept[0]);
    return NULL;
}

static volatile sig_atomic_t go;
static void on_usr1(int sig) { (void)sig; go = 1; }

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: capture MAPS SMAPS [--wait]\n");
        return 2;
    }
    if (argc > 3 && strcmp(argv[3], "--wait") == 0) {
        /* made before the tracer attaches: the trace cannot show this mapping */
        char *early = mmap(NULL, 3 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        memset(early, 5, 3 << 20);
        signal(SIGUSR1, on_usr1);
        printf("%d\n", getpid());
        fflush(stdout);
        while (!go) pause();
    }
    long page = sysconf(_SC_PAGESIZE);
    char *rw = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(rw, 7, 1 << 20);
    char *res = mmap(NULL, 64 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    mprotect(res, 4 << 20, PROT_READ | PROT_WRITE);
    memset(res, 1, 4 << 20);
    char *three = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(three + page, page);
    char *inherited = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(inherited, 2, 2 << 20);
    if (pipe(hold) != 0) { perror("pipe"); return 1; }
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    usleep(20000);   /* the thread has made its arena */
    pid_t child = fork();
    if (child == 0) {
        munmap(inherited, 2 << 20);   /* the child's copy only: the parent keeps it */
        char *c = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        memset(c, 9, 4 << 20);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    if (mmap(MARK, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != MARK)
        perror("mmap mark");
    copy("/proc/self/maps", argv[1]);
    copy("/proc/self/smaps", argv[2]);
    if (write(hold[1], "x", 1) != 1) perror("write");
    pthread_join(t, NULL);
    return 0;
}
