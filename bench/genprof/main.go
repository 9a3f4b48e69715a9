// Command genprof writes a pair of synthetic, production-sized Go heap
// profiles in pprof format, for benchmarking heapwatch against profiles much
// larger than the test fixture produces.
//
// Usage:
//
//	genprof [-samples N] [-functions F] [-calls MIN-MAX] [-depth MIN-MAX] [-seed S] [-same] BASE.pb.gz CURRENT.pb.gz
//
// Both files describe the same imaginary binary: about 4,000 functions with
// Go-like names, about 40,000 locations (some with inlined frames), and
// stacks 8 to 48 frames deep that mostly end in the runtime's allocation
// functions. BASE has N samples. CURRENT keeps about 85% of BASE's stacks
// with changed values, drops the others and adds as many new ones, so
// `go tool pprof -base BASE.pb.gz CURRENT.pb.gz` shows positive and negative
// values. The protobuf is encoded by hand (see pbWriter) and gzipped. The
// output depends only on the flags.
//
// With -same, CURRENT keeps every stack of BASE in BASE's order, with
// changed values: the next GC's profile of a service past its warm-up,
// whose profile lists the same allocation sites, as Go never forgets one,
// and whose strings, functions and locations are therefore those of BASE
// byte for byte.
//
// The defaults make a large program whose profiles inflate slowly (2:1).
// A smaller one with few call sites a function and stacks of moderate
// depth, such as
//
//	genprof -samples 75000 -functions 480 -calls 1-2 -depth 6-29 ...
//
// makes tens of thousands of distinct deep stacks over a few hundred
// functions and about a thousand locations, which compress far better and
// make the protobuf's parsing, not its inflating, the cost.
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"math"
	"math/rand"
	"os"
	"strings"
)

// The size of the imaginary program (-functions), how many call sites each
// of its functions has (-calls) and how deep its stacks go (-depth).
var (
	targetFunctions = 4000
	minCalls        = 4
	maxCalls        = 13
	minDepth        = 8  // shortest stack, in locations
	maxDepth        = 48 // longest stack, in locations
)

// Shape of the imaginary program and of the profiles.
const (
	maxLayer        = 64     // call graph depth, in layers of functions
	firstStdLayer   = 16     // standard library code is never shallower
	samplingRate    = 524288 // Go's default MemProfileRate, the period
	sharedPercent   = 85     // share of BASE's stacks that CURRENT keeps
	inlinedPercent  = 12     // share of call sites with inlined frames
	baseTimeNanos   = 1700000000 * 1000000000
	profileInterval = 15 * 60 * 1000000000 // CURRENT is 15 minutes later
)

// function is one function of the imaginary program.
type function struct {
	id        uint64
	name      string
	file      string
	startLine int64
	layer     int
	calls     []*location // call sites, each calling callee
	allocs    []*location // sites that call into the runtime to allocate
}

// line is one frame of a location: a position in a function.
type line struct {
	fn   *function
	line int64
}

// location is one program counter; lines lists its frames, innermost
// (inlined) first, so the last line is the function the PC belongs to.
type location struct {
	id      uint64
	address uint64
	lines   []line
	callee  *function
}

// program is the imaginary binary the profiles describe.
type program struct {
	funcs  []*function
	locs   []*location
	roots  []*function
	layers [][]*function
	chains [][]*location // runtime allocation paths, leaf first
	start  uint64        // mapping start address
	limit  uint64        // mapping end address
}

// sample is one heap profile sample before scaling: the counts are of
// sampled objects, as the runtime records them.
type sample struct {
	stack      []*location // leaf first
	size       int64       // object size, the "bytes" label
	allocCount int64
	inuseCount int64
}

// runtimeChains are the runtime call paths that end in mallocgc, leaf
// first; the last function of each is the one user code calls.
var runtimeChains = [][]string{
	{"runtime.mallocgc", "runtime.newobject"},
	{"runtime.mallocgc", "runtime.makeslice"},
	{"runtime.mallocgc", "runtime.growslice"},
	{"runtime.mallocgc", "runtime.newarray", "runtime.makeBucketArray", "runtime.hashGrow", "runtime.mapassign_faststr"},
	{"runtime.mallocgc", "runtime.newarray", "runtime.makeBucketArray", "runtime.makemap"},
	{"runtime.mallocgc", "runtime.newobject", "runtime.makemap_small"},
	{"runtime.mallocgc", "runtime.rawstring", "runtime.rawstringtmp", "runtime.concatstrings", "runtime.concatstring3"},
	{"runtime.mallocgc", "runtime.rawbyteslice", "runtime.stringtoslicebyte"},
	{"runtime.mallocgc", "runtime.slicebytetostring"},
	{"runtime.mallocgc", "runtime.convTstring"},
	{"runtime.mallocgc", "runtime.convTslice"},
	{"runtime.mallocgc", "runtime.makechan"},
}

// runtimeFiles maps runtime functions to their source files.
var runtimeFiles = map[string]string{
	"runtime.mallocgc":          "malloc.go",
	"runtime.newobject":         "malloc.go",
	"runtime.newarray":          "malloc.go",
	"runtime.makeslice":         "slice.go",
	"runtime.growslice":         "slice.go",
	"runtime.makeBucketArray":   "map.go",
	"runtime.hashGrow":          "map.go",
	"runtime.mapassign_faststr": "map_faststr.go",
	"runtime.makemap":           "map.go",
	"runtime.makemap_small":     "map.go",
	"runtime.rawstring":         "string.go",
	"runtime.rawstringtmp":      "string.go",
	"runtime.concatstrings":     "string.go",
	"runtime.concatstring3":     "string.go",
	"runtime.rawbyteslice":      "string.go",
	"runtime.stringtoslicebyte": "string.go",
	"runtime.slicebytetostring": "string.go",
	"runtime.convTstring":       "iface.go",
	"runtime.convTslice":        "iface.go",
	"runtime.makechan":          "chan.go",
}

