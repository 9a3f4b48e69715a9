#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "xmalloc.h"

static int
double_cmp(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double
detect_slope(const struct point *p, size_t n)
{
	double	*s, m;
	size_t	 i, j, k = 0, step;

	if (n < 2)
		return 0;
	/* Beyond 128 points, every step-th: the median hardly moves. */
	step = n > 128 ? (n + 127) / 128 : 1;
	s = xreallocarray(NULL, (n / step + 1) * (n / step + 1) / 2 + 1,
	    sizeof *s);
	for (i = 0; i < n; i += step)
		for (j = i + step; j < n; j += step)
			if (p[j].t_ms != p[i].t_ms)
				s[k++] = (double)(p[j].v - p[i].v) * 1000.0 /
				    (double)(p[j].t_ms - p[i].t_ms);
	if (k == 0) {
		free(s);
		return 0;
	}
	qsort(s, k, sizeof *s, double_cmp);
	m = k % 2 == 1 ? s[k / 2] : (s[k / 2 - 1] + s[k / 2]) / 2;
	free(s);
	return m;
}

void
detect_floors_reset(struct floors *f, uint64_t span_ms)
{
	free(f->b);
	memset(f, 0, sizeof *f);
	f->span_ms = span_ms;
}

void
detect_floors_add(struct floors *f, int64_t t, int64_t v)
{
	struct bucket	*b;

	if (f->span_ms == 0)
		return;
	b = f->n > 0 ? &f->b[f->n - 1] : NULL;
	if (b == NULL || t / (int64_t)f->span_ms !=
	    b->last_ms / (int64_t)f->span_ms) {
		if (f->n == DETECT_BUCKETS) {
			memmove(f->b, f->b + 1, (f->n - 1) * sizeof *f->b);
			f->n--;
		} else if (f->n == f->cap) {
			f->cap = f->cap == 0 ? 8 : f->cap * 2;
			if (f->cap > DETECT_BUCKETS)
				f->cap = DETECT_BUCKETS;
			f->b = xreallocarray(f->b, f->cap, sizeof *f->b);
		}
		b = &f->b[f->n++];
		b->t_ms = t;
		b->v = v;
	} else if (v < b->v) {
		b->t_ms = t;
		b->v = v;
	}
	b->last_ms = t;
}

size_t
detect_floors_points(const struct floors *f, int64_t from, struct point *out)
{
	size_t	i, n = 0;

	for (i = 0; i < f->n; i++) {
		if (f->b[i].last_ms < from)
			continue;
		out[n].t_ms = f->b[i].t_ms;
		out[n].v = f->b[i].v;
		n++;
	}
	return n;
}

double
detect_bend(const struct point *p, size_t n)
{
	double	early, late;
	int64_t	mid;
	size_t	k;

	if (n < 4)
		return -1;
	mid = p[0].t_ms + (p[n - 1].t_ms - p[0].t_ms) / 2;
	for (k = 0; k < n && p[k].t_ms <= mid; k++)
		;
	if (k < 2 || n - k < 2)
		return -1;
	early = detect_slope(p, k);
	late = detect_slope(p + k, n - k);
	if (early <= 0)
		return late > 0 ? 1e9 : 1;
	/* A later half that falls bends all the way: 0, not a negative
	 * ratio, which would say the bend cannot be told. */
	return late > 0 ? late / early : 0;
}

double
detect_rate_ratio(const struct point *p, size_t n)
{
	int64_t	span, q;
	size_t	a, b;
	double	first, last;

	if (n < 4 || (span = p[n - 1].t_ms - p[0].t_ms) <= 0)
		return 0;
	q = span / 4;
	for (a = 1; a + 1 < n && p[a].t_ms - p[0].t_ms < q; a++)
		;
	for (b = n - 2; b > 0 && p[n - 1].t_ms - p[b].t_ms < q; b--)
		;
	if (b < a || p[a].t_ms == p[0].t_ms || p[n - 1].t_ms == p[b].t_ms)
		return 0;
	first = (double)(p[a].v - p[0].v) / (double)(p[a].t_ms - p[0].t_ms);
	last = (double)(p[n - 1].v - p[b].v) /
	    (double)(p[n - 1].t_ms - p[b].t_ms);
	if (first <= 0 || last < 0)
		return 0;
	return last / first;
}

bool
detect_follows(int64_t first, int64_t last, double traffic)
{
	if (traffic <= DETECT_TRAFFIC || first <= 0)
		return false;
	return (double)last <= (double)first * traffic * DETECT_FOLLOW;
}

void
detect_judge(const struct point *pts, size_t n, int64_t now_ms,
    uint64_t window_ms, int64_t min_growth, struct verdict *v)
{
	struct point	*w;
	size_t		 i, first, nw, seg, nseen = 0;
	int64_t		 start = now_ms - (int64_t)window_ms, last = 0;
	bool		 seen[DETECT_SEGMENTS];

	memset(v, 0, sizeof *v);
	if (window_ms == 0)
		return;
	for (i = 0; i < n && pts[i].t_ms < start; i++)
		;
	/*
	 * The last point before the window is the state at its start: a
	 * heap profile stays what it is until the next GC.
	 */
	first = i > 0 ? i - 1 : i;
	for (nw = 0; first + nw < n && pts[first + nw].t_ms <= now_ms; nw++)
		;
	if (nw < 2)
		return;
	w = xreallocarray(NULL, nw, sizeof *w);
	memcpy(w, &pts[first], nw * sizeof *w);
	if (w[0].t_ms < start)
		w[0].t_ms = start;
	if ((double)(w[0].t_ms - start) > (1 - DETECT_COVER) *
	    (double)window_ms)
		goto out;		/* not covered: just started */
	memset(seen, 0, sizeof seen);
	for (i = 0; i < nw; i++) {
		seg = (size_t)((double)(w[i].t_ms - start) * DETECT_SEGMENTS /
		    (double)window_ms);
		if (seg >= DETECT_SEGMENTS)
			seg = DETECT_SEGMENTS - 1;
		if (!seen[seg] || w[i].v < v->floors[seg])
			v->floors[seg] = w[i].v;
		seen[seg] = true;
	}
	v->judged = true;
	v->floors_rise = true;
	/*
	 * A span without a point saw no GC: it neither breaks a rise nor
	 * makes one, and shows the floor before it.
	 */
	for (seg = 0; seg < DETECT_SEGMENTS; seg++) {
		if (!seen[seg]) {
			v->floors[seg] = last;
			continue;
		}
		if (nseen > 0 && v->floors[seg] <= last)
			v->floors_rise = false;
		last = v->floors[seg];
		nseen++;
	}
	if (nseen < 2)
		v->floors_rise = false;
	/* The slope costs n^2: only for a series whose floors rise. */
	if (!v->floors_rise)
		goto out;
	/* The slope takes each GC at its own time, a rate. */
	w[0].t_ms = pts[first].t_ms;
	v->per_second = detect_slope(w, nw);
	v->growth = (int64_t)(v->per_second * (double)window_ms / 1000.0);
	v->growing = v->growth >= min_growth;
out:
	free(w);
}
