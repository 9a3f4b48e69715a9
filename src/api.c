/*
 * The daemon's HTTP endpoint: Prometheus metrics, the JSON API, a plain
 * status page and Prometheus' /-/ endpoints. Every name in a URL is
 * checked against the configured targets and every snapshot id against
 * the store's form before a file is touched.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <libdeflate.h>

#include "buf.h"
#include "clock.h"
#include "discovery.h"
#include "follow.h"
#include "api.h"
#include "conf.h"
#include "decode.h"
#include "scrape.h"
#include "server.h"
#include "store.h"
#include "target.h"
#include "log.h"
#include "profile.h"
#include "render.h"
#include "report.h"
#include "evidence.h"
#include "judge.h"
#include "notifier.h"
#include "page.h"
#include "procstat.h"
#include "units.h"
#include "summary.h"
#include "xmalloc.h"

#define TEXT	"text/plain; charset=utf-8"
#define JSON	"application/json"
#define METRICS	"text/plain; version=0.0.4; charset=utf-8"

/*
 * /metrics is rendered ahead of the requests, in slices on the loop, and
 * requests get the last complete body at once. With 10,000 targets a
 * render is 11.8 MB of text and takes the loop 0.2 to 0.4 s on a busy
 * 2-core machine: on a request's path it was the p99 of every request
 * queued behind it. The numbers:
 *
 * - A render starts when the body is METRICS_REUSE times as old as it
 *   cost the loop, and METRICS_PERIOD_MAX at most: 2% of the loop at
 *   most. At 10,000 targets a render costs some 70 ms, so one every
 *   3.5 s, and a body is at most 10 s plus one render old whatever the
 *   cost; 30 s is the shortest interval Prometheus users give such a
 *   fleet.
 * - Nor sooner than a METRICS_ASKED_PART of the longest time between
 *   the last METRICS_GAPS + 1 requests (nor than PERIOD_MAX until that
 *   many came since the watch below began), so that two Prometheus
 *   servers, or a person's curl beside one, do not bring the cost's
 *   period back: at 1,000 targets a render costs 3 ms, and rendered
 *   every 150 ms for a Prometheus that asks every 15 s it was 14% of the
 *   daemon's CPU (2,694 us a scraped profile against 2,325 for a daemon
 *   not asked).
 *   Nor do a few requests in a row, as a script that reads three
 *   metrics with three curls makes: their gaps alone had the daemon
 *   render every 110 ms for the five minutes of the watch. A body is
 *   then at most a quarter of the requests' interval (and one render)
 *   old.
 * - A slice holds the loop METRICS_SLICE_US at most, a few hundred
 *   targets of one family; requests, scrapes and decodes go between.
 * - Renders go on while /metrics is asked for, METRICS_WATCH after the
 *   last request: nobody pays for a body nobody reads.
 * - A body is never served older than METRICS_MAX_AGE: a request that
 *   finds none younger, the first, or the first after a quiet
 *   METRICS_WATCH, renders it itself (and so does a request when a
 *   render costs less than METRICS_SYNC_US, a few dozen targets, which
 *   then see every change at once, as on a small daemon one expects).
 * - The gzipped body is made on a thread of its own from the finished
 *   text, a pure function of it: 25 ms of libdeflate for 11.8 MB, which
 *   the loop does not wait for. A body is served once it has both.
 */
#define METRICS_REUSE		50
#define METRICS_PERIOD_MAX	10000000	/* us */
#define METRICS_MAX_AGE		20000000	/* us */
#define METRICS_SYNC_US		1000
#define METRICS_SLICE_US	4000
#define METRICS_SLICE_STEPS	100000		/* (family, target) pairs */
#define METRICS_WATCH		300000000	/* us: 5 minutes */
#define METRICS_ASKED_PART	4
#define METRICS_GAPS		4
#define METRICS_CLOCK_EVERY	32		/* steps between clock reads */

/*
 * A /metrics body, shared by the API (while it is the last) and by every
 * response sending it, each with a reference: 11.8 MB of text for 10,000
 * targets, which a copy a request made a request cost milliseconds of the
 * loop and a page fault a page. All on the loop: libmicrohttpd lets go of
 * a response on the loop that drives it. The gzip thread alone writes gz
 * of a body not yet published.
 */
struct metrics_body {
	unsigned int		 refs;
	char			*text;
	size_t			 len;
	char			*gz;		/* the same gzipped; NULL */
	size_t			 gzlen;
	int64_t			 at;		/* monotonic us, render began */
	/* us of the loop's CPU it took: on a loaded machine the wall time
	 * of a render of a few targets may be 100 times that, and would
	 * turn a small daemon's renders for the request into renders ahead
	 * with a period 50 times as long. */
	int64_t			 cost;
	unsigned int		 gen;		/* api's gen when it began */
};

/* A render under way, between slices. */
struct metrics_render {
	struct buf			 b;
	struct target_metrics_pos	 pos;
	bool				 head;		/* daemon's families out */
	int64_t				 at;		/* monotonic us, began */
	int64_t				 cost;		/* us of CPU so far */
	unsigned int			 gen;
};

struct api {
	const struct api_state	*st;
	api_reload_cb		 reload;
	void			*reload_arg;

