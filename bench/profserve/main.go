// Command profserve serves heap profiles at every path, as a Go service's
// /debug/pprof/heap would, for measuring heapwatchd with many targets on
// one machine: heapwatchd's cost, not the services', is what
// bench/scale.sh measures.
//
// Usage:
//
//	profserve [-listen 127.0.0.1:0] FILE
//	profserve [-listen 127.0.0.1:0] [-gc N] FILE OTHER
//
// With one FILE, every request gets it as it is: a service that never
// collects garbage and whose profiles keep their time. With two, it models
// a service that collects every N requests of a path (-gc, 1 by default:
// at every one). A Go heap profile is as of the last GC, so the profile
// served stays the same for N requests of a path, then changes: FILE,
// then OTHER, then FILE again, and so on. The paths' GCs are spread over
// the N requests, as services started at different times collect at
// different times: the first path asked for changes after one request,
// the second after two, up to N, the next after one again. Its time_nanos (field 9) is the
// time of each request, as Go writes it afresh for every request even
// when the profile has not changed. Nothing is compressed per request:
// each profile is gzipped at start-up with its time in a stored block of
// its own, which a request rewrites, and the gzip trailer's CRC is taken
// again over the protobuf.
//
// It prints "listening on ADDR" once it accepts connections.
package main

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// timeField is the length of field 9 as served: its key and a varint of
// nine bytes, the length of every time from 2^56 ns (2172) back to 1972.
const timeField = 10

// served is one profile gzipped with its time_nanos apart: head (the gzip
// header, the protobuf before the time deflated, then the header of a
// stored block), the time field, tail (the rest deflated), the trailer.
type served struct {
	head, tail []byte
	before     uint32 // CRC-32 of the protobuf before the time field
	after      []byte // the protobuf after it, for the CRC
	size       uint32 // of the protobuf, mod 2^32
}

// varint reads a varint at p[i:]; the value and the index after it.
func varint(p []byte, i int) (uint64, int, error) {
	var v uint64
	for s := 0; i < len(p) && s < 64; s += 7 {
		b := p[i]
		i++
		v |= uint64(b&0x7f) << s
		if b < 0x80 {
			return v, i, nil
		}
	}
	return 0, 0, errors.New("malformed varint")
}

// withoutTime returns the protobuf's top-level fields, every time_nanos
// left out, and where the first was (0 when none: the time goes first).
func withoutTime(pb []byte) ([]byte, int, error) {
	var out []byte
	at := -1
	for i := 0; i < len(pb); {
		start := i
		key, j, err := varint(pb, i)
		if err != nil {
			return nil, 0, err
		}
		switch key & 7 {
		case 0:
			_, j, err = varint(pb, j)
		case 1:
			j += 8
		case 2:
			var n uint64
			n, j, err = varint(pb, j)
			if n > uint64(len(pb)) {
				err = errors.New("length past the end")
			}
			j += int(n)
		case 5:
			j += 4
		default:
			err = fmt.Errorf("wire type %d", key&7)
		}
		if err == nil && j > len(pb) {
			err = errors.New("field past the end")
		}
		if err != nil {
			return nil, 0, err
		}
		i = j
		if key>>3 == 9 {
			if at == -1 {
				at = len(out)
			}
			continue
		}
		out = append(out, pb[start:i]...)
	}
	if at == -1 {
		at = 0
	}
	return out, at, nil
}

// deflated compresses p as deflate blocks, the last final or not.
func deflated(p []byte, final bool) ([]byte, error) {
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, flate.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(p); err != nil {
		return nil, err
	}
	// Flush ends on a byte (an empty stored block), where the block
	// that holds the time can start; Close ends the stream.
	if final {
		err = w.Close()
	} else {
		err = w.Flush()
	}
	return b.Bytes(), err
}

func load(path string) (*served, error) {
	gz, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	pb, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	rest, at, err := withoutTime(pb)
	if err != nil {
		return nil, fmt.Errorf("%s: not a protobuf: %v", path, err)
	}
	s := &served{
		before: crc32.ChecksumIEEE(rest[:at]),
		after:  rest[at:],
		size:   uint32(len(rest) + timeField),
	}
	s.head = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}
	if at > 0 {
		d, err := deflated(rest[:at], false)
		if err != nil {
			return nil, err
		}
		s.head = append(s.head, d...)
	}
	// A stored block, not the last: its header's three bits padded to
	// a byte, then its length and the length's complement.
	s.head = append(s.head, 0, timeField, 0, ^byte(timeField), 0xff)
	if s.tail, err = deflated(rest[at:], true); err != nil {
		return nil, err
	}
	return s, nil
}

// write serves s with time t.
func (s *served) write(w http.ResponseWriter, t int64) {
	var field [timeField]byte
	var trailer [8]byte

	field[0] = 9<<3 | 0
	v := uint64(t)
	for i := 1; i < timeField; i++ {
		field[i] = byte(v&0x7f) | 0x80
		v >>= 7
	}
	field[timeField-1] &= 0x7f
	crc := crc32.Update(s.before, crc32.IEEETable, field[:])
	crc = crc32.Update(crc, crc32.IEEETable, s.after)
	binary.LittleEndian.PutUint32(trailer[:4], crc)
	binary.LittleEndian.PutUint32(trailer[4:], s.size)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(s.head)+
		timeField+len(s.tail)+len(trailer)))
	w.Write(s.head)
	w.Write(field[:])
	w.Write(s.tail)
	w.Write(trailer[:])
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	gc := flag.Int("gc", 1, "with two files, the requests of a path "+
		"between two GCs, when the profile changes")
	flag.Parse()
	if flag.NArg() < 1 || flag.NArg() > 2 || *gc < 1 {
		fmt.Fprintln(os.Stderr, "usage: profserve [-listen ADDR] FILE, "+
			"or [-gc N] FILE OTHER")
		os.Exit(2)
	}
	var handler http.HandlerFunc
	if flag.NArg() == 1 {
		body, err := os.ReadFile(flag.Arg(0))
		if err != nil {
			fmt.Fprintln(os.Stderr, "profserve:", err)
			os.Exit(1)
		}
		size := strconv.Itoa(len(body))
		handler = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", size)
			w.Write(body)
		}
	} else {
		var profiles [2]*served
		for i := range profiles {
			var err error
			if profiles[i], err = load(flag.Arg(i)); err != nil {
				fmt.Fprintln(os.Stderr, "profserve:", err)
				os.Exit(1)
			}
		}
		var mu sync.Mutex
		// The requests of each path, counted from its phase.
		requests := map[string]int{}
		n := *gc
		handler = func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			k, seen := requests[r.URL.Path]
			if !seen {
				k = n - 1 - len(requests)%n
			}
			requests[r.URL.Path] = k + 1
			mu.Unlock()
			profiles[k/n%2].write(w, time.Now().UnixNano())
		}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profserve:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	err = http.Serve(ln, handler)
	fmt.Fprintln(os.Stderr, "profserve:", err)
	os.Exit(1)
}
