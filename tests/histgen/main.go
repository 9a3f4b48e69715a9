// Command histgen writes days of a Go service's history as a folder of
// 1-minute snapshots (or -interval seconds apart), in the layout heapwatchd's store keeps and
// `heapwatch judge DIR` replays: <unix-ms>.pb.gz files, gzipped pprof
// profiles. Each scenario is a leak or a non-leak of a shape seen in
// production; the folder is the test bed that proves a verdict on days of
// history in seconds.
//
// Usage:
//
//	histgen [-seed N] [-days D] [-interval S] [-series FILE] SCENARIO DIR
//	histgen -list
//
// It prints one line, "expect leak|quiet KIND FUNCTION START_MS LIMIT",
// what the scenario is: whether it leaks, the profile kind, the function
// that leaks ("-" for none), when the leak starts and the service's
// memory limit (bytes or goroutines). With -series, it also writes what a
// Prometheus server would have scraped every minute from the service
// itself, "unix-ms value" a line: go_memstats_heap_inuse_bytes (live heap
// plus the garbage since the last GC) or go_goroutines.
//
// The runtime model, stepped every second of the service's life:
//
//   - Each function allocates at its own rate (bytes per second, often
//     following a daily traffic curve), in objects of its own size. Of
//     those, what its retained set grows by stays live; the rest is
//     garbage at the next GC. A retained set that shrinks frees objects.
//   - The heap profile is the heap as of the last completed GC: scrapes
//     between two GCs return the same numbers. GCs are paced by GOGC (the
//     next GC when the heap reaches live*(1+GOGC/100), at least 4 MiB),
//     plus the runtime's forced GC after 2 minutes without one; with
//     GOGC=off, only when the heap reaches GOMEMLIMIT.
//   - Allocations are sampled as Go samples them, one every 512 KiB on
//     average (exponentially distributed intervals, so a function's
//     sample count is Poisson), and the profile's values are the sampled
//     counts scaled up as runtime/pprof scales them. alloc_* values are
//     cumulative since the process started.
//   - A restart (a deploy, or the service killed at its limit) starts the
//     process again: all values and the heap start from nothing.
//
// The output depends only on the scenario, the seed and the days.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
)

const (
	sampleRate  = 512 * 1024    // runtime.MemProfileRate
	minHeapGoal = 4 << 20       // the runtime's smallest heap goal
	forcedGC    = 120           // seconds between forced GCs
	epochMs     = 1767571200000 // Monday 2026-01-05 00:00 UTC
	mib         = 1 << 20
	hour        = 3600.0
	minute      = 60.0
)

// clock is where a function's behaviour is read: seconds since the
// scenario's start and since the process's start.
type clock struct {
	t, up float64
}

// fn is one allocation site (or one goroutine entry) with its stack.
type fn struct {
	stack []string // innermost first
	size  float64  // object bytes
	// rate is bytes allocated a second; live the bytes it retains (heap)
	// or its goroutines (goroutine profiles).
	rate func(c clock) float64
	live func(c clock) float64

	// Sampled counts since the process started.
	allocN, freeN float64
	allocT        float64 // transient and retained allocations, objects
	liveN         float64 // sampled objects alive now
	lastLive      float64
	// What the last GC published.
	pubAlloc, pubInuse float64
}

type scenario struct {
	name, kind, leakFn string
	leak               bool
	days               float64
	leakStart          float64 // seconds from the scenario's start
	limit              float64
	gogc               float64 // 0: off
	memlimit           float64
	restartEvery       float64 // seconds; 0: never
	restartAt          float64 // restart when the live heap passes this
	churn              float64 // the service's allocation rate, 1 by default
	fns                []*fn
}

// traffic is the daily request rate, 1 at the daytime plateau: a quiet
// night, a steep ramp from 07:00 to 08:00, a slow evening decline.
func traffic(t float64) float64 {
	h := math.Mod(t/hour, 24)
	switch {
	case h < 7:
		return 0.2
	case h < 8:
		return 0.2 + 0.8*(h-7)
	case h < 18:
		return 1
	default:
		return 1 - 0.8*(h-18)/6
	}
}