	struct api_metrics_tuning tune;
	struct metrics_body	*metrics;	/* the last complete body */
	struct metrics_render	*render;	/* in slices, or NULL */
	struct metrics_body	*gzipping;	/* the thread's, or NULL */
	pthread_t		 gzip_thread;
	int			 wake[2];	/* the thread's "done" */
	struct event		*ev_slice;
	struct event		*ev_next;	/* the next render's start */
	struct event		*ev_wake;
	unsigned int		 gen;		/* targets or config changes */
	bool			 again;		/* a render as soon as can be */
	int64_t			 asked;		/* monotonic us, last request */
	int64_t			 gaps[METRICS_GAPS];	/* us between the
							   last requests */
	unsigned int		 ngaps;		/* since the watch
						   began */
	uint64_t		 renders;
};

static const struct api_metrics_tuning api_metrics_defaults = {
	0, METRICS_PERIOD_MAX, METRICS_MAX_AGE, METRICS_SYNC_US,
	METRICS_SLICE_US, METRICS_SLICE_STEPS, METRICS_WATCH
};

/* Drop a reference to a body; the last frees it. */
static void
api_metrics_release(void *arg)
{
	struct metrics_body	*mb = arg;

	if (mb == NULL || --mb->refs > 0)
		return;
	free(mb->text);
	free(mb->gz);
	free(mb);
}

static void	api_metrics_slice(evutil_socket_t, short, void *);
static void	api_metrics_start(evutil_socket_t, short, void *);
static void	api_metrics_gzipped(evutil_socket_t, short, void *);

struct api *
api_new(struct event_base *base, const struct api_state *st,
    api_reload_cb reload, void *arg)
{
	struct api	*api;

	api = xcalloc(1, sizeof *api);
	api->st = st;
	api->reload = reload;
	api->reload_arg = arg;
	api->tune = api_metrics_defaults;
	if (pipe2(api->wake, O_NONBLOCK | O_CLOEXEC) == -1)
		fatal("pipe2");
	api->ev_slice = evtimer_new(base, api_metrics_slice, api);
	api->ev_next = evtimer_new(base, api_metrics_start, api);
	api->ev_wake = event_new(base, api->wake[0], EV_READ | EV_PERSIST,
	    api_metrics_gzipped, api);
	event_add(api->ev_wake, NULL);
	return api;
}

static void
api_metrics_render_free(struct api *api)
{
	if (api->render == NULL)
		return;
	free(api->render->b.s);
	free(api->render);
	api->render = NULL;
	evtimer_del(api->ev_slice);
}

/* Wait for the gzip thread, if one runs, and take its body back. */
static struct metrics_body *
api_metrics_join(struct api *api)
{
	struct metrics_body	*mb = api->gzipping;
	char			 c;

	if (mb == NULL)
		return NULL;
	pthread_join(api->gzip_thread, NULL);
	while (read(api->wake[0], &c, 1) == 1)
		;
	api->gzipping = NULL;
	return mb;
}

void
api_free(struct api *api)
{
	if (api == NULL)
		return;
	api_metrics_release(api_metrics_join(api));
	api_metrics_render_free(api);
	api_metrics_release(api->metrics);
	event_free(api->ev_slice);
	event_free(api->ev_next);
	event_free(api->ev_wake);
	close(api->wake[0]);
	close(api->wake[1]);
	free(api);
}

void
api_metrics_tune(struct api *api, const struct api_metrics_tuning *tune)
{
	api->tune = tune != NULL ? *tune : api_metrics_defaults;
}

uint64_t
api_metrics_renders(const struct api *api)
{
	return api->renders;
}

bool
api_metrics_rendering(const struct api *api)
{
	return api->render != NULL || api->gzipping != NULL;
}

/* The discovery's and the shard's families. */
static void
api_discovery_metrics(struct buf *b, struct api *api)
{
	struct discovery_stats	st;

	memset(&st, 0, sizeof st);
	discovery_stats(api->st->discovery, &st);
	st.shards = api->st->conf->shard.count;
	st.shard_index = api->st->conf->shard.index;
	st.watched_static = api->st->nstatic;
	st.watched_sd = api->st->ndiscovered;
	st.clashes = api->st->nclashes;
	discovery_metrics(&st, b);
}

/*
 * The process_* families, named and typed as Prometheus's client
 * libraries export them; absent where /proc does not say.
 */
static void
api_process_metrics(struct buf *b)
{
	struct procstat	ps;

	if (procstat_read(&ps) == -1)
		return;
	buf_family(b, "process_cpu_seconds_total", "counter",
	    "User and system CPU time spent, in seconds.");
	buf_printf(b, "process_cpu_seconds_total %.2f\n", ps.cpu_seconds);
	buf_family(b, "process_resident_memory_bytes", "gauge",
	    "Resident memory, in bytes.");
	buf_printf(b, "process_resident_memory_bytes %llu\n",
	    (unsigned long long)ps.rss_bytes);
	buf_family(b, "process_virtual_memory_bytes", "gauge",
	    "The size of the address space, in bytes.");
	buf_printf(b, "process_virtual_memory_bytes %llu\n",
	    (unsigned long long)ps.vsize_bytes);
	buf_family(b, "process_start_time_seconds", "gauge",
	    "Start time of the process since the epoch, in seconds.");
	buf_printf(b, "process_start_time_seconds %.2f\n", ps.start_time);
	if (ps.open_fds >= 0) {
		buf_family(b, "process_open_fds", "gauge",
		    "Open file descriptors.");
		buf_printf(b, "process_open_fds %ld\n", ps.open_fds);
	}
	if (ps.max_fds >= 0) {
		buf_family(b, "process_max_fds", "gauge",
		    "The most file descriptors that may be open.");
		buf_printf(b, "process_max_fds %ld\n", ps.max_fds);
	}
}

