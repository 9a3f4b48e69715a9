/*
 * The judgement of one target: the summaries of the snapshots in its
 * window (and the last one before it, the heap at the window's start),
 * the leak test of detect.c on its total and on each function's own
 * value, and the state of its alert. A heap snapshot that repeats the one
 * before (no GC between the two scrapes) adds no point and leaves the
 * verdict as it was. heapwatchd keeps one per target;
 * `heapwatch judge` replays a folder of snapshots through one, so both
 * reach the same verdict.
 *
 * A target whose service writes GODEBUG=gctrace=1 lines also gives the live
 * heap after each GC, judged by the same test: a third signal, and the
 * only one of a target without a profile.
 *
 * The alert is Prometheus-like: inactive; pending while the target, one
 * of its functions or its live heap is growing; firing once it has been
 * growing for `for`; back to inactive (resolved) once it has stopped for
 * half of `for`. A restart of the target (its profiles go back in time,
 * or its allocations since start shrink) starts a new window.
 */
#ifndef JUDGE_H
#define JUDGE_H

#include <stdbool.h>
#include <stdint.h>

#include "detect.h"
#include "summary.h"

#define JUDGE_TOP	5	/* functions an alert names */
#define JUDGE_GC_BUCKETS 256	/* live heap points kept per window */
#define JUDGE_TTL_MAX	1e12	/* seconds to a limit, at most: 31,000 y */
#define JUDGE_RECENT	16	/* recent floors a window: 6 windows kept */
#define JUDGE_SHAPE	6	/* windows of history a rise's shape is
				   judged over: all the recent floors */
#define JUDGE_YOUNG	3	/* windows of history before a rise may
				   fire, unless it is a straight line */
#define JUDGE_SUSPECTS	4	/* functions whose own floors are kept */
#define JUDGE_RESTART_MS 120000	/* a goroutine target's GC numbers stay
				   back this long: a restart */
#define JUDGE_SLOW_COVER 4	/* the slow horizon is judged from 1/4 */
#define JUDGE_ANCHORS	6	/* summaries kept across the slow horizon */

enum alert_state {
	ALERT_INACTIVE,
	ALERT_PENDING,
	ALERT_FIRING
};

struct store;

struct judge_params {
	const char	*kind;		/* "heap" or "goroutine" */
	uint64_t	 window_ms;
	uint64_t	 for_ms;
	int64_t		 min_growth;
	uint64_t	 slow_window_ms;	/* 0: no slow horizon */
	int64_t		 slow_min_growth;
	/* The function names, shared with other judgements (heapwatchd's
	 * targets share one table); NULL: its own. Read by judge_new(). */
	struct names	*names;
};

/* The horizons: the fast window, the slow bucketed one. */
enum horizon {
	HORIZON_FAST,
	HORIZON_SLOW
};

/* A function that grew across the window. */
struct judge_fn {
	uint32_t	 name;		/* in the judge's names */
	int64_t		 growth;	/* its own value, last minus first */
	bool		 growing;	/* its own test says so */
};

/* A target's judgement; opaque, shown through judge_view(). */
struct judge;

/*
 * What a judgement shows, for those who serve, print or chart it, filled by
 * judge_view(): its pointers are the judge's, valid until it next changes.
 */
struct judge_view {
	enum alert_state	 state;
	int64_t			 since;		/* of the state, unix ms */
	int64_t			 active;	/* growing since, unix ms */
	const char		*kind;		/* "heap" or "goroutine" */
	int64_t			 growth;	/* what the alert says */
	double			 per_second;	/* the total's slope */
	const struct verdict	*total;		/* of the last judgement */
	bool			 total_growing;
	bool			 traffic;	/* a rise followed traffic */
	unsigned int		 restarts;
	struct summary *const	*win;		/* the window, oldest first */
	size_t			 nwin;
	const struct judge_fn	*top;		/* the functions it names */
	size_t			 ntop;
	const struct names	*names;		/* of top's and win's ids */
	const struct point	*gc;		/* live heap after GCs */
	size_t			 ngc;
	unsigned int		 gc_restarts;
	bool			 live_growing;
};

