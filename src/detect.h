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
 * Growth that passes is then told from growth that is no leak (judge.c
 * applies these, with the helpers below):
 *
 *   5. Traffic. A heap's allocation rate (alloc_space since start,
 *      between points) over the window's last quarter, over its rate in
 *      the first: when it rose by more than DETECT_TRAFFIC (5%) and the
 *      in-use floor rose no more than DETECT_FOLLOW (1.5) times as much,
 *      the heap follows the requests (a pool, a queue, buffers in flight:
 *      Little's law), and the judgement cannot tell; the alert holds its
 *      state. A leak rises at a flat allocation rate, and is never
 *      excused. 1.5, because the rate is a quarter's average and the
 *      floor a point of it: over the steepest 30 minutes of a morning
 *      ramp (traffic x5 in an hour) the rate's ratio is 2.2 and a pool's
 *      floors' 2.85. Goroutine profiles count no allocations: the
 *      traffic is how much the other functions' goroutines rose (their
 *      cum, at least 8, holding under half of the growth), such as the
 *      connections net/http parks.
 *   6. Shape. The recent floors (DETECT_BUCKETS of window/16: 6 windows)
 *      since max(6 windows ago, the first point) are cut in two halves
 *      of time; the later half's Theil-Sen slope over the earlier's is
 *      under DETECT_BEND (0.7) for a rise slowing toward a ceiling (an
 *      alert already firing stays so while the window's floors rise): a
 *      cache that fills half its room every 80 minutes bends to 0.88
 *      over a 30-minute window, to 0.47 over 3 hours. Sampling (one
 *      sample a 512 KiB) bends a 60 MiB/h leak by about 10% over 3 hours,
 *      hence 0.7 rather than closer to 1. Between 0.7 and DETECT_SURE
 *      (0.85) the rise may be slowing: it may go or stay pending, or stay
 *      firing, and may not fire (a cache's bend over its first 2 hours is
 *      0.61, 2 sigma of sampling from 0.75). A target seen for less than
 *      2 windows is not judged by shape and does not fire; for less than
 *      3, only a rise that does not bend at all (within 1% of
 *      DETECT_STRAIGHT's line) and whose bend stayed within DETECT_SURE
 *      of 1 since it went pending may fire, so that a warm-up does not
 *      fire before it had time to slow (over its first 45 minutes, a
 *      cache filling half its room every 80 minutes can look straight);
 *      one restarted while its alert was firing, or pending on a rise
 *      still near a line (an OOM loop), fires on a straight rise at
 *      once.
 *      A function that grows while the total does not (its rise
 *      hidden by a sawtooth's swings) is judged so on its own floors,
 *      kept from the window it was first seen growing in.
 *
 * The slow horizon (24 h by default) catches what grows too slowly for
 * the window (8 MiB/h is 4 MiB a 30-minute window, 192 MiB a day): a
 * struct floors of DETECT_BUCKETS buckets, each the lowest total of a
 * 96th of the horizon and when (24 bytes, 2.3 KiB a target once full;
 * no summary a snapshot, no snapshot kept).
 * Once it covers a quarter of its span, the bucket floors are judged by
 * 1-4 over the span covered, the threshold in proportion to it; the
 * last quarter's floor must be that much above the first's too (a daily
 * cycle's Theil-Sen slope is not growth), and 6 applies. A step leak
 * (24 MiB once an hour) never has four rising floors in a window and
 * has them over hours.
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
#define DETECT_BUCKETS	96	/* floors kept a horizon: 15 min of 24 h */
#define DETECT_BEND	0.7	/* later slope under this of the earlier:
				   slowing toward a ceiling */
#define DETECT_STRAIGHT	0.99	/* a rise that does not slow: a line */
#define DETECT_SURE	0.85	/* under this, a rise may be slowing: it
				   may stay pending or firing, not fire */
#define DETECT_TRAFFIC	1.05	/* allocation rate up more than this: the
				   traffic rose */
#define DETECT_FOLLOW	1.5	/* in-use up at most this times as much
				   as the traffic: it follows the traffic */

struct point {
	int64_t		 t_ms;
	int64_t		 v;
};

/*
 * A bucket of a bucketed series: the lowest value seen in its span of
 * time and when, and when it last saw a value, which tells its span.
 * 24 bytes.
 */
struct bucket {
	int64_t		 t_ms;
	int64_t		 v;
	int64_t		 last_ms;
};

/*
 * The floors of a horizon: DETECT_BUCKETS buckets of span_ms each at most,
 * oldest first, whatever the scrape interval. Allocated as they fill: a
 * target young, or without a slow horizon, does not pay the 2.3 KiB of a
 * full one.
 */
struct floors {
	uint64_t	 span_ms;
	size_t		 n, cap;
	struct bucket	*b;
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

/*
 * Empty the floors, their buckets freed, and give their buckets a span;
 * 0 keeps none. Floors start zeroed, and are let go of with a span of 0.
 */
void	detect_floors_reset(struct floors *, uint64_t span_ms);
/* Add an observation. */
void	detect_floors_add(struct floors *, int64_t t_ms, int64_t v);
/*
 * The floors at or after from_ms as points, into out (DETECT_BUCKETS of
 * them at most). The count.
 */
size_t	detect_floors_points(const struct floors *, int64_t from_ms,
	    struct point *out);

/*
 * How the rise bends: the slope of the later half of the points' time
 * over the slope of the earlier half (Theil-Sen each). 1 for a straight
 * line, under DETECT_BEND for a rise slowing toward a ceiling, 0 when the
 * later half falls; when the earlier half did not rise, 1 if the later
 * did not either, and more.
 * Negative when it cannot be told (a half with fewer than 2 points).
 */
double	detect_bend(const struct point *, size_t n);

/*
 * How the rate of a cumulative count (allocations since start) changed:
 * its rate over the last quarter of the points' time over its rate over
 * the first quarter; 0 when that cannot be told.
 */
double	detect_rate_ratio(const struct point *, size_t n);

/*
 * Whether growth from first to last is the traffic's: the traffic rose
 * (traffic, a ratio, over DETECT_TRAFFIC) and the value rose no more
 * than DETECT_FOLLOW times that, as a pool or a queue sized by the
 * request rate does. A leak keeps rising at a flat rate.
 */
bool	detect_follows(int64_t first, int64_t last, double traffic);

#endif
