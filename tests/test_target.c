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
 * Beside it, a target with gctrace alone reads a file the test writes:
 * unknown until its first GC, then up. Every family of target_metrics()
 * is then read back for both, each value as the targets show it; the
 * counts in it are printed as printf's "%.0f" would, which buf_whole()
 * is checked against on whole numbers, fractions and the edges.
 */
#include "config.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "buf.h"
#include "conf.h"
#include "daemon.h"
#include "decode.h"
#include "judge.h"
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
#define NGCLINES 4	/* the lines written to the gctrace file */

/*
 * A GC (1 MB live after it, a 4 MB goal, 0.013 ms stopped, 1% of the
 * CPU), the same GC again, one cut short, and the service's own output.
 */
static const char gc_lines[] =
    "gc 1 @0.010s 1%: 0.010+0.20+0.003 ms clock, 0.020+0.1/0.2/0.3+0.006 "
    "ms cpu, 4->4->1 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P\n"
    "gc 1 @0.010s 1%: 0.010+0.20+0.003 ms clock, 0.020+0.1/0.2/0.3+0.006 "
    "ms cpu, 4->4->1 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P\n"
    "gc 2 @0.020s 1%: 0.010+0.20\n"
    "listening on :8080\n";

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
	struct target		*gc;		/* gctrace alone */
	const char		*gclog;
	enum target_health	 gc_before;	/* before its first line */
	bool			 written;
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
	uint64_t			 n = 0, lines = 0;
	FILE				*f;
	int				 o;

	(void)fd;
	(void)what;
	if (!w->written) {
		w->gc_before = target_health(w->gc);
		if ((f = fopen(w->gclog, "a")) == NULL ||
		    fputs(gc_lines, f) == EOF || fclose(f) == EOF)
			abort();
		w->written = true;
	}
	for (o = 0; o < GC_LINE_NRESULTS; o++)
		lines += target_status(w->gc)->gc_lines[o];
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
	if ((n >= NSTAGES && lines >= NGCLINES) || ++w->ticks > 2400)
		event_base_loopexit(w->base, NULL);
	else
		evtimer_add(w->tick, &tv);
}

/* Whether the metrics hold the line "SERIES VALUE", a printf format. */
static __attribute__((format(printf, 2, 3))) bool
has(const char *metrics, const char *fmt, ...)
{
	char	*line, *want;
	va_list	 ap;
	bool	 found;

	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) == -1)
		abort();
	va_end(ap);
	/* Not the first line, which is a # HELP. */
	if (asprintf(&want, "\n%s\n", line) == -1)
		abort();
	found = strstr(metrics, want) != NULL;
	free(line);
	free(want);
	return found;
}

/*
 * Every family of target_metrics(), in the table's order, with the
 * series of each target as its status says: the scraped heap target svc
 * and gc, a target with gctrace alone.
 */
static void
test_metrics(const struct targets *list, struct target *svc,
    struct target *gc)
{
	static const char *const families[][2] = {
		{ "heapwatch_target_up", "gauge" },
		{ "heapwatch_scrapes_total", "counter" },
		{ "heapwatch_scrape_duration_seconds", "gauge" },
		{ "heapwatch_heap_inuse_bytes", "gauge" },
		{ "heapwatch_heap_inuse_objects", "gauge" },
		{ "heapwatch_goroutines", "gauge" },
		{ "heapwatch_window_snapshots", "gauge" },
		{ "heapwatch_restarts_total", "counter" },
		{ "heapwatch_growth_per_second", "gauge" },
		{ "heapwatch_forced_gcs_total", "counter" },
		{ "heapwatch_time_to_limit_seconds", "gauge" },
		{ "heapwatch_alert_firing", "gauge" },
		{ "heapwatch_alert_pending", "gauge" },
		{ "heapwatch_snapshots", "gauge" },
		{ "heapwatch_store_bytes", "gauge" },
		{ "heapwatch_last_scrape_timestamp_seconds", "gauge" },
		{ "heapwatch_gc_live_heap_bytes", "gauge" },
		{ "heapwatch_gc_heap_goal_bytes", "gauge" },
		{ "heapwatch_gc_cycles_total", "counter" },
		{ "heapwatch_gc_pause_seconds_total", "counter" },
		{ "heapwatch_gc_cpu_fraction", "gauge" },
		{ "heapwatch_gctrace_lines_total", "counter" },
	};
	const struct target_status	*ss = target_status(svc);
	const struct summary		*s = target_latest(svc);
	struct judge_view		 jv;
	struct buf			 b = { NULL, 0, 0 };
	const char			*at, *prev = NULL, *m;
	char				 help[128];
	size_t				 i;
	bool				 order = true, all = true;

