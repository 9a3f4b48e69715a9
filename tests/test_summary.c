/* Unit tests for src/summary.c: what is kept of each snapshot. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "report.h"
#include "summary.h"
#include "tap.h"
#include "pbuild.h"

#define U(x)	((uint64_t)(x))
#define V(x)	((int64_t)(x))

/*
 * Names come and go as functions do: a name dropped by its last holder is
 * gone (its hash slot freed without breaking the probe chains of the
 * others), and its id serves the next new name.
 */
static void
names_churn(void)
{
	struct names	*nm = summary_names_new();
	char		 name[32];
	uint32_t	 id[2000], again;
	bool		 found = true, gone = true, same = true;
	int		 i;

	for (i = 0; i < 2000; i++) {
		snprintf(name, sizeof name, "pkg.f%d", i);
		id[i] = summary_names_add(nm, name);
	}
	for (i = 0; i < 2000; i += 2)
		summary_names_drop(nm, id[i]);
	is_int(summary_names_count(nm), 1000, "half of 2,000 names dropped");
	for (i = 0; i < 2000; i++) {
		snprintf(name, sizeof name, "pkg.f%d", i);
		if (i % 2 == 1 && (summary_names_refs(nm, name) != 1 ||
		    strcmp(summary_names_get(nm, id[i]), name) != 0))
			found = false;
		if (i % 2 == 0 && summary_names_refs(nm, name) != 0)
			gone = false;
	}
	ok(found, "every name still held is found, under its id");
	ok(gone, "no dropped name is");
	for (i = 1; i < 2000; i += 2) {
		snprintf(name, sizeof name, "pkg.f%d", i);
		if ((again = summary_names_add(nm, name)) != id[i])
			same = false;
		summary_names_drop(nm, again);
	}
	ok(same, "adding a held name gives its id");
	again = summary_names_add(nm, "pkg.new");
	ok(again < 2000 && again % 2 == 0, "a new name takes a freed id: %u",
	    again);
	summary_names_drop(nm, again);
	for (i = 1; i < 2000; i += 2)
		summary_names_drop(nm, id[i]);
	is_int(summary_names_count(nm), 0, "all dropped, none is left");
	summary_names_free(nm);
}

/*
 * The functions a summary keeps, against the rule read off the sorted
 * report: the SUMMARY_BY_OWN largest own values, of equal ones the first
 * in the report (by cum), then the first SUMMARY_BY_CUM others in the
 * report with a cum. Own values and cums tie often here, so that the
 * report's order (cum, then name, then flat) decides.
 */
static void
ties(void)
{
	struct pb	*b = pb_heap();
	struct profile	*p;
	struct report	*r;
	struct summary	*s;
	struct names	*nm = summary_names_new();
	static char	 names[200][16];
	const char	*want[SUMMARY_BY_OWN + SUMMARY_BY_CUM];
	int64_t		 wown[SUMMARY_BY_OWN + SUMMARY_BY_CUM];
	uint64_t	 m, fmain, fmid[20], f, lmain, lmid[20], l;
	size_t		 i, j, n, nw = 0;
	bool		 same, taken[200];
	char		*cause = NULL;

	m = pb_mapping(b, 0x400000, 0x800000, "/bin/svc");
	fmain = pb_func(b, "main.main", "main.go");
	lmain = pb_loc(b, m, 0x400100, 1, U(fmain), V(1));
	for (i = 0; i < 20; i++) {
		snprintf(names[150 + i], sizeof names[0], "mid.m%02zu",
		    (i * 7) % 20);
		fmid[i] = pb_func(b, names[150 + i], "mid.go");
		lmid[i] = pb_loc(b, m, 0x400200 + i * 16, 1, U(fmid[i]), V(2));
	}
	for (i = 0; i < 150; i++) {
		snprintf(names[i], sizeof names[0], "leaf.f%03zu",
		    (i * 37) % 150);
		f = pb_func(b, names[i], "leaf.go");
		l = pb_loc(b, m, 0x401000 + i * 16, 1, U(f), V(3));
		/* Own values of five sizes; the mids' cums tie in pairs. */
		pb_sample(b, 3, l, lmid[i % 20], lmain, V(1), V(1), V(1),
		    V((i * 7) % 5 + 1));
	}
	p = pb_decode(b, NULL);
	free(b);
	r = report_cum(p, 3, &cause);
	memset(taken, 0, sizeof taken);
	for (n = 0; n < SUMMARY_BY_OWN; n++) {
		for (i = 0, j = r->nfns; i < r->nfns; i++)
			if (!taken[i] && r->fns[i].flat > 0 && (j == r->nfns ||
			    r->fns[i].flat > r->fns[j].flat))
				j = i;
		if (j == r->nfns)
			break;
		taken[j] = true;
		want[nw] = r->fns[j].name;
		wown[nw++] = r->fns[j].flat;
	}
	for (i = 0, n = 0; i < r->nfns && n < SUMMARY_BY_CUM; i++)
		if (!taken[i] && r->fns[i].cum > 0) {
			want[nw] = r->fns[i].name;
			wown[nw++] = r->fns[i].flat;
			n++;
		}
	s = summary_make(p, "heap", "1", 1, nm, &cause);
	same = s != NULL && s->fns->n == nw;
	for (i = 0; same && i < nw; i++)
		same = strcmp(summary_names_get(nm, s->fns->name[i]),
		    want[i]) == 0 && s->fns->own[i] == wown[i];
	ok(same, "ties: the functions kept, in the sorted report's order");
	summary_free(s);
	report_free(r);
	profile_free(p);
	summary_names_free(nm);
}

