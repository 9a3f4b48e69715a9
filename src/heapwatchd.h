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
#include "target.h"

struct discovery;
struct event;
struct event_base;
struct follow;
struct scrape;
struct scrape_job;
struct server;
struct notifier;

struct hwd {
	struct event_base	*base;
	struct config		*conf;
	struct store		*store;
	struct scrape		*scrape;
	struct decode		*decode;
	struct server		*server;
	struct notifier		*notifier;
	struct store_retention	 retention;	/* conf's, for the targets */
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

/* api.c */
/* Drop the /metrics body kept for reuse: the next request renders. */
void		 api_metrics_forget(struct hwd *);
void		 api_route(const struct http_request *, struct http_reply *,
		    void *hwd);

/* heapwatchd.c */
int		 hwd_reload(struct hwd *, char **cause);
char		*hwd_external_url(const struct config *);

#endif
