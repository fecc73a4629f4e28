// fleetgo: a small Go start-up for the fleet corpus (tests/data/fleet/make_fleet.sh).
//
//	fleetgo BASE_MIB
//
// Opens a UDP socket (the "main" phase's evidence), allocates and touches BASE_MIB in 1 MiB
// blocks kept live, and, when FLEET_EXTRA=MIB is set, one more block of MIB (the deliberate
// outliers).
package main

import (
	"net"
	"os"
	"strconv"
)

var keep [][]byte

func touch(n int) {
	b := make([]byte, n)
	for i := 0; i < n; i += 4096 {
		b[i] = 1
	}
	keep = append(keep, b)
}

func main() {
	base := 4
	if len(os.Args) > 1 {
		base, _ = strconv.Atoi(os.Args[1])
	}
	if c, err := net.ListenPacket("udp", "127.0.0.1:0"); err == nil {
		c.Close()
	}
	for i := 0; i < base; i++ {
		touch(1 << 20)
	}
	if extra := os.Getenv("FLEET_EXTRA"); extra != "" {
		n, _ := strconv.Atoi(extra)
		touch(n << 20)
	}
	os.Stdout.WriteString(strconv.Itoa(len(keep)) + "\n")
}