// libraryFuncs lists standard library and third-party functions, one source
// file per line: the file, then the functions in it. A leading "^" marks a
// goroutine entry point, which appears at the root of stacks.
var libraryFuncs = `
/usr/local/go/src/net/http/server.go ^net/http.(*conn).serve net/http.serverHandler.ServeHTTP net/http.HandlerFunc.ServeHTTP net/http.(*ServeMux).ServeHTTP net/http.(*conn).readRequest net/http.(*response).Write net/http.(*response).finishRequest
/usr/local/go/src/net/http/request.go net/http.readRequest net/http.(*Request).ParseForm net/http.(*Request).WithContext
/usr/local/go/src/net/http/transport.go ^net/http.(*persistConn).readLoop ^net/http.(*persistConn).writeLoop net/http.(*Transport).roundTrip net/http.(*Transport).dialConn net/http.(*persistConn).roundTrip
/usr/local/go/src/net/http/header.go net/http.Header.Clone net/http.Header.Set net/http.Header.writeSubset
/usr/local/go/src/net/textproto/reader.go net/textproto.(*Reader).ReadMIMEHeader net/textproto.(*Reader).readLineSlice net/textproto.canonicalMIMEHeaderKey
/usr/local/go/src/net/url/url.go net/url.Parse net/url.parse net/url.(*URL).String net/url.ParseQuery net/url.unescape
/usr/local/go/src/bytes/buffer.go bytes.(*Buffer).grow bytes.(*Buffer).Write bytes.(*Buffer).WriteString bytes.(*Buffer).ReadFrom bytes.growSlice
/usr/local/go/src/bytes/bytes.go bytes.Join bytes.Split bytes.genSplit bytes.Repeat
/usr/local/go/src/strings/builder.go strings.(*Builder).grow strings.(*Builder).WriteString strings.(*Builder).WriteByte
/usr/local/go/src/strings/strings.go strings.Join strings.Split strings.genSplit strings.Repeat strings.Fields strings.ToLower strings.Map
/usr/local/go/src/strings/replace.go strings.(*Replacer).Replace strings.(*genericReplacer).Replace
/usr/local/go/src/fmt/print.go fmt.Sprintf fmt.Fprintf fmt.Sprint fmt.newPrinter fmt.(*pp).doPrintf fmt.(*pp).printArg fmt.(*pp).handleMethods
/usr/local/go/src/fmt/errors.go fmt.Errorf
/usr/local/go/src/strconv/quote.go strconv.Quote strconv.quoteWith strconv.appendQuotedWith
/usr/local/go/src/strconv/itoa.go strconv.FormatInt strconv.formatBits strconv.Itoa
/usr/local/go/src/encoding/json/decode.go encoding/json.Unmarshal encoding/json.(*decodeState).unmarshal encoding/json.(*decodeState).value encoding/json.(*decodeState).object encoding/json.(*decodeState).array encoding/json.(*decodeState).literalStore encoding/json.(*decodeState).literalInterface encoding/json.(*decodeState).objectInterface
/usr/local/go/src/encoding/json/encode.go encoding/json.Marshal encoding/json.(*encodeState).marshal encoding/json.(*encodeState).reflectValue encoding/json.structEncoder.encode encoding/json.mapEncoder.encode encoding/json.sliceEncoder.encode encoding/json.ptrEncoder.encode encoding/json.stringEncoder encoding/json.newEncodeState
/usr/local/go/src/encoding/json/stream.go encoding/json.(*Decoder).Decode encoding/json.(*Decoder).refill encoding/json.(*Decoder).readValue encoding/json.(*Encoder).Encode
/usr/local/go/src/encoding/base64/base64.go encoding/base64.(*Encoding).EncodeToString encoding/base64.(*Encoding).DecodeString
/usr/local/go/src/encoding/binary/binary.go encoding/binary.Read encoding/binary.Write
/usr/local/go/src/bufio/bufio.go bufio.NewReaderSize bufio.NewWriterSize bufio.(*Reader).ReadSlice bufio.(*Reader).ReadString bufio.(*Reader).collectFragments bufio.(*Writer).Flush
/usr/local/go/src/bufio/scan.go bufio.(*Scanner).Scan
/usr/local/go/src/io/io.go io.ReadAll io.copyBuffer io.Copy io.ReadFull io.ReadAtLeast
/usr/local/go/src/compress/gzip/gunzip.go compress/gzip.NewReader compress/gzip.(*Reader).Reset compress/gzip.(*Reader).readHeader
/usr/local/go/src/compress/gzip/gzip.go compress/gzip.NewWriterLevel compress/gzip.(*Writer).Write compress/gzip.(*Writer).Close
/usr/local/go/src/compress/flate/deflate.go compress/flate.NewWriter compress/flate.(*compressor).init compress/flate.newDeflateFast compress/flate.(*compressor).initDeflate
/usr/local/go/src/compress/flate/inflate.go compress/flate.NewReader compress/flate.(*decompressor).Reset compress/flate.fixedHuffmanDecoderInit
/usr/local/go/src/crypto/tls/conn.go crypto/tls.(*Conn).Read crypto/tls.(*Conn).Write crypto/tls.(*Conn).readRecordOrCCS crypto/tls.(*Conn).readRecord crypto/tls.(*halfConn).decrypt crypto/tls.(*Conn).writeRecordLocked
/usr/local/go/src/crypto/tls/handshake_server.go crypto/tls.(*Conn).serverHandshake crypto/tls.(*serverHandshakeStateTLS13).handshake
/usr/local/go/src/crypto/sha256/sha256.go crypto/sha256.New crypto/sha256.Sum256
/usr/local/go/src/crypto/hmac/hmac.go crypto/hmac.New
/usr/local/go/src/context/context.go context.WithCancel context.WithTimeout context.WithDeadline context.WithValue context.(*cancelCtx).Done context.newCancelCtx context.propagateCancel
/usr/local/go/src/sync/pool.go sync.(*Pool).Get sync.(*Pool).pinSlow
/usr/local/go/src/sync/once.go sync.(*Once).doSlow
/usr/local/go/src/reflect/value.go reflect.New reflect.MakeSlice reflect.MakeMapWithSize reflect.Value.Interface reflect.packEface reflect.unsafe_New reflect.Value.Set
/usr/local/go/src/reflect/type.go reflect.(*rtype).ptrTo reflect.FuncOf
/usr/local/go/src/sort/slice.go sort.Slice sort.SliceStable
/usr/local/go/src/time/sleep.go time.NewTimer time.AfterFunc time.NewTicker
/usr/local/go/src/time/format.go time.Time.Format time.Time.AppendFormat time.Parse time.parse
/usr/local/go/src/regexp/regexp.go regexp.(*Regexp).FindAllStringSubmatch regexp.(*Regexp).ReplaceAllString regexp.(*Regexp).replaceAll regexp.(*Regexp).doExecute regexp.(*Regexp).allMatches regexp.MustCompile
/usr/local/go/src/database/sql/sql.go database/sql.(*DB).QueryContext database/sql.(*DB).query database/sql.(*DB).conn database/sql.(*Rows).Next database/sql.(*Rows).Scan database/sql.(*DB).ExecContext
/usr/local/go/src/database/sql/convert.go database/sql.convertAssignRows database/sql.driverArgsConnLocked
/usr/local/go/src/errors/errors.go errors.New
/usr/local/go/src/log/log.go log.(*Logger).Output log.Printf
/usr/local/go/src/os/file.go os.ReadFile os.(*File).Write os.OpenFile
/usr/local/go/src/path/filepath/path.go path/filepath.Join path/filepath.Clean path/filepath.Rel
/usr/local/go/src/net/fd_posix.go net.(*netFD).Read net.(*netFD).Write net.(*netFD).accept
/usr/local/go/src/net/dial.go net.(*Dialer).DialContext net.(*sysDialer).dialSerial
/go/pkg/mod/google.golang.org/grpc@v1.58.3/server.go ^google.golang.org/grpc.(*Server).serveStreams.func1.1 google.golang.org/grpc.(*Server).handleStream google.golang.org/grpc.(*Server).processUnaryRPC google.golang.org/grpc.(*Server).processStreamingRPC google.golang.org/grpc.(*Server).sendResponse ^google.golang.org/grpc.(*Server).handleRawConn.func1
/go/pkg/mod/google.golang.org/grpc@v1.58.3/rpc_util.go google.golang.org/grpc.recvAndDecompress google.golang.org/grpc.recv google.golang.org/grpc.(*parser).recvMsg google.golang.org/grpc.encode google.golang.org/grpc.msgHeader
/go/pkg/mod/google.golang.org/grpc@v1.58.3/internal/transport/http2_server.go ^google.golang.org/grpc/internal/transport.(*http2Server).keepalive google.golang.org/grpc/internal/transport.(*http2Server).operateHeaders google.golang.org/grpc/internal/transport.(*http2Server).HandleStreams google.golang.org/grpc/internal/transport.(*http2Server).handleData google.golang.org/grpc/internal/transport.(*http2Server).writeHeaderLocked google.golang.org/grpc/internal/transport.newHTTP2Server
/go/pkg/mod/google.golang.org/grpc@v1.58.3/internal/transport/controlbuf.go ^google.golang.org/grpc/internal/transport.newLoopyWriter.func1 google.golang.org/grpc/internal/transport.(*loopyWriter).run google.golang.org/grpc/internal/transport.(*loopyWriter).processData google.golang.org/grpc/internal/transport.(*controlBuffer).executeAndPut
/go/pkg/mod/google.golang.org/grpc@v1.58.3/internal/transport/http_util.go google.golang.org/grpc/internal/transport.newFramer google.golang.org/grpc/internal/transport.(*bufWriter).Write google.golang.org/grpc/internal/transport.decodeMetadataHeader
/go/pkg/mod/google.golang.org/protobuf@v1.31.0/proto/decode.go google.golang.org/protobuf/proto.UnmarshalOptions.unmarshal google.golang.org/protobuf/proto.Unmarshal
/go/pkg/mod/google.golang.org/protobuf@v1.31.0/proto/encode.go google.golang.org/protobuf/proto.MarshalOptions.marshal google.golang.org/protobuf/proto.MarshalOptions.MarshalAppend google.golang.org/protobuf/proto.Marshal
/go/pkg/mod/google.golang.org/protobuf@v1.31.0/internal/impl/decode.go google.golang.org/protobuf/internal/impl.(*MessageInfo).unmarshal google.golang.org/protobuf/internal/impl.(*MessageInfo).unmarshalPointer
/go/pkg/mod/google.golang.org/protobuf@v1.31.0/internal/impl/codec_gen.go google.golang.org/protobuf/internal/impl.consumeStringValidateUTF8 google.golang.org/protobuf/internal/impl.consumeBytes google.golang.org/protobuf/internal/impl.consumeStringSliceValidateUTF8 google.golang.org/protobuf/internal/impl.appendStringValidateUTF8
/go/pkg/mod/google.golang.org/protobuf@v1.31.0/internal/impl/codec_field.go google.golang.org/protobuf/internal/impl.consumeMessageInfo google.golang.org/protobuf/internal/impl.consumeMessageSliceInfo google.golang.org/protobuf/internal/impl.appendMessageInfo
/go/pkg/mod/golang.org/x/net@v0.17.0/http2/frame.go golang.org/x/net/http2.(*Framer).ReadFrame golang.org/x/net/http2.(*Framer).readMetaFrame golang.org/x/net/http2.parseDataFrame golang.org/x/net/http2.(*Framer).WriteData
/go/pkg/mod/golang.org/x/net@v0.17.0/http2/hpack/hpack.go golang.org/x/net/http2/hpack.(*Decoder).Write golang.org/x/net/http2/hpack.(*Decoder).parseFieldLiteral golang.org/x/net/http2/hpack.(*Decoder).readString golang.org/x/net/http2/hpack.(*headerFieldTable).addEntry
/go/pkg/mod/github.com/prometheus/client_golang@v1.17.0/prometheus/registry.go github.com/prometheus/client_golang/prometheus.(*Registry).Gather github.com/prometheus/client_golang/prometheus.processMetric
/go/pkg/mod/github.com/prometheus/client_golang@v1.17.0/prometheus/histogram.go github.com/prometheus/client_golang/prometheus.(*histogram).Write github.com/prometheus/client_golang/prometheus.(*histogram).Observe github.com/prometheus/client_golang/prometheus.newHistogram
/go/pkg/mod/github.com/prometheus/client_golang@v1.17.0/prometheus/vec.go github.com/prometheus/client_golang/prometheus.(*MetricVec).GetMetricWithLabelValues github.com/prometheus/client_golang/prometheus.(*metricMap).getOrCreateMetricWithLabelValues
/go/pkg/mod/github.com/redis/go-redis/v9@v9.2.1/redis.go github.com/redis/go-redis/v9.(*baseClient).process github.com/redis/go-redis/v9.(*baseClient)._process github.com/redis/go-redis/v9.(*baseClient).withConn
/go/pkg/mod/github.com/redis/go-redis/v9@v9.2.1/internal/proto/reader.go github.com/redis/go-redis/v9/internal/proto.(*Reader).ReadReply github.com/redis/go-redis/v9/internal/proto.(*Reader).readStringReply github.com/redis/go-redis/v9/internal/proto.(*Reader).ReadLine
/go/pkg/mod/github.com/jackc/pgx/v5@v5.4.3/pgconn/pgconn.go github.com/jackc/pgx/v5/pgconn.(*PgConn).ReceiveMessage github.com/jackc/pgx/v5/pgconn.(*PgConn).receiveMessage github.com/jackc/pgx/v5/pgconn.(*PgConn).ExecParams github.com/jackc/pgx/v5/pgconn.(*ResultReader).Read
/go/pkg/mod/github.com/jackc/pgx/v5@v5.4.3/rows.go github.com/jackc/pgx/v5.(*baseRows).Next github.com/jackc/pgx/v5.(*baseRows).Scan github.com/jackc/pgx/v5.(*baseRows).Values
/go/pkg/mod/go.uber.org/zap@v1.26.0/logger.go go.uber.org/zap.(*Logger).Info go.uber.org/zap.(*Logger).Error go.uber.org/zap.(*Logger).check go.uber.org/zap.(*Logger).With
/go/pkg/mod/go.uber.org/zap@v1.26.0/zapcore/json_encoder.go go.uber.org/zap/zapcore.(*jsonEncoder).AppendString go.uber.org/zap/zapcore.(*jsonEncoder).EncodeEntry go.uber.org/zap/zapcore.(*jsonEncoder).clone go.uber.org/zap/zapcore.(*jsonEncoder).AddString
/go/pkg/mod/go.uber.org/zap@v1.26.0/buffer/pool.go go.uber.org/zap/buffer.Pool.Get go.uber.org/zap/buffer.(*Buffer).AppendString
/go/pkg/mod/github.com/golang/snappy@v0.0.4/encode.go github.com/golang/snappy.Encode github.com/golang/snappy.NewBufferedWriter
/go/pkg/mod/github.com/klauspost/compress@v1.17.2/zstd/decoder.go github.com/klauspost/compress/zstd.(*Decoder).DecodeAll github.com/klauspost/compress/zstd.NewReader github.com/klauspost/compress/zstd.(*Decoder).startStreamDecoder
`

