#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "judge.h"
#include "log.h"
#include "profile.h"
#include "report.h"
#include "store.h"
#include "xmalloc.h"

/*
 * The bends a series showed since the alert was last inactive: a young
 * rise may fire as a straight line only if it never strayed from one.
 */
struct bends {
	double		 lo, hi;
	double		 last;
};

/*
 * A function that grew while the total did not (its rise hidden in a heap
 * that swings): its own recent floors, from the window it was first seen
 * growing in, so that its rise's shape can be judged as the total's is.
 */
struct suspect {
	uint32_t		 name;		/* held in the judge's names */
	int64_t			 since;		/* its first point, unix ms */
	int64_t			 last;		/* its last point */
	int64_t			 grew;		/* last judged growing */
	struct bends		 bends;		/* see rise_shape() */
	struct floors		 floors;
};

struct judge {
	struct judge_params	 p;
	struct names		*names;
	bool			 own_names;	/* not shared: to free */
	struct summary		**win;		/* oldest first */
	int64_t			*seen;		/* when each one's GC was
						   first scraped, unix ms */
	size_t			 nwin, capwin;
	unsigned int		 restarts;

	enum alert_state	 state;
	int64_t			 since;		/* of the state, unix ms */
	int64_t			 active;	/* growing since, unix ms */
	int64_t			 calm;		/* firing, not growing since */
	struct verdict		 total;		/* of the last judgement */
	double			 per_second;	/* the total's slope */
	bool			 total_growing;
	bool			 fn_growing;
	int64_t			 growth;	/* what the alert says */
	struct judge_fn		 top[JUDGE_TOP];
	size_t			 ntop;

	/*
	 * The floors of the last JUDGE_RECENT * 6 windows' GCs, for the
	 * shape of a rise; the slow horizon's; the first GC since start.
	 */
	struct floors		 recent;
	struct floors		 slow;
	int64_t			 born;
	/* Summaries a quarter of the slow horizon apart, oldest first: the
	 * slow horizon's base for naming functions. */
	struct summary		*anchor[JUDGE_ANCHORS];
	size_t			 nanchor;
	struct suspect		 sus[JUDGE_SUSPECTS];
	size_t			 nsus;
	struct verdict		 slowv;		/* of the last judgement */
	bool			 slow_growing;
	enum horizon		 horizon;	/* which one says it grows */
	bool			 traffic;	/* a rise followed traffic */
	bool			 bent;		/* a rise slowed down */
	bool			 young;		/* too little history yet */
	bool			 carried;	/* restarted while suspected:
						   see rise_shape() */
	struct bends		 bends;		/* the total's */
	int			 call;		/* the last judgement's */

	/* The live heap after each GC: the lowest of each bucket of
	 * window / JUDGE_GC_BUCKETS, oldest first. */
	struct point		*gc;
	size_t			 ngc, capgc;
	uint64_t		 gc_last;	/* the last GC's number */
	double			 gc_uptime;	/* its seconds since start */
	bool			 live_again;	/* its series started again
						   by the clock, not judged
						   since */
	unsigned int		 gc_restarts;
	int64_t			 drop_at;	/* a goroutine target's GC
						   numbers went back then */
	uint64_t		 drop_from;	/* from this one */
	double			 drop_up;	/* its seconds since start */
	struct verdict		 live;
	bool			 live_growing;
};

void
judge_view(const struct judge *j, struct judge_view *v)
{
	memset(v, 0, sizeof *v);
	v->state = j->state;
	v->since = j->since;
	v->active = j->active;
	v->kind = j->p.kind;
	v->growth = j->growth;
	v->per_second = j->per_second;
	v->total = &j->total;
	v->total_growing = j->total_growing;
	v->traffic = j->traffic;
	v->restarts = j->restarts;
	v->win = j->win;
	v->nwin = j->nwin;
	v->top = j->top;
	v->ntop = j->ntop;
	v->names = j->names;
	v->gc = j->gc;
	v->ngc = j->ngc;
	v->gc_restarts = j->gc_restarts;
	v->live_growing = j->live_growing;
}

enum alert_state
judge_state(const struct judge *j)
{
	return j->state;
}

struct names *
judge_names(struct judge *j)
{
	return j->names;
}

const char *
judge_state_name(enum alert_state s)
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

/*
 * What a judgement concludes: not growing; growing; growing, but the
 * history is too short to tell a leak from a warm-up, so it may be
 * pending and not fire; or nothing can be told (the window is not
 * covered, or the rise follows the traffic), and the alert stays as it is.
 */
enum judge_call {
	CALL_NO,
	CALL_YES,
	CALL_YOUNG,
	CALL_HOLD
};