/* The daemon's own families, which come first. */
static void
api_metrics_head(struct api *api, struct buf *b)
{
	buf_family(b, "heapwatch_build_info", "gauge",
	    "The version of heapwatchd running.");
	buf_printf(b, "heapwatch_build_info{version=\"%s\"} 1\n",
	    PACKAGE_VERSION);
	buf_family(b, "heapwatch_config_last_reload_successful", "gauge",
	    "Whether the last configuration reload succeeded.");
	buf_printf(b, "heapwatch_config_last_reload_successful %d\n",
	    api->st->last_reload_ok ? 1 : 0);
	buf_family(b, "heapwatch_config_last_reload_success_timestamp_seconds",
	    "gauge", "When the configuration was last loaded.");
	buf_printf(b, "heapwatch_config_last_reload_success_timestamp_seconds"
	    " %.3f\n", api->st->last_reload / 1000.0);
	buf_family(b, "heapwatch_config_reloads_failed_total", "counter",
	    "Configuration reloads refused.");
	buf_printf(b, "heapwatch_config_reloads_failed_total %llu\n",
	    (unsigned long long)api->st->reloads_failed);
	buf_family(b, "heapwatch_store_syncs_failed_total", "counter",
	    "Syncs of the snapshot store that failed.");
	buf_printf(b, "heapwatch_store_syncs_failed_total %llu\n",
	    (unsigned long long)__atomic_load_n(&api->st->syncs_failed,
	    __ATOMIC_RELAXED));
	if (api->metrics != NULL) {
		buf_family(b, "heapwatch_metrics_render_seconds", "gauge",
		    "CPU time of the loop the body of /metrics before this "
		    "one took to render.");
		buf_printf(b, "heapwatch_metrics_render_seconds %.6f\n",
		    api->metrics->cost / 1e6);
	}
	if (api->st->scrape != NULL && api->st->decode != NULL) {
		buf_family(b, "heapwatch_scrape_backlog_bytes", "gauge",
		    "Bytes of scraped bodies being fetched or waiting to be "
		    "decoded.");
		buf_printf(b, "heapwatch_scrape_backlog_bytes %zu\n",
		    scrape_bytes(api->st->scrape) +
		    decode_pending_bytes(api->st->decode));
		buf_family(b, "heapwatch_scrapes_waiting", "gauge",
		    "Scrapes waiting to start until the backlog goes down.");
		buf_printf(b, "heapwatch_scrapes_waiting %zu\n",
		    scrape_waiting(api->st->scrape));
		buf_family(b, "heapwatch_scrape_repeats_total", "counter",
		    "Scrapes that brought the last snapshot again (no GC "
		    "since), stored and judged without decoding.");
		buf_printf(b, "heapwatch_scrape_repeats_total %llu\n",
		    (unsigned long long)api->st->scrape_repeats);
	}
	api_process_metrics(b);
}

/* The families after the targets': the notifier's, the discovery's. */
static void
api_metrics_tail(struct api *api, struct buf *b)
{
	notifier_metrics(api->st->notifier, b);
	api_discovery_metrics(b, api);
}

/*
 * Gzip a finished body's text. Level 1: on a MB of /metrics text of 1,000
 * targets, libdeflate's level 1 takes 2 ms for 11% of the size, level 6
 * (Go's default) 12.5 ms for 8.6%, level 9 135 ms for 8.3%. Touches the
 * body alone: it runs on the gzip thread, or on the loop for a body
 * rendered there.
 */
static void
api_metrics_gzip(struct metrics_body *mb)
{
	struct libdeflate_compressor	*c;
	size_t				 bound;

	if (mb->gz != NULL)
		return;
	if ((c = libdeflate_alloc_compressor(1)) == NULL)
		fatalx("libdeflate_alloc_compressor failed");
	bound = libdeflate_gzip_compress_bound(c, mb->len);
	mb->gz = xmalloc(bound);
	mb->gzlen = libdeflate_gzip_compress(c, mb->text, mb->len, mb->gz,
	    bound);
	libdeflate_free_compressor(c);
	if (mb->gzlen == 0)
		fatalx("libdeflate_gzip_compress: no room in %zu bytes", bound);
	/* The bound is the text's size and more: 11.8 MB kept for the
	 * 753 KB of 10,000 targets. */
	mb->gz = xreallocarray(mb->gz, mb->gzlen, 1);
}

static void *
api_metrics_gzip_run(void *arg)
{
	struct api	*api = arg;
	ssize_t		 n;

	api_metrics_gzip(api->gzipping);
	while ((n = write(api->wake[1], "", 1)) == -1 && errno == EINTR)
		;
	return NULL;
}

/* Make the last body the one given, if it is newer than the last. */
static void
api_metrics_publish(struct api *api, struct metrics_body *mb)
{
	if (api->metrics != NULL && api->metrics->at > mb->at) {
		api_metrics_release(mb);
		return;
	}
	api_metrics_release(api->metrics);
	api->metrics = mb;
	api->renders++;
}