// Building blocks of the application's own function names.
var (
	appModule = "github.com/acme/svc/"
	appSource = "/app/" // where the application was built
	appAreas  = []string{
		"internal/cache", "internal/store", "internal/index", "internal/auth",
		"internal/billing", "internal/ingest", "internal/query", "internal/rpc",
		"internal/session", "internal/shard", "internal/wal", "internal/compact",
		"api/v1", "api/v2", "worker", "scheduler", "metrics", "config",
	}
	appTypes = []string{
		"Cache", "Store", "Server", "Handler", "Client", "Pool", "Queue",
		"Encoder", "Decoder", "Index", "Shard", "Batch", "Session", "Router",
		"Registry", "Worker", "Buffer", "Tree", "Record", "Snapshot", "Segment",
		"Cursor", "Planner", "Executor", "Limiter", "Tracker", "Ring", "Table",
	}
	appMethods = []string{
		"Get", "Put", "Delete", "Load", "Save", "Flush", "Encode", "Decode",
		"Handle", "ServeHTTP", "Run", "Close", "Open", "Write", "Read", "Scan",
		"Next", "Apply", "Merge", "Split", "Reset", "Grow", "Insert", "Lookup",
		"process", "compact", "rebuild", "marshal", "unmarshal", "append",
		"evict", "refresh", "snapshot", "replay", "dispatch", "collect",
		"validate", "resolve", "prepare", "commit", "rollback", "emit",
	}
	appFuncs = []string{
		"New", "Open", "Parse", "Decode", "Encode", "Marshal", "Unmarshal",
		"newState", "parseHeader", "readFrame", "writeFrame", "buildIndex",
		"loadConfig", "hashKey", "splitKey", "mergeRuns", "sortEntries",
		"copyRecord", "cloneTags", "formatKey", "decodeRow", "encodeRow",
	}
)