func constant(v float64) func(clock) float64 {
	return func(clock) float64 { return v }
}

// ramp is a retained set that grows at perHour from start (of the
// scenario, or with fromUp of the process).
func ramp(perHour, start float64, fromUp bool) func(clock) float64 {
	return func(c clock) float64 {
		x := c.t
		if fromUp {
			x = c.up
		}
		if x < start {
			return 0
		}
		return perHour * (x - start) / hour
	}
}

// service gives every heap scenario the functions a real service has:
// request handling churn, in-flight buffers, configuration loaded once.
func service(churn float64) []*fn {
	return []*fn{
		{stack: []string{"main.(*server).handle", "net/http.HandlerFunc.ServeHTTP", "net/http.(*conn).serve"},
			size: 4096, rate: func(c clock) float64 { return churn * 6 * mib * traffic(c.t) },
			live: func(c clock) float64 { return 3 * mib * traffic(c.t) }},
		{stack: []string{"encoding/json.(*decodeState).object", "encoding/json.Unmarshal", "main.(*server).handle", "net/http.HandlerFunc.ServeHTTP", "net/http.(*conn).serve"},
			size: 256, rate: func(c clock) float64 { return churn * 2 * mib * traffic(c.t) },
			live: constant(0)},
		{stack: []string{"bufio.NewReaderSize", "net/http.(*conn).serve"},
			size: 4096, rate: func(c clock) float64 { return churn * 0.5 * mib * traffic(c.t) },
			live: func(c clock) float64 { return 1 * mib * traffic(c.t) }},
		{stack: []string{"main.loadConfig", "main.main", "runtime.main"},
			size: 65536, rate: constant(0), live: constant(24 * mib)},
		{stack: []string{"main.newIndex", "main.main", "runtime.main"},
			size: 8192, rate: constant(0), live: constant(12 * mib)},
	}
}

// goService gives goroutine scenarios the goroutines a service parks.
func goService() []*fn {
	return []*fn{
		{stack: []string{"runtime.gopark", "runtime.netpollblock", "internal/poll.runtime_pollWait", "net/http.(*conn).serve"},
			live: func(c clock) float64 { return 40 * traffic(c.t) }},
		{stack: []string{"runtime.gopark", "runtime.selectgo", "main.(*server).flushLoop"},
			live: constant(4)},
		{stack: []string{"runtime.gopark", "runtime.chanrecv", "main.(*pool).worker"},
			live: constant(32)},
	}
}

func leakFn(name string, size float64, live func(clock) float64) *fn {
	return &fn{stack: []string{name, "main.(*server).handle", "net/http.HandlerFunc.ServeHTTP", "net/http.(*conn).serve"},
		size: size, rate: constant(0), live: live}
}

