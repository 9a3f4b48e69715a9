/*
 * The GODEBUG=gctrace=1 line parser. The grammar follows the print()
 * calls of gcMarkTermination() in Go's runtime/mgc.go: single spaces,
 * integers in decimal, "@" seconds with exactly the three decimals of
 * itoaDiv(ms, 3), phase times as fmtNSAsMS() writes them (whole
 * milliseconds from 10 ms, else two significant digits with at most
 * three decimals).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gctrace.h"

/* A cursor over the line: p moves towards end, never past it. */
struct cur {
	const char	*p;
	const char	*end;
};

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_word(char c)
{
	return is_digit(c) || c == '_' || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z');
}

/* Take the literal s at the cursor. */
static bool
lit(struct cur *c, const char *s)
{
	size_t	n = strlen(s);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
		return false;
	c->p += n;
	return true;
}

/* Take a decimal integer (no sign) that fits max. */
static bool
num(struct cur *c, uint64_t max, uint64_t *v)
{
	uint64_t	n = 0;
	unsigned	d;

	if (c->p == c->end || !is_digit(*c->p))
		return false;
	for (; c->p < c->end && is_digit(*c->p); c->p++) {
		d = (unsigned)(*c->p - '0');
		if (n > (max - d) / 10)
			return false;
		n = n * 10 + d;
	}
	*v = n;
	return true;
}

/*
 * Take "I" or "I.F" with at most three decimals, as thousandths: the
 * "@" seconds and the phase milliseconds both fit this.
 */
static bool
milli(struct cur *c, uint64_t *v)
{
	uint64_t	i, f = 0;
	int		nf = 0;

	if (!num(c, UINT64_MAX / 1000 - 1, &i))
		return false;
	if (c->p < c->end && *c->p == '.') {
		c->p++;
		for (; c->p < c->end && is_digit(*c->p); c->p++) {
			if (++nf > 3)
				return false;
			f = f * 10 + (uint64_t)(*c->p - '0');
		}
		if (nf == 0)
			return false;
		for (; nf < 3; nf++)
			f *= 10;
	}
	*v = i * 1000 + f;
	return true;
}

/* Take "N MB" and what follows it, storing N and N << 20. */
static bool
megs(struct cur *c, const char *after, uint64_t *mb, uint64_t *bytes)
{
	if (!num(c, UINT64_MAX >> 20, mb) || !lit(c, " MB") ||
	    !lit(c, after))
		return false;
	*bytes = *mb << 20;
	return true;
}

/* Give the named phase fields of the layouts Go has printed. */
static void
name_phases(struct gctrace *t)
{
	static const char	 clock3[] = "++//+", clock5[] = "++++//+";
	size_t			 i;

	if (t->nclock == 3 && t->ncpu == 5 &&
	    memcmp(t->cpu_sep, clock3, 5) == 0) {
		t->layout = GCTRACE_LAYOUT_CLOCK3;
		t->clock_mark_us = t->clock_us[1];
		t->cpu_assist_us = t->cpu_us[1];
	} else if (t->nclock == 5 && t->ncpu == 7 &&
	    memcmp(t->cpu_sep, clock5, 7) == 0) {
		t->layout = GCTRACE_LAYOUT_CLOCK5;
		for (i = 1; i < 4; i++) {
			if (t->clock_mark_us > UINT64_MAX - t->clock_us[i]) {
				t->clock_mark_us = UINT64_MAX;
				break;
			}
			t->clock_mark_us += t->clock_us[i];
		}
		t->cpu_assist_us = t->cpu_us[3];
	} else {
		t->layout = GCTRACE_LAYOUT_OTHER;
		return;
	}
	t->clock_sweep_term_us = t->clock_us[0];
	t->clock_mark_term_us = t->clock_us[t->nclock - 1];
	t->cpu_sweep_term_us = t->cpu_us[0];
	t->cpu_background_us = t->cpu_us[t->ncpu - 3];
	t->cpu_idle_us = t->cpu_us[t->ncpu - 2];
	t->cpu_mark_term_us = t->cpu_us[t->ncpu - 1];
}

/*
 * Parse from "gc " at c to the end of the line. *started says whether
 * the line got as far as "gc N @", so a failure is GCTRACE_BAD rather
 * than GCTRACE_NONE.
 */
static bool
parse_at(struct cur *c, struct gctrace *t, bool *started)
{
	struct cur	save;
	uint64_t	v;
	size_t		n;

	*started = false;
	if (!lit(c, "gc ") || !num(c, UINT64_MAX, &t->gc) || !lit(c, " @"))
		return false;
	*started = true;
	if (!milli(c, &t->at_ms) || !lit(c, "s ") ||
	    !num(c, UINT64_MAX, &t->cpu_percent) || !lit(c, "%: "))
		return false;

	for (n = 0;; n++) {
		if (n == GCTRACE_MAXPHASES || !milli(c, &v))
			return false;
		t->clock_us[n] = v;
		if (!lit(c, "+"))
			break;
	}
	t->nclock = n + 1;
	if (!lit(c, " ms clock, "))
		return false;

	t->cpu_sep[0] = '+';
	for (n = 0;; n++) {
		if (n == GCTRACE_MAXPHASES || !milli(c, &v))
			return false;
		t->cpu_us[n] = v;
		if (c->p == c->end || (*c->p != '+' && *c->p != '/'))
			break;
		if (n + 1 < GCTRACE_MAXPHASES)
			t->cpu_sep[n + 1] = *c->p;
		c->p++;
	}
	t->ncpu = n + 1;
	if (!lit(c, " ms cpu, "))
		return false;

	if (!num(c, UINT64_MAX >> 20, &t->heap_start_mb) || !lit(c, "->") ||
	    !num(c, UINT64_MAX >> 20, &t->heap_marked_mb) || !lit(c, "->") ||
	    !megs(c, ", ", &t->heap_live_mb, &t->heap_live) ||
	    !megs(c, " goal, ", &t->goal_mb, &t->goal))
		return false;
	t->heap_start = t->heap_start_mb << 20;
	t->heap_marked = t->heap_marked_mb << 20;

	/* Optional fields: try each, and step back when it is not there. */
	save = *c;
	if (megs(c, " stacks, ", &t->stacks_mb, &t->stacks))
		t->has_stacks = true;
	else {
		*c = save;
		t->stacks_mb = t->stacks = 0;
	}
	save = *c;
	if (megs(c, " globals, ", &t->globals_mb, &t->globals))
		t->has_globals = true;
	else {
		*c = save;
		t->globals_mb = t->globals = 0;
	}

	if (!num(c, UINT64_MAX, &t->procs) || !lit(c, " P"))
		return false;
	if (lit(c, " (forced)"))
		t->forced = true;
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' ||
	    *c->p == '\r' || *c->p == '\n'))
		c->p++;
	if (c->p != c->end)
		return false;
	name_phases(t);
	return true;
}

