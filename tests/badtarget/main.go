// Command badtarget is an HTTP service that misbehaves as a profiling
// target, one way per path, for the heapwatch test suite: it shows how
// heapwatchd copes with targets that hang, drip, fail, loop, or answer
// something other than a heap profile.
//
// Usage:
//
//	badtarget [-listen 127.0.0.1:0]
//
// It prints "listening on ADDR" once it is ready. Paths:
//
//	/hang             never answers, until the client gives up
//	/drip             a valid profile, 200, one byte a second
//	/status           HTTP 500
//	/redirect         a 302 to itself, forever
//	/html             an HTML page, 200
//	/empty            200 with an empty body
//	/garbage          4 KiB of random bytes, 200, never starting as gzip
//	/truncated        the first half of a gzip-compressed heap profile
//	/bomb             gzip of 1 GiB of zeros (about 1 MiB compressed, in
//	                  1,024 members)
//	/fieldbomb        gzip of 1 GiB of protobuf fields that pprof does not
//	                  know, each a MiB of zeros: it parses until a cap on
//	                  the decompressed size stops it
//	/bigonce          50 MiB of zeros at the first request of its key (t=),
//	                  then no answer, until the client gives up
//	/profile          a valid heap profile of this process, gzip, over 4 KiB
//	/tiny             a small valid heap profile, gzip
//	/badindex/string  /tiny with a function name out of the string table
//	/badindex/location  /tiny with a sample's location id unknown
//	/badindex/function  /tiny with a line's function id unknown
//	/hits             how many requests each path (or ?t=) got, as text
//	/peak             how many requests each path (or ?t=) had under way
//	                  at once at most, as text
//
// Every request is counted under the value of its "t" query parameter
// when it has one, else under its path; /hits lists "KEY COUNT" lines,
// sorted by key. The redirect keeps the query, so a scrape that follows
// redirects counts once per request made. The heap profile and the gzip
// bombs are made once at start-up.
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"sync"
	"time"
)

// bombSize is how many zero bytes the gzip bomb decompresses to.
const bombSize = 1 << 30

var (
	// heapProfile is a gzip-compressed heap profile of this process.
	heapProfile []byte

	// bomb is bombSize zero bytes, gzip-compressed; fieldBomb is
	// bombSize bytes of fields that parse.
	bomb, fieldBomb []byte

	// tiny and its broken variants, gzip-compressed.
	tiny, badString, badLocation, badFunction []byte

	hitsMu sync.Mutex
	hits   = map[string]int{}
	// Requests under way by key, and the most there were at once.
	busy = map[string]int{}
	peak = map[string]int{}
)

// kept holds what the allocators below allocate, so that the heap profile
// lists them as in use.
var kept [][]byte

// The allocations of the heap profile: one through each path of
// pathDepth frames of zero and one, so the profile has 2^pathDepth stacks
// and is a few KiB once compressed.
const pathDepth = 10

//go:noinline
func zero(path, level int) {
	if level == pathDepth {
		kept = append(kept, make([]byte, 64))
		return
	}
	if path>>level&1 == 0 {
		zero(path, level+1)
	} else {
		one(path, level+1)
	}
}

//go:noinline
func one(path, level int) {
	if level == pathDepth {
		kept = append(kept, make([]byte, 128))
		return
	}
	if path>>level&1 == 0 {
		zero(path, level+1)
	} else {
		one(path, level+1)
	}
}

// makeHeapProfile takes a heap profile of this process after allocating
// through 2^pathDepth distinct stacks.
func makeHeapProfile() []byte {
	runtime.MemProfileRate = 1
	kept = make([][]byte, 0, 1<<pathDepth)
	for path := 0; path < 1<<pathDepth; path++ {
		zero(path, 0)
	}
	runtime.GC()
	runtime.GC()
	var b bytes.Buffer
	if err := pprof.Lookup("heap").WriteTo(&b, 0); err != nil {
		fmt.Fprintf(os.Stderr, "badtarget: heap profile: %v\n", err)
		os.Exit(1)
	}
	return b.Bytes()
}

// makeBomb compresses bombSize bytes: zeros, or with fields set, fields
// of a MiB each (number 15, unknown to pprof, holding zeros) that a
// decoder skips one after the other until its cap on the decompressed
// size stops it. It compresses one MiB once, and repeats the gzip member
// it makes: a stream of several members is read whole, as Go's gzip
// reader does, and start-up stays quick on a busy machine.
func makeBomb(fields bool) []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	chunk := make([]byte, 1<<20)
	if fields {
		// Field 15, wire type 2, of 1 MiB - 4 bytes.
		copy(chunk, pb(nil).varint(15<<3|2).varint(1<<20-4))
	}
	zw.Write(chunk)
	zw.Close()
	return bytes.Repeat(b.Bytes(), bombSize/len(chunk))
}

// A protobuf encoder, enough for a small pprof profile.
type pb []byte

