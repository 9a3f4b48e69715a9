// gen writes the GODEBUG=gctrace lines kept in tests/gctrace: run it as
// GODEBUG=gctrace=1 ./gen 2>&1 (or gctrace=2, scavtrace=1, ...).  It
// allocates enough to give every field of a line a non-zero value:
// collections of a few hundred MB, goroutine stacks, pointerful globals,
// forced collections, and program output between the runtime's lines.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
)

// Scanned by every collection: pointerful globals of 16 MB.
var globals [2 << 20]*int

var keep [][]byte

func deep(n int, wg *sync.WaitGroup, stop chan struct{}) {
	var pad [1024]byte
	if n > 0 {
		deep(n-1, wg, stop)
		pad[0]++
		return
	}
	wg.Done()
	<-stop
	_ = pad
}

func main() {
	var wg sync.WaitGroup
	stop := make(chan struct{})

	globals[0] = new(int)
	fmt.Println("gen: start")
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go deep(200, &wg, stop)
	}
	wg.Wait()
	for i := 0; i < 6000; i++ {
		b := make([]byte, 128<<10)
		if i%4 == 0 {
			keep = append(keep, b)
		}
		if i%1500 == 0 {
			runtime.GC()
		}
		if i%2000 == 0 {
			fmt.Fprintf(os.Stderr, "gen: %d buffers kept\n", len(keep))
		}
	}
	close(stop)
	keep = nil
	runtime.GC()
	fmt.Println("gen: done")
}
