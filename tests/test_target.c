/*
 * A target's health through real scrapes: a server on 127.0.0.1 (the
 * daemon's own server.c) answers the target's scrapes in turn with a
 * heap profile, an HTML page, a 500 and a profile again. Each answer must
 * move the target through target_enter() as the daemon relies on: the
 * outcome counted, the health, the failures in a row that drive the
 * backoff, and the error kept until the next good scrape. The timeout is
 * generous: a loaded machine must not turn an answer into a failure.
 * The backoff itself: its delays for each count of failures, and the
 * schedule after the second failure in a row, two intervals on.
 */
#include "config.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "conf.h"
#include "daemon.h"
#include "decode.h"
#include "notifier.h"
#include "pbuild.h"
#include "scrape.h"
#include "server.h"
#include "store.h"
#include "target.h"
#include "tap.h"
#include "xmalloc.h"
#include "yamlx.h"

#define NSTAGES	4	/* the answers, in the order served */

/* What the target showed once its Nth scrape was taken in. */
struct seen {
	bool			 taken;
	enum target_health	 health;
	unsigned int		 failures;
	uint64_t		 scrapes[SCRAPE_NOUTCOMES];
	char			 error[256];
	int64_t			 next;		/* when the next is due */
};

static uint8_t		*profile;
static size_t		 profile_len;
static int		 served;

/* The target's URL: a profile, HTML, a 500, then profiles again. */
static void
route(const struct http_request *req, struct http_reply *reply, void *arg)
{
	(void)req;
	(void)arg;
	switch (served++) {
	case 1:
		server_reply_text(reply, 200, "text/html",
		    "<html><body>Sign in</body></html>\n");
		break;
	case 2:
		server_reply_text(reply, 500, "text/plain", "broken\n");
		break;
	default:
		reply->status = 200;
		reply->content_type = "application/octet-stream";
		reply->body = xmalloc(profile_len);
		memcpy(reply->body, profile, profile_len);
		reply->len = profile_len;
		break;
	}
}

struct watch {
	struct target		*t;
	struct event_base	*base;
	struct event		*tick;
	struct seen		 seen[NSTAGES];
	int			 ticks;
};

/* Every 50 ms: note the target's state when a scrape was taken in. */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct watch			*w = arg;
	const struct target_status	*ts = target_status(w->t);
	struct timeval			 tv = { 0, 50000 };
	uint64_t			 n = 0;
	int				 o;

	(void)fd;
	(void)what;
	for (o = 0; o < SCRAPE_NOUTCOMES; o++)
		n += ts->scrapes[o];
	if (n >= 1 && n <= NSTAGES && !w->seen[n - 1].taken) {
		w->seen[n - 1].taken = true;
		w->seen[n - 1].health = ts->health;
		w->seen[n - 1].failures = ts->failures;
		memcpy(w->seen[n - 1].scrapes, ts->scrapes,
		    sizeof ts->scrapes);
		snprintf(w->seen[n - 1].error, sizeof w->seen[n - 1].error,
		    "%s", ts->last_error != NULL ? ts->last_error : "");
		w->seen[n - 1].next = target_next_scrape(w->t);
	}
	/* Two minutes at most: a busy machine is slow, not wrong. */
	if (n >= NSTAGES || ++w->ticks > 2400)
		event_base_loopexit(w->base, NULL);
	else
		evtimer_add(w->tick, &tv);
}

