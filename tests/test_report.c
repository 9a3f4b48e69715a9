/* Unit tests for src/report.c: pprof's per-function numbers. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "report.h"
#include "tap.h"
#include "pbuild.h"

#define U(x)	((uint64_t)(x))
#define V(x)	((int64_t)(x))

static const struct report_fn *
fn(const struct report *r, const char *name)
{
	size_t	i;

	for (i = 0; i < r->nfns; i++)
		if (strcmp(r->fns[i].name, name) == 0)
			return &r->fns[i];
	return NULL;
}

#define FLAT(r, n)	(fn(r, n) ? fn(r, n)->flat : -999999)
#define CUM(r, n)	(fn(r, n) ? fn(r, n)->cum : -999999)

/* report_cum() must give report_top()'s functions, numbers and order. */
static void
same_as_top(const struct profile *p, const char *what)
{
	struct report	*r, *c;
	char		*cause = NULL;
	size_t		 i;
	bool		 same;

	r = report_top(p, 0, REPORT_BY_CUM, &cause);
	c = report_cum(p, 0, &cause);
	same = r != NULL && c != NULL && r->nfns == c->nfns &&
	    r->total == c->total && r->net == c->net;
	for (i = 0; same && i < r->nfns; i++)
		same = r->fns[i].node == c->fns[i].node &&
		    r->fns[i].name == c->fns[i].name &&
		    r->fns[i].flat == c->fns[i].flat &&
		    r->fns[i].cum == c->fns[i].cum;
	ok(same, "report_cum is report_top by cum: %s", what);
	report_free(c);
	report_free(r);
}

/* Recursion counts once in cum; inlined frames are frames of their own. */
static void
test_recursion_inline(void)
{
	struct pb	*b = pb_new();
	struct profile	*p;
	struct report	*r;
	uint64_t	 m, fa, fb, fm, fi, la1, la2, lb, lm, linl;
	char		*cause = NULL;

	pb_sample_type(b, "inuse_space", "bytes");
	m = pb_mapping(b, 0x1000, 0x9000, "/bin/t");
	fa = pb_func(b, "main.a", "a.go");
	fb = pb_func(b, "main.b", "b.go");
	fm = pb_func(b, "main.main", "m.go");
	fi = pb_func(b, "main.small", "s.go");
	la1 = pb_loc(b, m, 0x1100, 1, U(fa), V(5));
	la2 = pb_loc(b, m, 0x1200, 1, U(fa), V(6));
	lb = pb_loc(b, m, 0x1300, 1, U(fb), V(7));
	lm = pb_loc(b, m, 0x1400, 1, U(fm), V(8));
	/* main.small inlined into main.b: one location, two lines. */
	linl = pb_loc(b, m, 0x1500, 2, U(fi), V(3), U(fb), V(9));
	/* a -> b -> a -> a (leaf): a recurs three times. */
	pb_sample(b, 4, la1, la2, lb, la1, V(100));
	pb_sample(b, 3, lb, la1, lm, V(10));
	pb_sample(b, 2, linl, lm, V(1));
	p = pb_decode(b, NULL);
	r = report_top(p, 0, REPORT_BY_FLAT, &cause);
	is_int(r->total, 111, "total");
	is_int(r->net, 111, "net of a single profile");
	is_int(FLAT(r, "main.a"), 100, "flat of the recursive function");
	is_int(CUM(r, "main.a"), 110, "cum counts a recursive sample once");
	is_int(FLAT(r, "main.b"), 10, "flat of main.b");
	is_int(CUM(r, "main.b"), 111, "cum of main.b, inlined frame included");
	is_int(FLAT(r, "main.small"), 1, "inlined frame takes the flat");
	is_int(CUM(r, "main.main"), 11, "cum of main.main");
	is_int(FLAT(r, "main.main"), 0, "no flat for main.main");
	is_int(r->nfns, 4, "four functions");
	is_str(r->fns[0].name, "main.a", "flat order: largest first");
	is_str(r->fns[3].name, "main.main", "flat order: zero flat last");
	report_sites(r);
	is_str(fn(r, "main.a")->file, "a.go", "site file");
	is_int(fn(r, "main.a")->line, 5, "site line: where most passes");
	is_int(fn(r, "main.b")->line, 7, "site line of main.b");
	report_free(r);
	r = report_top(p, 0, REPORT_BY_CUM, &cause);
	is_str(r->fns[0].name, "main.b", "cum order: largest cum first");
	report_free(r);
	same_as_top(p, "recursion and inlining");
	profile_free(p);
	free(b);
}

