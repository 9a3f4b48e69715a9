/*
 * The daemon's shared state: one event loop owns the configuration, the
 * store, the scraper, the HTTP server and the targets; nothing here is
 * touched from another thread.
 */
#ifndef HEAPWATCHD_H
#define HEAPWATCHD_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "gctrace.h"
#include "judge.h"
#include "server.h"
#include "store.h"

struct discovery;
struct event;
struct event_base;
struct follow;
struct scrape;
struct scrape_job;
struct server;
struct notifier;

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
	SCRAPE_SKIPPED,		/* not made: the workers are behind */
	SCRAPE_NOUTCOMES
};

struct target {
	TAILQ_ENTRY(target)	 entry;
	struct hwd		*hwd;
	const struct target_config *cfg;	/* in hwd->conf */
	struct event		*timer;
	struct scrape_job	*job;		/* in flight, or NULL */
	struct decode_job	*decoding;	/* its body, or NULL */
	struct store_cache	*store_cache;	/* the worker's while decoding */
	struct names		*work_names;	/* the same, for summaries */
	char			 content_type[128];	/* of the body */
	size_t			 body_len;	/* of the last body */
	int64_t			 next_ms;	/* monotonic, next scrape */

	enum target_health	 health;
	char			*last_error;	/* NULL when none */
	int64_t			 last_scrape;	/* unix ms, 0 never */
	double			 last_duration;	/* seconds */
	unsigned int		 failures;	/* in a row */
	uint64_t		 scrapes[SCRAPE_NOUTCOMES];
	size_t			 snapshots;

	struct judge		*judge;		/* the window and the alert */
	struct point		*hist;		/* totals of the history */
	size_t			 nhist;
	int64_t			*notified;	/* last note sent, per receiver */
	size_t			 nnotified;
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

struct hwd {
	struct event_base	*base;
	struct config		*conf;
	struct store		*store;
	struct scrape		*scrape;
	struct decode		*decode;
	struct server		*server;
	struct notifier		*notifier;
	struct targets		 targets;
	size_t			 ntargets;
	struct discovery	*discovery;
	size_t			 nstatic;	/* watched, of targets: */
	size_t			 ndiscovered;	/* watched, from file_sd */
	size_t			 nclashes;	/* discovered, name taken */
	bool			 ready;
	bool			 behind;	/* scrapes skipped for the workers */
	uint64_t		 reloads_failed;
	bool			 last_reload_ok;
	int64_t			 last_reload;	/* unix ms of the last good */
	int64_t			 started;	/* unix ms */

	/* The last /metrics body, served again while fresh (see api.c). */
	char			*metrics;
	size_t			 metrics_len;
	int64_t			 metrics_at;	/* monotonic us, rendered */
	int64_t			 metrics_cost;	/* us it took */
};

#define HISTORY_MAX	1024	/* points of a chart; older are thinned */

struct summary;
struct judge;

/* target.c */
const struct summary *target_latest(const struct target *);
struct target	*target_new(struct hwd *, const struct target_config *);
void		 target_free(struct target *);
void		 target_start(struct target *, bool jitter);
void		 target_reconfigure(struct target *,
		    const struct target_config *);
struct target	*target_find(struct hwd *, const char *name);
/* Scraped targets: as the last scrape went; gctrace alone: its source. */
enum target_health target_health(const struct target *);
const char	*target_last_error(const struct target *);
const char	*target_health_name(enum target_health);
const char	*gc_line_name(enum gc_line);
const char	*scrape_outcome_name(enum scrape_outcome);

/* api.c */
/* Drop the /metrics body kept for reuse: the next request renders. */
void		 api_metrics_forget(struct hwd *);
void		 api_route(const struct http_request *, struct http_reply *,
		    void *hwd);

/* heapwatchd.c */
int		 hwd_reload(struct hwd *, char **cause);
char		*hwd_external_url(const struct config *);

#endif
