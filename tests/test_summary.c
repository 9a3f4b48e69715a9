/* Unit tests for src/summary.c: what is kept of each snapshot. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "summary.h"
#include "tap.h"
#include "pbuild.h"

#define U(x)	((uint64_t)(x))
#define V(x)	((int64_t)(x))

int
main(void)
{
	struct pb	*b = pb_heap();
	struct profile	*p;
	struct summary	*s;
	struct names	*nm = summary_names_new();
	uint64_t	 m, fl, fm, l1, l2;
	char		*cause = NULL;
	static char	 fnames[100][16];	/* the builder keeps pointers */
	int		 i;

	m = pb_mapping(b, 0x400000, 0x800000, "/bin/svc");
	fl = pb_func(b, "main.leak", "leak.go");
	fm = pb_func(b, "main.main", "main.go");
	l1 = pb_loc(b, m, 0x401000, 1, U(fl), V(3));
	l2 = pb_loc(b, m, 0x402000, 1, U(fm), V(9));
	pb_sample(b, 2, l1, l2, V(10), V(1000), V(4), V(400));
	pb_sample(b, 1, l2, V(1), V(100), V(1), V(100));
	p = pb_decode(b, NULL);
	free(b);
	s = summary_make(p, "heap", "1700000000000", 1700000000000, nm,
	    &cause);
	ok(s != NULL, "a heap profile is summarised");
	is_int(s->total, 500, "total in-use bytes");
	is_int(s->objects, 5, "in-use objects");
	is_int(s->alloc, 1100, "bytes allocated since start");
	is_int(s->nfns, 2, "both functions kept");
	is_str(summary_names_get(nm, s->fns[0].name), "main.leak",
	    "the largest flat first");
	is_int(s->fns[0].own, 400, "its own value");
	is_int(s->fns[1].cum, 500, "main.main's cum");
	is_str(s->id, "1700000000000", "the snapshot id");
	summary_free(s);
	s = summary_make(p, "goroutine", "1", 1, nm, &cause);
	ok(s == NULL && strstr(cause, "not a goroutine profile") != NULL,
	    "a heap profile is not a goroutine one");
	free(cause);
	profile_free(p);

	/* Many functions: the largest flats, then the largest cums. */
	b = pb_heap();
	m = pb_mapping(b, 0x400000, 0x800000, "/bin/svc");
	fm = pb_func(b, "main.main", "main.go");
	l2 = pb_loc(b, m, 0x402000, 1, U(fm), V(9));
	for (i = 0; i < 100; i++) {
		snprintf(fnames[i], sizeof fnames[i], "main.f%03d", i);
		fl = pb_func(b, fnames[i], "f.go");
		l1 = pb_loc(b, m, 0x410000 + i * 16, 1, U(fl), V(1));
		pb_sample(b, 2, l1, l2, V(1), V(i + 1), V(1), V(i + 1));
	}
	p = pb_decode(b, NULL);
	free(b);
	s = summary_make(p, "heap", "2", 2, nm, &cause);
	is_int(s->nfns, SUMMARY_BY_OWN + SUMMARY_BY_CUM, "the caps by flat "
	    "and by cum");
	is_str(summary_names_get(nm, s->fns[0].name), "main.f099",
	    "largest first");
	is_str(summary_names_get(nm, s->fns[SUMMARY_BY_OWN].name), "main.main",
	    "the caller with no flat, first by its cum");
	/* main.leak and main.main, then 95 of the f's: main.main again. */
	is_int(summary_names_count(nm), 2 + SUMMARY_BY_OWN + SUMMARY_BY_CUM - 1,
	    "each name kept once across summaries");
	summary_free(s);
	profile_free(p);

	/* Goroutines parked in the runtime count to the code they run. */
	b = pb_new();
	pb_sample_type(b, "goroutine", "count");
	m = pb_mapping(b, 0x400000, 0x800000, "/bin/svc");
	fl = pb_func(b, "runtime.gopark", "proc.go");
	fm = pb_func(b, "runtime.chanrecv", "chan.go");
	{
		uint64_t fw = pb_func(b, "main.worker.func1", "main.go");
		uint64_t fg = pb_func(b, "runtime.goexit", "asm.s");
		uint64_t la = pb_loc(b, m, 0x401000, 1, U(fl), V(1));
		uint64_t lb = pb_loc(b, m, 0x402000, 1, U(fm), V(2));
		uint64_t lc = pb_loc(b, m, 0x403000, 1, U(fw), V(3));
		uint64_t ld = pb_loc(b, m, 0x404000, 1, U(fg), V(4));

		pb_sample(b, 4, la, lb, lc, ld, V(30));
		pb_sample(b, 2, la, ld, V(2));	/* all runtime */
	}
	p = pb_decode(b, NULL);
	free(b);
	s = summary_make(p, "goroutine", "3", 3, nm, &cause);
	is_int(s->total, 32, "goroutines counted");
	is_str(summary_names_get(nm, s->fns[0].name), "main.worker.func1",
	    "parked goroutines count to the function they run");
	is_int(s->fns[0].own, 30, "its goroutines");
	is_str(summary_names_get(nm, s->fns[1].name), "runtime.gopark",
	    "a stack all in the runtime counts to its innermost frame");
	summary_free(s);
	profile_free(p);
	summary_names_free(nm);
	return tap_done();
}