/* Ties sort by name; nameless code is named by its binary. */
static void
test_order_names(void)
{
	struct pb	*b = pb_new();
	struct profile	*p;
	struct report	*r;
	uint64_t	 m, fz, fy, lz, ly, lnone, lanon;
	char		*cause = NULL;

	pb_sample_type(b, "goroutine", "count");
	m = pb_mapping(b, 0x1000, 0x9000, "/usr/lib/libc.so.6");
	fz = pb_func(b, "zeta", "z.c");
	fy = pb_func(b, "", "y.c");
	lz = pb_loc(b, m, 0x1100, 1, U(fz), V(1));
	ly = pb_loc(b, m, 0x1200, 1, U(fy), V(2));
	lnone = pb_loc(b, m, 0x1300, 0);
	lanon = pb_loc(b, 0, 0x5, 0);
	pb_sample(b, 1, lz, V(5));
	pb_sample(b, 1, ly, V(5));
	pb_sample(b, 1, lnone, V(-3));
	pb_sample(b, 1, lanon, V(2));
	p = pb_decode(b, NULL);
	r = report_top(p, 0, REPORT_BY_FLAT, &cause);
	/* The nameless function and the location without lines are one
	 * node to pprof: both are known only by their binary. */
	is_int(r->nfns, 3, "three nodes");
	is_str(r->fns[0].name, "zeta", "largest flat first");
	is_str(r->fns[1].name, "<unknown>", "equal flat: by name");
	is_str(r->fns[2].name, "[libc.so.6]", "nameless code by binary");
	is_int(r->fns[2].flat, 2, "negative values summed in");
	is_int(r->total, 15, "total is the sum of absolute values");
	is_int(r->net, 9, "net is the signed sum");
	report_free(r);
	same_as_top(p, "ties, nameless code, negative values");
	profile_free(p);
	free(b);
}

/* A diff merges samples by stack and labels before taking the total. */
static void
test_diff(void)
{
	struct symtab	*st = symtab_new();
	struct pb	*b = pb_heap(), *c = pb_heap();
	struct profile	*pb_, *pc;
	struct report	*r;
	uint64_t	 m, fl, fm, fg, l1, l2, l3;
	char		*cause = NULL;

	m = pb_mapping(b, 0x400000, 0x800000, "/bin/svc");
	fl = pb_func(b, "main.leak", "leak.go");
	fm = pb_func(b, "main.main", "main.go");
	l1 = pb_loc(b, m, 0x401000, 1, U(fl), V(10));
	l2 = pb_loc(b, m, 0x402000, 1, U(fm), V(20));
	pb_sample(b, 2, l1, l2, V(0), V(0), V(1), V(100));
	pb_label(b, "bytes", NULL, 100, NULL);
	pb_sample(b, 1, l2, V(0), V(0), V(1), V(50));

	/* The current profile: same code mapped elsewhere, ids shuffled. */
	m = pb_mapping(c, 0x500000, 0x900000, "/bin/svc");
	fg = pb_func(c, "main.grown", "grown.go");
	fm = pb_func(c, "main.main", "main.go");
	fl = pb_func(c, "main.leak", "leak.go");
	l2 = pb_loc(c, m, 0x502000, 1, U(fm), V(20));
	l1 = pb_loc(c, m, 0x501000, 1, U(fl), V(10));
	l3 = pb_loc(c, m, 0x503000, 1, U(fg), V(30));
	pb_sample(c, 2, l1, l2, V(0), V(0), V(1), V(300));
	pb_label(c, "bytes", NULL, 100, NULL);
	/* Same stack, other label: a different sample to pprof. */
	pb_sample(c, 2, l1, l2, V(0), V(0), V(1), V(7));
	pb_label(c, "bytes", NULL, 200, NULL);
	pb_sample(c, 2, l3, l2, V(0), V(0), V(1), V(40));

	pc = pb_decode(c, st);
	pb_ = pb_decode(b, st);
	r = report_diff(pb_, pc, 3, REPORT_BY_FLAT, &cause);
	ok(r != NULL, "diff computes");
	is_int(FLAT(r, "main.leak"), 207, "growth of main.leak");
	is_int(FLAT(r, "main.main"), -50, "shrinkage of main.main");
	is_int(CUM(r, "main.main"), 197, "cum of main.main");
	is_int(FLAT(r, "main.grown"), 40, "new function");
	/* Merged: (leak,bytes=100) 200, (leak,bytes=200) 7, grown 40,
	 * main alone -50. */
	is_int(r->total, 297, "total over merged samples");
	is_int(r->net, 197, "net growth");
	/*
	 * The diff's call tree: widths the absolute change, deltas signed,
	 * so main.main's own -50 shows as what its callees do not explain.
	 */
	{
		struct report_node	*t;
		size_t			 n, i, k;
		int64_t			 own;

		t = report_tree(r, &n);
		is_int(t[0].value, 297, "tree: the root's width is the total");
		is_int(t[0].delta, 197, "tree: the root's delta is the net");
		for (i = 1; i < n && strcmp(t[i].name, "main.main") != 0; i++)
			;
		ok(i < n && t[i].depth == 1, "tree: main.main under the root");
		if (i < n) {
			is_int(t[i].value, 297, "tree: main.main's width");
			own = t[i].delta;
			for (k = t[i].child; k != 0; k = t[k].next)
				own -= t[k].delta;
			is_int(own, -50, "tree: main.main's own delta shrank");
			is_str(t[i].file, "main.go", "tree: main.main's file");
			is_int(t[i].line, 20, "tree: main.main's line");
			k = t[i].child;
			is_str(k != 0 ? t[k].name : NULL, "main.leak",
			    "tree: the widest child first");
			is_int(k != 0 ? t[k].delta : 0, 207,
			    "tree: main.leak grew 207");
		}
		free(t);
	}
	report_free(r);

	/* A profile with other sample types cannot be diffed. */
	{
		struct pb	*g = pb_new();
		struct profile	*pg;

		pb_sample_type(g, "goroutine", "count");
		pg = pb_decode(g, st);
		r = report_diff(pg, pc, 0, REPORT_BY_FLAT, &cause);
		ok(r == NULL && cause != NULL &&
		    strstr(cause, "incompatible") != NULL,
		    "incompatible profiles refused");
		free(cause);
		profile_free(pg);
		free(g);
	}
	profile_free(pb_);
	profile_free(pc);
	symtab_free(st);
	free(b);
	free(c);
}

