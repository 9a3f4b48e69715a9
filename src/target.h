/*
 * A watched target: its scrapes on a timer, its profiles decoded by the
 * workers and stored, its judgement, its gctrace source and its webhooks.
 * The struct is the target's own; others read what it shows through
 * target_status() and never change it.
 */
#ifndef TARGET_H
#define TARGET_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stdint.h>

#include "gctrace.h"

struct decode;
struct event_base;
struct follow;
struct history;
struct judge;
struct names;
struct notifier;
struct alert_site;
struct buf;
struct scrape;
struct store;
struct store_retention;
struct summary;
struct target;
struct target_config;

enum target_health {
	TARGET_UNKNOWN,
	TARGET_UP,
	TARGET_DOWN
};

/* What a line from a target's gctrace source was. */
enum gc_line {
	GC_LINE_GC,		/* a GC, judged */
	GC_LINE_REPEAT,		/* a GC seen already, skipped */
	GC_LINE_MALFORMED,	/* began like one, then cut or spoiled */
	GC_LINE_OTHER,		/* the service's other output */
	GC_LINE_NRESULTS
};

/* How a scrape ended, the result label of heapwatch_scrapes_total. */
enum scrape_outcome {
	SCRAPE_SUCCESS,
	SCRAPE_FAILED,		/* connection, timeout, HTTP status, size */
	SCRAPE_INVALID,		/* the body is not a profile */
	SCRAPE_NOT_STORED,	/* a profile, but the store failed */
	SCRAPE_SKIPPED,		/* not made: the workers are behind and
				   its last body did not decode, or an
				   interval went by while the last scrape
				   was under way */
	SCRAPE_NOUTCOMES
};

/* What a target needs of the daemon, given once at target_new(). */
struct target_deps {
	struct event_base	*base;
	struct store		*store;
	struct scrape		*scrape;
	struct decode		*decode;
	struct notifier		*notifier;	/* NULL: no webhooks */
	/* The function names of every target's summaries, shared: the
	 * replicas of a service keep theirs once. NULL: each its own. */
	struct names		*names;
	/* The daemon's, which a reload changes in place. */
	const struct store_retention *retention;
	/*
	 * Told whether scrapes are being skipped for the workers (see
	 * target_scrape()), so that the daemon says it in one place; NULL:
	 * not told.
	 */
	void			(*behind)(bool skipping, void *arg);
	void			*behind_arg;
	/* Scrapes that repeated the last snapshot, not parsed; NULL: not
	 * counted. */
	uint64_t		*repeats;
};

/* What a target shows of itself: read-only to all but target.c. */
struct target_status {
	enum target_health	 health;	/* of the last scrape */
	char			*last_error;	/* NULL when none */
	int64_t			 last_scrape;	/* unix ms, 0 never */
	double			 last_duration;	/* seconds */
	unsigned int		 failures;	/* in a row */
	uint64_t		 scrapes[SCRAPE_NOUTCOMES];
	enum scrape_outcome	 last_outcome;	/* of the last made */
	bool			 decoded;	/* its last body was a profile */
	size_t			 snapshots;
	uint64_t		 store_bytes;	/* theirs on disk, store_bytes() */
	uint64_t		 forced_gcs;	/* scrapes that asked ?gc=1 */
	char			 evidence[32];	/* of the open alert, an
						   evidence.h id, or "" */

	struct judge		*judge;		/* the window and the alert */
	struct history		*hist;		/* totals of the history */
	struct alert_site	*sites;		/* of the judge's top, when
						   the alert fired */
	size_t			 nsites;

	/* The service's GODEBUG=gctrace=1 lines, when it has gctrace. */
	struct follow		*gctrace;
	uint64_t		 gc_lines[GC_LINE_NRESULTS];
	struct gctrace		 last_gc;	/* when gc_cycles > 0 */
	uint64_t		 gc_cycles;	/* GCs seen, repeats not */
	double			 gc_pause;	/* seconds stopped, summed */
	int64_t			 gc_time;	/* unix ms of last_gc */
};

TAILQ_HEAD(targets, target);

#define TARGET_BACKOFF_MAX_MS	(5 * 60000)	/* backoff stops growing */

struct target	*target_new(const struct target_deps *,
		    const struct target_config *);
void		 target_free(struct target *);
void		 target_start(struct target *, bool jitter);
/* Take new settings equal to the old: the state is kept. */
void		 target_reconfigure(struct target *,
		    const struct target_config *);
/*
 * What a target made anew for settings that changed takes from the one it
 * replaces, which the store cannot give back exactly: the severity its
 * open alert was last sent with (NULL: none), so that the resolve ends
 * the alert receivers hold, and the id of that alert's evidence.
 */
struct target_carry {
	const char	*severity;
	char		 evidence[32];
};
void		 target_carry_take(const struct target *,
		    struct target_carry *);
void		 target_carry_give(struct target *,
		    const struct target_carry *);

const struct target_config *target_config(const struct target *);
const struct target_status *target_status(const struct target *);
/* When the next scrape is due, on clock_mono_ms()'s clock. */
int64_t		 target_next_scrape(const struct target *);
/*
 * How long after one scrape the next is due, after failures in a row:
 * the interval, then 2, 4 and 8 intervals while it keeps failing, at
 * most TARGET_BACKOFF_MAX_MS unless the interval itself is longer.
 */
uint64_t	 target_backoff_ms(uint64_t interval_ms, unsigned int failures);
const struct summary *target_latest(const struct target *);
/* Scraped targets: as the last scrape went; gctrace alone: its source. */
enum target_health target_health(const struct target *);
const char	*target_last_error(const struct target *);
const char	*target_health_name(enum target_health);
const char	*target_gc_line_name(enum gc_line);
const char	*target_outcome_name(enum scrape_outcome);

/*
 * Seconds until the target reaches its limit at the current rate, -1 when
 * it has no limit or does not grow (judge_time_to_limit()); its alert's
 * severity, "critical" when that is within page_within, else "warning".
 */
double		 target_time_to_limit(const struct target *);
const char	*target_severity(const struct target *);

/*
 * The per-target families of /metrics, every target's series of each:
 * the daemon's own families and the notifier's are rendered beside them.
 */
void		 target_metrics(struct buf *, const struct targets *);

/*
 * The same in steps, for a render spread over several turns of the loop:
 * a step is one target's series of one family. pos holds a target of the
 * list between steps; a caller that keeps it while the list changes
 * begins again.
 */
struct target_metrics_pos {
	size_t			 family;	/* index in the table */
	const struct target	*next;		/* its next target */
	bool			 started;	/* its HELP and TYPE out */
};
void		 target_metrics_begin(struct target_metrics_pos *);
size_t		 target_metrics_step(struct buf *, const struct targets *,
		    struct target_metrics_pos *, size_t n);
bool		 target_metrics_done(const struct target_metrics_pos *);

/* The list of targets; struct target's link is its own. */
struct target	*target_list_next(const struct target *);
void		 target_list_append(struct targets *, struct target *);
void		 target_list_remove(struct targets *, struct target *);
void		 target_list_move(struct targets *to, struct targets *from);
struct target	*target_list_find(const struct targets *, const char *name);

#define TARGET_FOREACH(t, head)						\
	for ((t) = TAILQ_FIRST(head); (t) != NULL; (t) = target_list_next(t))

#endif