	target_metrics(&b, list);
	m = b.s != NULL ? b.s : "";
	for (i = 0; i < sizeof families / sizeof *families; i++) {
		snprintf(help, sizeof help, "# HELP %s ", families[i][0]);
		all &= strstr(m, help) != NULL &&
		    has(m, "# TYPE %s %s", families[i][0], families[i][1]);
		at = strstr(m, help);
		order &= at != NULL && (prev == NULL || at > prev);
		prev = at;
	}
	ok(all, "every family has its HELP and TYPE");
	ok(order, "... in the table's order");

	ok(has(m, "heapwatch_target_up{target=\"svc\"} 1") &&
	    has(m, "heapwatch_target_up{target=\"gc\"} 1"),
	    "target_up: both up");
	ok(has(m, "heapwatch_scrapes_total{target=\"svc\",result=\"success\"}"
	    " %llu", (unsigned long long)ss->scrapes[SCRAPE_SUCCESS]) &&
	    has(m, "heapwatch_scrapes_total{target=\"svc\",result=\"invalid\"}"
	    " 1") &&
	    has(m, "heapwatch_scrapes_total{target=\"svc\",result=\"failed\"}"
	    " 1") &&
	    has(m, "heapwatch_scrapes_total{target=\"svc\","
	    "result=\"not_stored\"} 0") &&
	    has(m, "heapwatch_scrapes_total{target=\"svc\",result=\"skipped\"}"
	    " 0") &&
	    has(m, "heapwatch_scrapes_total{target=\"gc\",result=\"success\"}"
	    " 0"), "scrapes_total: a series per result, as counted");
	ok(has(m, "heapwatch_scrape_duration_seconds{target=\"svc\"} %.6f",
	    ss->last_duration) &&
	    strstr(m, "heapwatch_scrape_duration_seconds{target=\"gc\"") ==
	    NULL, "scrape_duration_seconds: of the scraped target alone");
	ok(s != NULL && has(m, "heapwatch_heap_inuse_bytes{target=\"svc\"} "
	    "%lld", (long long)s->total) &&
	    has(m, "heapwatch_heap_inuse_objects{target=\"svc\"} %lld",
	    (long long)s->objects) &&
	    strstr(m, "heapwatch_heap_inuse_bytes{target=\"gc\"") == NULL,
	    "heap_inuse_bytes and _objects: the last profile's");
	ok(strstr(m, "heapwatch_goroutines{") == NULL,
	    "goroutines: none, of heap targets");
	judge_view(ss->judge, &jv);
	ok(has(m, "heapwatch_window_snapshots{target=\"svc\"} %zu", jv.nwin) &&
	    has(m, "heapwatch_restarts_total{target=\"svc\"} 0"),
	    "window_snapshots (%zu) and restarts_total: the judge's", jv.nwin);
	ok(jv.nwin >= 2 ? has(m, "heapwatch_growth_per_second{target=\"svc\"} "
	    "%.6g", jv.per_second) :
	    strstr(m, "heapwatch_growth_per_second{target=\"svc\"") == NULL,
	    "growth_per_second: the slope, once two snapshots are judged");
	ok(has(m, "heapwatch_forced_gcs_total{target=\"svc\"} 0") &&
	    strstr(m, "heapwatch_forced_gcs_total{target=\"gc\"") == NULL,
	    "forced_gcs_total: of the scraped heap target alone");
	ok(strstr(m, "heapwatch_time_to_limit_seconds{") == NULL,
	    "time_to_limit_seconds: none without a limit");
	ok(has(m, "heapwatch_alert_firing{target=\"svc\"} 0") &&
	    has(m, "heapwatch_alert_pending{target=\"gc\"} 0"),
	    "alert_firing and alert_pending: neither");
	ok(has(m, "heapwatch_snapshots{target=\"svc\"} %zu", ss->snapshots) &&
	    has(m, "heapwatch_snapshots{target=\"gc\"} 0"),
	    "snapshots: as stored");
	ok(has(m, "heapwatch_store_bytes{target=\"svc\"} %llu",
	    (unsigned long long)ss->store_bytes) &&
	    has(m, "heapwatch_store_bytes{target=\"gc\"} 0"),
	    "store_bytes: as stored");
	ok(has(m, "heapwatch_last_scrape_timestamp_seconds{target=\"svc\"} "
	    "%.3f", ss->last_scrape / 1000.0) &&
	    strstr(m, "heapwatch_last_scrape_timestamp_seconds{target=\"gc\"")
	    == NULL, "last_scrape_timestamp_seconds: when it was scraped");
	ok(has(m, "heapwatch_gc_live_heap_bytes{target=\"gc\"} 1048576") &&
	    has(m, "heapwatch_gc_heap_goal_bytes{target=\"gc\"} 4194304") &&
	    has(m, "heapwatch_gc_cycles_total{target=\"gc\"} 1") &&
	    has(m, "heapwatch_gc_pause_seconds_total{target=\"gc\"} "
	    "0.000013") &&
	    has(m, "heapwatch_gc_cpu_fraction{target=\"gc\"} 0.01"),
	    "gc_*: the last GC's live heap, goal, count, pause and CPU");
	ok(strstr(m, "heapwatch_gc_live_heap_bytes{target=\"svc\"") == NULL &&
	    strstr(m, "heapwatch_gctrace_lines_total{target=\"svc\"") == NULL,
	    "... and none of a target without gctrace");
	ok(has(m, "heapwatch_gctrace_lines_total{target=\"gc\",result=\"gc\"}"
	    " 1") &&
	    has(m, "heapwatch_gctrace_lines_total{target=\"gc\","
	    "result=\"repeat\"} 1") &&
	    has(m, "heapwatch_gctrace_lines_total{target=\"gc\","
	    "result=\"malformed\"} 1") &&
	    has(m, "heapwatch_gctrace_lines_total{target=\"gc\","
	    "result=\"other\"} 1"),
	    "gctrace_lines_total: a GC, a repeat, a cut GC, other output");
	if (!all || !order)
		fprintf(stderr, "%s", m);
	free(b.s);
}