/*
 * Arm the next render's start while /metrics is asked for: METRICS_REUSE
 * times the last body's cost after it began, or a METRICS_ASKED_PART of
 * the requests' interval if longer, PERIOD_MAX at most; at once when a
 * change came meanwhile.
 */
static void
api_metrics_schedule(struct api *api)
{
	struct metrics_body	*mb = api->metrics;
	struct timeval		 tv = { 0, 0 };
	int64_t			 now = clock_mono_us(), wait, period, every;
	size_t			 i;

	if (api->render != NULL || api->gzipping != NULL || mb == NULL ||
	    now - api->asked > api->tune.watch_us)
		return;
	if (!api->again && mb->gen == api->gen) {
		/* Cheap ones are rendered for the request that asks. */
		if (mb->cost < api->tune.sync_us)
			return;
		period = mb->cost * METRICS_REUSE;
		every = api->tune.period_max_us;
		if (api->ngaps >= METRICS_GAPS) {
			for (i = 0, every = 0; i < METRICS_GAPS; i++)
				if (every < api->gaps[i])
					every = api->gaps[i];
			every /= METRICS_ASKED_PART;
		}
		if (period < every)
			period = every;
		if (period > api->tune.period_max_us)
			period = api->tune.period_max_us;
		if (period < api->tune.period_min_us)
			period = api->tune.period_min_us;
		wait = mb->at + period - now;
		tv = clock_tv_us(wait);
	}
	evtimer_add(api->ev_next, &tv);
}

/* A render is over: gzip it on the thread, then publish it. */
static void
api_metrics_finish(struct api *api)
{
	struct metrics_render	*r = api->render;
	struct metrics_body	*mb;
	sigset_t		 all, old;
	int			 rc;

	mb = xcalloc(1, sizeof *mb);
	mb->refs = 1;
	mb->text = r->b.s != NULL ? r->b.s : xstrdup("");
	mb->len = r->b.len;
	mb->at = r->at;
	mb->cost = r->cost;
	mb->gen = r->gen;
	r->b.s = NULL;
	api_metrics_render_free(api);
	api->gzipping = mb;
	/* Signals are the loop's. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&api->gzip_thread, NULL, api_metrics_gzip_run,
	    api);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		/* No thread: the loop gzips it, as it did before. */
		log_warnx("/metrics: no thread to gzip: %s", strerror(rc));
		api->gzipping = NULL;
		api_metrics_gzip(mb);
		api_metrics_publish(api, mb);
		api_metrics_schedule(api);
	}
}

/* The gzip thread is done: its body is the last. */
static void
api_metrics_gzipped(evutil_socket_t fd, short what, void *arg)
{
	struct api	*api = arg;

	if (api->gzipping == NULL) {
		char c;

		while (read(fd, &c, 1) == 1)
			;
		return;
	}
	api_metrics_publish(api, api_metrics_join(api));
	api_metrics_schedule(api);
}

/*
 * One slice of the render under way: the daemon's families first, then
 * (family, target) steps until the slice's time or steps are spent, then
 * the families after. The next slice is a zero timer, so that whatever
 * the loop has waiting goes first.
 */
static void
api_metrics_slice(evutil_socket_t fd, short what, void *arg)
{
	struct api		*api = arg;
	struct metrics_render	*r = api->render;
	struct timeval		 tv = { 0, 0 };
	int64_t			 t0 = clock_mono_us(), now = t0;
	int64_t			 cpu0 = clock_cpu_us();
	size_t			 steps = 0, n;

	if (!r->head) {
		api_metrics_head(api, &r->b);
		r->head = true;
	}
	while (!target_metrics_done(&r->pos) &&
	    steps < api->tune.slice_steps &&
	    now - t0 < api->tune.slice_us) {
		n = api->tune.slice_steps - steps;
		steps += target_metrics_step(&r->b, api->st->targets, &r->pos,
		    n < METRICS_CLOCK_EVERY ? n : METRICS_CLOCK_EVERY);
		now = clock_mono_us();
	}
	if (target_metrics_done(&r->pos))
		api_metrics_tail(api, &r->b);
	r->cost += clock_cpu_us() - cpu0;
	if (target_metrics_done(&r->pos))
		api_metrics_finish(api);
	else
		evtimer_add(api->ev_slice, &tv);
}

/* Begin a render in slices, unless one is under way. */
static void
api_metrics_start(evutil_socket_t fd, short what, void *arg)
{
	struct api		*api = arg;
	struct timeval		 tv = { 0, 0 };

	if (api->render != NULL || api->gzipping != NULL)
		return;
	api->again = false;
	api->render = xcalloc(1, sizeof *api->render);
	api->render->at = clock_mono_us();
	api->render->gen = api->gen;
	target_metrics_begin(&api->render->pos);
	evtimer_add(api->ev_slice, &tv);
}

/*
 * Render a body whole for the request that asks: the first, one after a
 * quiet spell, a cheap one. A render in slices is dropped, older.
 */
static void
api_metrics_render_now(struct api *api)
{
	struct metrics_body		*mb;
	struct target_metrics_pos	 pos;
	struct buf			 b = { NULL, 0, 0 };
	int64_t				 t0 = clock_mono_us();
	int64_t				 cpu0 = clock_cpu_us();

	api_metrics_render_free(api);
	api_metrics_head(api, &b);
	target_metrics_begin(&pos);
	while (!target_metrics_done(&pos))
		target_metrics_step(&b, api->st->targets, &pos, SIZE_MAX);
	api_metrics_tail(api, &b);
	mb = xcalloc(1, sizeof *mb);
	mb->refs = 1;
	mb->text = b.s != NULL ? b.s : xstrdup("");
	mb->len = b.len;
	mb->at = t0;
	mb->cost = clock_cpu_us() - cpu0;
	mb->gen = api->gen;
	api->again = false;
	api_metrics_publish(api, mb);
}

