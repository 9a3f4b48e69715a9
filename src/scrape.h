/*
 * Scraping: HTTP GETs of pprof endpoints with libcurl's multi interface,
 * driven by the daemon's libevent loop (its socket and timer callbacks),
 * many in flight, never blocking the loop.
 */
#ifndef SCRAPE_H
#define SCRAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct scrape;
struct scrape_job;

struct scrape_header {
	const char	*name;
	const char	*value;
};

/* What to fetch and how; the strings need live only until scrape_start(). */
struct scrape_request {
	const char		*url;
	uint64_t		 timeout_ms;
	size_t			 max_size;	/* response body cap */
	size_t			 size_hint;	/* the body expected, or 0 */
	long			 max_redirects;
	const char		*ca_file;
	const char		*cert_file;
	const char		*key_file;
	bool			 insecure;	/* skip TLS verification */
	const char		*bearer_token;
	const char		*bearer_token_file;	/* read at each scrape */
	const char		*username;	/* basic auth, with password */
	const char		*password;
	const char		*password_file;		/* read at each scrape */
	const struct scrape_header *headers;
	size_t			 nheaders;
	bool			 later;		/* waits behind the others */
};

struct scrape_result {
	bool		 ok;
	long		 status;		/* HTTP status, 0 if none */
	char		 error[256];		/* why not ok */
	char		 content_type[128];	/* as the server said, or "" */
	void		*body;			/* when ok */
	size_t		 len;
	double		 seconds;
};

/*
 * Called once per started job, from the event loop; the result lives for
 * the call only, but the callback may keep the body: it sets r->body to
 * NULL and frees it later. The callback must not cancel its own job.
 */
typedef void (*scrape_done_cb)(struct scrape_result *, void *arg);

/*
 * Whether another transfer may start now, of a request started "later" or
 * not; the jobs started while it says no wait, in the order started (the
 * "later" ones behind the others), until scrape_resume() finds it says
 * yes.
 */
typedef bool (*scrape_gate_cb)(bool later, void *arg);

struct scrape	*scrape_new(struct event_base *);
void		 scrape_free(struct scrape *);
struct scrape_job *scrape_start(struct scrape *, const struct scrape_request *,
		    scrape_done_cb, void *arg);
/* Abandon a job: its callback is not called. */
void		 scrape_cancel(struct scrape_job *);
/* Jobs started and not yet handed back, waiting ones included. */
size_t		 scrape_inflight(const struct scrape *);
void		 scrape_set_gate(struct scrape *, scrape_gate_cb, void *arg);
/* Start the jobs waiting, as long as the gate lets them. */
void		 scrape_resume(struct scrape *);
/* Jobs waiting for the gate. */
size_t		 scrape_waiting(const struct scrape *);
/* The room taken by the bodies of the transfers under way. */
size_t		 scrape_bytes(const struct scrape *);

#endif