func scenarios() []*scenario {
	h := hour
	s := []*scenario{
		{name: "steady", leak: true, leakFn: "main.(*sessionStore).put", days: 1, leakStart: 2 * h},
		{name: "slow", leak: true, leakFn: "main.(*auditLog).append", days: 3, leakStart: 2 * h},
		{name: "late", leak: true, leakFn: "main.(*retryQueue).push", days: 1, leakStart: 14 * h},
		{name: "stepwise", leak: true, leakFn: "main.(*reportCache).refresh", days: 2, leakStart: 2 * h},
		{name: "restarts", leak: true, leakFn: "main.(*subscriptions).add", days: 1, leakStart: 0, restartAt: 900 * mib},
		// A quiet service with GOGC=off: GCs tens of minutes apart.
		{name: "gogc-off", leak: true, leakFn: "main.(*tracer).record", days: 1, leakStart: 2 * h, memlimit: 1024 * mib, churn: 0.1},
		{name: "batch-leak", leak: true, leakFn: "main.(*registry).register", days: 1, leakStart: 2 * h},
		{name: "goroutine-leak", kind: "goroutine", leak: true, leakFn: "main.(*watcher).start.func1", days: 1, leakStart: 2 * h, limit: 10000},
		{name: "traffic", days: 3},
		{name: "cache", days: 1},
		// The batch job's sawtooth over a cache warming up: the rise
		// is seen in one function only, the total swinging.
		{name: "batch-cache", days: 1},
		{name: "deploys", days: 1, restartEvery: 2 * h},
		{name: "spike", days: 1},
		{name: "goroutine-traffic", kind: "goroutine", days: 3, limit: 10000},
		// A small service leaking 1 MiB/s for two minutes, its GCs
		// seconds apart: for -interval 1 and a 10 s window.
		{name: "fast", leak: true, leakFn: "main.leakFast", days: 120.0 / 86400},
	}
	for _, sc := range s {
		if sc.kind == "" {
			sc.kind = "heap"
			sc.limit = 1024 * mib
			if sc.memlimit == 0 {
				sc.gogc = 100
			}
			if sc.churn == 0 {
				sc.churn = 1
			}
			sc.fns = service(sc.churn)
		} else {
			sc.fns = goService()
		}
		if !sc.leak {
			sc.leakFn = "-"
		}
		var add *fn
		switch sc.name {
		case "fast":
			sc.fns = []*fn{{stack: []string{"main.churn", "main.main"},
				size: 1024, rate: constant(3 * mib), live: constant(0)},
				{stack: []string{"main.init", "runtime.main"},
					size: 4096, rate: constant(0), live: constant(3 * mib)}}
			add = leakFn(sc.leakFn, 4096, ramp(3600*mib, 0, true))
		case "steady":
			add = leakFn(sc.leakFn, 512, ramp(120*mib, sc.leakStart, false))
		case "slow":
			add = leakFn(sc.leakFn, 1024, ramp(8*mib, sc.leakStart, false))
		case "late":
			add = leakFn(sc.leakFn, 2048, ramp(60*mib, sc.leakStart, false))
		case "stepwise":
			start := sc.leakStart
			add = leakFn(sc.leakFn, 32768, func(c clock) float64 {
				if c.t < start {
					return 0
				}
				return 24 * mib * math.Floor((c.t-start)/h+1)
			})
		case "restarts":
			add = leakFn(sc.leakFn, 1024, ramp(400*mib, 0, true))
		case "gogc-off":
			add = leakFn(sc.leakFn, 256, ramp(60*mib, sc.leakStart, false))
		case "batch-leak":
			sc.fns = append(sc.fns, batcher())
			add = leakFn(sc.leakFn, 512, ramp(40*mib, sc.leakStart, false))
		case "batch-cache":
			sc.fns = append(sc.fns, batcher())
			add = lruCache()
		case "goroutine-leak":
			start := sc.leakStart
			add = &fn{stack: []string{"runtime.gopark", "runtime.chanrecv", "runtime.chanrecv1", "main.(*watcher).start.func1"},
				live: func(c clock) float64 {
					if c.t < start {
						return 0
					}
					return math.Floor(300 * (c.t - start) / h)
				}}
		case "traffic":
			add = &fn{stack: []string{"main.(*connPool).get", "main.(*server).handle", "net/http.HandlerFunc.ServeHTTP", "net/http.(*conn).serve"},
				size: 16384, rate: func(c clock) float64 { return 4 * mib * traffic(c.t) },
				live: func(c clock) float64 { return 250 * mib * traffic(c.t) }}
		case "cache":
			add = lruCache()
		case "deploys":
			add = leakFn("main.(*templateCache).load", 8192, func(c clock) float64 {
				return 200 * mib * (1 - math.Exp(-c.up/(15*minute)))
			})
		case "spike":
			add = &fn{stack: []string{"main.(*exporter).snapshot", "main.(*exporter).run", "main.main"},
				size: 65536, rate: constant(0), live: func(c clock) float64 {
					x := c.t - 10*h
					switch {
					case x < 0 || x > 45*minute:
						return 0
					case x < 3*minute:
						return 400 * mib * x / (3 * minute)
					default:
						return 400 * mib
					}
				}}
		case "goroutine-traffic":
			add = &fn{stack: []string{"runtime.gopark", "runtime.netpollblock", "internal/poll.runtime_pollWait", "main.(*streamServer).serve.func2"},
				live: func(c clock) float64 { return math.Floor(2000 * traffic(c.t)) }}
		}
		sc.fns = append(sc.fns, add)
	}
	return s
}