/*
 * The last complete body, at once; one rendered here only when there is
 * none younger than max_age_us, or when rendering costs less than
 * sync_us. Renders ahead are scheduled from here while requests come.
 */
static void
route_metrics(struct api *api, const struct http_request *req,
    struct http_reply *reply)
{
	struct metrics_body	*mb = api->metrics;
	int64_t			 now = clock_mono_us(), age;
	bool			 fresh;

	if (api->asked > 0 && now - api->asked <= api->tune.watch_us)
		api->gaps[api->ngaps++ % METRICS_GAPS] = now - api->asked;
	else
		api->ngaps = 0;		/* a watch begins */
	api->asked = now;
	age = mb != NULL ? now - mb->at : 0;
	fresh = mb != NULL && mb->gen == api->gen &&
	    (age < mb->cost * METRICS_REUSE || age < api->tune.period_min_us) &&
	    age < api->tune.period_max_us;
	if (mb == NULL || age >= api->tune.max_age_us ||
	    (!fresh && mb->cost < api->tune.sync_us)) {
		api_metrics_render_now(api);
		mb = api->metrics;
	}
	api_metrics_schedule(api);
	reply->status = 200;
	reply->content_type = METRICS;
	reply->vary = "Accept-Encoding";
	/* The body kept, not a copy: the response holds a reference. */
	if (server_accepts(req, "gzip")) {
		/* Made here for a body rendered here, on the thread else. */
		api_metrics_gzip(mb);
		reply->encoding = "gzip";
		reply->body = mb->gz;
		reply->len = mb->gzlen;
	} else {
		reply->body = mb->text;
		reply->len = mb->len;
	}
	mb->refs++;
	reply->release = api_metrics_release;
	reply->release_arg = mb;
}

/*
 * The targets or the configuration changed: a render under way may hold a
 * target that is gone, and is begun again; the last body is no longer
 * fresh. Served meanwhile, it is replaced within a render.
 */
void
api_metrics_forget(struct api *api)
{
	int64_t	now = clock_mono_us();

	api->gen++;
	api->again = true;
	api_metrics_render_free(api);
	if (api->metrics == NULL)
		return;
	/*
	 * Changes that come faster than a render in slices takes (targets
	 * discovered every poll) would drop each one begun, and the body
	 * would age until a request paid for a render: once the body is as
	 * old as a period allows, it is made here, at once, which the loop
	 * pays once a period at most.
	 */
	if (now - api->metrics->at >= api->tune.period_max_us &&
	    now - api->asked <= api->tune.watch_us)
		api_metrics_render_now(api);
	api_metrics_schedule(api);
}

static void
reply_json(struct http_reply *reply, unsigned int status, json_t *j)
{
	reply->status = status;
	reply->content_type = JSON;
	reply->body = json_dumps(j, JSON_COMPACT);
	reply->len = reply->body != NULL ? strlen(reply->body) : 0;
	json_decref(j);
}

static void
reply_error(struct http_reply *reply, unsigned int status, const char *msg)
{
	json_t	*j = json_object();

	json_object_set_new(j, "status", json_string("error"));
	json_object_set_new(j, "error", render_string(msg));
	reply_json(reply, status, j);
}

/* A target's gctrace source and what it last said. */
static json_t *
api_gctrace_json(const struct target *t)
{
	const struct target_status	*ts = target_status(t);
	const struct target_config	*tc = target_config(t);
	static const char *const sources[] = {
		"", "file", "journal", "command"
	};
	const struct follow_stats	*st = follow_stats(ts->gctrace);
	json_t				*o = json_object();
	struct judge_view		 v;

	judge_view(ts->judge, &v);
	json_object_set_new(o, "source",
	    json_string(sources[tc->gctrace.source]));
	json_object_set_new(o, "up", json_boolean(st->up));
	json_object_set_new(o, "last_error", st->last_error[0] != '\0' ?
	    render_string(st->last_error) : json_null());
	json_object_set_new(o, "last_gc", render_time(ts->gc_time));
	json_object_set_new(o, "live_heap", ts->gc_cycles > 0 ?
	    json_integer((json_int_t)ts->last_gc.heap_live) : json_null());
	json_object_set_new(o, "live_heap_growing",
	    json_boolean(v.live_growing));
	json_object_set_new(o, "rotations",
	    json_integer((json_int_t)(st->rotations + st->truncations)));
	return o;
}

/*
 * A target's limit and time to limit, when it has a limit: the time null
 * while it does not grow.
 */
static void
api_limit_json(json_t *o, const struct target *t)
{
	const struct target_config	*tc = target_config(t);
	double				 ttl;

	if (tc->limit == 0)
		return;
	json_object_set_new(o, "limit", json_integer((json_int_t)tc->limit));
	ttl = target_time_to_limit(t);
	json_object_set_new(o, "time_to_limit_seconds", ttl >= 0 ?
	    json_integer((json_int_t)(ttl + 0.5)) : json_null());
}

