#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "judge.h"
#include "log.h"
#include "profile.h"
#include "report.h"
#include "xmalloc.h"

const char *
alert_state_name(enum alert_state s)
{
	switch (s) {
	case ALERT_PENDING:
		return "pending";
	case ALERT_FIRING:
		return "firing";
	default:
		return "inactive";
	}
}

struct judge *
judge_new(const struct judge_params *p)
{
	struct judge	*j;

	j = xcalloc(1, sizeof *j);
	j->p = *p;
	j->names = names_new();
	return j;
}

static void
window_clear(struct judge *j)
{
	while (j->nwin > 0)
		summary_free(j->win[--j->nwin]);
}

void
judge_free(struct judge *j)
{
	if (j == NULL)
		return;
	window_clear(j);
	free(j->win);
	free(j->seen);
	free(j->gc);
	names_free(j->names);
	free(j);
}

void
judge_set_params(struct judge *j, const struct judge_params *p)
{
	j->p = *p;
}

bool
judge_wants_gc(const struct judge *j, int64_t now)
{
	if (j->p.kind == NULL || strcmp(j->p.kind, "heap") != 0 ||
	    j->state != ALERT_PENDING || j->nwin == 0)
		return false;
	return now - j->seen[j->nwin - 1] >= (int64_t)(j->p.window_ms /
	    DETECT_SEGMENTS);
}

bool
judge_repeats(const struct judge *j)
{
	return j->nwin > 1 && j->seen[j->nwin - 1] == j->seen[j->nwin - 2];
}

double
judge_time_to_limit(const struct judge *j, int64_t limit)
{
	const struct summary	*last = judge_latest(j);
	double			 rate;
	int64_t			 v;

	if (limit <= 0)
		return -1;
	if (last != NULL && (j->total_growing || j->fn_growing)) {
		/* The total's slope: a function's own growth inside a heap
		 * that swings reaches the limit only through the total. */
		rate = j->per_second;
		v = last->total;
	} else if (j->ngc > 0 && j->live_growing) {
		rate = j->live.per_second;
		v = j->gc[j->ngc - 1].v;
	} else
		return -1;
	if (v >= limit)
		return 0;
	if (!(rate > 0))
		return -1;
	/* A crawl toward a far limit says "never" as a number that still
	 * fits every integer it is written as. */
	if ((double)(limit - v) / rate > JUDGE_TTL_MAX)
		return JUDGE_TTL_MAX;
	return (double)(limit - v) / rate;
}

const char *
judge_severity(const struct judge *j, int64_t limit, uint64_t page_within_ms)
{
	double	ttl = judge_time_to_limit(j, limit);

	return ttl >= 0 && ttl * 1000 <= (double)page_within_ms ?
	    "critical" : "warning";
}

const struct summary *
judge_latest(const struct judge *j)
{
	return j->nwin > 0 ? j->win[j->nwin - 1] : NULL;
}

/* The window's first summary, not the one kept from before it. */
const struct summary *
judge_first(const struct judge *j)
{
	if (j->nwin == 0)
		return NULL;
	if (j->nwin > 1 && j->win[0]->time_ms < j->win[j->nwin - 1]->time_ms -
	    (int64_t)j->p.window_ms)
		return j->win[1];
	return j->win[0];
}

/* The signals that say it grows: "total, function, live heap" or fewer. */
const char *
judge_signals(const struct judge *j)
{
	static const char *const names[8] = {
		"", "total", "function", "total, function", "live heap",
		"total, live heap", "function, live heap",
		"total, function, live heap"
	};

	return names[(j->total_growing ? 1 : 0) | (j->fn_growing ? 2 : 0) |
	    (j->live_growing ? 4 : 0)];
}

/*
 * Forget the summaries older than the window, but the last of them: its
 * heap holds until the next GC, so it is the window's state at its start.
 */
static void
window_prune(struct judge *j, int64_t now)
{
	size_t	n = 0;

	while (n + 1 < j->nwin &&
	    j->win[n + 1]->time_ms < now - (int64_t)j->p.window_ms)
		summary_free(j->win[n++]);
	if (n > 0) {
		memmove(j->win, j->win + n, (j->nwin - n) * sizeof *j->win);
		memmove(j->seen, j->seen + n, (j->nwin - n) *
		    sizeof *j->seen);
		j->nwin -= n;
	}
}

