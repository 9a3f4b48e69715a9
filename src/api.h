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
	bool			 last_reload_ok;
	int64_t			 last_reload;	/* unix ms of the last good */
	int64_t			 started;	/* unix ms */
};

/* Reload the configuration: 0, or -1 with *cause. */
typedef int	(*api_reload_cb)(void *arg, char **cause);

struct api	*api_new(const struct api_state *, api_reload_cb, void *arg);
void		 api_free(struct api *);
/* Drop the /metrics body kept for reuse: the next request renders. */
void		 api_metrics_forget(struct api *);
/* The server's handler; arg is the struct api. */
void		 api_route(const struct http_request *, struct http_reply *,
		    void *arg);

#endif