/* Equal samples cancel: a diff of a profile with itself is empty. */
static void
test_self_diff(void)
{
	struct symtab	*st = symtab_new();
	struct pb	*b = pb_heap();
	struct profile	*p1, *p2;
	struct report	*r;
	uint64_t	 m, f, l;
	char		*cause = NULL;

	m = pb_mapping(b, 0x400000, 0x800000, "/bin/svc");
	f = pb_func(b, "main.x", "x.go");
	l = pb_loc(b, m, 0x401000, 1, U(f), V(1));
	pb_sample(b, 1, l, V(1), V(2), V(3), V(4));
	pb_label(b, "tenant", "a", 0, NULL);
	p1 = pb_decode(b, st);
	p2 = pb_decode(b, st);
	/* Durations add as Go's int64s do, wrapping. */
	p1->duration_nanos = INT64_MAX;
	p2->duration_nanos = 2;
	r = report_diff(p1, p2, 3, REPORT_BY_FLAT, &cause);
	is_int(r->nfns, 0, "no function in a self-diff");
	is_int(r->total, 0, "zero total in a self-diff");
	ok(r->duration_nanos == INT64_MIN + 1,
	    "a diff's duration is the sum, wrapped as Go's");
	report_free(r);
	profile_free(p1);
	profile_free(p2);
	symtab_free(st);
	free(b);
}

/*
 * A profile with no samples nor locations, decoded into a shared symbol
 * table (which sizes nothing ahead), has no report node: its reports are
 * empty, the node table, never made, not offset.
 */
static void
test_no_nodes(void)
{
	struct symtab	*st = symtab_new();
	struct pb	*b = pb_heap();
	struct profile	*p;
	struct report	*r = NULL;
	char		*cause = NULL;

	if ((p = pb_decode(b, st)) != NULL)
		r = report_top(p, 3, REPORT_BY_CUM, &cause);
	ok(r != NULL && r->nfns == 0 && r->total == 0,
	    "a profile of no samples reports no function");
	report_free(r);
	profile_free(p);
	symtab_free(st);
	free(cause);
	free(b);
}

int
main(void)
{
	test_recursion_inline();
	test_order_names();
	test_diff();
	test_self_diff();
	test_no_nodes();
	return tap_done();
}
