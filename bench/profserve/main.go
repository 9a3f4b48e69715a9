// Command profserve serves one heap profile file at every path, as a Go
// service's /debug/pprof/heap would, for measuring heapwatchd with many
// targets on one machine: heapwatchd's cost, not the services', is what
// bench/scale.sh measures.
//
// Usage:
//
//	profserve -listen 127.0.0.1:0 FILE
//
// It prints "listening on ADDR" once it accepts connections.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: profserve [-listen ADDR] FILE")
		os.Exit(2)
	}
	body, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "profserve:", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profserve:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	size := strconv.Itoa(len(body))
	err = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", size)
		w.Write(body)
	}))
	fmt.Fprintln(os.Stderr, "profserve:", err)
	os.Exit(1)
}