/*
 * Whether a heap summary shows the same GC as the one before: no GC
 * completed between the two scrapes, so the second is no new point. The
 * allocations since start change at every GC, even when the heap is back
 * to the same size. Goroutine profiles are live: every one is a point.
 */
static bool
same_gc(const struct summary *a, const struct summary *b)
{
	return a->alloc != 0 && a->alloc == b->alloc &&
	    a->total == b->total && a->objects == b->objects;
}

/* A function's own value in a summary; 0 when it is not among its top. */
static int64_t
own_value(const struct summary *s, uint32_t name)
{
	uint32_t	i;

	for (i = 0; i < s->nfns; i++)
		if (s->fns[i].name == name)
			return s->fns[i].own;
	return 0;
}

static int
fn_cmp(const void *a, const void *b)
{
	const struct judge_fn	*x = a, *y = b;

	if (x->growing != y->growing)
		return x->growing ? -1 : 1;
	return x->growth > y->growth ? -1 : x->growth < y->growth;
}

/* Whether the target's profile is Go's goroutine leak profile. */
static bool
leak_profile(const struct judge *j)
{
	return j->p.kind != NULL && strcmp(j->p.kind, "goroutineleak") == 0;
}

/*
 * Judge a goroutine leak profile: its goroutines are the ones Go's GC
 * proved blocked forever, so any is a leak at once, with no trend to wait
 * for; each function is named by its own count, which the summary gives to
 * the function the goroutine runs rather than to runtime.gopark.
 */
static bool
judge_leaked(struct judge *j)
{
	const struct summary	*last = j->win[j->nwin - 1];
	size_t			 k;

	memset(&j->total, 0, sizeof j->total);
	j->total.judged = true;
	j->total.floors_rise = j->total.growing = last->total > 0;
	j->total.growth = last->total;
	j->total_growing = j->fn_growing = last->total > 0;
	j->per_second = 0;
	j->growth = last->total;
	j->ntop = 0;
	for (k = 0; k < last->nfns && j->ntop < JUDGE_TOP; k++)
		if (last->fns[k].own > 0)
			j->top[j->ntop++] = (struct judge_fn){
			    last->fns[k].name, last->fns[k].own, true };
	return j->total_growing;
}

/*
 * Judge the window: the total, then each function of the newest. The
 * points are the GCs the window saw, each at the first scrape that showed
 * it (the GC kept from before the window too): a scrape that shows the
 * same GC again adds nothing.
 */
static bool
judge_window(struct judge *j, int64_t now)
{
	const struct summary	*last = j->win[j->nwin - 1];
	const struct summary	*first = judge_first(j);
	struct point		*pts;
	struct judge_fn		*fns;
	struct verdict		 v;
	size_t			*obs, nobs = 0, i, k, nfns = 0;
	int64_t			 fn_growth = 0;

	if (leak_profile(j))
		return judge_leaked(j);
	/*
	 * No GC since the last judgement: nothing new is known, and the
	 * verdict stands. Re-judging would let a window that slid past its
	 * last GC (minutes apart with GOGC=off or a large GOGC) say the heap
	 * stopped growing when it was only not looked at again.
	 */
	if (j->nwin > 1 && j->total.judged &&
	    same_gc(j->win[j->nwin - 2], last))
		return j->total_growing || j->fn_growing;
	obs = xreallocarray(NULL, j->nwin, sizeof *obs);
	for (i = 0; i < j->nwin; i++)
		if (nobs == 0 || !same_gc(j->win[obs[nobs - 1]], j->win[i]))
			obs[nobs++] = i;
	pts = xreallocarray(NULL, nobs + 1, sizeof *pts);
	for (i = 0; i < nobs; i++) {
		pts[i].t_ms = j->seen[obs[i]];
		pts[i].v = j->win[obs[i]]->total;
	}
	detect_judge(pts, nobs, now, j->p.window_ms, j->p.min_growth,
	    &j->total);
	j->total_growing = j->total.growing;
	j->per_second = detect_slope(pts, nobs);

	fns = xreallocarray(NULL, last->nfns + 1, sizeof *fns);
	j->fn_growing = false;
	for (k = 0; k < last->nfns; k++) {
		if (last->fns[k].own <= 0)
			continue;
		for (i = 0; i < nobs; i++) {
			pts[i].t_ms = j->seen[obs[i]];
			pts[i].v = own_value(j->win[obs[i]],
			    last->fns[k].name);
		}
		detect_judge(pts, nobs, now, j->p.window_ms,
		    j->p.min_growth, &v);
		fns[nfns].name = last->fns[k].name;
		fns[nfns].growth = last->fns[k].own -
		    own_value(first, last->fns[k].name);
		fns[nfns].growing = v.growing;
		if (v.growing) {
			j->fn_growing = true;
			if (v.growth > fn_growth)
				fn_growth = v.growth;
		}
		if (fns[nfns].growth > 0 || v.growing)
			nfns++;
	}
	qsort(fns, nfns, sizeof *fns, fn_cmp);
	j->ntop = nfns < JUDGE_TOP ? nfns : JUDGE_TOP;
	memcpy(j->top, fns, j->ntop * sizeof *fns);
	j->growth = j->total_growing ? j->total.growth : fn_growth;
	free(fns);
	free(pts);
	free(obs);
	return j->total_growing || j->fn_growing;
}

