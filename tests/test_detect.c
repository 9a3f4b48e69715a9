/*
 * Unit tests for src/detect.c: synthetic series of each shape the
 * detector must tell apart, with noise, judged at every point in time.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "tap.h"

#define MiB		(1024 * 1024)
#define WINDOW		20000	/* ms */
#define MIN_GROWTH	(4 * MiB)

/* A shape: the live heap at second t (a float, for sawtooth phases). */
typedef double (*shape_fn)(double t);

static double leak(double t) { return 50 * MiB + 0.5 * MiB * t; }
static double flat(double t) { return 50 * MiB; }
static double
sawtooth(double t)
{
	return 50 * MiB + 4 * MiB * fmod(t, 6.0);	/* 24 MiB, 6 s */
}
static double
small_leak(double t)
{
	return 2 * MiB + 0.25 * MiB * t;
}
static double
cache(double t)
{
	return 50 * MiB + (t < 6 ? t : 6) * 16.0 / 6 * MiB;
}
static double
late_cache(double t)
{
	/* Fills 16 MiB between 60 s and 66 s, then stays. */
	return 50 * MiB + (t < 60 ? 0 : t < 66 ? (t - 60) : 6) * 16.0 / 6 *
	    MiB;
}

/*
 * Judge a shape sampled every second for `seconds`, with noise of `noise`
 * bytes; returns the longest run of judgements that said growing (an
 * alert fires after `for` of them), and the second it first said so.
 */
static int
run(shape_fn f, int seconds, double noise, int *first)
{
	struct point	 p[1000];
	struct verdict	 v;
	int		 i, growing = 0, longest = 0;

	*first = -1;
	srand(7);
	for (i = 0; i < seconds; i++) {
		p[i].t_ms = (int64_t)i * 1000;
		p[i].v = (int64_t)(f(i) + noise * ((double)rand() /
		    RAND_MAX - 0.5));
		detect_judge(p, i + 1, p[i].t_ms, WINDOW, MIN_GROWTH, &v);
		if (v.growing) {
			growing++;
			if (*first == -1)
				*first = i;
		} else
			growing = 0;
		if (growing > longest)
			longest = growing;
	}
	return longest;
}

/* The helpers of the shape tests, and the bucketed floors. */
static void
test_shape_helpers(void)
{
	struct point	 p[200], out[DETECT_BUCKETS];
	struct floors	 f;
	size_t		 i, n;

	for (i = 0; i < 100; i++) {
		p[i].t_ms = (int64_t)i * 1000;
		p[i].v = (int64_t)i * MiB;
	}
	ok(fabs(detect_bend(p, 100) - 1) < 0.01, "a line does not bend "
	    "(%.3f)", detect_bend(p, 100));
	for (i = 0; i < 100; i++)
		p[i].v = (int64_t)(600.0 * MiB * (1 - exp(-(double)i / 50)));
	ok(detect_bend(p, 100) < DETECT_BEND, "a rise to a ceiling bends "
	    "(%.3f)", detect_bend(p, 100));
	for (i = 0; i < 100; i++)
		p[i].v = (int64_t)i * (int64_t)i * 1000;
	ok(detect_bend(p, 100) > 1, "a rise that speeds up: more than 1");
	/*
	 * A cache filled over the first hours of a day, then a little
	 * lower as the evening's traffic goes (histgen's cache, seed 18,
	 * judged by the slow horizon at 22:30): its later half falls, which
	 * bends all the way (0), and must not read as a bend that cannot be
	 * told (negative), which let it fire.
	 */
	for (i = 0; i < 100; i++)
		p[i].v = i < 30 ? (int64_t)i * 20 * MiB :
		    656 * MiB - (int64_t)i * 65536;
	ok(detect_bend(p, 100) >= 0 && detect_bend(p, 100) < DETECT_BEND,
	    "a rise then a slight fall bends (%.3f)", detect_bend(p, 100));
	/* A rise that starts late does not bend. */
	for (i = 0; i < 100; i++)
		p[i].v = (int64_t)(i < 60 ? (i % 3) : (i - 60) * 10) * MiB;
	ok(detect_bend(p, 100) > 1, "a rise from the middle on does not "
	    "(%.3g)", detect_bend(p, 100));

	/* Allocations at 1 MiB/s, then 3 MiB/s over the last quarter. */
	for (i = 0; i < 100; i++)
		p[i].v = (int64_t)(i < 75 ? i : 75 + 3 * (i - 75)) * MiB;
	ok(fabs(detect_rate_ratio(p, 100) - 3) < 0.1, "the rate tripled "
	    "(%.3f)", detect_rate_ratio(p, 100));
	ok(detect_rate_ratio(p, 2) == 0, "two points tell no rate");
	ok(detect_follows(100, 250, 2), "in-use x2.5 as the traffic x2: "
	    "follows it");
	ok(!detect_follows(100, 400, 2), "in-use x4 as the traffic x2: does "
	    "not");
	ok(!detect_follows(100, 104, 1.01), "a flat traffic excuses nothing");

	/* 96 buckets of 10 s: the lowest of each, the oldest dropped. */
	memset(&f, 0, sizeof f);
	detect_floors_reset(&f, 10000);
	for (i = 0; i < 55; i++)
		detect_floors_add(&f, (int64_t)i * 1000, (int64_t)(i % 10 == 3 ?
		    i : i + 100));
	ok(f.n == 6 && f.cap < DETECT_BUCKETS, "6 buckets filled take room "
	    "for %zu", f.cap);
	for (; i < 2000; i++)
		detect_floors_add(&f, (int64_t)i * 1000, (int64_t)(i % 10 == 3 ?
		    i : i + 100));
	ok(f.n == DETECT_BUCKETS && f.cap == DETECT_BUCKETS,
	    "the buckets stay %d (%zu)", DETECT_BUCKETS, f.n);
	n = detect_floors_points(&f, 0, out);
	ok(n == DETECT_BUCKETS && out[0].v == 1043 && out[0].t_ms == 1043000,
	    "each holds its lowest and when (%lld)", (long long)out[0].v);
	n = detect_floors_points(&f, 1990000, out);
	ok(n == 1, "points from a time on: %zu", n);
	detect_floors_reset(&f, 0);
	ok(f.n == 0 && f.b == NULL, "reset, they hold nothing");
}