// goSizeClasses are Go's small object size classes, smallest first.
var goSizeClasses = []int64{
	8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224,
	240, 256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768,
	896, 1024, 1152, 1280, 1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200,
	3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728, 10240,
	10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576,
	27264, 28672, 32768,
}

// largeSizes are sizes of large (page-rounded) objects.
var largeSizes = []int64{40960, 65536, 131072, 262144, 1048576, 4194304}

// skewed returns an index in [0, n) that favours small values, so some
// choices (roots, call sites) are much more common than others and stacks
// share prefixes as in real programs.
func skewed(rng *rand.Rand, n int) int {
	u := rng.Float64()
	return int(u * u * float64(n))
}

// builder accumulates the functions of the program while it is generated.
type builder struct {
	rng    *rand.Rand
	prog   *program
	byName map[string]*function
}

// addFunc creates a function with a unique name, or returns nil if a
// function of that name already exists.
func (b *builder) addFunc(name, file string, layer int) *function {
	if b.byName[name] != nil {
		return nil
	}
	f := &function{
		id:        uint64(len(b.prog.funcs) + 1),
		name:      name,
		file:      file,
		startLine: int64(20 + b.rng.Intn(1500)),
		layer:     layer,
	}
	b.byName[name] = f
	b.prog.funcs = append(b.prog.funcs, f)
	return f
}