/* Enter a state; the one place states change. */
static void
judge_enter(struct judge *j, enum alert_state s, int64_t now)
{
	if (j->state == ALERT_INACTIVE)
		j->active = now;
	j->state = s;
	j->since = now;
}

/* Move the alert on, given whether any signal grows at now. */
static void
judge_step(struct judge *j, bool growing, int64_t now)
{
	/* A leak profile's goroutines are proven leaked: no `for`. */
	bool	at_once = j->p.for_ms == 0 || leak_profile(j);

	if (growing) {
		j->calm = 0;
		if (j->state == ALERT_INACTIVE)
			judge_enter(j, at_once ? ALERT_FIRING :
			    ALERT_PENDING, now);
		else if (j->state == ALERT_PENDING &&
		    now - j->since >= (int64_t)j->p.for_ms)
			judge_enter(j, ALERT_FIRING, now);
	} else if (j->state == ALERT_PENDING)
		judge_enter(j, ALERT_INACTIVE, now);
	else if (j->state == ALERT_FIRING) {
		/*
		 * A firing alert resolves once growth has stopped for half of
		 * `for`: one judgement that misses (a floor level with the one
		 * before, between two GCs) does not resolve and fire it again.
		 */
		if (j->calm == 0)
			j->calm = now;
		if (now - j->calm >= (int64_t)j->p.for_ms / 2) {
			judge_enter(j, ALERT_INACTIVE, now);
			j->calm = 0;
		}
	}
}

/*
 * Judge the live heap at now, over the points of the window; what the
 * alert says it grew by is the live heap's growth when no profile says.
 */
static bool
judge_live(struct judge *j, int64_t now)
{
	size_t	n = 0;

	/* The last GC before the window is the live heap at its start. */
	while (n + 1 < j->ngc &&
	    j->gc[n + 1].t_ms < now - (int64_t)j->p.window_ms)
		n++;
	if (n > 0) {
		memmove(j->gc, j->gc + n, (j->ngc - n) * sizeof *j->gc);
		j->ngc -= n;
	}
	detect_judge(j->gc, j->ngc, now, j->p.window_ms, j->p.min_growth,
	    &j->live);
	j->live_growing = j->live.growing;
	if (j->live_growing && !j->total_growing && !j->fn_growing)
		j->growth = j->live.growth;
	return j->live_growing;
}

bool
judge_add_gc(struct judge *j, int64_t time_ms, uint64_t gc, double uptime,
    int64_t live_bytes, enum alert_state *from)
{
	const struct summary	*latest;
	enum alert_state	 was = j->state;
	int64_t			 bucket;
	bool			 growing;

	*from = was;
	if (j->gc_last != 0 && (gc < j->gc_last || uptime < j->gc_uptime)) {
		/* The service restarted: its live heap starts again. */
		j->ngc = 0;
		j->gc_restarts++;
	} else if (j->gc_last != 0 && gc == j->gc_last)
		return false;
	j->gc_last = gc;
	j->gc_uptime = uptime;
	bucket = (int64_t)(j->p.window_ms / JUDGE_GC_BUCKETS);
	if (j->ngc > 0 && time_ms - j->gc[j->ngc - 1].t_ms < bucket) {
		/* In the last point's bucket: keep the lowest. */
		if (live_bytes < j->gc[j->ngc - 1].v)
			j->gc[j->ngc - 1].v = live_bytes;
		return false;
	}
	if (j->ngc == j->capgc) {
		j->capgc = j->capgc == 0 ? 64 : j->capgc * 2;
		j->gc = xreallocarray(j->gc, j->capgc, sizeof *j->gc);
	}
	j->gc[j->ngc].t_ms = time_ms;
	j->gc[j->ngc].v = live_bytes;
	j->ngc++;
	/* What the profiles said counts while their window lasts: not
	 * when scrapes have failed for longer. */
	latest = judge_latest(j);
	if (latest == NULL ||
	    latest->time_ms < time_ms - (int64_t)j->p.window_ms)
		j->total_growing = j->fn_growing = false;
	growing = judge_live(j, time_ms) || j->total_growing ||
	    j->fn_growing;
	judge_step(j, growing, time_ms);
	return j->state != was;
}