static void
suspect_drop(struct judge *j, size_t i)
{
	summary_names_drop(j->names, j->sus[i].name);
	detect_floors_reset(&j->sus[i].floors, 0);
	j->sus[i] = j->sus[--j->nsus];
}

/* Forget the horizons' history: a new judge, or a restart. */
static void
horizons_reset(struct judge *j)
{
	while (j->nsus > 0)
		suspect_drop(j, j->nsus - 1);
	detect_floors_reset(&j->recent, j->p.window_ms / JUDGE_RECENT);
	detect_floors_reset(&j->slow, j->p.slow_window_ms / DETECT_BUCKETS);
	while (j->nanchor > 0)
		summary_free(j->anchor[--j->nanchor]);
	j->born = 0;
	j->slow_growing = false;
	memset(&j->slowv, 0, sizeof j->slowv);
}

struct judge *
judge_new(const struct judge_params *p)
{
	struct judge	*j;

	j = xcalloc(1, sizeof *j);
	j->p = *p;
	j->own_names = p->names == NULL;
	j->names = j->own_names ? summary_names_new() : p->names;
	j->bends.lo = j->bends.hi = 1;
	horizons_reset(j);
	return j;
}

static void
window_clear(struct judge *j)
{
	while (j->nwin > 0)
		summary_free(j->win[--j->nwin]);
}

/*
 * Name the functions the alert names: n of fns, whose names it holds so
 * that they outlive the summaries they came from.
 */
static void
judge_set_top(struct judge *j, const struct judge_fn *fns, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		summary_names_hold(j->names, fns[i].name);
	for (i = 0; i < j->ntop; i++)
		summary_names_drop(j->names, j->top[i].name);
	if (n > 0)
		memcpy(j->top, fns, n * sizeof *fns);
	j->ntop = n;
}

void
judge_free(struct judge *j)
{
	if (j == NULL)
		return;
	window_clear(j);
	horizons_reset(j);
	judge_set_top(j, NULL, 0);
	free(j->win);
	free(j->seen);
	free(j->gc);
	if (j->own_names)
		summary_names_free(j->names);
	free(j);
}

void
judge_set_params(struct judge *j, const struct judge_params *p)
{
	bool	same;

	same = j->p.window_ms == p->window_ms &&
	    j->p.slow_window_ms == p->slow_window_ms;
	j->p = *p;
	j->p.names = j->own_names ? NULL : j->names;
	/* Buckets of another span do not compare: start them again. */
	if (!same)
		horizons_reset(j);
}

const char *
judge_horizon(const struct judge *j)
{
	return j->horizon == HORIZON_SLOW ? "slow" : "fast";
}