/* The path of the open alert's evidence on this server, or null. */
static json_t *
api_evidence_json(const struct target *t)
{
	const struct target_status	*ts = target_status(t);
	json_t				*j;
	char				*s;

	if (ts->evidence[0] == '\0')
		return json_null();
	xasprintf(&s, "/api/v1/targets/%s/evidence/%s",
	    target_config(t)->name, ts->evidence);
	j = render_string(s);
	free(s);
	return j;
}

static void
route_targets(struct api *api, struct http_reply *reply)
{
	const struct target_status	*ts;
	const struct target_config	*tc;
	struct target	*t;
	json_t		*a, *o, *labels;
	size_t		 i;

	a = json_array();
	TARGET_FOREACH(t, api->st->targets) {
		ts = target_status(t);
		tc = target_config(t);
		o = json_object();
		json_object_set_new(o, "name", json_string(tc->name));
		json_object_set_new(o, "url", render_string(tc->url));
		json_object_set_new(o, "kind",
		    json_string(config_target_kind(tc)));
		labels = json_object();
		for (i = 0; i < tc->nlabels; i++)
			json_object_set_new(labels, tc->labels[i].name,
			    render_string(tc->labels[i].value));
		json_object_set_new(o, "labels", labels);
		json_object_set_new(o, "health",
		    json_string(target_health_name(target_health(t))));
		json_object_set_new(o, "last_error", target_last_error(t) !=
		    NULL ? render_string(target_last_error(t)) : json_null());
		json_object_set_new(o, "last_scrape",
		    render_time(ts->last_scrape));
		json_object_set_new(o, "snapshots",
		    json_integer(ts->snapshots));
		json_object_set_new(o, "store_bytes",
		    json_integer((json_int_t)ts->store_bytes));
		json_object_set_new(o, "alert",
		    json_string(judge_state_name(judge_state(ts->judge))));
		api_limit_json(o, t);
		if (ts->gctrace != NULL)
			json_object_set_new(o, "gctrace", api_gctrace_json(t));
		json_array_append_new(a, o);
	}
	reply_json(reply, 200, a);
}

/* The functions an alert names, as JSON. */
static json_t *
alert_top(const struct target *t)
{
	const struct target_status	*ts = target_status(t);
	struct judge_view	 v;
	const char		*fn;
	json_t			*a, *o, *stack;
	size_t			 i, k;

	judge_view(ts->judge, &v);
	a = json_array();
	for (i = 0; i < v.ntop; i++) {
		fn = summary_names_get(v.names, v.top[i].name);
		o = json_object();
		json_object_set_new(o, "function", render_string(fn));
		json_object_set_new(o, "growth", json_integer(v.top[i].growth));
		json_object_set_new(o, "growing",
		    json_boolean(v.top[i].growing));
		if (i < ts->nsites && strcmp(ts->sites[i].function, fn) == 0) {
			if (ts->sites[i].file != NULL) {
				json_object_set_new(o, "file",
				    render_string(ts->sites[i].file));
				json_object_set_new(o, "line",
				    json_integer(ts->sites[i].line));
			}
			stack = json_array();
			for (k = 0; k < ts->sites[i].nstack; k++)
				json_array_append_new(stack,
				    render_string(ts->sites[i].stack[k]));
			json_object_set_new(o, "stack", stack);
		}
		json_array_append_new(a, o);
	}
	return a;
}

static void
route_alerts(struct api *api, struct http_reply *reply)
{
	const struct target_status	*ts;
	const struct target_config	*tc;
	struct judge_view		 v;
	struct target	*t;
	json_t		*a, *o;

	a = json_array();
	TARGET_FOREACH(t, api->st->targets) {
		ts = target_status(t);
		tc = target_config(t);
		judge_view(ts->judge, &v);
		if (v.state == ALERT_INACTIVE)
			continue;
		o = json_object();
		json_object_set_new(o, "target", json_string(tc->name));
		json_object_set_new(o, "state",
		    json_string(judge_state_name(v.state)));
		json_object_set_new(o, "since", render_time(v.active));
		json_object_set_new(o, "kind", json_string(v.kind));
		json_object_set_new(o, "growth", json_integer(v.growth));
		json_object_set_new(o, "window_seconds",
		    json_integer(judge_horizon_ms(ts->judge) / 1000));
		json_object_set_new(o, "signals",
		    json_string(judge_signals(ts->judge)));
		json_object_set_new(o, "severity",
		    json_string(target_severity(t)));
		api_limit_json(o, t);
		json_object_set_new(o, "evidence", api_evidence_json(t));
		json_object_set_new(o, "horizon",
		    json_string(judge_horizon(ts->judge)));
		json_object_set_new(o, "top", alert_top(t));
		json_array_append_new(a, o);
	}
	reply_json(reply, 200, a);
}

static void
route_snapshots(struct api *api, struct target *t, struct http_reply *reply)
{
	const struct target_config	*tc = target_config(t);
	struct store_snapshot	*snaps;
	size_t			 n, i;
	char			*cause = NULL;
	json_t			*a, *o;

	if (store_list(api->st->store, tc->name, &snaps, &n, &cause) == -1) {
		reply_error(reply, 500, cause);
		free(cause);
		return;
	}
	a = json_array();
	for (i = 0; i < n; i++) {
		o = json_object();
		json_object_set_new(o, "id", json_string(snaps[i].id));
		json_object_set_new(o, "time", render_time(snaps[i].time_ms));
		json_object_set_new(o, "bytes", json_integer(snaps[i].size));
		json_array_append_new(a, o);
	}
	store_list_free(snaps);
	reply_json(reply, 200, a);
}

