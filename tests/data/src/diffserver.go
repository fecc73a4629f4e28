// diffserver: a small Go net/http server for the "compare two runs" fixtures
// (tests/data/diff/, built and traced by tests/data/make_diff_pairs.sh). It listens on
// 127.0.0.1:0, makes one HTTP GET to itself, then allocates and touches a slice of N MiB
// in main (after the socket calls, so in tracemem's "main" phase) and exits.
// N is -mib N, else $DIFFSERVER_MIB, else 8.
//
// make_diff_pairs.sh runs it with GOMAXPROCS=1 in its environment: with the two Ps of a 2-core
// machine, two identical runs differed by one 256 KiB anonymous mmap (the runtime's
// persistentalloc chunk, which each P takes for itself) about half the time; with one P from
// the start their totals match. (runtime.GOMAXPROCS(1) in main is too late: resizing the Ps
// made the runs differ more, by up to 512 KiB.)
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
)

func main() {
	mib := 8
	if s := os.Getenv("DIFFSERVER_MIB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			fmt.Fprintln(os.Stderr, "diffserver: bad DIFFSERVER_MIB:", s)
			os.Exit(2)
		}
		mib = n
	}
	flag.IntVar(&mib, "mib", mib, "MiB to allocate and touch in main after the request")
	flag.Parse()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
	})}
	go srv.Serve(ln)
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	buf := make([]byte, mib<<20) // the known difference between go-same and go-big
	for i := range buf {
		buf[i] = byte(i)
	}
	sum := 0
	for i := 0; i < len(buf); i += 4096 {
		sum += int(buf[i])
	}
	runtime.KeepAlive(buf)
	fmt.Printf("diffserver: %d MiB touched, response %q, sum %d\n", mib, body, sum)
}