func (b pb) varint(v uint64) pb {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func (b pb) num(field int, v uint64) pb {
	return b.varint(uint64(field) << 3).varint(v)
}

func (b pb) msg(field int, m pb) pb {
	return append(b.varint(uint64(field)<<3|2).varint(uint64(len(m))), m...)
}

func (b pb) str(field int, s string) pb {
	return b.msg(field, pb(s))
}

// tinyProfile encodes a heap profile of one sample through one location
// of one function, main.leak; strIdx, locID and funcID are the function's
// name index, the sample's location id and the line's function id, which
// are right as 5, 1 and 1.
func tinyProfile(strIdx, locID, funcID uint64) []byte {
	var p pb
	p = p.msg(1, pb(nil).num(1, 1).num(2, 2)) // inuse_objects/count
	p = p.msg(1, pb(nil).num(1, 3).num(2, 4)) // inuse_space/bytes
	sample := pb(nil).msg(1, pb(nil).varint(locID))
	sample = sample.msg(2, pb(nil).varint(3).varint(3072))
	p = p.msg(2, sample)
	line := pb(nil).num(1, funcID).num(2, 42)
	p = p.msg(4, pb(nil).num(1, 1).num(3, 0x401000).msg(4, line))
	p = p.msg(5, pb(nil).num(1, 1).num(2, strIdx).num(3, strIdx).num(4, 6))
	for _, s := range []string{"", "inuse_objects", "count",
		"inuse_space", "bytes", "main.leak", "main.go"} {
		p = p.str(6, s)
	}
	p = p.num(9, uint64(time.Now().UnixNano()))
	p = p.msg(11, pb(nil).num(1, 3).num(2, 4)) // period type
	p = p.num(12, 524288)
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(p)
	zw.Close()
	return b.Bytes()
}

// count counts a request by its key, which it returns, as under way.
func count(r *http.Request) string {
	key := r.URL.Query().Get("t")
	if key == "" {
		key = r.URL.Path
	}
	hitsMu.Lock()
	hits[key]++
	busy[key]++
	if busy[key] > peak[key] {
		peak[key] = busy[key]
	}
	hitsMu.Unlock()
	return key
}

// done counts the request under key as over.
func done(key string) {
	hitsMu.Lock()
	busy[key]--
	hitsMu.Unlock()
}

// serveCounts answers "KEY COUNT" lines of m, sorted by key.
func serveCounts(w http.ResponseWriter, m map[string]int) {
	hitsMu.Lock()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %d\n", k, m[k])
	}
	hitsMu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(b.Bytes())
}

// serveBytes answers body whole, as a profile.
func serveBytes(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// drip sends a valid profile at a byte a second until the client leaves.
func drip(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(heapProfile)))
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for i := 0; i < len(heapProfile); i++ {
		if _, err := w.Write(heapProfile[i : i+1]); err != nil {
			return
		}
		if f != nil {
			f.Flush()
		}
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
	}
}

func handle(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/hits":
		serveCounts(w, hits)
		return
	case "/peak":
		serveCounts(w, peak)
		return
	}
	key := count(r)
	defer done(key)
	switch r.URL.Path {
	case "/hang":
		<-r.Context().Done()
	case "/bigonce":
		hitsMu.Lock()
		first := hits[key] == 1
		hitsMu.Unlock()
		if !first {
			<-r.Context().Done()
			return
		}
		serveBytes(w, make([]byte, 50<<20))
	case "/drip":
		drip(w, r)
	case "/status":
		http.Error(w, "internal error", http.StatusInternalServerError)
	case "/redirect":
		http.Redirect(w, r, r.URL.RequestURI(), http.StatusFound)
	case "/html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintln(w, "<!DOCTYPE html>\n<html><head><title>Login"+
			"</title></head><body>Please sign in.</body></html>")
	case "/empty":
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
	case "/garbage":
		buf := make([]byte, 4096)
		rand.Read(buf)
		if buf[0] == 0x1f {
			buf[0] = 0
		}
		serveBytes(w, buf)
	case "/truncated":
		serveBytes(w, heapProfile[:len(heapProfile)/2])
	case "/bomb":
		serveBytes(w, bomb)
	case "/fieldbomb":
		serveBytes(w, fieldBomb)
	case "/profile":
		serveBytes(w, heapProfile)
	case "/tiny":
		serveBytes(w, tiny)
	case "/badindex/string":
		serveBytes(w, badString)
	case "/badindex/location":
		serveBytes(w, badLocation)
	case "/badindex/function":
		serveBytes(w, badFunction)
	default:
		http.NotFound(w, r)
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	flag.Parse()

	heapProfile = makeHeapProfile()
	if len(heapProfile) <= 4096 {
		fmt.Fprintf(os.Stderr, "badtarget: heap profile of %d bytes, "+
			"want over 4096\n", len(heapProfile))
		os.Exit(1)
	}
	runtime.MemProfileRate = 512 * 1024
	kept = nil
	bomb = makeBomb(false)
	fieldBomb = makeBomb(true)
	tiny = tinyProfile(5, 1, 1)
	badString = tinyProfile(99, 1, 1)
	badLocation = tinyProfile(5, 99, 1)
	badFunction = tinyProfile(5, 1, 99)

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "badtarget: %v\n", err)
		os.Exit(1)
	}
	// os.Stdout is not buffered, so this line reaches the reader at once.
	fmt.Printf("listening on %s\n", ln.Addr())
	if err := http.Serve(ln, http.HandlerFunc(handle)); err != nil {
		fmt.Fprintf(os.Stderr, "badtarget: %v\n", err)
		os.Exit(1)
	}
}