int
main(void)
{
	struct timeval		 tv = { 0, 50000 };
	struct daemon		 d;
	struct watch		 w;
	struct server		*srv;
	struct pb		*pb;
	char			 listen[64], *cause = NULL;
	int			 port;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	pb = pb_small();
	profile = pb_pack(pb, &profile_len);
	free(pb);
	port = daemon_free_port();
	memset(&w, 0, sizeof w);
	w.base = event_base_new();
	snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
	if ((srv = server_new(w.base, listen, NULL, NULL, route, NULL,
	    &cause)) == NULL || daemon_open(&d, "test_target", w.base, &cause,
	    "listen: 127.0.0.1:%d\n"
	    "defaults:\n  interval: 3s\n  timeout: 2900ms\n  window: 1m\n"
	    "  for: 30s\n"
	    "targets:\n"
	    "  - name: svc\n    url: http://127.0.0.1:%d/debug/pprof/heap\n",
	    port, port) == -1) {
		ok(0, "the server, the configuration and the store start: %s",
		    cause);
		return tap_done();
	}
	daemon_scrapes(&d);
	w.t = target_new(&d.deps, &d.conf->targets[0]);
	is_int(target_health(w.t), TARGET_UNKNOWN, "a new target is unknown");
	target_start(w.t, false);
	w.tick = evtimer_new(w.base, on_tick, &w);
	evtimer_add(w.tick, &tv);
	event_base_dispatch(w.base);

	ok(w.seen[0].taken && w.seen[0].health == TARGET_UP &&
	    w.seen[0].failures == 0 && w.seen[0].error[0] == '\0' &&
	    w.seen[0].scrapes[SCRAPE_SUCCESS] == 1,
	    "a profile: up, counted a success, no error");
	ok(w.seen[1].taken && w.seen[1].health == TARGET_DOWN &&
	    w.seen[1].failures == 1 && w.seen[1].scrapes[SCRAPE_INVALID] == 1,
	    "an HTML page: down, counted invalid, one failure");
	ok(strncmp(w.seen[1].error, "invalid profile: ", 17) == 0 &&
	    strstr(w.seen[1].error, "HTML") != NULL,
	    "its error says it is an HTML page (%s)", w.seen[1].error);
	ok(w.seen[2].taken && w.seen[2].health == TARGET_DOWN &&
	    w.seen[2].failures == 2 && w.seen[2].scrapes[SCRAPE_FAILED] == 1,
	    "a 500: down, counted failed, two failures in a row");
	ok(strstr(w.seen[2].error, "500") != NULL,
	    "its error names the status (%s)", w.seen[2].error);
	ok(w.seen[3].taken && w.seen[3].health == TARGET_UP &&
	    w.seen[3].failures == 0 && w.seen[3].error[0] == '\0' &&
	    w.seen[3].scrapes[SCRAPE_SUCCESS] == 2,
	    "a profile again: up, the failures and the error cleared");
	/*
	 * Each scrape is due a delay after the one before was due, or now
	 * if that is later: a slow machine can only push one further.
	 */
	ok(w.seen[0].next > 0 && w.seen[1].next - w.seen[0].next >= 3000,
	    "after one failure the next scrape is an interval on (%lld ms)",
	    (long long)(w.seen[1].next - w.seen[0].next));
	ok(w.seen[2].next - w.seen[1].next >= 6000,
	    "after two in a row, two intervals on (%lld ms)",
	    (long long)(w.seen[2].next - w.seen[1].next));
	is_int(target_status(w.t)->snapshots, 2, "both profiles were stored");
	is_str(target_health_name(target_health(w.t)), "up", "named up");

	is_int(target_backoff_ms(3000, 0), 3000, "no failure: the interval");
	is_int(target_backoff_ms(3000, 1), 3000, "one: the interval still");
	is_int(target_backoff_ms(3000, 2), 6000, "two in a row: twice it");
	is_int(target_backoff_ms(3000, 3), 12000, "three: four times");
	is_int(target_backoff_ms(3000, 4), 24000, "four: eight times");
	is_int(target_backoff_ms(3000, 40), 24000, "and no more after");
	is_int(target_backoff_ms(60000, 3), 240000, "a minute, 3 failures");
	is_int(target_backoff_ms(60000, 4), TARGET_BACKOFF_MAX_MS,
	    "eight minutes is cut to the most, 5 min");
	is_int(target_backoff_ms(600000, 4), 600000 * 8,
	    "an interval above 5 min backs off all the same");

	target_free(w.t);
	event_free(w.tick);
	server_free(srv);
	if (daemon_close(&d) == -1)
		ok(0, "the scratch folder is removed");
	event_base_free(w.base);
	free(profile);
	return tap_done();
}