/* Where a function the alert names grew: for people and webhooks. */
struct alert_site {
	char		*function;
	int64_t		 growth;
	char		*file;		/* NULL when unknown */
	int64_t		 line;
	char		*stack[5];	/* itself, then its callers */
	size_t		 nstack;
};

struct judge	*judge_new(const struct judge_params *);
void		 judge_free(struct judge *);
void		 judge_set_params(struct judge *, const struct judge_params *);
void		 judge_view(const struct judge *, struct judge_view *);
enum alert_state judge_state(const struct judge *);
/* The names its summaries' ids are in, which new summaries add to. */
struct names	*judge_names(struct judge *);
/*
 * Take the summary of a new snapshot and judge at its time; true when the
 * alert's state changed, the old one in *from. The summary is the judge's
 * from then on, its names moved to judge_names() when in another table.
 */
bool		 judge_add(struct judge *, struct summary *,
		    enum alert_state *from);
/*
 * Take the live heap after GC number gc (seconds after the process's start)
 * and judge at time_ms; as judge_add. A GC number or a time that goes back
 * is a restart, and a repeat of the last GC (gctrace=2) is ignored.
 */
bool		 judge_add_gc(struct judge *, int64_t time_ms, uint64_t gc,
		    double uptime, int64_t live_bytes, enum alert_state *from);
/*
 * Whether a heap scrape at now should ask the service for a GC first
 * (Go's ?gc=1): the alert is pending, so a suspicion is to be confirmed,
 * and no GC has been seen for a span of the window, so the profile is
 * stale. The scrape's profile is then a new GC, judged as any other.
 */
bool		 judge_wants_gc(const struct judge *, int64_t now_ms);
/*
 * Whether the latest heap snapshot repeats the one before it: no GC
 * completed between the two scrapes, so the profile is stale.
 */
bool		 judge_repeats(const struct judge *);
/*
 * Seconds until the in-use value (bytes, or goroutines) reaches limit at
 * the rate the horizon that fired judged: the Theil-Sen slope of the
 * window's GCs (or of the slow horizon's floors) from its latest value,
 * or of the live heap after each GC for a target that has only gctrace,
 * at most JUDGE_TTL_MAX. 0 when the latest value is at the limit already;
 * -1 when limit is 0, or no signal grows at a positive rate.
 */
double		 judge_time_to_limit(const struct judge *, int64_t limit);
/*
 * "critical" when the limit is reached within page_within_ms at that
 * rate, else "warning" (no limit, or further off).
 */
const char	*judge_severity(const struct judge *, int64_t limit,
		    uint64_t page_within_ms);
/*
 * Add a total seen at time_ms to the slow horizon alone: the history kept
 * beside the snapshots, replayed at start-up before the window's own.
 */
void		 judge_seed(struct judge *, int64_t time_ms, int64_t total);
const struct summary *judge_latest(const struct judge *);
const struct summary *judge_first(const struct judge *);
const char	*judge_signals(const struct judge *);
/* "fast" or "slow"; its window and what the alert says it grew over it. */
const char	*judge_horizon(const struct judge *);
uint64_t	 judge_horizon_ms(const struct judge *);
const char	*judge_state_name(enum alert_state);

/*
 * The sites of the functions the judgement names, from the diff of the
 * window's first and last snapshots, read from target's folder of the
 * store. Each named function gets a site, with file and stack when the
 * diff tells them; -1 with *cause when the snapshots do not load, the
 * sites named all the same.
 */
int		 judge_sites(const struct judge *, struct store *,
		    const char *target, struct alert_site **, size_t *,
		    char **cause) __attribute__((warn_unused_result));
void		 judge_sites_free(struct alert_site *, size_t);

#endif
