// Command leaky is the service of heapwatch's demo: a small user API with a
// memory leak for heapwatchd to find.
//
// It serves GET /api/users/{id} and net/http/pprof, and it drives itself: a
// load loop calls its own handler 128 times a second, so its heap churns the
// way a busy service's does. Each request opens a session in a SessionStore
// and, because of a bug in the handler, never closes it; the sessions pile
// up at about -leak-rate KiB a second, all of them allocated in
// main.(*SessionStore).Register. The fix is one line in getUser.
//
// Usage:
//
//	leaky [-listen 127.0.0.1:6060] [-leak-rate 512] [-profile-rate 64]
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	_ "net/http/pprof" // serves /debug/pprof/heap, /debug/pprof/goroutine, ...
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	users           = 1000 // ids 1 to users exist
	ticksPerSecond  = 8    // how often the load loop sends a burst
	requestsPerTick = 16   // 128 requests a second in all
)

// User is a record of the fake database, and what the API returns.
type User struct {
	ID      int    `json:"id"`
	Name    string `json:"name"`
	Email   string `json:"email"`
	Friends []int  `json:"friends"`
}

// Session is what the service keeps about a request while serving it.
type Session struct {
	ID      uint64
	UserID  int
	Started time.Time
	Scratch []byte // room to render the response in
}

// SessionStore holds the sessions of the requests being served.
type SessionStore struct {
	mu       sync.Mutex
	next     uint64
	sessions map[uint64]*Session
	scratch  int // bytes of Scratch each session gets
}

// Register opens a session for a request about user.
func (s *SessionStore) Register(user int) *Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	sess := &Session{ID: s.next, UserID: user, Started: time.Now(),
		Scratch: make([]byte, 0, s.scratch)}
	s.sessions[sess.ID] = sess
	return sess
}

// Close forgets a session once its request is done.
func (s *SessionStore) Close(sess *Session) {
	s.mu.Lock()
	delete(s.sessions, sess.ID)
	s.mu.Unlock()
}

// API serves the user endpoints from a fake database of JSON rows.
type API struct {
	rows     map[int][]byte
	sessions *SessionStore
}

// getUser serves GET /api/users/{id}.
func (a *API) getUser(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/api/users/"))
	if r.Method != http.MethodGet || err != nil {
		http.Error(w, "want GET /api/users/{id}", http.StatusBadRequest)
		return
	}
	sess := a.sessions.Register(id)
	var u User
	if err := json.Unmarshal(a.rows[id], &u); err != nil {
		a.sessions.Close(sess)
		http.NotFound(w, r)
		return
	}
	// The leak: this path returns without a.sessions.Close(sess), so the
	// session and its scratch buffer stay in the store for good.
	buf := bytes.NewBuffer(sess.Scratch)
	json.NewEncoder(buf).Encode(u)
	w.Header().Set("Content-Type", "application/json")
	w.Write(buf.Bytes())
}

// load calls h the way a steady stream of clients would, forever.
func load(h http.Handler) {
	n := 0
	for range time.Tick(time.Second / ticksPerSecond) {
		for i := 0; i < requestsPerTick; i++ {
			n++
			req := httptest.NewRequest("GET", "/api/users/"+strconv.Itoa(n%users+1), nil)
			h.ServeHTTP(httptest.NewRecorder(), req)
		}
	}
}

// main builds the database, starts the load loop and serves HTTP.
func main() {
	listen := flag.String("listen", "127.0.0.1:6060", "address to listen on")
	leakRate := flag.Int("leak-rate", 512, "session leak in KiB/s (0 leaves the sessions' own ~12 KiB/s)")
	profileRate := flag.Int("profile-rate", 64, "heap profile sampling: one sample per this many KiB allocated (Go's default is 512)")
	flag.Parse()
	// Go samples one allocation in about every MemProfileRate bytes, so a
	// leak of 512 KiB/s shows up as about one sample a second at Go's
	// default rate, and a 30-second window holds some 30 of them: the
	// rise seen is a Poisson count, its slope off by a fifth from one
	// window to the next. Sampling 8 times as often keeps the demo's short
	// windows close to the true slope, as a production service's
	// 30-minute windows are at the default rate. Set before anything is
	// allocated that the profile should see.
	runtime.MemProfileRate = *profileRate * 1024

	api := &API{rows: make(map[int][]byte), sessions: &SessionStore{
		sessions: make(map[uint64]*Session),
		scratch:  *leakRate * 1024 / (ticksPerSecond * requestsPerTick),
	}}
	for id := 1; id <= users; id++ {
		u := User{ID: id, Name: fmt.Sprintf("User %d", id), Email: fmt.Sprintf("u%d@example.com", id)}
		for f := 1; f <= 150; f++ {
			u.Friends = append(u.Friends, (id*f)%users+1)
		}
		api.rows[id], _ = json.Marshal(u)
	}
	http.HandleFunc("/api/users/", api.getUser)

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())

	go load(http.DefaultServeMux)
	// Go's heap profile is as of the last garbage collection; collecting
	// every second keeps what heapwatchd scrapes up to date.
	go func() {
		for range time.Tick(time.Second) {
			runtime.GC()
		}
	}()
	log.Fatal(http.Serve(ln, nil))
}
