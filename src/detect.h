/*
 * Judging growth: is a series of in-use values (bytes, or goroutines)
 * leaking? Pure functions of the series, testable with synthetic ones.
 *
 * The points are observations: for a heap, the distinct states its
 * profiles show, one a GC, each at the first scrape that showed it (a
 * scrape between two GCs repeats the profile before and is no point).
 * The test, at time now, over the points of the last window:
 *
 *   1. The window must be covered: a point at most 10% of it after its
 *      start, and two points at least. The last point before the window
 *      is the state at its start, since a heap profile holds until the
 *      next GC. A target just started, or restarted, is not judged.
 *   2. The window is cut in DETECT_SEGMENTS equal spans of time and the
 *      floor of each is taken: its smallest value. Go's heap profile is
 *      the heap after the last GC, so a floor is the live heap at its
 *      lowest, under any churn or sawtooth. A span without a point saw
 *      no GC: it neither breaks a rise nor makes one, and shows the
 *      floor before it. Two spans at least must hold a point.
 *   3. Growing means every floor above the one before: the live heap's
 *      lower envelope rose across the whole window. Churn leaves the
 *      floors flat; a sawtooth drops back to the same floor; a cache
 *      that filled and stopped leaves flat floors once the window has
 *      passed its filling, and before that its rise does not reach
 *      every span.
 *   4. The growth over the window is the robust slope of all its points
 *      (Theil-Sen: the median of the slopes between every two points,
 *      unmoved by the outliers of a sawtooth's peaks) times the window,
 *      and must be at least min_growth.
 *
 * The alert state machine (judge.c) adds `for`: growing must hold at every
 * judgement for that long before an alert fires.
 */
#ifndef DETECT_H
#define DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DETECT_SEGMENTS	4
#define DETECT_COVER	0.9	/* a point no later than 1 - this into it */

struct point {
	int64_t		 t_ms;
	int64_t		 v;
};

struct verdict {
	bool		 judged;	/* the window was covered */
	bool		 floors_rise;
	bool		 growing;	/* floors rise, growth >= min_growth */
	double		 per_second;	/* Theil-Sen slope, if floors rise */
	int64_t		 growth;	/* per_second * window */
	int64_t		 floors[DETECT_SEGMENTS];
};

/*
 * Judge the points (sorted by time, each a distinct observation) at now,
 * over the window.
 */
void	detect_judge(const struct point *, size_t n, int64_t now_ms,
	    uint64_t window_ms, int64_t min_growth, struct verdict *);

/* The Theil-Sen slope of points, per second; 0 for fewer than two. */
double	detect_slope(const struct point *, size_t n);

#endif
