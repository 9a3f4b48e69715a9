// Command sink is a webhook receiver for the heapwatch test suite: it
// records every POST it gets and can be told to fail the first ones, so
// that a test sees what heapwatchd sends and that it retries.
//
// Usage:
//
//	sink [-listen 127.0.0.1:0] -out FILE [-delivered FILE] [-hang N]
//	    [-delay DURATION] [-fail N] [-header 'Name: value']
//
// It prints "listening on ADDR" once it is ready. Each POST body is
// appended to FILE as it arrives, as one line of JSON (compacted; a body
// that is not JSON is written as a JSON string, so that a comparison
// fails); with -delivered, the bodies answered 2xx are also appended to
// that file, once answered, so that it counts what the client was told it
// delivered. POSTs are numbered from 1 in the order they arrive; POST i
//   - gets no answer until the client gives up, if i <= hang; with
//     -delay, it is slow rather than dead: if the client is still there
//     after DURATION, it is answered as below;
//   - is answered 500, if i <= hang + fail;
//   - is answered 415 without "Content-Type: application/json", 400 when
//     the body is not JSON, 401 when -header is set and the request does
//     not carry that header with that value;
//   - is answered 200 otherwise.
//
// Other methods get 405 and are not recorded.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

type sink struct {
	mu        sync.Mutex
	out       *os.File
	delivered *os.File
	n         int
	hang      int
	delay     time.Duration
	fail      int
	hname     string
	hvalue    string
}

// record appends one POST body to the output file and numbers the POST.
func (s *sink) record(body []byte) (int, bool, error) {
	var line bytes.Buffer
	valid := json.Valid(body)
	if valid {
		if err := json.Compact(&line, body); err != nil {
			return 0, false, err
		}
	} else {
		quoted, err := json.Marshal(string(body))
		if err != nil {
			return 0, false, err
		}
		line.Write(quoted)
	}
	line.WriteByte('\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if _, err := s.out.Write(line.Bytes()); err != nil {
		return 0, false, err
	}
	return s.n, valid, nil
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	i, valid, err := s.record(body)
	if err != nil {
		log.Printf("recording: %v", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	switch {
	case i <= s.hang:
		wait := 30 * time.Second
		if s.delay > 0 {
			wait = s.delay
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(wait):
		}
		if s.delay == 0 {
			return
		}
		if !s.accept(w, r, valid) {
			return
		}
		s.deliver(w, body)
		return
	case i <= s.hang+s.fail:
		http.Error(w, fmt.Sprintf("failing POST %d as told", i),
			http.StatusInternalServerError)
		return
	}
	if s.accept(w, r, valid) {
		s.deliver(w, body)
	}
}

// accept answers a POST that is not acceptable with a 4xx status and
// says whether it is acceptable.
func (s *sink) accept(w http.ResponseWriter, r *http.Request, valid bool) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		http.Error(w, "want Content-Type application/json", http.StatusUnsupportedMediaType)
		return false
	}
	if !valid {
		http.Error(w, "the body is not JSON", http.StatusBadRequest)
		return false
	}
	if s.hname != "" && r.Header.Get(s.hname) != s.hvalue {
		http.Error(w, "missing header "+s.hname, http.StatusUnauthorized)
		return false
	}
	return true
}

// deliver answers 200 and, once the answer is on its way, records the
// body in the -delivered file.
func (s *sink) deliver(w http.ResponseWriter, body []byte) {
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	if s.delivered == nil {
		return
	}
	var line bytes.Buffer
	if err := json.Compact(&line, body); err != nil {
		log.Printf("delivered: %v", err)
		return
	}
	line.WriteByte('\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.delivered.Write(line.Bytes()); err != nil {
		log.Printf("delivered: %v", err)
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	out := flag.String("out", "", "file to append the POST bodies to")
	delivered := flag.String("delivered", "", "file to append the bodies answered 2xx to")
	hang := flag.Int("hang", 0, "leave the first N POSTs without an answer")
	delay := flag.Duration("delay", 0, "answer those -hang POSTs after this long, if the client waits")
	fail := flag.Int("fail", 0, "answer 500 to the N POSTs after those")
	header := flag.String("header", "", "require this header, 'Name: value'")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		log.Fatal(err)
	}
	s := &sink{out: f, hang: *hang, delay: *delay, fail: *fail}
	if *delivered != "" {
		s.delivered, err = os.OpenFile(*delivered, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			log.Fatal(err)
		}
	}
	if *header != "" {
		name, value, ok := strings.Cut(*header, ":")
		if !ok {
			log.Fatalf("-header %q: want 'Name: value'", *header)
		}
		s.hname = strings.TrimSpace(name)
		s.hvalue = strings.TrimSpace(value)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	log.Fatal(http.Serve(ln, s))
}