/*
 * Send the file at path whole, or 404 with the message missing when it
 * cannot be opened (a link is not followed) or is not a regular file.
 */
static void
reply_file(struct http_reply *reply, const char *path, const char *missing,
    const char *content_type)
{
	struct stat	sb;
	int		fd = -1;

	if (path == NULL ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1 ||
	    fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		if (fd != -1)
			close(fd);
		reply_error(reply, 404, missing);
		return;
	}
	reply->status = 200;
	reply->content_type = content_type;
	reply->fd = fd;
	reply->fd_size = sb.st_size;
}

/*
 * A stored snapshot as gzipped pprof, read whole, not sent from a file: a
 * packed snapshot is made here, and must be served when the disk is full
 * or read-only too. -1 with the reply's error when it cannot be.
 */
static int
read_snapshot(struct api *api, struct target *t, const char *id,
    void **data, size_t *len, struct http_reply *reply)
{
	char	*cause = NULL;

	if (!store_id_valid(id)) {
		reply_error(reply, 400, "malformed snapshot id");
		return -1;
	}
	if (store_read(api->st->store, target_config(t)->name, id,
	    PROFILE_MAX_INFLATED, data, len, &cause) == -1) {
		if (errno == ENOENT)
			reply_error(reply, 404, "no such snapshot");
		else
			reply_error(reply, 500, cause);
		free(cause);
		return -1;
	}
	return 0;
}

static void
route_snapshot(struct api *api, struct target *t, const char *id,
    struct http_reply *reply)
{
	void	*data;
	size_t	 len;

	if (read_snapshot(api, t, id, &data, &len, reply) == -1)
		return;
	reply->status = 200;
	reply->content_type = "application/octet-stream";
	reply->body = data;
	reply->len = len;
}

/* An alert's evidence, as taken: a profile, or a goroutine dump. */
static void
route_evidence(struct api *api, struct target *t, const char *id,
    struct http_reply *reply)
{
	const struct target_config	*tc = target_config(t);
	char				 path[4096];

	if (!evidence_id_valid(id)) {
		reply_error(reply, 400, "malformed evidence id");
		return;
	}
	reply_file(reply, evidence_path(store_root(api->st->store), tc->name,
	    id, path, sizeof path) == -1 ? NULL : path, "no such evidence",
	    strstr(id, ".txt") != NULL ? "text/plain; charset=utf-8" :
	    "application/octet-stream");
}

/*
 * The diff of two snapshots: by default the newest and the one before it,
 * or the one before current when only current is named.
 */
static void
route_diff(struct api *api, struct target *t, const struct http_request *req,
    struct http_reply *reply)
{
	struct profile		*pb = NULL, *pc = NULL;
	struct symtab		*st;
	struct report		*r = NULL;
	char			*cause = NULL;
	char			 base[STORE_ID_MAX], cur[STORE_ID_MAX];
	int			 idx, status;
	json_t			*j;

	st = symtab_new();
	if (page_load_pair(api->st->store, target_config(t),
	    server_query(req, "base"), server_query(req, "current"), st, &pb,
	    &pc, base, cur, &status, &cause) == -1) {
		reply_error(reply, status, cause);
		goto done;
	}
	if ((idx = profile_sample_index(pc, server_query(req, "sample_index"),
	    &cause)) == -1 ||
	    (r = report_diff(pb, pc, idx, REPORT_BY_FLAT, &cause)) == NULL) {
		reply_error(reply, 400, cause);
		goto done;
	}
	j = render_json(r, 0);
	json_object_set_new(j, "base", json_string(base));
	json_object_set_new(j, "current", json_string(cur));
	reply_json(reply, 200, j);
done:
	report_free(r);
	free(cause);
	profile_free(pb);
	profile_free(pc);
	symtab_free(st);
}

static void
reply_page(struct http_reply *reply, struct buf *b)
{
	reply->status = 200;
	reply->content_type = "text/html; charset=utf-8";
	reply->body = b->s;
	reply->len = b->len;
}

/*
 * The target named by the path segment at *path, up to the next '/'; *rest
 * is left at that '/' or NULL. NULL when no watched target has that name.
 */
static struct target *
path_target(struct api *api, const char *path, const char **rest)
{
	char		 name[CONFIG_NAME_MAX + 1];
	size_t		 len;

	*rest = strchr(path, '/');
	len = *rest != NULL ? (size_t)(*rest - path) : strlen(path);
	if (len == 0 || len > CONFIG_NAME_MAX)
		return NULL;
	memcpy(name, path, len);
	name[len] = '\0';
	return target_list_find(api->st->targets, name);
}

/*
 * The pages for people: /, /targets/NAME, /targets/NAME/diff and
 * /targets/NAME/list.
 */