uint64_t
judge_horizon_ms(const struct judge *j)
{
	return j->horizon == HORIZON_SLOW ? j->p.slow_window_ms :
	    j->p.window_ms;
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
	if (last != NULL && j->horizon == HORIZON_SLOW && j->slow_growing) {
		/* A slow leak: the rate its own horizon judged. */
		rate = j->slowv.per_second;
		v = last->total;
	} else if (last != NULL && (j->total_growing || j->fn_growing)) {
		/* The total's slope: a function's own growth inside a heap
		 * that swings reaches the limit only through the total. */
		rate = j->per_second;
		v = last->total;
	} else if (j->ngc > 0 && j->live_growing) {
		rate = j->live.per_second;
		v = j->gc[j->ngc - 1].v;
	} else if (last != NULL && j->state != ALERT_INACTIVE) {
		/*
		 * An alert that holds through a judgement that misses (a
		 * window not judged, a dip before it resolves) keeps the
		 * window's slope: its time to limit must not come and go.
		 */
		rate = j->per_second;
		v = last->total;
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

void
judge_seed(struct judge *j, int64_t t, int64_t v)
{
	if (j->born == 0)
		j->born = t;
	detect_floors_add(&j->slow, t, v);
}

const struct summary *
judge_latest(const struct judge *j)
{
	return j->nwin > 0 ? j->win[j->nwin - 1] : NULL;
}

/*
 * The window's first summary, not the one kept from before it; when the
 * slow horizon says it grows, the oldest anchor, its base.
 */
const struct summary *
judge_first(const struct judge *j)
{
	if (j->nwin == 0)
		return NULL;
	if (j->horizon == HORIZON_SLOW && j->nanchor > 0)
		return j->anchor[0];
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

	const struct summary_fns	*f = s->fns;

	for (i = 0; i < f->n; i++)
		if (f->name[i] == name)
			return f->own[i];
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

/* A function's cum in a summary; 0 when it is not among its functions. */
static int64_t
cum_value(const struct summary *s, uint32_t name)
{
	uint32_t	i;

	const struct summary_fns	*f = s->fns;

	if (f->cum == NULL)
		return 0;
	for (i = 0; i < f->n; i++)
		if (f->name[i] == name)
			return f->cum[i];
	return 0;
}

/*
 * How much the traffic rose across a goroutine profile's window: the most
 * any function's goroutines (its cum) rose, among those with 8 at least
 * (fewer say little) that hold less than half of the total's growth (so
 * not the stack of what grows). Goroutine profiles count no allocations;
 * the connections a service parks rise and fall with the requests, and
 * so do the streams or workers that follow the traffic.
 */
static double
goroutine_traffic(const struct summary *first, const struct summary *last)
{
	double		 r, most = 0;
	int64_t		 a, grown = last->total - first->total;
	uint32_t	 k;

	const struct summary_fns	*f = last->fns;

	if (f->cum == NULL)
		return 0;
	for (k = 0; k < f->n; k++) {
		if (f->cum[k] < 8 ||
		    (a = cum_value(first, f->name[k])) <= 0 ||
		    2 * (f->cum[k] - a) >= grown)
			continue;
		r = (double)f->cum[k] / (double)a;
		if (r > most)
			most = r;
	}
	return most;
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
static enum judge_call
judge_leaked(struct judge *j)
{
	const struct summary	*last = j->win[j->nwin - 1];
	struct judge_fn		 top[JUDGE_TOP];
	size_t			 k, n = 0;

	memset(&j->total, 0, sizeof j->total);
	j->total.judged = true;
	j->total.floors_rise = j->total.growing = last->total > 0;
	j->total.growth = last->total;
	j->total_growing = j->fn_growing = last->total > 0;
	j->per_second = 0;
	j->growth = last->total;
	for (k = 0; k < last->fns->n && n < JUDGE_TOP; k++)
		if (last->fns->own[k] > 0)
			top[n++] = (struct judge_fn){ last->fns->name[k],
			    last->fns->own[k], true };
	judge_set_top(j, top, n);
	return j->total_growing ? CALL_YES : CALL_NO;
}

/* Whether a bend is within tol of a straight line's 1, either way. */
static bool
near_line(double bend, double tol)
{
	return bend >= tol && bend <= 1 / tol;
}

/* What the shape of a rise says: see judge_shape(). */
enum shape {
	SHAPE_LEAK,		/* it goes on: it may fire */
	SHAPE_WAIT,		/* it may be slowing: pending, not firing */
	SHAPE_BENT		/* it slows toward a ceiling: no leak */
};

/*
 * The shape of a rise over the floors of the last JUDGE_SHAPE windows
 * (since `since`, if later), for a target young or not; b keeps the
 * series' bends. A young target's rise waits unless it has been seen for
 * 2 windows, is a straight line now, and its bend stayed within
 * DETECT_SURE of 1 since it went pending. Sampling moves a bend by about
 * 0.07 at each GC: a cache's, sliding from 1.2 through 1 to 0.8 over its
 * first hour, came within 1% of a line at one judgement (histgen's
 * batch-cache, seed 6), and another's stayed between 0.95 and 1.04 over
 * its first 45 minutes (cache, seed 12); both fired young before.
 * A target that restarted while its alert was firing, or pending on a
 * rise still within DETECT_SURE of a line (a leak that kills it in less
 * than 3 windows: an OOM loop), is young again, but its rise fires as a
 * line at once: it is suspected already, until its bend strays.
 */
static enum shape
rise_shape(struct judge *j, const struct floors *f, int64_t since,
    int64_t now, bool young, struct bends *b)
{
	struct point	rec[DETECT_BUCKETS];
	size_t		nrec;
	int64_t		from;
	double		bend;

	from = now - (int64_t)(JUDGE_SHAPE * j->p.window_ms);
	if (from < since)
		from = since;
	nrec = detect_floors_points(f, from, rec);
	bend = detect_bend(rec, nrec);
	if (bend < 0)
		return young ? SHAPE_WAIT : SHAPE_LEAK;	/* cannot tell */
	b->last = bend;
	if (j->state == ALERT_INACTIVE)
		b->lo = b->hi = bend;
	else if (bend < b->lo)
		b->lo = bend;
	else if (bend > b->hi)
		b->hi = bend;
	if (bend < DETECT_BEND && now - since >= 2 * (int64_t)j->p.window_ms &&
	    j->state != ALERT_FIRING)
		return SHAPE_BENT;
	if (!young)
		return bend < DETECT_SURE ? SHAPE_WAIT : SHAPE_LEAK;
	if (j->carried && !near_line(bend, DETECT_SURE))
		j->carried = false;	/* it strayed: as any young rise */
	return near_line(bend, DETECT_STRAIGHT) && (j->carried ||
	    (near_line(b->lo, DETECT_SURE) && near_line(b->hi, DETECT_SURE) &&
	    now - since >= 2 * (int64_t)j->p.window_ms)) ?
	    SHAPE_LEAK : SHAPE_WAIT;
}

/*
 * The suspects' floors take the window's points after their last: each
 * GC judged, whether they grew at it or not. One not seen growing for
 * JUDGE_SHAPE windows is let go of.
 */
static void
suspects_add(struct judge *j, int64_t now, const size_t *obs, size_t nobs)
{
	struct suspect	*s;
	size_t		 i, k;

	for (k = j->nsus; k-- > 0;) {
		s = &j->sus[k];
		if (now - s->grew > (int64_t)(JUDGE_SHAPE * j->p.window_ms)) {
			suspect_drop(j, k);
			continue;
		}
		for (i = 0; i < nobs; i++) {
			if (j->seen[obs[i]] <= s->last)
				continue;
			s->last = j->seen[obs[i]];
			detect_floors_add(&s->floors, s->last,
			    own_value(j->win[obs[i]], s->name));
		}
	}
}

/*
 * The shape of a function's own rise, judged while the total does not
 * rise (a cache warming up under a batch job's sawtooth): from its floors
 * since the window it was first seen growing in, pts its points over this
 * one. JUDGE_SUSPECTS functions are followed at a time; beyond them, or
 * when all are growing, a function is judged by the window alone, as the
 * rise of a young target or not.
 */
static enum shape
suspect_shape(struct judge *j, int64_t now, uint32_t name,
    const struct point *pts, size_t n, bool young)
{
	struct suspect	*s = NULL;
	size_t		 i, old = 0;

	for (i = 0; i < j->nsus && s == NULL; i++)
		if (j->sus[i].name == name)
			s = &j->sus[i];
	if (s == NULL && j->nsus == JUDGE_SUSPECTS) {
		for (i = 1; i < j->nsus; i++)
			if (j->sus[i].grew < j->sus[old].grew)
				old = i;
		if (j->sus[old].grew == now)
			return young ? SHAPE_WAIT : SHAPE_LEAK;
		suspect_drop(j, old);
	}
	if (s == NULL) {
		s = &j->sus[j->nsus++];
		memset(s, 0, sizeof *s);
		s->name = name;
		s->bends.lo = s->bends.hi = 1;	/* none seen yet */
		summary_names_hold(j->names, name);
		detect_floors_reset(&s->floors, j->p.window_ms / JUDGE_RECENT);
		s->since = pts[0].t_ms;
		for (i = 0; i < n; i++)
			detect_floors_add(&s->floors, pts[i].t_ms, pts[i].v);
		s->last = pts[n - 1].t_ms;
	}
	s->grew = now;
	return rise_shape(j, &s->floors, s->since, now, young, &s->bends);
}

/*
 * Judge each function of the last summary by its own value over the
 * window's observations: those that grew, growing or not, go into fns
 * (room for all), and their count is returned; *fn_growth is the most a
 * growing one grew by, and *explained is set when the traffic explains
 * a rise. While the total does not grow, a growing function's rise is
 * judged by its shape too: one that slows toward a ceiling does not grow,
 * one that may be slowing makes the call young (*fn_wait), and one that
 * goes on old (*fn_leak).
 */
static size_t
judge_functions(struct judge *j, int64_t now, const size_t *obs, size_t nobs,
    struct point *pts, double traffic, bool young, struct judge_fn *fns,
    int64_t *fn_growth, bool *explained, bool *fn_wait, bool *fn_leak)
{
	const struct summary	*last = j->win[j->nwin - 1];
	const struct summary	*first = judge_first(j);
	struct verdict		 v;
	size_t			 i, k, nfns = 0;
	enum shape		 shape;

	j->fn_growing = false;
	for (k = 0; k < last->fns->n; k++) {
		if (last->fns->own[k] <= 0)
			continue;
		for (i = 0; i < nobs; i++) {
			pts[i].t_ms = j->seen[obs[i]];
			pts[i].v = own_value(j->win[obs[i]],
			    last->fns->name[k]);
		}
		detect_judge(pts, nobs, now, j->p.window_ms,
		    j->p.min_growth, &v);
		if (v.growing && detect_follows(v.floors[0],
		    v.floors[DETECT_SEGMENTS - 1], traffic)) {
			v.growing = false;
			*explained = true;
		}
		if (v.growing && !j->total_growing) {
			shape = suspect_shape(j, now, last->fns->name[k], pts,
			    nobs, young);
			if (shape == SHAPE_BENT) {
				v.growing = false;
				j->bent = true;
			} else if (shape == SHAPE_WAIT)
				*fn_wait = true;
			else
				*fn_leak = true;
		}
		fns[nfns].name = last->fns->name[k];
		fns[nfns].growth = last->fns->own[k] -
		    own_value(first, last->fns->name[k]);
		fns[nfns].growing = v.growing;
		if (v.growing) {
			j->fn_growing = true;
			if (v.growth > *fn_growth)
				*fn_growth = v.growth;
		}
		if (fns[nfns].growth > 0 || v.growing)
			nfns++;
	}
	return nfns;
}

/*
 * Judge the shape of the total's rise over the last JUDGE_SHAPE windows
 * (since the start, if younger): a cache or a warm-up slows toward its
 * ceiling, a leak goes on. A cache that fills half its room every 80
 * minutes looks straight over a 30-minute window (its later half rises at
 * 0.88 of its earlier one); over 3 hours, at 0.47, and over its first 2 at
 * 0.61. Sampling makes a leak of 60 MiB/h bend by 10% over 3 hours (90
 * samples of 512 KiB a half), hence 0.7, and under DETECT_SURE a rise may
 * stay pending or firing, not fire. Until JUDGE_YOUNG windows, only a
 * straight line may fire. A bend does not resolve a firing alert: a leak
 * that slows but goes on (the demo's, once its warm-up is behind it) still
 * raises the window's floors, and a cache that fills resolves when they go
 * flat.
 */
static void
judge_shape(struct judge *j, int64_t now, struct judge_fn *fns, size_t nfns)
{
	size_t	i;

	switch (rise_shape(j, &j->recent, j->born, now, j->young,
	    &j->bends)) {
	case SHAPE_BENT:
		j->bent = true;
		j->young = false;
		j->total_growing = j->fn_growing = false;
		for (i = 0; i < nfns; i++)
			fns[i].growing = false;
		break;
	case SHAPE_WAIT:
		j->young = true;
		break;
	case SHAPE_LEAK:
		j->young = false;
		break;
	}
}

/*
 * Judge the window: the total, then each function of the newest. The
 * points are the GCs the window saw, each at the first scrape that showed
 * it (the GC kept from before the window too): a scrape that shows the
 * same GC again adds nothing. A rise that follows the traffic, or that
 * slows toward a ceiling, is no leak; one seen for less than JUDGE_SHAPE
 * windows may be pending, not firing.
 */
static enum judge_call
judge_window(struct judge *j, int64_t now)
{
	const struct summary	*last = j->win[j->nwin - 1];
	const struct summary	*first;
	struct point		*pts;
	struct judge_fn		*fns;
	size_t			*obs, nobs = 0, i, nfns;
	int64_t			 fn_growth = 0;
	double			 traffic = 0;
	bool			 heap, explained = false, young;
	bool			 fn_wait = false, fn_leak = false;

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
		return (enum judge_call)j->call;
	heap = strcmp(j->p.kind, "goroutine") != 0;
	/* The window's own first, not the slow horizon's base. */
	j->horizon = HORIZON_FAST;
	first = judge_first(j);
	obs = xreallocarray(NULL, j->nwin, sizeof *obs);
	for (i = 0; i < j->nwin; i++)
		if (nobs == 0 || !same_gc(j->win[obs[nobs - 1]], j->win[i]))
			obs[nobs++] = i;
	suspects_add(j, now, obs, nobs);
	pts = xreallocarray(NULL, nobs + 1, sizeof *pts);
	if (!heap)
		traffic = goroutine_traffic(first, last);
	else {
		/* The traffic: the allocation rate, late over early. */
		for (i = 0; i < nobs; i++) {
			pts[i].t_ms = j->seen[obs[i]];
			pts[i].v = j->win[obs[i]]->alloc;
		}
		traffic = detect_rate_ratio(pts, nobs);
	}
	for (i = 0; i < nobs; i++) {
		pts[i].t_ms = j->seen[obs[i]];
		pts[i].v = j->win[obs[i]]->total;
	}
	detect_judge(pts, nobs, now, j->p.window_ms, j->p.min_growth,
	    &j->total);
	j->total_growing = j->total.growing;
	j->per_second = detect_slope(pts, nobs);
	if (j->total_growing && detect_follows(j->total.floors[0],
	    j->total.floors[DETECT_SEGMENTS - 1], traffic)) {
		j->total_growing = false;
		explained = true;
	}

	fns = xreallocarray(NULL, last->fns->n + 1, sizeof *fns);
	j->traffic = j->bent = j->young = false;
	young = now - j->born < (int64_t)(JUDGE_YOUNG * j->p.window_ms);
	nfns = judge_functions(j, now, obs, nobs, pts, traffic, young, fns,
	    &fn_growth, &explained, &fn_wait, &fn_leak);
	j->traffic = explained;
	if (j->total_growing) {
		j->young = young;
		judge_shape(j, now, fns, nfns);
	} else if (j->fn_growing)
		j->young = fn_wait && !fn_leak;
	qsort(fns, nfns, sizeof *fns, fn_cmp);
	judge_set_top(j, fns, nfns < JUDGE_TOP ? nfns : JUDGE_TOP);
	j->growth = j->total_growing ? j->total.growth : fn_growth;
	free(fns);
	free(pts);
	free(obs);
	if (!j->total.judged)
		return CALL_HOLD;
	if (j->total_growing || j->fn_growing)
		return j->young ? CALL_YOUNG : CALL_YES;
	return explained ? CALL_HOLD : CALL_NO;
}

/*
 * Judge the slow horizon from its bucketed floors, once they cover a
 * quarter of it: the window's test, its threshold in proportion to the
 * span covered, and the floors' own rise (last quarter's over the first's)
 * at least that too, so that the Theil-Sen slope of a daily cycle does not
 * pass for growth. A rise that slows toward a ceiling is no leak. The
 * allocation rate is not asked here: over hours it rises with the
 * morning's traffic under a leak as much as under a pool, and a daily
 * cycle comes back down, which the floors see.
 */
static bool
judge_slow(struct judge *j, int64_t now)
{
	struct point	 pts[DETECT_BUCKETS];
	struct verdict	*v = &j->slowv;
	int64_t		 from, span, min;
	size_t		 n;
	double		 bend;

	j->slow_growing = false;
	memset(v, 0, sizeof *v);
	if (j->p.slow_window_ms == 0 || j->born == 0)
		return false;
	from = now - (int64_t)j->p.slow_window_ms;
	if (from < j->born)
		from = j->born;
	span = now - from;
	if (span < (int64_t)(j->p.slow_window_ms / JUDGE_SLOW_COVER))
		return false;
	n = detect_floors_points(&j->slow, from, pts);
	min = (int64_t)((double)j->p.slow_min_growth * (double)span /
	    (double)j->p.slow_window_ms);
	detect_judge(pts, n, now, (uint64_t)span, min, v);
	if (!v->growing || v->floors[DETECT_SEGMENTS - 1] - v->floors[0] < min)
		return false;
	if ((bend = detect_bend(pts, n)) >= 0 && bend < DETECT_BEND)
		return false;
	v->growth = (int64_t)(v->per_second * (double)j->p.slow_window_ms /
	    1000.0);
	j->slow_growing = true;
	return true;
}

/*
 * The functions the slow horizon names: those that grew the most since
 * its base, the oldest anchor.
 */
static void
judge_slow_top(struct judge *j)
{
	const struct summary	*base = j->anchor[0];
	const struct summary	*last = j->win[j->nwin - 1];
	struct judge_fn		*fns;
	size_t			 k, n = 0;

	fns = xreallocarray(NULL, last->fns->n + 1, sizeof *fns);
	for (k = 0; k < last->fns->n; k++) {
		fns[n].name = last->fns->name[k];
		fns[n].growth = last->fns->own[k] - own_value(base,
		    last->fns->name[k]);
		fns[n].growing = false;
		if (fns[n].growth > 0)
			n++;
	}
	qsort(fns, n, sizeof *fns, fn_cmp);
	if (n > 0)
		fns[0].growing = true;
	judge_set_top(j, fns, n < JUDGE_TOP ? n : JUDGE_TOP);
	j->growth = j->slowv.growth;
	free(fns);
}

/*
 * Keep a copy of the summary when the newest anchor is a quarter of the
 * slow horizon old, and forget those older than the horizon but the one
 * at its start.
 */
static void
judge_anchor(struct judge *j, const struct summary *s)
{
	uint64_t	 q = j->p.slow_window_ms / JUDGE_SLOW_COVER;

	if (j->p.slow_window_ms == 0)
		return;
	if (j->nanchor > 0 && s->time_ms - j->anchor[j->nanchor - 1]->time_ms <
	    (int64_t)q)
		return;
	if (j->nanchor == JUDGE_ANCHORS) {
		summary_free(j->anchor[0]);
		memmove(j->anchor, j->anchor + 1, (JUDGE_ANCHORS - 1) *
		    sizeof *j->anchor);
		j->nanchor--;
	}
	j->anchor[j->nanchor++] = summary_copy(s);
	while (j->nanchor > 1 && j->anchor[1]->time_ms <= s->time_ms -
	    (int64_t)j->p.slow_window_ms) {
		summary_free(j->anchor[0]);
		memmove(j->anchor, j->anchor + 1, (j->nanchor - 1) *
		    sizeof *j->anchor);
		j->nanchor--;
	}
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

/* Move the alert on, given what the judgement at now concludes. */
static void
judge_step(struct judge *j, enum judge_call call, int64_t now)
{
	/* A leak profile's goroutines are proven leaked: no `for`. */
	bool	at_once = (j->p.for_ms == 0 || leak_profile(j)) &&
	    call == CALL_YES;

	j->call = call;
	if (call == CALL_HOLD)
		return;
	if (call == CALL_YES || call == CALL_YOUNG) {
		j->calm = 0;
		if (j->state == ALERT_INACTIVE)
			judge_enter(j, at_once ? ALERT_FIRING : ALERT_PENDING,
			    now);
		else if (j->state == ALERT_PENDING && call == CALL_YES &&
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

/* How long a goroutine target's GC numbers stay back to be a restart. */
static int64_t
restart_wait(const struct judge *j)
{
	return (int64_t)(j->p.window_ms / 4 < JUDGE_RESTART_MS ?
	    j->p.window_ms / 4 : JUDGE_RESTART_MS);
}

/*
 * The service restarted: what was judged no longer compares. The window
 * and the horizons start again, and the alert resolves now.
 */
static void
judge_restart(struct judge *j, int64_t now)
{
	/* A rise pending young carries over while it looks straight. */
	j->carried = j->state == ALERT_FIRING ||
	    (j->state == ALERT_PENDING && near_line(j->bends.last,
	    DETECT_SURE));
	window_clear(j);
	horizons_reset(j);
	j->restarts++;
	if (j->state != ALERT_INACTIVE)
		judge_enter(j, ALERT_INACTIVE, now);
	j->calm = 0;
	j->call = CALL_NO;
	j->total_growing = j->fn_growing = false;
}

bool
judge_add_gc(struct judge *j, int64_t time_ms, uint64_t gc, double uptime,
    int64_t live_bytes, enum alert_state *from)
{
	const struct summary	*latest;
	enum alert_state	 was = j->state;
	enum judge_call		 call;
	int64_t			 bucket;
	bool			 growing, recent;

	*from = was;
	if (j->gc_last != 0 && (gc < j->gc_last || uptime < j->gc_uptime)) {
		/* The service restarted: its live heap starts again. */
		j->ngc = 0;
		j->gc_restarts++;
		/*
		 * A goroutine profile cannot tell: it counts nothing since
		 * the start, and Go stamps it with the time it is taken. Its
		 * window starts again here, or a warm-up after the restart
		 * would be judged as the rise of a service long running.
		 */
		if (j->nwin > 0 && j->p.kind != NULL &&
		    strcmp(j->p.kind, "heap") != 0 && j->drop_at == 0) {
			j->drop_at = time_ms;
			j->drop_from = j->gc_last;
			j->drop_up = j->gc_uptime;
		}
	} else if (j->gc_last != 0 && gc == j->gc_last)
		return false;
	j->gc_last = gc;
	j->gc_uptime = uptime;
	/*
	 * A goroutine target's GC lines tell its restarts alone: its
	 * thresholds count goroutines, not bytes. Numbers that went back are
	 * a source read again from the start (kubectl logs -f run again)
	 * when they come back to the last line, the same number at the same
	 * seconds since start; a restart when they have not within
	 * JUDGE_RESTART_MS (a quarter of the window, if shorter; judge_add()
	 * checks too, for lines that stop). A number past the last is no
	 * sign either way: a new process may pass it, and a log that keeps
	 * earlier lives (docker logs) replays them too.
	 */
	if (j->p.kind != NULL && strcmp(j->p.kind, "heap") != 0) {
		if (j->drop_at != 0 && gc == j->drop_from &&
		    uptime == j->drop_up)
			j->drop_at = 0;
		else if (j->drop_at != 0 &&
		    time_ms - j->drop_at >= restart_wait(j)) {
			j->drop_at = 0;
			judge_restart(j, time_ms);
		}
		return j->state != was;
	}
	/*
	 * heapwatchd's clock set back: a line stamped before the last point
	 * would fall in its bucket until the clock caught up, the series
	 * frozen meanwhile. It starts again, as the window does.
	 */
	if (j->ngc > 0 && time_ms < j->gc[j->ngc - 1].t_ms) {
		j->ngc = 0;
		j->live_again = true;
	}
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
	recent = latest != NULL &&
	    latest->time_ms >= time_ms - (int64_t)j->p.window_ms;
	if (!recent)
		j->total_growing = j->fn_growing = false;
	growing = judge_live(j, time_ms);
	/* Started again by the clock: the call stands until judged. */
	if (j->live.judged)
		j->live_again = false;
	/*
	 * What the last profile concluded stands until the next: a leak
	 * the slow horizon found is too slow for the window's live heap
	 * to show, and GC lines between two scrapes must not undo it.
	 */
	if (growing)
		call = CALL_YES;
	else if (j->live_again)
		call = CALL_HOLD;
	else if (j->total_growing || j->fn_growing ||
	    (recent && j->slow_growing && j->nanchor > 0) ||
	    j->call == CALL_HOLD || j->call == CALL_YOUNG)
		call = (enum judge_call)j->call;
	else
		call = CALL_NO;
	judge_step(j, call, time_ms);
	return j->state != was;
}

bool
judge_add(struct judge *j, struct summary *s, enum alert_state *from)
{
	const struct summary	*last = judge_latest(j);
	enum alert_state	 was = j->state;
	enum judge_call		 call;
	bool			 fresh;

	if ((last != NULL && (s->profile_ns < last->profile_ns ||
	    s->alloc < last->alloc)) || (j->drop_at != 0 &&
	    s->time_ms - j->drop_at >= restart_wait(j))) {
		j->drop_at = 0;
		judge_restart(j, s->time_ms);
		last = NULL;
	} else if (last != NULL && s->time_ms < last->time_ms) {
		/*
		 * heapwatchd's clock was set back, the service's was not:
		 * times before the step and after no longer compare, and a
		 * window out of order is no series (its halves, its slope).
		 * The window and the horizons start again, as at a restart,
		 * but the alert stays: the service kept its heap. A pending
		 * alert counts its `for` again from now, a firing one its
		 * calm.
		 */
		window_clear(j);
		horizons_reset(j);
		if (j->state == ALERT_PENDING)
			j->since = s->time_ms;
		j->calm = 0;
		last = NULL;
	}
	summary_rename(s, j->names);
	if (j->nwin == j->capwin) {
		j->capwin = j->capwin == 0 ? 16 : j->capwin * 2;
		j->win = xreallocarray(j->win, j->capwin, sizeof *j->win);
		j->seen = xreallocarray(j->seen, j->capwin, sizeof *j->seen);
	}
	fresh = last == NULL || !same_gc(last, s);
	/*
	 * The same GC shows the same functions: the summary keeps none of
	 * its own. A service scraped every 10 s that collects every 2
	 * minutes (Go's forced GC, when idle) repeats 11 scrapes in 12.
	 */
	if (!fresh)
		(void)summary_share(s, last);
	j->seen[j->nwin] = !fresh ? j->seen[j->nwin - 1] : s->time_ms;
	j->win[j->nwin++] = s;
	window_prune(j, s->time_ms);
	if (fresh) {
		/* A new GC: a point of both horizons' floors. */
		if (j->born == 0)
			j->born = s->time_ms;
		detect_floors_add(&j->recent, s->time_ms, s->total);
		detect_floors_add(&j->slow, s->time_ms, s->total);
		judge_anchor(j, s);
	}

	call = judge_window(j, s->time_ms);
	if (fresh)
		judge_slow(j, s->time_ms);
	if (call != CALL_YES && j->slow_growing && j->nanchor > 0) {
		j->horizon = HORIZON_SLOW;
		judge_slow_top(j);
		call = CALL_YES;
	}
	if (judge_live(j, s->time_ms))
		call = CALL_YES;
	judge_step(j, call, s->time_ms);
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
judge_sites(const struct judge *j, struct store *store, const char *target,
    struct alert_site **out, size_t *nout, char **cause)
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
		sites[i].function = xstrdup(summary_names_get(j->names,
		    j->top[i].name));
		sites[i].growth = j->top[i].growth;
	}
	*out = sites;
	*nout = j->ntop;
	st = symtab_new();
	if (j->nwin == 0) {
		xasprintf(cause, "no snapshot judged yet");
		goto out;
	}
	if ((pc = store_load(store, target, judge_latest(j)->id,
	    PROFILE_MAX_INFLATED, st, cause)) == NULL ||
	    (pb = store_load(store, target, judge_first(j)->id,
	    PROFILE_MAX_INFLATED, st, cause)) == NULL ||
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