// addRuntime creates the runtime functions and the allocation chains
// through them, sharing a location wherever two chains share a call site.
func (b *builder) addRuntime() {
	sites := map[string]*location{}
	for _, chain := range runtimeChains {
		var locs []*location
		for i, name := range chain {
			f := b.byName[name]
			if f == nil {
				f = b.addFunc(name, "/usr/local/go/src/runtime/"+runtimeFiles[name], -1)
			}
			callee := ""
			if i > 0 {
				callee = chain[i-1]
			}
			key := name + "->" + callee
			loc := sites[key]
			if loc == nil {
				loc = &location{lines: []line{{f, f.startLine + int64(5+b.rng.Intn(300))}}}
				if i > 0 {
					loc.callee = b.byName[callee]
				}
				sites[key] = loc
				f.calls = append(f.calls, loc)
			}
			locs = append(locs, loc)
		}
		b.prog.chains = append(b.prog.chains, locs)
	}
}

// addLibraries creates the standard library and third-party functions
// listed in libraryFuncs.
func (b *builder) addLibraries() {
	for _, row := range strings.Split(strings.TrimSpace(libraryFuncs), "\n") {
		fields := strings.Fields(row)
		file := fields[0]
		for _, name := range fields[1:] {
			if strings.HasPrefix(name, "^") {
				b.prog.roots = append(b.prog.roots, b.addFunc(name[1:], file, 0))
				continue
			}
			b.addFunc(name, file, firstStdLayer+b.rng.Intn(maxLayer-firstStdLayer))
		}
	}
}

// appName invents one application function name in package pkg: a method
// (pointer or value receiver, sometimes generic), a plain function or a
// closure inside either.
func (b *builder) appName(pkg string) (name, file string) {
	typ := appTypes[b.rng.Intn(len(appTypes))]
	file = appSource + pkg + "/" + strings.ToLower(typ) + ".go"
	switch r := b.rng.Intn(100); {
	case r < 55:
		name = fmt.Sprintf("%s.(*%s).%s", pkg, typ, appMethods[b.rng.Intn(len(appMethods))])
	case r < 65:
		name = fmt.Sprintf("%s.%s.%s", pkg, typ, appMethods[b.rng.Intn(len(appMethods))])
	case r < 70:
		name = fmt.Sprintf("%s.(*%s[...]).%s", pkg, typ, appMethods[b.rng.Intn(len(appMethods))])
	default:
		fn := appFuncs[b.rng.Intn(len(appFuncs))]
		name = fmt.Sprintf("%s.%s", pkg, fn)
		file = appSource + pkg + "/" + strings.ToLower(fn) + ".go"
	}
	if b.rng.Intn(10) == 0 {
		name += fmt.Sprintf(".func%d", 1+b.rng.Intn(4))
	}
	return appModule + name, file
}

// addApplication creates main.main and the application's own functions,
// numbered packages such as pkg17 and named ones such as internal/cache,
// until the program has targetFunctions functions. A few of its closures
// are goroutine entry points.
func (b *builder) addApplication() {
	mainFn := b.addFunc("main.main", appSource+"cmd/svc/main.go", 1)
	runtimeMain := b.addFunc("runtime.main", "/usr/local/go/src/runtime/proc.go", 0)
	runtimeMain.calls = append(runtimeMain.calls, &location{
		lines:  []line{{runtimeMain, 250}},
		callee: mainFn,
	})
	b.prog.roots = append([]*function{runtimeMain}, b.prog.roots...)

	var pkgs []string
	pkgs = append(pkgs, appAreas...)
	for i := 0; i < 60; i++ {
		pkgs = append(pkgs, fmt.Sprintf("pkg%02d", i))
	}
	for len(b.prog.funcs) < targetFunctions {
		name, file := b.appName(pkgs[b.rng.Intn(len(pkgs))])
		if strings.HasSuffix(name, ".func1") && len(b.prog.roots) < 40 {
			if f := b.addFunc(name, file, 0); f != nil {
				b.prog.roots = append(b.prog.roots, f)
			}
			continue
		}
		b.addFunc(name, file, 1+b.rng.Intn(maxLayer-1))
	}
}