/* buf_whole() against printf's "%.0f", on the values that matter. */
static void
test_whole(void)
{
	static const double	 edges[] = {
		0, 1, 9, 10, 99, 100, 12345678, 4294967295.0, 4294967296.0,
		9007199254740991.0, 9007199254740992.0, 9007199254740993.0,
		1e20, 1e300, 0.5, 1.5, 2.5, 0.49999999999999994, 123.456,
		-0.0, -1, -0.5, -9007199254740991.0, 1.0 / 0.0, -1.0 / 0.0,
		0.0 / 0.0
	};
	struct buf	 b = { NULL, 0, 0 };
	char		 want[512];
	size_t		 i, bad = 0;
	double		 v;

	for (i = 0; i < sizeof edges / sizeof *edges + 100000; i++) {
		if (i < sizeof edges / sizeof *edges)
			v = edges[i];
		else if (i % 2 == 0)	/* counts, up to 2^53 */
			v = (double)(((uint64_t)arc4random() << 32 |
			    arc4random()) >> (11 + arc4random_uniform(53)));
		else			/* anything, sign and all */
			v = ((double)(int32_t)arc4random()) *
			    ((double)arc4random() / 1e3);
		b.len = 0;
		buf_whole(&b, v);
		snprintf(want, sizeof want, "%.0f", v);
		if (b.s == NULL || strcmp(b.s, want) != 0) {
			if (bad++ < 5)
				printf("# %.17g: got %s, want %s\n", v,
				    b.s != NULL ? b.s : "", want);
		}
	}
	is_int(bad, 0, "buf_whole() prints what %%.0f does, over %zu values",
	    i);
	free(b.s);
}

