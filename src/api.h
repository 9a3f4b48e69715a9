/*
 * The HTTP API: /metrics, /api/v1/..., the lifecycle paths and the pages.
 * It reads what the daemon shows it in struct api_state, and asks for a
 * reload through the callback it was given: it never calls into the
 * daemon's main, as Prometheus's web handler sends on a reload channel.
 */
#ifndef API_H
#define API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct api;
struct config;
struct decode;
struct discovery;
struct event_base;
struct http_reply;
struct http_request;
struct notifier;
struct scrape;
struct store;
struct targets;

/* What the daemon shows the API; the daemon keeps it current. */
struct api_state {
	const struct config	*conf;
	struct targets		*targets;
	size_t			 ntargets;
	struct store		*store;
	struct notifier		*notifier;	/* NULL: no webhooks */
	struct discovery	*discovery;	/* NULL: none */
	struct scrape		*scrape;
	struct decode		*decode;
	size_t			 nstatic;	/* watched, of targets: */
	size_t			 ndiscovered;	/* watched, from file_sd */
	size_t			 nclashes;	/* discovered, name taken */
	bool			 ready;
	uint64_t		 reloads_failed;
	uint64_t		 syncs_failed;	/* the store's; atomic */
	uint64_t		 scrape_repeats; /* not parsed: no GC since */
	bool			 last_reload_ok;
	int64_t			 last_reload;	/* unix ms of the last good */
	int64_t			 started;	/* unix ms */
};

/* Reload the configuration: 0, or -1 with *cause. */
typedef int	(*api_reload_cb)(void *arg, char **cause);

/* The API on the daemon's loop, where /metrics is rendered ahead. */
struct api	*api_new(struct event_base *, const struct api_state *,
		    api_reload_cb, void *arg);
void		 api_free(struct api *);
/*
 * The targets or the configuration changed: called in the same turn of
 * the loop as the change, since a render under way holds a target of the
 * list. It begins again; the last body is served until the new one is
 * complete, or, when rendering is cheap, the next request renders.
 */
void		 api_metrics_forget(struct api *);

/* How /metrics is rendered ahead; tests make renders slow or often. */
struct api_metrics_tuning {
	int64_t		 period_min_us;	/* the shortest between renders */
	int64_t		 period_max_us;	/* the longest */
	int64_t		 max_age_us;	/* never served older */
	int64_t		 sync_us;	/* cheaper renders: for the request */
	int64_t		 slice_us;	/* the longest a slice holds the loop */
	size_t		 slice_steps;	/* (family, target) pairs a slice */
	int64_t		 watch_us;	/* renders ahead after a request */
};				/* each field set: 0 is a value */
/* NULL: the defaults. */
void		 api_metrics_tune(struct api *,
		    const struct api_metrics_tuning *);
/* Bodies made so far; whether a render (or its gzip) is under way. */
uint64_t	 api_metrics_renders(const struct api *);
bool		 api_metrics_rendering(const struct api *);
/* The server's handler; arg is the struct api. */
void		 api_route(const struct http_request *, struct http_reply *,
		    void *arg);

#endif
