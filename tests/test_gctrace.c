/*
 * Unit tests for src/gctrace.c: the lines Go 1.19 printed for the
 * program in tests/gctrace/gen, lines of older layouts, prefixes, and
 * every way a line can be cut or spoiled.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gctrace.h"
#include "tap.h"

/* Parse a copy of exactly len bytes, so that ASan sees any overread. */
static enum gctrace_result
parse_exact(const char *s, size_t len, struct gctrace *t)
{
	enum gctrace_result	 r;
	char			*copy;

	if ((copy = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(copy, s, len);
	r = gctrace_parse(copy, len, t);
	free(copy);
	return r;
}

static enum gctrace_result
parse(const char *s, struct gctrace *t)
{
	return parse_exact(s, strlen(s), t);
}

/* A line parses, and formats back to the same struct. */
static bool
round_trips(const struct gctrace *t)
{
	struct gctrace	u;
	char		buf[1024];
	int		n;

	n = gctrace_format(t, buf, sizeof buf);
	if (n < 0 || (size_t)n >= sizeof buf)
		return false;
	if (gctrace_parse(buf, (size_t)n, &u) != GCTRACE_OK)
		return false;
	u.prefix = t->prefix;
	return memcmp(t, &u, sizeof u) == 0;
}

/*
 * A fixture written by Go: every "gc " line parses and formats back to
 * its exact text, every other line is GCTRACE_NONE, and the numbers
 * follow each other from 1.
 */
static void
fixture(const char *name, int want_gc, int want_other)
{
	struct gctrace	 t;
	enum gctrace_seq seq;
	FILE		*f;
	const char	*top;
	char		 path[4096], line[1024], again[1024];
	size_t		 len;
	uint64_t	 last = 0;
	bool		 have = false, texts = true, trips = true;
	bool		 nexts = true, others = true;
	int		 ngc = 0, nother = 0, n;

	if ((top = getenv("top_srcdir")) == NULL)
		top = ".";
	snprintf(path, sizeof path, "%s/tests/gctrace/%s", top, name);
	if ((f = fopen(path, "r")) == NULL) {
		ok(0, "%s: open %s", name, path);
		return;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		len = strlen(line);
		if (strncmp(line, "gc ", 3) != 0) {
			nother++;
			if (parse_exact(line, len, &t) != GCTRACE_NONE) {
				others = false;
				printf("#   not NONE: %s", line);
			}
			continue;
		}
		ngc++;
		if (parse_exact(line, len, &t) != GCTRACE_OK) {
			texts = false;
			printf("#   not OK: %s", line);
			continue;
		}
		while (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		n = gctrace_format(&t, again, sizeof again);
		if (n != (int)len || strcmp(again, line) != 0) {
			texts = false;
			printf("#   got  %s\n#   want %s\n", again, line);
		}
		if (!round_trips(&t))
			trips = false;
		seq = gctrace_sequence(have, last, t.gc);
		if (have ? seq != GCTRACE_SEQ_NEXT || t.gc != last + 1 :
		    seq != GCTRACE_SEQ_FIRST || t.gc != 1)
			nexts = false;
		have = true;
		last = t.gc;
	}
	fclose(f);
	is_int(ngc, want_gc, "%s: %d gc lines", name, want_gc);
	is_int(nother, want_other, "%s: %d other lines", name, want_other);
	ok(texts, "%s: every gc line parses and formats to its own text",
	    name);
	ok(trips, "%s: every gc line round-trips as a struct", name);
	ok(nexts, "%s: collections numbered 1, 2, ... with no repeat",
	    name);
	ok(others, "%s: program, scav and pacer lines are not gctrace",
	    name);
}

/*
 * The hand-made seeds of the fuzzer (older layouts, a logger's prefix,
 * lines of other GODEBUG traces and of Go 1.4) parse as they should.
 */
static void
handmade(void)
{
	struct gctrace	 t;
	FILE		*f;
	const char	*top;
	char		 path[4096], line[1024];
	int		 nok = 0, nnone = 0, nother = 0, ntrip = 0;

	if ((top = getenv("top_srcdir")) == NULL)
		top = ".";
	snprintf(path, sizeof path, "%s/tests/gctrace/handmade-older.txt",
	    top);
	if ((f = fopen(path, "r")) == NULL) {
		ok(0, "open %s", path);
		return;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		switch (parse(line, &t)) {
		case GCTRACE_OK:
			nok++;
			if (round_trips(&t))
				ntrip++;
			break;
		case GCTRACE_NONE:
			nnone++;
			break;
		default:
			nother++;
		}
	}
	fclose(f);
	ok(nok == 5 && ntrip == 5 && nnone == 3 && nother == 0,
	    "hand-made lines: 5 parse and round-trip, 3 are not gctrace "
	    "(%d, %d, %d, %d)", nok, ntrip, nnone, nother);
}

/* Every field of one Go 1.19 line. */
static void
fields_go119(void)
{
	struct gctrace	t;
	const char	*s = "gc 7 @0.275s 8%: 0.023+10+0.006 ms clock, "
	    "0.046+0.15/4.8/3.6+0.013 ms cpu, 200->269->190 MB, "
	    "245 MB goal, 50 MB stacks, 16 MB globals, 2 P\n";

	is_int(parse(s, &t), GCTRACE_OK, "go1.19 line parses");
	is_int(t.prefix, 0, "no prefix");
	is_int(t.gc, 7, "gc number");
	is_int(t.at_ms, 275, "@ seconds in ms");
	is_int(t.cpu_percent, 8, "cpu percent");
	is_int(t.layout, GCTRACE_LAYOUT_CLOCK3, "three-phase layout");
	is_int(t.nclock, 3, "3 clock phases");
	is_int(t.clock_us[0], 23, "clock[0]");
	is_int(t.clock_us[1], 10000, "clock[1]");
	is_int(t.clock_us[2], 6, "clock[2]");
	is_int(t.clock_sweep_term_us, 23, "sweep termination wall clock");
	is_int(t.clock_mark_us, 10000, "concurrent mark wall clock");
	is_int(t.clock_mark_term_us, 6, "mark termination wall clock");
	is_int(t.ncpu, 5, "5 cpu times");
	ok(t.cpu_sep[1] == '+' && t.cpu_sep[2] == '/' &&
	    t.cpu_sep[3] == '/' && t.cpu_sep[4] == '+', "cpu separators");
	is_int(t.cpu_sweep_term_us, 46, "sweep termination cpu");
	is_int(t.cpu_assist_us, 150, "assist cpu");
	is_int(t.cpu_background_us, 4800, "background cpu");
	is_int(t.cpu_idle_us, 3600, "idle cpu");
	is_int(t.cpu_mark_term_us, 13, "mark termination cpu");
	is_int(t.heap_start_mb, 200, "heap at start, MB");
	is_int(t.heap_marked_mb, 269, "heap at mark end, MB");
	is_int(t.heap_live_mb, 190, "live heap, MB");
	is_int(t.heap_start, 200LL << 20, "heap at start, bytes");
	is_int(t.heap_marked, 269LL << 20, "heap at mark end, bytes");
	is_int(t.heap_live, 190LL << 20, "live heap, bytes");
	is_int(t.goal_mb, 245, "goal, MB");
	is_int(t.goal, 245LL << 20, "goal, bytes");
	ok(t.has_stacks && t.has_globals, "stacks and globals present");
	is_int(t.stacks_mb, 50, "stacks, MB");
	is_int(t.stacks, 50LL << 20, "stacks, bytes");
	is_int(t.globals_mb, 16, "globals, MB");
	is_int(t.globals, 16LL << 20, "globals, bytes");
	is_int(t.procs, 2, "P count");
	ok(!t.forced, "not forced");

	s = "gc 1 @0.034s 1%: 0.030+6.7+0.004 ms clock, "
	    "0.060+0/1.5/8.4+0.009 ms cpu, 0->0->0 MB, 16 MB goal, "
	    "50 MB stacks, 16 MB globals, 2 P (forced)";
	is_int(parse(s, &t), GCTRACE_OK, "forced go1.19 line parses");
	ok(t.forced, "forced");
	is_int(t.cpu_assist_us, 0, "a bare 0 ms");
	is_int(t.clock_mark_us, 6700, "one decimal");
}

/* Layouts of older releases. */
static void
older(void)
{
	struct gctrace	t;

	/* Go 1.7 to 1.17: no stacks, no globals. */
	is_int(parse("gc 1 @4.248s 0%: 0.018+15+0.006 ms clock, "
	    "0.075+31/15/0+0.024 ms cpu, 4->4->0 MB, 5 MB goal, 4 P", &t),
	    GCTRACE_OK, "line without stacks and globals parses");
	ok(!t.has_stacks && !t.has_globals && t.stacks == 0 &&
	    t.globals == 0, "stacks and globals marked absent");
	is_int(t.at_ms, 4248, "@4.248s");
	is_int(t.cpu_assist_us, 31000, "assist 31 ms");
	is_int(t.cpu_idle_us, 0, "idle 0");
	is_int(t.goal_mb, 5, "goal");
	is_int(t.procs, 4, "4 P");
	ok(round_trips(&t), "round-trips");

	is_int(parse("gc 1331 @1234.567s 12%: 1.2+340+0.5 ms clock, "
	    "9.6+220/1200/3.1+4.0 ms cpu, 10240->10496->5120 MB, "
	    "10752 MB goal, 48 P (forced)", &t), GCTRACE_OK,
	    "large forced line without stacks parses");
	ok(t.forced && t.heap_live == 5120ULL << 20 && t.procs == 48 &&
	    t.gc == 1331 && t.at_ms == 1234567 && t.cpu_percent == 12,
	    "its values");

	/* Go 1.5: five clock phases, a+b+c+d/e/f+g cpu. */
	is_int(parse("gc 12 @2.051s 3%: 0.11+1.3+0.024+2.9+0.34 ms clock, "
	    "0.44+1.3+0+0.51/2.4/0.73+1.3 ms cpu, 9->9->5 MB, 10 MB goal, "
	    "4 P", &t), GCTRACE_OK, "Go 1.5 line parses");
	is_int(t.layout, GCTRACE_LAYOUT_CLOCK5, "five-phase layout");
	is_int(t.nclock, 5, "5 clock phases");
	is_int(t.ncpu, 7, "7 cpu times");
	is_int(t.clock_sweep_term_us, 110, "sweep termination");
	is_int(t.clock_mark_us, 1300 + 24 + 2900, "concurrent phases summed");
	is_int(t.clock_mark_term_us, 340, "mark termination");
	is_int(t.cpu_assist_us, 510, "assist");
	is_int(t.cpu_background_us, 2400, "background");
	is_int(t.cpu_idle_us, 730, "idle");
	is_int(t.cpu_mark_term_us, 1300, "mark termination cpu");
	ok(round_trips(&t), "round-trips");

	/* Phase lists of a shape no release printed: kept, not named. */
	is_int(parse("gc 3 @0.100s 1%: 1+2 ms clock, 3/4 ms cpu, "
	    "1->2->1 MB, 4 MB goal, 1 P", &t), GCTRACE_OK,
	    "unknown phase layout parses");
	ok(t.layout == GCTRACE_LAYOUT_OTHER && t.nclock == 2 &&
	    t.ncpu == 2 && t.cpu_sep[1] == '/' && t.clock_mark_us == 0 &&
	    t.heap_live_mb == 1, "kept in the arrays only");
	ok(round_trips(&t), "round-trips");
}

/* A logger's prefix before "gc N @". */
static void
prefixes(void)
{
	struct gctrace	 t;
	const char	*body = "gc 12 @30.001s 0%: 0.010+0.50+0.003 ms "
	    "clock, 0.020+0.1/0.2/0.3+0.006 ms cpu, 8->9->4 MB, 9 MB goal, "
	    "0 MB stacks, 0 MB globals, 8 P";
	char		 s[512];

	snprintf(s, sizeof s, "Nov 27 14:20:23 host api[812]: %s\n", body);
	is_int(parse(s, &t), GCTRACE_OK, "journald prefix accepted");
	is_int(t.prefix, strlen("Nov 27 14:20:23 host api[812]: "),
	    "prefix length");
	is_int(t.gc, 12, "gc number after the prefix");
	snprintf(s, sizeof s, "2026-11-27T14:20:23.123Z stderr F %s", body);
	is_int(parse(s, &t), GCTRACE_OK, "container log prefix accepted");
	snprintf(s, sizeof s, "[api]%s", body);
	is_int(parse(s, &t), GCTRACE_OK, "prefix ending in ']' accepted");
	snprintf(s, sizeof s, "x%s", body);
	is_int(parse(s, &t), GCTRACE_NONE, "\"gc\" inside a word refused");
	snprintf(s, sizeof s, "gc 3 took long; %s", body);
	is_int(parse(s, &t), GCTRACE_OK,
	    "a later \"gc \" is tried after an earlier one");
	is_int(t.gc, 12, "and it is the one parsed");
	/* A lost newline: the first line becomes the second's prefix. */
	snprintf(s, sizeof s, "%s %s", body, body);
	is_int(parse(s, &t), GCTRACE_OK, "two lines run together");
	is_int(t.prefix, strlen(body) + 1, "the last one is parsed");
}

/* Lines that are not gctrace, or are spoiled. */
static void
malformed(void)
{
	static const char *none[] = {
		"",
		"gen: start",
		"GC forced",
		"scav 0 KiB work, 3440 KiB total, 92% util",
		"scvg0: inuse: 3, idle: 0, sys: 4, released: 0, "
		    "consumed: 4 (MB)",
		"pacer: assist ratio=+5.902073e-002 (scan 0 MB in 0->4 MB) "
		    "workers=0++2.500000e-001",
		"pacer: 25% CPU (25 exp.) for 42136+1944+223376 B work "
		    "(267152 B exp.) in 4034079 B -> 6093072 B",
		"gc1(1): 0+0+0 ms, 0 -> 0 MB 16 -> 18 (19-1) objects, "
		    "0(0) handoff, 0(0) steal, 0/0/0 yields",
		"gc",
		"gc ",
		"gc 5",
		"gc 5 @",	/* cut right at "@": BAD (see below) */
		"gc -1 @0.1s",
		"gc 18446744073709551616 @0.001s 0%: 0+0+0 ms clock, "
		    "0+0/0/0+0 ms cpu, 0->0->0 MB, 4 MB goal, 1 P",
	};
	static const char *bad[] = {
		"gc 5 @0.190s 9%: 0.027+17+0.003 ms clgen: 501 buffers kept",
		"gc 1 @0.0001s 0%: 0+0+0 ms clock, 0+0/0/0+0 ms cpu, "
		    "0->0->0 MB, 4 MB goal, 1 P",
		"gc 1 @0.001s 0%: 0.0001+0+0 ms clock, 0+0/0/0+0 ms cpu, "
		    "0->0->0 MB, 4 MB goal, 1 P",
		"gc 1 @0.001s 0%: 0.+0+0 ms clock, 0+0/0/0+0 ms cpu, "
		    "0->0->0 MB, 4 MB goal, 1 P",
		"gc 1 @0.001s 0%: 0+0+0 ms clock, 0+0/0/0+0 ms cpu, "
		    "0->0->0 MB, 4 MB goal, 1 P (forced) trailing",
		"gc 1 @0.001s 0%: 0+0+0 ms clock, 0+0/0/0+0 ms cpu, "
		    "0->0->0 MB, 4 MB goal, 1 P (forced) (forced)",
		"gc 1 @0.001s 0%: 0+0+0 ms clock, 0+0/0/0+0 ms cpu, "
		    "0->0->0 MB, 4 MB goal, 1P",
		"gc 1 @0.001s 0%:  0+0+0 ms clock, 0+0/0/0+0 ms cpu, "
		    "0->0->0 MB, 4 MB goal, 1 P",
		"gc 1 @0.001s 0%: 0+0+0 ms clock, 0+0/0/0+0 ms cpu, "
		    "0->0->0 MB, 4 MB goal, 0 MB globals, 0 MB stacks, 1 P",
		"gc 1 @0.001s 0%: 0+0+0 ms clock, 0+0/0/0+0 ms cpu, "
		    "0->0->17592186044416 MB, 4 MB goal, 1 P",
		"gc 1 @0.001s 0%: 0+0+0 ms clock, 0+0/0/0+0 ms cpu, "
		    "0->0->0 MB, 4 MB goal, -1 P",
		"gc 1 @0.001s 0%: 1+1+1+1+1+1+1+1+1+1+1+1+1 ms clock, "
		    "0+0/0/0+0 ms cpu, 0->0->0 MB, 4 MB goal, 1 P",
		"gc 1 @0.001s 0%: 0+0+0 ms clock, 0+0/0/0+0 ms cpu, "
		    "0->0->0 MB, 4 MB goal, 1 P\0",
	};
	struct gctrace	 t, zero;
	const char	*line = "gc 7 @0.275s 8%: 0.023+10+0.006 ms clock, "
	    "0.046+0.15/4.8/3.6+0.013 ms cpu, 200->269->190 MB, "
	    "245 MB goal, 50 MB stacks, 16 MB globals, 2 P (forced)";
	size_t		 i, len, at;
	bool		 cut_ok = true, zeroed = true;
	enum gctrace_result r, want;

	memset(&zero, 0, sizeof zero);
	for (i = 0; i < sizeof none / sizeof none[0]; i++) {
		r = parse(none[i], &t);
		want = strcmp(none[i], "gc 5 @") == 0 ? GCTRACE_BAD :
		    GCTRACE_NONE;
		is_int(r, want, "not gctrace: \"%s\"", none[i]);
		if (memcmp(&t, &zero, sizeof t) != 0)
			zeroed = false;
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		len = strlen(bad[i]);
		if (i == sizeof bad / sizeof bad[0] - 1)
			len++;	/* the NUL is part of the line */
		is_int(parse_exact(bad[i], len, &t), GCTRACE_BAD,
		    "malformed: \"%s\"", bad[i]);
		if (memcmp(&t, &zero, sizeof t) != 0)
			zeroed = false;
	}
	ok(zeroed, "a refused line leaves the struct zeroed");

	/*
	 * A partial line (the rest not written yet) at every length: up
	 * to "gc 7 " it is NONE, from "gc 7 @" BAD, except where the cut
	 * leaves a whole line ("... 2 P" or "... 2 P " before "(forced)").
	 */
	len = strlen(line);
	at = (size_t)(strchr(line, '@') - line);
	for (i = 0; i < len; i++) {
		r = parse_exact(line, i, &t);
		if (i == len - strlen(" (forced)") ||
		    i == len - strlen("(forced)"))
			want = GCTRACE_OK;
		else
			want = i <= at ? GCTRACE_NONE : GCTRACE_BAD;
		if (r != want) {
			cut_ok = false;
			printf("#   cut at %zu: %d, want %d\n", i, r, want);
		}
	}
	ok(cut_ok, "a line cut at each of %zu lengths is refused", len);
	is_int(parse_exact(line, len, &t), GCTRACE_OK, "the whole line");
	is_int(gctrace_parse(NULL, 10, &t), GCTRACE_NONE, "NULL line");
}

static void
formatting(void)
{
	struct gctrace	t;
	const char	*s = "gc 7 @0.275s 8%: 0.023+10+0.006 ms clock, "
	    "0.046+0.15/4.8/3.6+0.013 ms cpu, 200->269->190 MB, "
	    "245 MB goal, 50 MB stacks, 16 MB globals, 2 P (forced)";
	char		small[20], big[512];
	int		n;

	if (parse(s, &t) != GCTRACE_OK) {
		ok(0, "format: parse");
		return;
	}
	n = gctrace_format(&t, small, sizeof small);
	is_int(n, strlen(s), "format returns the full length");
	ok(strlen(small) == sizeof small - 1 &&
	    strncmp(small, s, sizeof small - 1) == 0,
	    "format truncates into a small buffer");
	is_int(gctrace_format(&t, NULL, 0), strlen(s), "format sizes only");
	n = gctrace_format(&t, big, sizeof big);
	is_str(big, s, "format writes the text Go wrote");

	/* Values Go never prints still format exactly. */
	memset(&t, 0, sizeof t);
	t.gc = 1;
	t.at_ms = 1500;
	t.nclock = 3;
	t.clock_us[0] = 12500;
	t.clock_us[1] = 1050;
	t.clock_us[2] = 155;
	t.ncpu = 1;
	t.cpu_sep[0] = '+';
	t.cpu_us[0] = 123456789;
	t.procs = 1;
	n = gctrace_format(&t, big, sizeof big);
	is_str(big, "gc 1 @1.500s 0%: 12.5+1.05+0.155 ms clock, "
	    "123456.789 ms cpu, 0->0->0 MB, 0 MB goal, 1 P",
	    "format of values Go would round");
	ok(round_trips(&t), "and they parse back");
}

static void
sequence(void)
{
	is_int(gctrace_sequence(false, 0, 1), GCTRACE_SEQ_FIRST, "first");
	is_int(gctrace_sequence(false, 9, 4), GCTRACE_SEQ_FIRST,
	    "first, whatever last holds");
	is_int(gctrace_sequence(true, 4, 5), GCTRACE_SEQ_NEXT, "next");
	is_int(gctrace_sequence(true, 4, 9), GCTRACE_SEQ_NEXT,
	    "next after lines lost");
	is_int(gctrace_sequence(true, 5, 5), GCTRACE_SEQ_REPEAT, "repeat");
	is_int(gctrace_sequence(true, 50, 1), GCTRACE_SEQ_RESTART,
	    "restart");
}

int
main(void)
{
	fixture("go119-gctrace1.txt", 10, 5);
	fixture("go119-gctrace2.txt", 10, 5);
	fixture("go119-traces.txt", 10, 30);
	handmade();
	fields_go119();
	older();
	prefixes();
	malformed();
	formatting();
	sequence();
	return tap_done();
}