// batcher is a batch job's buffer: it fills 600 MiB in 18 minutes,
// flushes, and fills again, a sawtooth under everything else.
func batcher() *fn {
	return &fn{stack: []string{"main.(*batcher).collect", "main.(*batcher).run", "main.main"},
		size: 16384, rate: constant(0), live: func(c clock) float64 {
			x := math.Mod(c.t, 20*minute)
			if x > 18*minute {
				return 0
			}
			return 600 * mib * x / (18 * minute)
		}}
}

// lruCache warms up from the process's start toward its cap of 600 MiB,
// half of what is left every 83 minutes (a time constant of 2 hours).
func lruCache() *fn {
	return leakFn("main.(*lruCache).insert", 4096, func(c clock) float64 {
		return 600 * mib * (1 - math.Exp(-c.up/(2*hour)))
	})
}

// poisson draws a Poisson count: exact below a mean of 40, normal above.
func poisson(r *rand.Rand, mean float64) float64 {
	if mean <= 0 {
		return 0
	}
	if mean > 40 {
		return math.Max(0, math.Round(mean+math.Sqrt(mean)*r.NormFloat64()))
	}
	l, k, p := math.Exp(-mean), 0.0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// binomial draws how many of n sampled objects a free of share q takes.
func binomial(r *rand.Rand, n, q float64) float64 {
	if n <= 0 || q <= 0 {
		return 0
	}
	if q >= 1 {
		return n
	}
	if n < 64 {
		k := 0.0
		for i := 0.0; i < n; i++ {
			if r.Float64() < q {
				k++
			}
		}
		return k
	}
	sd := math.Sqrt(n * q * (1 - q))
	return math.Min(n, math.Max(0, math.Round(n*q+sd*r.NormFloat64())))
}

// pb is a protobuf writer for the few wire types profile.proto uses.
type pb struct{ b []byte }

func (p *pb) varint(v uint64) {
	for v >= 0x80 {
		p.b = append(p.b, byte(v)|0x80)
		v >>= 7
	}
	p.b = append(p.b, byte(v))
}

func (p *pb) uint(field int, v uint64) {
	if v == 0 {
		return
	}
	p.varint(uint64(field) << 3)
	p.varint(v)
}

func (p *pb) bytes(field int, b []byte) {
	p.varint(uint64(field)<<3 | 2)
	p.varint(uint64(len(b)))
	p.b = append(p.b, b...)
}

func (p *pb) packed(field int, vs []uint64) {
	var q pb
	for _, v := range vs {
		q.varint(v)
	}
	p.bytes(field, q.b)
}

// profile encodes a profile of stacks with their values.
type profile struct {
	strings map[string]int
	table   []string
	funcs   map[string]uint64
	out     pb
	body    pb
}

func (p *profile) str(s string) uint64 {
	if i, ok := p.strings[s]; ok {
		return uint64(i)
	}
	p.strings[s] = len(p.table)
	p.table = append(p.table, s)
	return uint64(len(p.table) - 1)
}

// encode writes the profile: sample types, then one sample a stack.
func encode(types [][2]string, period [2]string, periodV int64, timeNs int64,
	stacks [][]string, values [][]int64) []byte {
	p := &profile{strings: map[string]int{}, funcs: map[string]uint64{}}
	p.str("")
	var body pb
	for _, t := range types {
		var v pb
		v.uint(1, p.str(t[0]))
		v.uint(2, p.str(t[1]))
		body.bytes(1, v.b)
	}
	// Functions and locations: one of each a distinct frame.
	var locs, fns pb
	locID := map[string]uint64{}
	for _, st := range stacks {
		for _, name := range st {
			if _, ok := locID[name]; ok {
				continue
			}
			id := uint64(len(locID) + 1)
			locID[name] = id
			var f pb
			f.uint(1, id)
			f.uint(2, p.str(name))
			f.uint(3, p.str(name))
			f.uint(4, p.str(fileOf(name)))
			f.uint(5, 10*id)
			fns.bytes(5, f.b)
			var line, l pb
			line.uint(1, id)
			line.uint(2, 10*id+3)
			l.uint(1, id)
			l.uint(2, 1)
			l.uint(3, 0x401000+id*0x40)
			l.bytes(4, line.b)
			locs.bytes(4, l.b)
		}
	}
	for i, st := range stacks {
		var s pb
		ids := make([]uint64, len(st))
		for k, name := range st {
			ids[k] = locID[name]
		}
		s.packed(1, ids)
		vs := make([]uint64, len(values[i]))
		for k, v := range values[i] {
			vs[k] = uint64(v)
		}
		s.packed(2, vs)
		body.bytes(2, s.b)
	}
	var m pb
	m.uint(1, 1)
	m.uint(2, 0x400000)
	m.uint(3, 0x800000)
	m.uint(5, p.str("/usr/bin/service"))
	m.uint(7, 1)
	m.uint(8, 1)
	m.uint(9, 1)
	body.bytes(3, m.b)
	body.b = append(body.b, locs.b...)
	body.b = append(body.b, fns.b...)
	var pt pb
	pt.uint(1, p.str(period[0]))
	pt.uint(2, p.str(period[1]))
	for _, s := range p.table {
		body.bytes(6, []byte(s))
	}
	body.uint(9, uint64(timeNs))
	body.bytes(11, pt.b)
	body.uint(12, uint64(periodV))
	return body.b
}

// fileOf makes up a plausible source file for a function.
func fileOf(name string) string {
	switch {
	case len(name) > 5 && name[:5] == "main.":
		return "/src/service/main.go"
	case len(name) > 8 && name[:8] == "runtime.":
		return "/usr/lib/go/src/runtime/proc.go"
	}
	return "/usr/lib/go/src/" + name + ".go"
}

// scale turns sampled counts of objects of size into the values
// runtime/pprof writes: count and bytes, scaled by 1/(1-e^(-size/rate)).
func scale(n, size float64) (int64, int64) {
	if n == 0 {
		return 0, 0
	}
	f := 1 / (1 - math.Exp(-size/sampleRate))
	return int64(n * f), int64(n * size * f)
}

func run(sc *scenario, seed int64, days, interval float64, dir string, series *bufio.Writer) error {
	r := rand.New(rand.NewSource(seed))
	if days == 0 {
		days = sc.days
	}
	end := days * 24 * hour
	var (
		gz        *gzip.Writer
		buf       bytes.Buffer
		start     float64 // the process's start, scenario seconds
		lastGC    float64
		liveGC    float64 // live heap at the last GC
		sinceGC   float64 // bytes allocated since
		reset     = true
		heapTypes = [][2]string{{"alloc_objects", "count"}, {"alloc_space", "bytes"},
			{"inuse_objects", "count"}, {"inuse_space", "bytes"}}
	)
	gz, _ = gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	for t := 0.0; t <= end; t++ {
		if reset {
			start, lastGC, liveGC, sinceGC = t, t, 0, 0
			for _, f := range sc.fns {
				f.allocN, f.freeN, f.allocT, f.liveN, f.lastLive = 0, 0, 0, 0, 0
				f.pubAlloc, f.pubInuse = 0, 0
			}
			reset = false
		}
		c := clock{t: t, up: t - start}
		live := 0.0
		for _, f := range sc.fns {
			l := f.live(c)
			live += l
			if sc.kind != "heap" {
				continue
			}
			p := 1 - math.Exp(-f.size/sampleRate)
			b := f.rate(c)
			if d := l - f.lastLive; d > 0 {
				n := poisson(r, d/f.size*p)
				f.liveN += n
				f.allocN += n
				b += d
			} else if d < 0 && f.lastLive > 0 {
				k := binomial(r, f.liveN, -d/f.lastLive)
				f.liveN -= k
				f.freeN += k
			}
			if f.rate(c) > 0 {
				f.allocT += poisson(r, f.rate(c)/f.size*p)
			}
			f.lastLive = l
			sinceGC += b
		}
		if sc.kind == "heap" {
			goal := math.Max(liveGC*(1+sc.gogc/100), minHeapGoal)
			if sc.gogc == 0 {
				goal = sc.memlimit * 0.95
			}
			// The forced GC is off with GOGC=off, as in the runtime.
			if liveGC+sinceGC >= goal ||
				(sc.gogc > 0 && t-lastGC >= forcedGC) {
				lastGC, liveGC, sinceGC = t, live, 0
				for _, f := range sc.fns {
					f.pubAlloc = f.allocN + f.allocT
					f.pubInuse = f.liveN
				}
			}
		}
		if math.Mod(t, interval) == 0 {
			ms := int64(epochMs + t*1000)
			var stacks [][]string
			var values [][]int64
			for _, f := range sc.fns {
				if sc.kind == "heap" {
					if f.pubAlloc == 0 {
						continue
					}
					ao, ab := scale(f.pubAlloc, f.size)
					io, ib := scale(f.pubInuse, f.size)
					stacks = append(stacks, f.stack)
					values = append(values, []int64{ao, ab, io, ib})
				} else if n := int64(f.live(c)); n > 0 {
					stacks = append(stacks, f.stack)
					values = append(values, []int64{n})
				}
			}
			var raw []byte
			if sc.kind == "heap" {
				raw = encode(heapTypes, [2]string{"space", "bytes"}, sampleRate, ms*1e6, stacks, values)
			} else {
				raw = encode([][2]string{{"goroutine", "count"}}, [2]string{"goroutine", "count"}, 1, ms*1e6, stacks, values)
			}
			buf.Reset()
			gz.Reset(&buf)
			gz.Write(raw)
			gz.Close()
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d.pb.gz", ms)), buf.Bytes(), 0o644); err != nil {
				return err
			}
			if series != nil {
				v := live
				if sc.kind == "heap" {
					v = liveGC + sinceGC
				}
				fmt.Fprintf(series, "%d %.0f\n", ms, v)
			}
		}
		if (sc.restartEvery > 0 && c.up >= sc.restartEvery) ||
			(sc.restartAt > 0 && live >= sc.restartAt) {
			reset = true
		}
	}
	return nil
}