enum gctrace_result
gctrace_parse(const char *line, size_t len, struct gctrace *t)
{
	struct cur	c;
	size_t		i;
	bool		started, bad = false;

	memset(t, 0, sizeof *t);
	if (line == NULL)
		return GCTRACE_NONE;
	for (i = 0; i + 3 <= len; i++) {
		if (line[i] != 'g' || line[i + 1] != 'c' ||
		    line[i + 2] != ' ' || (i > 0 && is_word(line[i - 1])))
			continue;
		c.p = line + i;
		c.end = line + len;
		if (parse_at(&c, t, &started)) {
			t->prefix = i;
			return GCTRACE_OK;
		}
		bad = bad || started;
		memset(t, 0, sizeof *t);
	}
	return bad ? GCTRACE_BAD : GCTRACE_NONE;
}

/*
 * Write thousandths v into out as fmtNSAsMS() would when v is a value
 * it can print (two significant digits below 10, whole numbers from 10),
 * and exactly otherwise, with as few decimals as it needs.
 */
static void
fmt_milli(char *out, size_t len, uint64_t v)
{
	unsigned long long	i = v / 1000, f = v % 1000;

	if (v == 0)
		snprintf(out, len, "0");
	else if (v < 100)
		snprintf(out, len, "0.%03llu", f);
	else if (v < 1000 && f % 10 == 0)
		snprintf(out, len, "0.%02llu", f / 10);
	else if (f == 0 && v >= 10000)
		snprintf(out, len, "%llu", i);
	else if (f % 100 == 0)
		snprintf(out, len, "%llu.%llu", i, f / 100);
	else if (f % 10 == 0)
		snprintf(out, len, "%llu.%02llu", i, f / 10);
	else
		snprintf(out, len, "%llu.%03llu", i, f);
}

/* Append to buf, snprintf-style: *off counts what the whole needs. */
static void __attribute__((format(printf, 4, 5)))
appendf(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	if (*off < len)
		n = vsnprintf(buf + *off, len - *off, fmt, ap);
	else
		n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n;
}

int
gctrace_format(const struct gctrace *t, char *buf, size_t len)
{
	char	ms[32];
	size_t	off = 0, i;

	if (len > 0)
		buf[0] = '\0';
	appendf(buf, len, &off, "gc %llu @%llu.%03llus %llu%%: ",
	    (unsigned long long)t->gc, (unsigned long long)(t->at_ms / 1000),
	    (unsigned long long)(t->at_ms % 1000),
	    (unsigned long long)t->cpu_percent);
	for (i = 0; i < t->nclock && i < GCTRACE_MAXPHASES; i++) {
		fmt_milli(ms, sizeof ms, t->clock_us[i]);
		appendf(buf, len, &off, "%s%s", i > 0 ? "+" : "", ms);
	}
	appendf(buf, len, &off, " ms clock, ");
	for (i = 0; i < t->ncpu && i < GCTRACE_MAXPHASES; i++) {
		fmt_milli(ms, sizeof ms, t->cpu_us[i]);
		appendf(buf, len, &off, "%s%s",
		    i == 0 ? "" : t->cpu_sep[i] == '/' ? "/" : "+", ms);
	}
	appendf(buf, len, &off, " ms cpu, %llu->%llu->%llu MB, %llu MB goal, ",
	    (unsigned long long)t->heap_start_mb,
	    (unsigned long long)t->heap_marked_mb,
	    (unsigned long long)t->heap_live_mb,
	    (unsigned long long)t->goal_mb);
	if (t->has_stacks)
		appendf(buf, len, &off, "%llu MB stacks, ",
		    (unsigned long long)t->stacks_mb);
	if (t->has_globals)
		appendf(buf, len, &off, "%llu MB globals, ",
		    (unsigned long long)t->globals_mb);
	appendf(buf, len, &off, "%llu P%s", (unsigned long long)t->procs,
	    t->forced ? " (forced)" : "");
	return off > INT32_MAX ? -1 : (int)off;
}

enum gctrace_seq
gctrace_sequence(bool have_last, uint64_t last_gc, uint64_t gc)
{
	if (!have_last)
		return GCTRACE_SEQ_FIRST;
	if (gc > last_gc)
		return GCTRACE_SEQ_NEXT;
	if (gc == last_gc)
		return GCTRACE_SEQ_REPEAT;
	return GCTRACE_SEQ_RESTART;
}