// addSites gives every non-runtime function its allocation sites and call
// sites. A call site calls a function one or two layers deeper; some call
// sites carry one or two inlined frames of other functions. Functions in the
// deepest layer only allocate.
func (b *builder) addSites() {
	prog := b.prog
	prog.layers = make([][]*function, maxLayer+2)
	for _, f := range prog.funcs {
		if f.layer >= 0 {
			prog.layers[f.layer] = append(prog.layers[f.layer], f)
		}
	}
	for _, f := range prog.funcs {
		if f.layer < 0 || f.name == "runtime.main" {
			continue
		}
		for i, n := 0, 1+b.rng.Intn(2); i < n; i++ {
			f.allocs = append(f.allocs, &location{lines: []line{b.lineIn(f)}})
		}
		for i, n := 0, minCalls+b.rng.Intn(maxCalls-minCalls+1); i < n; i++ {
			layer := f.layer + 1
			if b.rng.Intn(100) < 15 {
				layer++
			}
			if layer >= maxLayer || len(prog.layers[layer]) == 0 {
				break
			}
			callees := prog.layers[layer]
			loc := &location{callee: callees[b.rng.Intn(len(callees))]}
			if b.rng.Intn(100) < inlinedPercent {
				for j, m := 0, 1+b.rng.Intn(2); j < m; j++ {
					helper := prog.funcs[b.rng.Intn(len(prog.funcs))]
					if helper.layer < 0 {
						continue
					}
					loc.lines = append(loc.lines, b.lineIn(helper))
				}
			}
			loc.lines = append(loc.lines, b.lineIn(f))
			f.calls = append(f.calls, loc)
		}
	}
}

// lineIn returns a position somewhere in the body of f.
func (b *builder) lineIn(f *function) line {
	return line{f, f.startLine + int64(1+b.rng.Intn(180))}
}

// layout numbers the locations and gives them addresses in the main
// mapping, function by function in ascending address order.
func (b *builder) layout() {
	prog := b.prog
	prog.start = 0x400000
	addr := prog.start + 0x1000
	for _, f := range prog.funcs {
		addr += uint64(0x20 + b.rng.Intn(0x200))
		for _, loc := range append(append([]*location{}, f.calls...), f.allocs...) {
			addr += uint64(0x8 + b.rng.Intn(0x60))
			loc.address = addr
			loc.id = uint64(len(prog.locs) + 1)
			prog.locs = append(prog.locs, loc)
		}
	}
	prog.limit = (addr + 0x100000) &^ 0xfff
}

// newProgram generates the imaginary program from rng.
func newProgram(rng *rand.Rand) *program {
	b := &builder{rng: rng, prog: &program{}, byName: map[string]*function{}}
	b.addRuntime()
	b.addLibraries()
	b.addApplication()
	b.addSites()
	b.layout()
	return b.prog
}

// newStack walks the call graph from a root to build one stack, leaf first,
// of about depth locations: call sites down to an allocation site, then
// (usually) one of the runtime's allocation chains.
func (p *program) newStack(rng *rand.Rand, depth int) []*location {
	var chain []*location
	if rng.Intn(100) < 80 {
		chain = p.chains[skewed(rng, len(p.chains))]
	}
	appDepth := depth - len(chain)
	if appDepth < 1 {
		appDepth = 1
	}
	frames := make([]*location, 0, depth) // root first
	f := p.roots[skewed(rng, len(p.roots))]
	for {
		if len(frames)+1 >= appDepth || len(f.calls) == 0 {
			if len(f.allocs) > 0 {
				frames = append(frames, f.allocs[rng.Intn(len(f.allocs))])
			}
			break
		}
		site := f.calls[skewed(rng, len(f.calls))]
		frames = append(frames, site)
		f = site.callee
	}
	stack := make([]*location, 0, len(chain)+len(frames))
	stack = append(stack, chain...)
	for i := len(frames) - 1; i >= 0; i-- {
		stack = append(stack, frames[i])
	}
	return stack
}

// objectSize picks an object size like Go's allocator reports: mostly
// small size classes, occasionally a large object.
func objectSize(rng *rand.Rand) int64 {
	if rng.Intn(100) < 2 {
		return largeSizes[rng.Intn(len(largeSizes))]
	}
	return goSizeClasses[skewed(rng, len(goSizeClasses))]
}

// sampleSet hands out samples whose stack and size differ from every
// sample made before, as in a real heap profile, where each sample is one
// (stack, size) bucket.
type sampleSet struct {
	prog *program
	rng  *rand.Rand
	seen map[string]bool
}

// next makes a new sample with a fresh (stack, size) pair and random
// sampled counts.
func (s *sampleSet) next() *sample {
	for {
		depth := minDepth + s.rng.Intn((maxDepth-minDepth)/2+1) + s.rng.Intn((maxDepth-minDepth)/2+1)
		stack := s.prog.newStack(s.rng, depth)
		if len(stack) < minDepth {
			continue
		}
		smp := &sample{stack: stack, size: objectSize(s.rng)}
		key := stackKey(smp)
		if s.seen[key] {
			continue
		}
		s.seen[key] = true
		// Counts are of sampled objects, one per 512 KiB allocated on
		// average, so they are small: most buckets hold no live sample.
		smp.allocCount = 1 + int64(math.Exp(s.rng.Float64()*4))
		if s.rng.Intn(100) < 12 {
			smp.inuseCount = 1 + s.rng.Int63n(2)
		}
		return smp
	}
}

