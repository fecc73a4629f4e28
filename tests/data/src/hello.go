// A minimal Go net/http server: the Go runtime reserves its heap arena address space with
// PROT_NONE mmaps at startup and commits pieces later. It serves one request, then exits.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 8<<20) // an 8 MiB allocation: heap growth
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
	if len(os.Args) > 1 && os.Args[1] == "--maps" {
		for _, f := range []string{"/proc/self/smaps", "/proc/self/status"} {
			data, _ := os.ReadFile(f)
			os.Stdout.Write(data)
		}
	}
}