func main() {
	seed := flag.Int64("seed", 1, "random seed")
	days := flag.Float64("days", 0, "days of history (0: the scenario's own)")
	seriesPath := flag.String("series", "", "write the scraped series here")
	interval := flag.Float64("interval", 60, "seconds between scrapes, whole")
	list := flag.Bool("list", false, "list the scenarios")
	flag.Parse()
	all := scenarios()
	if *list {
		names := []string{}
		for _, sc := range all {
			names = append(names, sc.name)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Println(n)
		}
		return
	}
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: histgen [-seed N] [-days D] [-interval S] [-series FILE] SCENARIO DIR | -list")
		os.Exit(2)
	}
	var sc *scenario
	for _, s := range all {
		if s.name == flag.Arg(0) {
			sc = s
		}
	}
	if sc == nil {
		fmt.Fprintf(os.Stderr, "histgen: unknown scenario %q\n", flag.Arg(0))
		os.Exit(2)
	}
	if err := os.MkdirAll(flag.Arg(1), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "histgen:", err)
		os.Exit(1)
	}
	var series *bufio.Writer
	if *seriesPath != "" {
		f, err := os.Create(*seriesPath)
		if err != nil {
			fmt.Fprintln(os.Stderr, "histgen:", err)
			os.Exit(1)
		}
		defer f.Close()
		series = bufio.NewWriter(f)
		defer series.Flush()
	}
	if *interval < 1 || *interval != math.Floor(*interval) {
		fmt.Fprintln(os.Stderr, "histgen: -interval must be whole seconds, at least 1")
		os.Exit(2)
	}
	if err := run(sc, *seed, *days, *interval, flag.Arg(1), series); err != nil {
		fmt.Fprintln(os.Stderr, "histgen:", err)
		os.Exit(1)
	}
	state := "quiet"
	if sc.leak {
		state = "leak"
	}
	fmt.Printf("expect %s %s %s %d %.0f\n", state, sc.kind, sc.leakFn,
		int64(epochMs+sc.leakStart*1000), sc.limit)
}