int
main(void)
{
	struct timeval		 tv = { 0, 50000 };
	struct daemon		 d;
	struct watch		 w;
	struct server		*srv;
	struct targets		 list = TAILQ_HEAD_INITIALIZER(list);
	struct pb		*pb;
	char			 listen[64], gclog[64], *cause = NULL;
	int			 port, fd;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	test_whole();
	pb = pb_small();
	profile = pb_pack(pb, &profile_len);
	free(pb);
	port = daemon_free_port();
	memset(&w, 0, sizeof w);
	snprintf(gclog, sizeof gclog, "/tmp/test_target_gc.XXXXXX");
	if ((fd = mkstemp(gclog)) == -1)
		abort();
	close(fd);
	w.gclog = gclog;
	w.base = event_base_new();
	snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
	if ((srv = server_new(w.base, listen, NULL, NULL, route, NULL,
	    &cause)) == NULL || daemon_open(&d, "test_target", w.base, &cause,
	    "listen: 127.0.0.1:%d\n"
	    "defaults:\n  interval: 3s\n  timeout: 2900ms\n  window: 1m\n"
	    "  for: 30s\n"
	    "targets:\n"
	    "  - name: svc\n    url: http://127.0.0.1:%d/debug/pprof/heap\n"
	    "  - name: gc\n    gctrace:\n      file: %s\n",
	    port, port, gclog) == -1) {
		ok(0, "the server, the configuration and the store start: %s",
		    cause);
		return tap_done();
	}
	daemon_scrapes(&d);
	w.t = target_new(&d.deps, &d.conf->targets[0]);
	w.gc = target_new(&d.deps, &d.conf->targets[1]);
	target_list_append(&list, w.t);
	target_list_append(&list, w.gc);
	is_int(target_health(w.t), TARGET_UNKNOWN, "a new target is unknown");
	target_start(w.t, false);
	target_start(w.gc, false);
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
	is_int(target_status(w.t)->store_bytes, 2 * profile_len,
	    "their files' bytes are counted");
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

	is_int(w.gc_before, TARGET_UNKNOWN,
	    "a gctrace target is unknown before its first GC");
	is_int(target_health(w.gc), TARGET_UP, "... and up after it");
	ok(target_last_error(w.gc) == NULL, "... with no error");
	test_metrics(&list, w.t, w.gc);

	target_list_remove(&list, w.t);
	target_list_remove(&list, w.gc);
	ok(summary_names_count(d.deps.names) > 0 &&
	    summary_names_refs(d.deps.names, "main.leak") > 0,
	    "the profile's functions are in the shared names (%zu)",
	    summary_names_count(d.deps.names));
	target_free(w.gc);
	target_free(w.t);
	is_int(summary_names_count(d.deps.names), 0,
	    "a target let go (as a reload drops it) gives its names back");
	unlink(gclog);
	event_free(w.tick);
	server_free(srv);
	if (daemon_close(&d) == -1)
		ok(0, "the scratch folder is removed");
	event_base_free(w.base);
	free(profile);
	return tap_done();
}