int
main(void)
{
	struct point	 p[10];
	struct verdict	 v;
	int		 first, n;

	/* `for` is 10 s: ten judgements in a row fire. */
	n = run(leak, 120, 256 * 1024, &first);
	ok(n >= 90 && first <= 22, "a steady leak keeps growing (%d in a row, "
	    "from %d s)", n, first);
	/*
	 * A small leak inside a big sawtooth: the total swings, and whether
	 * its floors rise depends on where the troughs fall; the leaking
	 * function's own in-use bytes rise steadily, and that is judged.
	 */
	n = run(small_leak, 180, 64 * 1024, &first);
	ok(n >= 150, "a function's small leak keeps growing (%d in a row, "
	    "from %d s)", n, first);
	n = run(flat, 120, 2 * MiB, &first);
	ok(n == 0, "churn around a flat live heap never grows (%d)", n);
	n = run(sawtooth, 180, 256 * 1024, &first);
	ok(n == 0, "a sawtooth never grows (%d)", n);
	n = run(cache, 120, 256 * 1024, &first);
	ok(n < 10, "a cache filled at start: never 10 in a row (%d)", n);
	n = run(late_cache, 180, 256 * 1024, &first);
	ok(n < 10, "a cache filled later: never 10 in a row (%d)", n);

	/* The details. */
	memset(p, 0, sizeof p);
	detect_judge(p, 0, 0, WINDOW, MIN_GROWTH, &v);
	ok(!v.judged, "no points: not judged");
	for (n = 0; n < 5; n++) {
		p[n].t_ms = n * 1000;
		p[n].v = n * MiB;
	}
	detect_judge(p, 5, 4000, WINDOW, MIN_GROWTH, &v);
	ok(!v.judged, "a window not covered is not judged");
	for (n = 0; n < 5; n++)
		p[n].t_ms = n * 5000;
	detect_judge(p, 5, 20000, WINDOW, MIN_GROWTH, &v);
	ok(v.judged && v.floors_rise, "a covered window is judged");
	ok(fabs(v.per_second - MiB / 5.0) < 1, "the slope is the rate");
	is_int(v.growth, 4 * MiB, "growth: slope times window");
	ok(v.growing, "growth at min_growth grows");
	detect_judge(p, 5, 20000, WINDOW, MIN_GROWTH + 1, &v);
	ok(!v.growing, "growth under min_growth does not");
	p[3].v = 0;
	detect_judge(p, 5, 20000, WINDOW, 1, &v);
	ok(!v.floors_rise && !v.growing, "a floor that falls back stops it");

	/*
	 * Points are GCs: a span of the window without one neither breaks a
	 * rise nor makes one, and the last GC before the window is the heap
	 * at its start.
	 */
	p[0].t_ms = -3000, p[0].v = 10 * MiB;
	p[1].t_ms = 12000, p[1].v = 14 * MiB;
	p[2].t_ms = 19000, p[2].v = 18 * MiB;
	detect_judge(p, 3, 20000, WINDOW, MIN_GROWTH, &v);
	ok(v.judged && v.floors_rise && v.growing, "a span without a GC "
	    "does not break a rise (growth %lld)", (long long)v.growth);
	is_int(v.floors[1], 10 * MiB, "it shows the floor before it");
	p[1].v = p[2].v = 10 * MiB;
	detect_judge(p, 3, 20000, WINDOW, 1, &v);
	ok(v.judged && !v.floors_rise && !v.growing,
	    "nor makes one of a flat heap");
	detect_judge(p, 1, 20000, WINDOW, 1, &v);
	ok(!v.judged, "one GC alone is not judged");
	p[0].t_ms = 3000;
	p[1].v = 14 * MiB, p[2].v = 18 * MiB;
	detect_judge(p, 3, 20000, WINDOW, 1, &v);
	ok(!v.judged, "no GC at the window's start: not covered");

	p[0].t_ms = 0, p[0].v = 0;
	p[1].t_ms = 1000, p[1].v = 10;
	p[2].t_ms = 2000, p[2].v = 1000;	/* an outlier */
	p[3].t_ms = 3000, p[3].v = 30;
	p[4].t_ms = 4000, p[4].v = 40;
	ok(fabs(detect_slope(p, 5) - 10) < 1e-6, "Theil-Sen ignores an "
	    "outlier (%.1f per second)", detect_slope(p, 5));
	test_shape_helpers();
	return tap_done();
}
