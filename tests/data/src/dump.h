/* dump.h: copy a /proc file to a file named on the command line (capture.c, vmaflags.c). */
#ifndef TRACEMEM_DUMP_H
#define TRACEMEM_DUMP_H
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void copy(const char *from, const char *to) {
    char buf[1 << 16];
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ssize_t n;
    if (in < 0 || out < 0) { perror("open"); exit(1); }
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) { perror("write"); exit(1); }
    close(in);
    close(out);
}
#endif