// appendUint appends the 8 bytes of v to b.
func appendUint(b []byte, v uint64) []byte {
	for i := 0; i < 8; i++ {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

// evolve returns sample s as it might look in a later profile of the same
// process: more allocations, and more, fewer or no objects still in use.
func evolve(rng *rand.Rand, s *sample) *sample {
	c := *s
	c.allocCount += 1 + rng.Int63n(c.allocCount+1)
	switch r := rng.Intn(100); {
	case r < 15: // up
		c.inuseCount += 1 + rng.Int63n(2)
	case r < 45: // down
		c.inuseCount = rng.Int63n(c.inuseCount + 1)
	case r < 60: // zeroed
		c.inuseCount = 0
	}
	if c.inuseCount > c.allocCount {
		c.inuseCount = c.allocCount
	}
	return &c
}

// scaled converts a count of sampled objects of the given size into the
// estimated true object count and bytes, the way the Go runtime does for
// heap profiles: each object of size s was sampled with probability
// 1-exp(-s/rate), so counts are divided by that probability.
func scaled(count, size int64) (objects, bytes int64) {
	if count == 0 {
		return 0, 0
	}
	p := 1 - math.Exp(-float64(size)/samplingRate)
	return int64(float64(count) / p), int64(float64(count*size) / p)
}

// stringTable assigns indexes to the strings of one profile; index 0 is
// the empty string, as profile.proto requires.
type stringTable struct {
	index map[string]int64
	list  []string
}

// newStringTable returns a table holding only the empty string.
func newStringTable() *stringTable {
	return &stringTable{index: map[string]int64{"": 0}, list: []string{""}}
}

// id returns the index of s, adding it to the table if needed.
func (t *stringTable) id(s string) int64 {
	if i, ok := t.index[s]; ok {
		return i
	}
	i := int64(len(t.list))
	t.index[s] = i
	t.list = append(t.list, s)
	return i
}

// mapping is one memory mapping of the profiled process.
type mapping struct {
	start, limit  uint64
	file, buildID string
}

// encode returns the uncompressed profile.proto encoding of a Go heap
// profile holding samples, taken at timeNanos, with only the locations and
// functions that its samples use.
func encode(prog *program, samples []*sample, timeNanos int64, buildID string) []byte {
	st := newStringTable()
	w := &pbWriter{}

	valueType := func(field int, typ, unit string) {
		w.message(field, func() {
			w.int64Opt(1, st.id(typ))
			w.int64Opt(2, st.id(unit))
		})
	}
	valueType(1, "alloc_objects", "count")
	valueType(1, "alloc_space", "bytes")
	valueType(1, "inuse_objects", "count")
	valueType(1, "inuse_space", "bytes")

	usedLocs := make([]bool, len(prog.locs)+1)
	ids := make([]uint64, 0, maxDepth)
	values := make([]int64, 4)
	bytesKey := st.id("bytes")
	for _, s := range samples {
		ids = ids[:0]
		for _, loc := range s.stack {
			ids = append(ids, loc.id)
			usedLocs[loc.id] = true
		}
		values[0], values[1] = scaled(s.allocCount, s.size)
		values[2], values[3] = scaled(s.inuseCount, s.size)
		w.message(2, func() {
			w.packedUint64(1, ids)
			w.packedInt64(2, values)
			w.message(3, func() {
				w.int64Opt(1, bytesKey)
				w.int64Opt(3, s.size)
			})
		})
	}

	mappings := []mapping{
		{prog.start, prog.limit, "/usr/local/bin/svc", buildID},
		{0x7f3a9c400000, 0x7f3a9c5b5000, "/usr/lib/x86_64-linux-gnu/libc.so.6", "c047672cae7964324658491e7dee26748ae5d2f8"},
		{0x7ffd4e1f3000, 0x7ffd4e1f5000, "[vdso]", ""},
	}
	for i, m := range mappings {
		w.message(3, func() {
			w.uint64Opt(1, uint64(i+1))
			w.uint64Opt(2, m.start)
			w.uint64Opt(3, m.limit)
			w.int64Opt(5, st.id(m.file))
			w.int64Opt(6, st.id(m.buildID))
			w.boolOpt(7, true)
			w.boolOpt(8, true)
			w.boolOpt(9, true)
			w.boolOpt(10, true)
		})
	}

	usedFuncs := make([]bool, len(prog.funcs)+1)
	for _, loc := range prog.locs {
		if !usedLocs[loc.id] {
			continue
		}
		w.message(4, func() {
			w.uint64Opt(1, loc.id)
			w.uint64Opt(2, 1)
			w.uint64Opt(3, loc.address)
			for _, ln := range loc.lines {
				usedFuncs[ln.fn.id] = true
				w.message(4, func() {
					w.uint64Opt(1, ln.fn.id)
					w.int64Opt(2, ln.line)
				})
			}
		})
	}
	for _, f := range prog.funcs {
		if !usedFuncs[f.id] {
			continue
		}
		w.message(5, func() {
			w.uint64Opt(1, f.id)
			w.int64Opt(2, st.id(f.name))
			w.int64Opt(3, st.id(f.name))
			w.int64Opt(4, st.id(f.file))
			w.int64Opt(5, f.startLine)
		})
	}

	w.int64Opt(9, timeNanos)
	valueType(11, "space", "bytes")
	w.int64Opt(12, samplingRate)
	for _, s := range st.list {
		w.str(6, s)
	}
	return w.buf
}

// writeProfile encodes samples, gzips them into path, and reports the
// sizes on stderr.
func writeProfile(path string, prog *program, samples []*sample, timeNanos int64, buildID string) error {
	raw := encode(prog, samples, timeNanos, buildID)
	var zbuf bytes.Buffer
	zw := gzip.NewWriter(&zbuf)
	if _, err := zw.Write(raw); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(path, zbuf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s: %d samples, %d bytes uncompressed, %d bytes compressed\n",
		path, len(samples), len(raw), zbuf.Len())
	return nil
}

// usage prints how to run genprof.
func usage() {
	fmt.Fprintf(os.Stderr, "usage: genprof [-samples N] [-functions F] [-calls MIN-MAX] [-depth MIN-MAX] [-seed S] [-same] BASE.pb.gz CURRENT.pb.gz\n")
	flag.PrintDefaults()
}

// main generates the program and both profiles and writes them.
func main() {
	nSamples := flag.Int("samples", 60000, "number of samples in each profile")
	seed := flag.Int64("seed", 1, "random seed; the output depends only on it and the other flags")
	flag.IntVar(&targetFunctions, "functions", targetFunctions, "functions in the imaginary program")
	calls := flag.String("calls", fmt.Sprintf("%d-%d", minCalls, maxCalls), "call sites a function has, at least and at most")
	depth := flag.String("depth", fmt.Sprintf("%d-%d", minDepth, maxDepth), "locations a stack has, at least and at most")
	same := flag.Bool("same", false, "CURRENT has BASE's stacks in BASE's order, with other values")
	flag.Usage = usage
	flag.Parse()
	if flag.NArg() != 2 || *nSamples < 1 || targetFunctions < 100 ||
		!parseRange(*calls, &minCalls, &maxCalls, 0) ||
		!parseRange(*depth, &minDepth, &maxDepth, 1) {
		usage()
		os.Exit(2)
	}

	rng := rand.New(rand.NewSource(*seed))
	prog := newProgram(rng)
	buildID := fmt.Sprintf("%016x%016x%08x", rng.Uint64(), rng.Uint64(), rng.Uint32())

	set := &sampleSet{prog: prog, rng: rng, seen: map[string]bool{}}
	base := make([]*sample, *nSamples)
	for i := range base {
		base[i] = set.next()
	}

	current := make([]*sample, 0, *nSamples)
	for _, s := range base {
		if *same {
			current = append(current, evolve(rng, s))
		} else if rng.Intn(100) < sharedPercent {
			current = append(current, evolve(rng, s))
		}
	}
	for len(current) < *nSamples {
		current = append(current, set.next())
	}
	if !*same {
		rng.Shuffle(len(current), func(i, j int) { current[i], current[j] = current[j], current[i] })
	}

	fmt.Fprintf(os.Stderr, "program: %d functions, %d locations; %d of %d stacks shared\n",
		len(prog.funcs), len(prog.locs), countShared(base, current), len(base))
	if err := writeProfile(flag.Arg(0), prog, base, baseTimeNanos, buildID); err != nil {
		fmt.Fprintf(os.Stderr, "genprof: %v\n", err)
		os.Exit(1)
	}
	if err := writeProfile(flag.Arg(1), prog, current, baseTimeNanos+profileInterval, buildID); err != nil {
		fmt.Fprintf(os.Stderr, "genprof: %v\n", err)
		os.Exit(1)
	}
}

// parseRange reads "MIN-MAX" into lo and hi, which must be at least least.
func parseRange(s string, lo, hi *int, least int) bool {
	var a, b int
	if n, err := fmt.Sscanf(s, "%d-%d", &a, &b); n != 2 || err != nil ||
		a < least || b < a {
		return false
	}
	*lo, *hi = a, b
	return true
}

// countShared returns how many samples of current have a stack from base.
func countShared(base, current []*sample) int {
	keys := map[string]bool{}
	for _, s := range base {
		keys[stackKey(s)] = true
	}
	n := 0
	for _, s := range current {
		if keys[stackKey(s)] {
			n++
		}
	}
	return n
}

// stackKey identifies a sample by its stack and size.
func stackKey(s *sample) string {
	key := make([]byte, 0, 8*len(s.stack)+8)
	for _, loc := range s.stack {
		key = appendUint(key, loc.id)
	}
	return string(appendUint(key, uint64(s.size)))
}

// Protocol buffer wire types used by profile.proto.
const (
	wireVarint = 0
	wireBytes  = 2
)

// pbWriter appends protocol buffer fields, in wire format, to a byte slice.
// It knows only what profile.proto needs: varints, strings, packed repeated
// integers and nested messages.
type pbWriter struct {
	buf []byte
}

// uvarintLen returns how many bytes the varint encoding of v takes.
func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// uvarint appends v as a base-128 varint, low groups first.
func (w *pbWriter) uvarint(v uint64) {
	for v >= 0x80 {
		w.buf = append(w.buf, byte(v)|0x80)
		v >>= 7
	}
	w.buf = append(w.buf, byte(v))
}

// key appends the key of a field: its number and wire type.
func (w *pbWriter) key(field, wireType int) {
	w.uvarint(uint64(field)<<3 | uint64(wireType))
}

// uint64Opt appends a uint64 field, omitted when zero as proto3 allows.
func (w *pbWriter) uint64Opt(field int, v uint64) {
	if v == 0 {
		return
	}
	w.key(field, wireVarint)
	w.uvarint(v)
}

// int64Opt appends an int64 field (two's complement varint), omitted when
// zero.
func (w *pbWriter) int64Opt(field int, v int64) {
	w.uint64Opt(field, uint64(v))
}

// boolOpt appends a bool field, omitted when false.
func (w *pbWriter) boolOpt(field int, v bool) {
	if v {
		w.uint64Opt(field, 1)
	}
}

// str appends a string field; it is always written, even when empty,
// because the repeated string_table must keep its empty first entry.
func (w *pbWriter) str(field int, s string) {
	w.key(field, wireBytes)
	w.uvarint(uint64(len(s)))
	w.buf = append(w.buf, s...)
}

// packedUint64 appends a packed repeated uint64 field, omitted when empty.
func (w *pbWriter) packedUint64(field int, vs []uint64) {
	if len(vs) == 0 {
		return
	}
	n := 0
	for _, v := range vs {
		n += uvarintLen(v)
	}
	w.key(field, wireBytes)
	w.uvarint(uint64(n))
	for _, v := range vs {
		w.uvarint(v)
	}
}

// packedInt64 appends a packed repeated int64 field, omitted when empty.
func (w *pbWriter) packedInt64(field int, vs []int64) {
	if len(vs) == 0 {
		return
	}
	n := 0
	for _, v := range vs {
		n += uvarintLen(uint64(v))
	}
	w.key(field, wireBytes)
	w.uvarint(uint64(n))
	for _, v := range vs {
		w.uvarint(uint64(v))
	}
}

// message appends a nested message field whose body body writes. The body
// is written in place, then moved up to make room for the key and length,
// which are only known once it is complete.
func (w *pbWriter) message(field int, body func()) {
	start := len(w.buf)
	body()
	n := len(w.buf) - start

	var hdr pbWriter
	hdr.key(field, wireBytes)
	hdr.uvarint(uint64(n))

	w.buf = append(w.buf, hdr.buf...)
	copy(w.buf[start+len(hdr.buf):], w.buf[start:start+n])
	copy(w.buf[start:], hdr.buf)
}