int
main(void)
{
	struct pb	*b = pb_heap();
	struct profile	*p;
	struct summary	*s, *s2;
	struct names	*nm = summary_names_new(), *other;
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
	is_int(s->fns->n, 2, "both functions kept");
	is_str(summary_names_get(nm, s->fns->name[0]), "main.leak",
	    "the largest flat first");
	is_int(s->fns->own[0], 400, "its own value");
	ok(s->fns->cum == NULL, "a heap summary keeps no cum: its own "
	    "values are judged");
	is_str(s->id, "1700000000000", "the snapshot id");
	is_int(summary_names_count(nm), 2, "its two names are held");
	summary_free(s);
	is_int(summary_names_count(nm), 0, "and given back when it is freed");
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
	is_int(s->fns->n, SUMMARY_BY_OWN + SUMMARY_BY_CUM, "the caps by flat "
	    "and by cum");
	is_str(summary_names_get(nm, s->fns->name[0]), "main.f099",
	    "largest first");
	is_str(summary_names_get(nm, s->fns->name[SUMMARY_BY_OWN]),
	    "main.main", "the caller with no flat, first by its cum");
	is_int(summary_names_count(nm), SUMMARY_BY_OWN + SUMMARY_BY_CUM,
	    "each name kept once");
	s2 = summary_make(p, "heap", "3", 3, nm, &cause);
	is_int(summary_names_count(nm), SUMMARY_BY_OWN + SUMMARY_BY_CUM,
	    "a second summary of the same functions adds no name");
	ok(s2->fns->name[0] == s->fns->name[0] &&
	    summary_names_refs(nm, "main.f099") == 2,
	    "it holds the same id, twice referenced");
	ok(summary_share(s2, s) && s2->fns == s->fns && s->fns->refs == 2,
	    "the same functions are shared rather than kept twice");
	ok(summary_names_refs(nm, "main.f099") == 1,
	    "... with one reference to their names");
	summary_free(s);
	ok(summary_names_refs(nm, "main.f099") == 1 &&
	    summary_names_count(nm) == SUMMARY_BY_OWN + SUMMARY_BY_CUM,
	    "freeing one leaves the other's names");
	other = summary_names_new();
	summary_rename(s2, other);
	ok(s2->names == other && summary_names_count(nm) == 0 &&
	    summary_names_count(other) == SUMMARY_BY_OWN + SUMMARY_BY_CUM &&
	    strcmp(summary_names_get(other, s2->fns->name[0]),
	    "main.f099") == 0, "renamed, its names move to the other table");
	summary_free(s2);
	is_int(summary_names_count(other), 0, "... and leave it when freed");
	summary_names_free(other);
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
	is_str(summary_names_get(nm, s->fns->name[0]), "main.worker.func1",
	    "parked goroutines count to the function they run");
	is_int(s->fns->own[0], 30, "its goroutines");
	ok(s->fns->cum != NULL && s->fns->cum[0] == 30,
	    "a goroutine summary keeps the cum that tells the traffic");
	is_str(summary_names_get(nm, s->fns->name[1]), "runtime.gopark",
	    "a stack all in the runtime counts to its innermost frame");
	summary_free(s);
	profile_free(p);
	summary_names_free(nm);
	names_churn();
	ties();
	return tap_done();
}