static void
route_pages(struct api *api, const struct http_request *req,
    const char *path, struct http_reply *reply)
{
	struct buf	 b = { NULL, 0, 0 };
	struct target	*t;
	const char	*page, *slash, *base, *current;
	char		*cause = NULL;
	long long	 n = 1;
	int		 status;

	if (strcmp(path, "/") == 0) {
		if ((page = server_query(req, "page")) != NULL &&
		    units_number(page, 1, 1000000, &n, &page) == -1)
			n = 1;
		page_overview(&b, api->st->targets, api->st->ntargets,
		    server_query(req, "q"), server_query(req, "sort"), (int)n);
		reply_page(reply, &b);
		return;
	}
	path += strlen("/targets/");
	if ((t = path_target(api, path, &slash)) == NULL) {
		server_reply_text(reply, 404, TEXT, "no such target\n");
		return;
	}
	if (slash == NULL) {
		page_target(&b, api->st->store, t);
		reply_page(reply, &b);
	} else if (strcmp(slash, "/diff") == 0) {
		base = server_query(req, "base");
		current = server_query(req, "current");
		if (page_diff(&b, api->st->store, t, base != NULL ? base : "",
		    current != NULL ? current : "",
		    server_query(req, "sample_index"), &status,
		    &cause) == -1) {
			free(b.s);
			server_reply_text(reply, status, TEXT, "%s\n", cause);
			free(cause);
		} else
			reply_page(reply, &b);
	} else if (strcmp(slash, "/list") == 0) {
		if (page_list(&b, api->st->store, t, server_query(req, "fn"),
		    server_query(req, "base"), server_query(req, "current"),
		    server_query(req, "sample_index"), &status,
		    &cause) == -1) {
			free(b.s);
			server_reply_text(reply, status, TEXT, "%s\n", cause);
			free(cause);
		} else
			reply_page(reply, &b);
	} else
		server_reply_text(reply, 404, TEXT, "404 page not found\n");
}

static void
method_not_allowed(struct http_reply *reply, const char *allow)
{
	server_reply_text(reply, 405, TEXT, "method not allowed\n");
	reply->allow = allow;
}

/* Route a request under /api/v1/targets/NAME/... */
static void
route_target(struct api *api, const struct http_request *req,
    const char *rest, struct http_reply *reply)
{
	struct target	*t;
	const char	*slash;

	if ((t = path_target(api, rest, &slash)) == NULL) {
		reply_error(reply, 404, "no such target");
		return;
	}
	if (slash != NULL && strcmp(slash, "/snapshots") == 0)
		route_snapshots(api, t, reply);
	else if (slash != NULL && strncmp(slash, "/snapshots/", 11) == 0)
		route_snapshot(api, t, slash + 11, reply);
	else if (slash != NULL && strcmp(slash, "/diff") == 0)
		route_diff(api, t, req, reply);
	else if (slash != NULL && strncmp(slash, "/evidence/", 10) == 0)
		route_evidence(api, t, slash + 10, reply);
	else
		reply_error(reply, 404, "not found");
}

/* The GET endpoints, one to a path, or a family of paths under one. */
enum endpoint { EP_NONE, EP_HEALTHY, EP_READY, EP_METRICS, EP_TARGETS,
	EP_ALERTS, EP_TARGET, EP_PAGES };

static enum endpoint
endpoint_of(const char *path)
{
	if (strcmp(path, "/-/healthy") == 0)
		return EP_HEALTHY;
	if (strcmp(path, "/-/ready") == 0)
		return EP_READY;
	if (strcmp(path, "/metrics") == 0)
		return EP_METRICS;
	if (strcmp(path, "/api/v1/targets") == 0)
		return EP_TARGETS;
	if (strcmp(path, "/api/v1/alerts") == 0)
		return EP_ALERTS;
	if (strncmp(path, "/api/v1/targets/", 16) == 0)
		return EP_TARGET;
	if (strcmp(path, "/") == 0 || strncmp(path, "/targets/", 9) == 0)
		return EP_PAGES;
	return EP_NONE;
}

void
api_route(const struct http_request *req, struct http_reply *reply,
    void *arg)
{
	struct api	*api = arg;
	const char	*path = server_path(req), *method = server_method(req);
	char		*cause = NULL;
	enum endpoint	 ep;
	bool		 get;

	get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	if (strcmp(path, "/-/reload") == 0) {
		if (strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0) {
			method_not_allowed(reply, "POST, PUT");
			return;
		}
		if (api->reload(api->reload_arg, &cause) == -1) {
			server_reply_text(reply, 500, TEXT,
			    "failed to reload config: %s\n", cause);
			free(cause);
		} else
			server_reply_text(reply, 200, TEXT, "%s", "");
		return;
	}
	/* A path not served is 404 whatever the method, as Prometheus's. */
	if ((ep = endpoint_of(path)) == EP_NONE) {
		server_reply_text(reply, 404, TEXT, "404 page not found\n");
		return;
	}
	if (!get) {
		method_not_allowed(reply, "GET, HEAD");
		return;
	}
	switch (ep) {
	case EP_HEALTHY:
		server_reply_text(reply, 200, TEXT, "heapwatchd is Healthy.\n");
		break;
	case EP_READY:
		if (api->st->ready)
			server_reply_text(reply, 200, TEXT,
			    "heapwatchd is Ready.\n");
		else
			server_reply_text(reply, 503, TEXT,
			    "Service Unavailable\n");
		break;
	case EP_METRICS:
		route_metrics(api, req, reply);
		break;
	case EP_TARGETS:
		route_targets(api, reply);
		break;
	case EP_ALERTS:
		route_alerts(api, reply);
		break;
	case EP_TARGET:
		route_target(api, req, path + 16, reply);
		break;
	case EP_PAGES:
	default:
		route_pages(api, req, path, reply);
		break;
	}
}
