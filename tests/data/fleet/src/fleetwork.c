/* fleetwork: a small service start-up for the fleet corpus (tests/data/fleet/make_fleet.sh).
 *
 *   fleetwork BASE_MIB [THREADS]
 *
 * Opens a UDP socket (the "main" phase's evidence), forks a helper that mallocs 1 MiB and
 * exits, reserves 32 MiB PROT_NONE and commits BASE_MIB of it with mprotect (the version's
 * working set),
 * starts THREADS worker threads, and, when FLEET_EXTRA=MIB is set, maps and touches MIB more
 * (the deliberate outliers). */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void *worker(void *arg) {
    char *p = malloc(256 << 10);
    memset(p, 1, 256 << 10);
    free(p);
    return arg;
}

int main(int argc, char **argv) {
    long base = argc > 1 ? atol(argv[1]) : 4;
    int threads = argc > 2 ? atoi(argv[2]) : 0;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s >= 0) close(s);
    pid_t pid = fork();
    if (pid == 0) {
        char *p = malloc(1 << 20);
        memset(p, 1, 1 << 20);
        _exit(0);
    }
    if (pid > 0) waitpid(pid, NULL, 0);
    char *res = mmap(NULL, 32 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (res != MAP_FAILED && base > 0) {
        mprotect(res, (size_t)base << 20, PROT_READ | PROT_WRITE);
        memset(res, 1, (size_t)base << 20);
    }
    pthread_t t[8];
    if (threads > 8) threads = 8;
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    const char *extra = getenv("FLEET_EXTRA");
    if (extra) {
        size_t n = (size_t)atol(extra) << 20;
        char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) memset(p, 1, n);
    }
    return 0;
}