bool
judge_add(struct judge *j, struct summary *s, enum alert_state *from)
{
	const struct summary	*last = judge_latest(j);
	enum alert_state	 was = j->state;
	bool			 growing;

	if (last != NULL && (s->profile_ns < last->profile_ns ||
	    s->alloc < last->alloc)) {
		window_clear(j);
		j->restarts++;
		/* What was judged no longer compares: resolve now. */
		if (j->state != ALERT_INACTIVE)
			judge_enter(j, ALERT_INACTIVE, s->time_ms);
		j->calm = 0;
	}
	if (j->nwin == j->capwin) {
		j->capwin = j->capwin == 0 ? 16 : j->capwin * 2;
		j->win = xreallocarray(j->win, j->capwin, sizeof *j->win);
		j->seen = xreallocarray(j->seen, j->capwin, sizeof *j->seen);
	}
	j->seen[j->nwin] = j->nwin > 0 && same_gc(last, s) ?
	    j->seen[j->nwin - 1] : s->time_ms;
	j->win[j->nwin++] = s;
	window_prune(j, s->time_ms);

	growing = judge_window(j, s->time_ms);
	growing = judge_live(j, s->time_ms) || growing;
	judge_step(j, growing, s->time_ms);
	*from = was;
	return j->state != was;
}

void
judge_sites_free(struct alert_site *sites, size_t n)
{
	size_t	i, k;

	for (i = 0; i < n; i++) {
		free(sites[i].function);
		free(sites[i].file);
		for (k = 0; k < sites[i].nstack; k++)
			free(sites[i].stack[k]);
	}
	free(sites);
}

int
judge_sites(const struct judge *j, const char *base_path,
    const char *current_path, struct alert_site **out, size_t *nout,
    char **cause)
{
	struct alert_site	*sites;
	struct symtab		*st;
	struct profile		*pb = NULL, *pc = NULL;
	struct report		*r = NULL;
	const char		*frames[5];
	size_t			 i, k;
	int			 idx, rc = -1;

	sites = xcalloc(j->ntop + 1, sizeof *sites);
	for (i = 0; i < j->ntop; i++) {
		sites[i].function = xstrdup(names_get(j->names,
		    j->top[i].name));
		sites[i].growth = j->top[i].growth;
	}
	*out = sites;
	*nout = j->ntop;
	st = symtab_new();
	if ((pc = profile_load(current_path, PROFILE_MAX_INFLATED, st,
	    cause)) == NULL ||
	    (pb = profile_load(base_path, PROFILE_MAX_INFLATED, st,
	    cause)) == NULL ||
	    (idx = profile_sample_index(pc, strcmp(j->p.kind, "heap") != 0 ?
	    j->p.kind : "inuse_space", cause)) == -1)
		goto out;
	/* A leak profile's goroutines are the leak, not their growth. */
	if ((r = leak_profile(j) ? report_top(pc, idx, REPORT_BY_FLAT, cause) :
	    report_diff(pb, pc, idx, REPORT_BY_FLAT, cause)) == NULL)
		goto out;
	report_sites(r);
	for (i = 0; i < j->ntop; i++) {
		for (k = 0; k < r->nfns; k++)
			if (strcmp(r->fns[k].name, sites[i].function) == 0)
				break;
		if (k < r->nfns && r->fns[k].file != NULL) {
			sites[i].file = xstrdup(r->fns[k].file);
			sites[i].line = r->fns[k].line;
		}
		sites[i].nstack = report_stack(r, sites[i].function, frames, 5);
		for (k = 0; k < sites[i].nstack; k++)
			sites[i].stack[k] = xstrdup(frames[k]);
	}
	rc = 0;
out:
	report_free(r);
	profile_free(pb);
	profile_free(pc);
	symtab_free(st);
	return rc;
}
