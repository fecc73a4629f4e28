// capture (Go): a net/http server built with cgo (its threads come from pthread_create, so glibc
// gives them malloc arenas) for the capture-form ground truth (tests/data/make_captures.sh). It
// serves one request, marks the point of truth with a PROT_NONE page mmap'd at 0x7ace00000000
// (MAP_FIXED_NOREPLACE: a successful memory call every filter and -z show) and writes its own
// /proc/self/maps and smaps to the files named on the command line. With --wait it first waits
// for SIGUSR1 (attach with -p).
package main

/*
#include <stdlib.h>
static void touch(void) { void *p = malloc(64); free(p); }
*/
import "C"

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: capture MAPS SMAPS [--wait]")
		os.Exit(2)
	}
	if len(os.Args) > 3 && os.Args[3] == "--wait" {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGUSR1)
		fmt.Println(os.Getpid())
		<-ch
	}
	C.touch()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 8<<20)
		for i := range buf {
			buf[i] = byte(i)
		}
		fmt.Fprintf(w, "hello %d\n", len(buf))
	})}
	go srv.Serve(ln)
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		panic(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	const mapFixedNoreplace = 0x100000
	syscall.Syscall6(syscall.SYS_MMAP, 0x7ace00000000, 4096, syscall.PROT_NONE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|mapFixedNoreplace, ^uintptr(0), 0)
	for i, f := range []string{"/proc/self/maps", "/proc/self/smaps"} {
		data, _ := os.ReadFile(f)
		os.WriteFile(os.Args[1+i], data, 0o644)
	}
}
