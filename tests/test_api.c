/*
 * The HTTP API on a real server on 127.0.0.1, with a state of its own
 * making: two targets from a real configuration and store, never scraped.
 * A child process asks with libcurl; the loop answers. Checked: the
 * routing (the status of each path and method, the pages' and the API's
 * answers to names and ids that are not there), that a reload goes
 * through the callback given to api_new(), and that /metrics holds the
 * daemon's families, the notifier's, the discovery's and the targets'
 * (whose values tests/test_target.c checks).
 *
 * Then /metrics rendered ahead, on a second API over 300 targets whose
 * renders are made slow by turning (a slice a (family, target) step,
 * 6,300 turns of the loop): a request that comes during a render is
 * answered from the last body, and the render still under way when the
 * answer is read; the change then shows, gzipped alike; a render ahead
 * comes without a request; a body is never served older than the bound.
 * The loop itself asks here, on a socket written before the loop turns:
 * what is checked is the order of things, never how fast they go.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <libdeflate.h>

#include "api.h"
#include "buf.h"
#include "clock.h"
#include "conf.h"
#include "daemon.h"
#include "notifier.h"
#include "server.h"
#include "store.h"
#include "target.h"
#include "tap.h"
#include "xmalloc.h"
#include "yamlx.h"

#define NREQ	35
#define BODY_MAX	(256 << 10)

static const struct {
	const char	*method;
	const char	*path;
	const char	*header;	/* one more request header, or NULL */
} reqs[NREQ] = {
	{ "GET", "/-/healthy", NULL },
	{ "GET", "/-/ready", NULL },
	{ "POST", "/-/reload", NULL },
	{ "POST", "/-/reload", NULL },
	{ "GET", "/-/reload", NULL },
	{ "POST", "/metrics", NULL },
	{ "GET", "/metrics", NULL },
	{ "GET", "/api/v1/targets", NULL },
	{ "GET", "/api/v1/alerts", NULL },
	{ "GET", "/api/v1/targets/nope/snapshots", NULL },
	{ "GET", "/api/v1/targets/api/snapshots", NULL },
	{ "GET", "/nowhere", NULL },
	/* Sent as is: curl would inflate it if it asked for gzip itself. */
	{ "GET", "/metrics", "Accept-Encoding: gzip" },
	{ "GET", "/metrics", "Accept-Encoding: gzip;q=0, identity" },
	{ "HEAD", "/-/healthy", NULL },
	{ "PUT", "/-/reload", NULL },
	{ "DELETE", "/api/v1/targets", NULL },
	{ "GET", "/", NULL },
	{ "GET", "/targets/api", NULL },
	{ "GET", "/targets/nope", NULL },
	{ "GET", "/targets/api/nowhere", NULL },
	{ "GET", "/targets/api/list", NULL },
	{ "GET", "/targets/api/diff", NULL },
	{ "GET", "/api/v1/targets/api/snapshots/1", NULL },
	{ "GET", "/api/v1/targets/api/snapshots/%2e%2e", NULL },
	{ "GET", "/api/v1/targets/api/evidence/...", NULL },
	{ "GET", "/api/v1/targets/api/diff", NULL },
	{ "GET", "/targets/api/diff?base=1000&current=2000", NULL },
	{ "GET", "/targets/api/list?fn=main.f", NULL },
	{ "GET", "/targets/api/list?fn=main.f&base=1000&current=2000", NULL },
	{ "POST", "/nowhere", NULL },
	{ "GET", "/metrics%00", NULL },
	{ "GET", "/api/v1/targets/api%00/snapshots", NULL },
	{ "GET", "/api/v1/targets/%61pi/snapshots", NULL },
	{ "POST", "/api/v1/nothing", NULL },
};

struct answer {
	long	 status;
	char	*body;
	size_t	 len;
};

static int	reloads;
static bool	reload_fails;

/* The daemon's side of POST /-/reload: the first works, the next fails. */
static int
fake_reload(void *arg, char **cause)
{
	int	*calls = arg;

	(*calls)++;
	if (reload_fails) {
		*cause = xstrdup("the file is broken");
		return -1;
	}
	reload_fails = true;
	return 0;
}

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	FILE	*f = arg;

	return fwrite(p, size, n, f);
}

/*
 * The child: each request in turn, "STATUS LEN\nBODY" into the file at
 * path. Its end closes fd, which the loop waits for.
 */
static void
client(int port, const char *path)
{
	CURL			*c;
	struct curl_slist	*h;
	FILE			*out = fopen(path, "w"), *body;
	char			 url[128], *buf;
	size_t			 len;
	long			 status;
	int			 i;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (i = 0; i < NREQ; i++) {
		c = curl_easy_init();
		body = open_memstream(&buf, &len);
		snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port,
		    reqs[i].path);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, reqs[i].method);
		if (strcmp(reqs[i].method, "POST") == 0 ||
		    strcmp(reqs[i].method, "PUT") == 0)
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		if (strcmp(reqs[i].method, "HEAD") == 0)
			curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
		h = reqs[i].header != NULL ? curl_slist_append(NULL,
		    reqs[i].header) : NULL;
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		status = 0;
		if (curl_easy_perform(c) == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		fclose(body);
		fprintf(out, "%ld %zu\n", status, len);
		fwrite(buf, 1, len, out);
		free(buf);
		curl_easy_cleanup(c);
		curl_slist_free_all(h);
	}
	fclose(out);
	_exit(0);
}


#define AHEAD_TARGETS	300

/* A request of the loop's own: its answer as it comes in. */
struct ask {
	struct api	*api;
	struct buf	 in;
	bool		 rendering;	/* a render under way at the end */
	bool		 done;
};

static void
ask_read(evutil_socket_t fd, short what, void *arg)
{
	struct ask	*q = arg;
	char		 buf[65536];
	ssize_t		 n;

	(void)what;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		buf_add(&q->in, buf, n);
	if (n == -1 && errno == EAGAIN)
		return;
	q->rendering = api_metrics_rendering(q->api);
	q->done = true;
}

/*
 * GET /metrics on a socket connected and written before the loop turns,
 * then the loop until the answer is in: its body, NULL on failure.
 */
static char *
ask_metrics(struct event_base *base, struct api *api, int port, bool gzip,
    size_t *len, bool *rendering)
{
	struct sockaddr_in	 sin;
	struct event		*ev;
	struct ask		 q;
	char			 req[256], *body, *p;
	int			 s, n;

	memset(&q, 0, sizeof q);
	q.api = api;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(s, (struct sockaddr *)&sin, sizeof sin) == -1)
		abort();
	n = snprintf(req, sizeof req, "GET /metrics HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n%s\r\n", gzip ? "Accept-Encoding: gzip\r\n" :
	    "");
	if (write(s, req, n) != n)
		abort();
	fcntl(s, F_SETFL, O_NONBLOCK);
	ev = event_new(base, s, EV_READ | EV_PERSIST, ask_read, &q);
	event_add(ev, NULL);
	while (!q.done)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(ev);
	close(s);
	*rendering = q.rendering;
	p = q.in.s != NULL ? strstr(q.in.s, "\r\n\r\n") : NULL;
	if (p == NULL || strncmp(q.in.s, "HTTP/1.1 200", 12) != 0) {
		free(q.in.s);
		return NULL;
	}
	p += 4;
	*len = q.in.len - (p - q.in.s);
	body = xmalloc(*len + 1);
	memcpy(body, p, *len);
	body[*len] = '\0';
	free(q.in.s);
	return body;
}

/* Whether the body counts n failed reloads. */
static bool
says_failed(const char *body, int n)
{
	char	want[128];

	snprintf(want, sizeof want, "\nheapwatch_config_reloads_failed_total "
	    "%d\n", n);
	return body != NULL && strstr(body, want) != NULL;
}

static int	gunzip(const char *, size_t, char **, size_t *);

/* The bodies rendered while the loop runs for a second. */
static uint64_t
renders_in_a_second(struct event_base *base, struct api *api)
{
	struct timeval	quiet = { 1, 0 };
	uint64_t	n0 = api_metrics_renders(api);

	event_base_loopexit(base, &quiet);
	event_base_dispatch(base);
	return api_metrics_renders(api) - n0;
}

/* /metrics rendered ahead of the requests, over AHEAD_TARGETS targets. */
static void
test_ahead(struct event_base *base)
{
	struct api_metrics_tuning	 tune;
	struct targets		 list = TAILQ_HEAD_INITIALIZER(list);
	struct api_state	 st;
	struct daemon		 d;
	struct buf		 y = { NULL, 0, 0 };
	struct server		*srv;
	struct target		*t;
	struct api		*api;
	char			 listen[64], *cause = NULL, *b1, *b2, *plain;
	size_t			 len, glen, plen, i;
	uint64_t		 n0;
	int64_t			 t0;
	bool			 rendering;
	int			 port = daemon_free_port();

	for (i = 0; i < AHEAD_TARGETS; i++)
		buf_printf(&y, "  - name: t%zu\n    url: http://127.0.0.1:1/"
		    "debug/pprof/heap\n", i);
	if (daemon_open(&d, "test_api_ahead", base, &cause,
	    "listen: 127.0.0.1:%d\ntargets:\n%s", port, y.s) == -1) {
		ok(0, "%d targets load: %s", AHEAD_TARGETS, cause);
		return;
	}
	free(y.s);
	memset(&st, 0, sizeof st);
	st.conf = d.conf;
	st.targets = &list;
	st.store = d.deps.store;
	st.notifier = d.deps.notifier;
	for (i = 0; i < d.conf->ntargets; i++) {
		target_list_append(&list, target_new(&d.deps,
		    &d.conf->targets[i]));
		st.ntargets++;
	}
	api = api_new(base, &st, fake_reload, &reloads);
	/* Renders in slices of one step; none ahead nor too old unless
	 * asked below. */
	memset(&tune, 0, sizeof tune);
	tune.period_max_us = 3600LL * 1000000;
	tune.max_age_us = 3600LL * 1000000;
	tune.sync_us = 0;
	tune.slice_us = 3600LL * 1000000;
	tune.slice_steps = 1;
	tune.watch_us = 3600LL * 1000000;
	api_metrics_tune(api, &tune);
	snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
	if ((srv = server_new(base, listen, NULL, NULL, api_route, api,
	    &cause)) == NULL) {
		ok(0, "the second server listens: %s", cause);
		return;
	}

	b1 = ask_metrics(base, api, port, false, &len, &rendering);
	ok(says_failed(b1, 0) && api_metrics_renders(api) == 1 && !rendering,
	    "the first request renders the first body itself");
	free(b1);

	/* A change, as a reload makes: a render in 6,300 slices begins. */
	st.reloads_failed = 1;
	api_metrics_forget(api);
	b1 = ask_metrics(base, api, port, false, &len, &rendering);
	ok(says_failed(b1, 0) && rendering,
	    "a request during the render is answered from the last body, "
	    "the render still under way");
	free(b1);
	while (api_metrics_rendering(api))
		event_base_loop(base, EVLOOP_ONCE);
	is_int(api_metrics_renders(api), 2, "the render ends in a body");
	b1 = ask_metrics(base, api, port, false, &len, &rendering);
	ok(says_failed(b1, 1) && !rendering && api_metrics_renders(api) == 2,
	    "the next request has the change, rendering nothing");
	b2 = ask_metrics(base, api, port, true, &glen, &rendering);
	ok(b1 != NULL && b2 != NULL && gunzip(b2, glen, &plain, &plen) == 0 &&
	    plen == len && memcmp(plain, b1, len) == 0,
	    "gzipped on the thread, it gunzips to the same text");
	if (b2 != NULL && plen == len)
		free(plain);
	free(b1);
	free(b2);

	/* Ahead of need: a render every 100 ms while /metrics is asked. */
	tune.period_max_us = 100000;
	tune.slice_steps = 64;
	api_metrics_tune(api, &tune);
	st.reloads_failed = 2;
	n0 = api_metrics_renders(api);
	b1 = ask_metrics(base, api, port, false, &len, &rendering);
	free(b1);
	while (api_metrics_renders(api) < n0 + 2)
		event_base_loop(base, EVLOOP_ONCE);
	n0 = api_metrics_renders(api);
	b1 = ask_metrics(base, api, port, false, &len, &rendering);
	ok(says_failed(b1, 2), "a change shows once a render ahead is done, "
	    "which came with no request");
	free(b1);

	/*
	 * Not sooner than a quarter of the longest time between the last
	 * requests: asked 2 s apart, then once more at once, a second with
	 * no request gets a body every 500 ms at most, where a render's
	 * cost alone would allow one every few milliseconds (some 100 ms
	 * with ASan); and at least one.
	 */
	tune.period_max_us = 2000000;
	api_metrics_tune(api, &tune);
	b1 = ask_metrics(base, api, port, false, &len, &rendering);
	free(b1);
	t0 = clock_mono_us();
	while (clock_mono_us() - t0 < 2000000)
		usleep(50000);
	b1 = ask_metrics(base, api, port, false, &len, &rendering);
	free(b1);
	b1 = ask_metrics(base, api, port, false, &len, &rendering);
	free(b1);
	n0 = renders_in_a_second(base, api);
	ok(n0 >= 1 && n0 <= 4, "asked 2 s apart, a body ahead every 500 ms "
	    "at most (%llu in a second)", (unsigned long long)n0);

	/* Never older than max_age: no render ahead, and a body too old
	 * is rendered for the request. */
	tune.period_max_us = 3600LL * 1000000;
	tune.max_age_us = 200000;
	api_metrics_tune(api, &tune);
	while (api_metrics_rendering(api))
		event_base_loop(base, EVLOOP_ONCE);
	st.reloads_failed = 3;
	t0 = clock_mono_us();
	while (clock_mono_us() - t0 < tune.max_age_us)
		usleep(50000);
	b1 = ask_metrics(base, api, port, false, &len, &rendering);
	ok(says_failed(b1, 3), "a request max_age after a change has it");
	free(b1);

	/*
	 * Changes faster than a render in slices (one each turn of the
	 * loop, a render 6,300 turns): the body is made at once when it
	 * gets as old as a period allows, rather than never.
	 */
	tune.period_max_us = 100000;
	tune.max_age_us = 3600LL * 1000000;
	tune.slice_steps = 1;
	api_metrics_tune(api, &tune);
	st.reloads_failed = 4;
	t0 = clock_mono_us();
	while (clock_mono_us() - t0 < 3 * tune.period_max_us) {
		api_metrics_forget(api);
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	}
	b1 = ask_metrics(base, api, port, false, &len, &rendering);
	ok(says_failed(b1, 4), "changes in every turn of the loop still show "
	    "within a period");
	free(b1);

	/*
	 * A watch begins after a quiet watch_us, and until METRICS_GAPS
	 * gaps are known renders ahead wait period_max: three requests in
	 * a row, as a script's three curls, get a body ahead every 2 s,
	 * not one every few milliseconds as their gaps would allow. The
	 * body is 1.6 s old when they come: one in the next second.
	 */
	tune.period_max_us = 2000000;
	tune.watch_us = 1500000;
	tune.slice_steps = 64;
	api_metrics_tune(api, &tune);
	while (api_metrics_rendering(api))
		event_base_loop(base, EVLOOP_ONCE);
	t0 = clock_mono_us();
	while (clock_mono_us() - t0 < tune.watch_us + 100000)
		usleep(50000);
	for (i = 0; i < 3; i++) {
		b1 = ask_metrics(base, api, port, false, &len, &rendering);
		free(b1);
	}
	n0 = renders_in_a_second(base, api);
	ok(n0 >= 1 && n0 <= 2, "three requests in a row after a quiet "
	    "watch: a body ahead every 2 s (%llu in a second)",
	    (unsigned long long)n0);

	server_free(srv);
	api_free(api);
	while ((t = TAILQ_FIRST(&list)) != NULL) {
		target_list_remove(&list, t);
		target_free(t);
	}
	if (daemon_close(&d) == -1)
		ok(0, "the second scratch folder is removed");
}

/* Inflate a whole gzip member into *out (NULL on failure). */
static int
gunzip(const char *in, size_t len, char **out, size_t *outlen)
{
	struct libdeflate_decompressor	*d;
	size_t				 cap = BODY_MAX * 8;
	enum libdeflate_result		 r;

	*out = xmalloc(cap);
	if ((d = libdeflate_alloc_decompressor()) == NULL)
		abort();
	r = libdeflate_gzip_decompress(d, in, len, *out, cap, outlen);
	libdeflate_free_decompressor(d);
	if (r != LIBDEFLATE_SUCCESS) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopexit(arg, NULL);
}

static void
read_answers(FILE *in, struct answer *a)
{
	size_t	len;
	int	i;

	for (i = 0; i < NREQ; i++) {
		a[i].status = 0;
		a[i].body = xstrdup("");
		a[i].len = 0;
		if (fscanf(in, "%ld %zu\n", &a[i].status, &len) != 2 ||
		    len > BODY_MAX)
			continue;
		free(a[i].body);
		a[i].body = xcalloc(1, len + 1);
		if (fread(a[i].body, 1, len, in) != len)
			a[i].body[0] = '\0';
		else
			a[i].len = len;
	}
}

/*
 * Whether, in body, the polyline found after the text at, then from, has
 * every x within [x0, x0 + width], width read after wtext following at.
 */
static bool
points_within(const char *body, const char *at, const char *from, double x0,
    const char *wtext)
{
	const char	*p, *w;
	char		*end;
	double		 width, x;
	int		 n = 0;

	if (body == NULL || (p = strstr(body, at)) == NULL ||
	    (w = strstr(p, wtext)) == NULL ||
	    (p = strstr(p, from)) == NULL || (p = strstr(p, "points=\"")) ==
	    NULL)
		return false;
	width = strtod(w + strlen(wtext), NULL);
	for (p += strlen("points=\""); *p != '"'; p = end) {
		x = strtod(p, &end);
		if (end == p || *end != ',')
			return false;
		if (x < x0 || x > x0 + width)
			return false;
		strtod(end + 1, &end);
		while (*end == ' ')
			end++;
		n++;
	}
	return n > 0;
}

int
main(void)
{
	static const char *const clock_back[] = {
		"2000000 5000\n", "3000000 6000\n", "1000000 7000\n"
	};
	static const char *const families[][2] = {
		{ "heapwatch_build_info", "gauge" },
		{ "heapwatch_config_last_reload_successful", "gauge" },
		{ "heapwatch_config_reloads_failed_total", "counter" },
		{ "heapwatch_store_syncs_failed_total", "counter" },
		{ "heapwatch_notifications_total", "counter" },
		{ "heapwatch_notifications_queued", "gauge" },
		{ "heapwatch_shards", "gauge" },
		{ "heapwatch_discovered_targets", "gauge" },
	};
	struct api_metrics_tuning tune;
	struct buf		 tb = { NULL, 0, 0 };
	struct daemon		 d;
	struct api_state	 st;
	struct targets		 targets = TAILQ_HEAD_INITIALIZER(targets);
	struct answer		 a[NREQ];
	struct event_base	*base;
	struct event		*ev;
	struct server		*srv;
	struct target		*t;
	struct api		*api;
	char			 path[256];
	char			 listen[64], want[256], *cause = NULL;
	char			*plain;
	size_t			 plainlen;
	FILE			*in;
	pid_t			 pid;
	size_t			 i;
	int			 port, fds[2], status;

	port = daemon_free_port();
	base = event_base_new();
	ok(daemon_open(&d, "test_api", base, &cause, "listen: 127.0.0.1:%d\n"
	    "targets:\n"
	    "  - name: api\n    url: http://127.0.0.1:1/debug/pprof/heap\n"
	    "    labels: {team: payments}\n"
	    "  - name: jobs\n    url: http://127.0.0.1:1/debug/pprof/goroutine\n",
	    port) == 0, "a configuration of two targets loads, and its store "
	    "opens");
	if (d.conf == NULL || d.deps.store == NULL)
		return tap_done();

	memset(&st, 0, sizeof st);
	st.conf = d.conf;
	st.targets = &targets;
	st.store = d.deps.store;
	/* The daemon has a notifier, if without webhooks. */
	st.notifier = d.deps.notifier;
	/*
	 * api's history as a clock set back leaves it: the newest point
	 * earlier than those before it. The pages chart it all the same.
	 */
	for (i = 0; i < sizeof clock_back / sizeof *clock_back; i++)
		if (store_series_append(d.deps.store, "api", clock_back[i],
		    &cause) == -1) {
			ok(0, "api's history is written: %s", cause);
			free(cause);
			cause = NULL;
		}
	for (i = 0; i < d.conf->ntargets; i++) {
		t = target_new(&d.deps, &d.conf->targets[i]);
		target_list_append(&targets, t);
		st.ntargets++;
	}
	st.ready = true;
	st.last_reload_ok = true;

	api = api_new(base, &st, fake_reload, &reloads);
	/* One body for all the requests, which compare theirs. */
	memset(&tune, 0, sizeof tune);
	tune.period_min_us = tune.period_max_us = tune.max_age_us =
	    tune.slice_us = tune.watch_us = 3600LL * 1000000;
	tune.slice_steps = 1000;
	api_metrics_tune(api, &tune);
	snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
	srv = server_new(base, listen, NULL, NULL, api_route, api, &cause);
	ok(srv != NULL, "the server listens on %s", listen);
	if (srv == NULL)
		return tap_done();

	if (pipe(fds) == -1 || (pid = fork()) == -1)
		abort();
	if (pid == 0) {
		close(fds[0]);
		snprintf(path, sizeof path, "%s/answers", d.dir);
		client(port, path);
	}
	close(fds[1]);
	/* The child's exit closes the pipe: the loop serves until then. */
	ev = event_new(base, fds[0], EV_READ, on_done, base);
	event_add(ev, NULL);
	event_base_dispatch(base);
	waitpid(pid, &status, 0);
	snprintf(path, sizeof path, "%s/answers", d.dir);
	if ((in = fopen(path, "r")) == NULL)
		abort();
	read_answers(in, a);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the client asked all %d questions", NREQ);

	is_int(a[0].status, 200, "/-/healthy is 200");
	is_int(a[1].status, 200, "/-/ready is 200 when the state says ready");
	is_int(a[2].status, 200, "POST /-/reload is 200 when the callback is");
	is_int(a[3].status, 500, "and 500 when it fails");
	ok(strstr(a[3].body, "the file is broken") != NULL,
	    "the failure says the callback's cause");
	is_int(a[15].status, 500, "PUT /-/reload goes to the callback too");
	is_int(reloads, 3, "each POST or PUT /-/reload called the callback "
	    "once");
	is_int(a[4].status, 405, "GET /-/reload is 405");
	is_int(a[5].status, 405, "POST /metrics is 405");
	is_int(a[6].status, 200, "/metrics is 200");
	/* Never scraped, the targets' series do not change meanwhile. */
	target_metrics(&tb, &targets);
	ok(tb.s != NULL && strstr(a[6].body, tb.s) != NULL,
	    "/metrics holds every family of target_metrics() whole");
	free(tb.s);
	for (i = 0; i < sizeof families / sizeof *families; i++) {
		snprintf(want, sizeof want, "# TYPE %s %s\n", families[i][0],
		    families[i][1]);
		ok(strstr(a[6].body, want) != NULL, "/metrics: %s",
		    families[i][0]);
	}
	ok(strstr(a[6].body, "heapwatch_target_up{target=\"api\","
	    "team=\"payments\"} 0\n") != NULL,
	    "a never-scraped target is not up, with its labels");
	ok(strstr(a[6].body, "heapwatch_scrapes_total{target=\"jobs\","
	    "result=\"skipped\"} 0\n") != NULL,
	    "scrapes_total has a series per result");
	ok(strstr(a[6].body, "heapwatch_scrape_duration_seconds{") == NULL,
	    "no duration for a target never scraped");
	ok(strstr(a[6].body, "heapwatch_gctrace_lines_total{") == NULL,
	    "no gctrace lines for targets without gctrace");
	ok(strstr(a[6].body, "heapwatch_store_syncs_failed_total 0\n") !=
	    NULL, "no sync of the store failed");
	ok(strstr(a[6].body, "heapwatch_config_reloads_failed_total 0\n")
	    != NULL, "the reload counters are the state's");
	/* The targets are never scraped here, and the body is one. */
	is_int(a[12].status, 200, "/metrics with Accept-Encoding: gzip is 200");
	ok(gunzip(a[12].body, a[12].len, &plain, &plainlen) == 0 &&
	    plainlen == a[6].len && memcmp(plain, a[6].body, plainlen) == 0,
	    "its body gunzips to the text served without gzip (%zu bytes "
	    "from %zu)", a[12].len, a[6].len);
	free(plain);
	ok(a[13].len == a[6].len && memcmp(a[13].body, a[6].body,
	    a[6].len) == 0, "gzip;q=0 gets the text as it is");
	is_int(a[7].status, 200, "/api/v1/targets is 200");
	ok(strstr(a[7].body, "\"name\":\"api\"") != NULL &&
	    strstr(a[7].body, "\"name\":\"jobs\"") != NULL &&
	    strstr(a[7].body, "\"kind\":\"goroutine\"") != NULL,
	    "it lists both targets and their kinds");
	is_int(a[8].status, 200, "/api/v1/alerts is 200");
	is_str(a[8].body, "[]", "with no alert");
	is_int(a[9].status, 404, "an unknown target is 404");
	is_int(a[10].status, 200, "a known target's snapshots are 200");
	is_str(a[10].body, "[]", "none yet");
	is_int(a[11].status, 404, "an unknown path is 404");
	is_int(a[14].status, 200, "HEAD /-/healthy is 200");
	is_int(a[16].status, 405, "DELETE /api/v1/targets is 405");
	ok(a[17].status == 200 && strstr(a[17].body, "2 targets") != NULL &&
	    strstr(a[17].body, "href=\"/targets/jobs\"") != NULL,
	    "/ is the overview of both targets");
	ok(a[18].status == 200 && strstr(a[18].body, "<h1>api</h1>") != NULL,
	    "/targets/api is the target's page");
	ok(points_within(a[17].body, "class=\"spark\"", "points=\"", 0,
	    "width=\""), "the overview's sparkline of a history whose clock "
	    "went back stays in its box");
	ok(points_within(a[18].body, "id=\"history\"",
	    "data-name=\"in use\"", 80, "<rect x=\"80\" y=\"5\" width=\""),
	    "and so does the target page's chart of it");
	is_int(a[19].status, 404, "/targets/nope is 404");
	is_int(a[20].status, 404, "/targets/api/nowhere is 404");
	ok(a[21].status == 400 && strstr(a[21].body, "fn=") != NULL,
	    "/targets/api/list without fn= is 400, saying so");
	ok(a[22].status == 404 && strstr(a[22].body, "no snapshots") != NULL,
	    "/targets/api/diff with no snapshots is 404, saying so");
	is_int(a[23].status, 404, "a well-formed snapshot id not stored: 404");
	ok(a[24].status == 400 && strstr(a[24].body, "malformed") != NULL,
	    "a malformed snapshot id is 400");
	ok(a[25].status == 400 && strstr(a[25].body, "malformed") != NULL,
	    "a malformed evidence id is 400");
	ok(a[26].status == 404 && strstr(a[26].body, "no snapshots") != NULL,
	    "/api/v1/targets/api/diff with no snapshots is 404, saying so");
	ok(a[27].status == 404 && strstr(a[27].body, "no such snapshot") !=
	    NULL,
	    "the diff page of snapshots not stored is 404, as the API's: %s",
	    a[27].body);
	ok(a[28].status == 404 && strstr(a[28].body, "two snapshots") != NULL,
	    "the line view of a window without two snapshots is 404, saying "
	    "so");
	is_int(a[29].status, 404, "and of snapshots not stored");
	is_int(a[30].status, 404, "POST to a path not served is 404, not 405");
	is_int(a[31].status, 404, "/metrics%%00 is no path served");
	is_int(a[32].status, 404, "nor is a target's name cut at a %%00");
	ok(a[33].status == 200 && strcmp(a[33].body, "[]") == 0,
	    "other escapes are decoded: /api/v1/targets/%%61pi is api's");
	is_int(a[34].status, 404, "so is POST under /api/v1/ to no endpoint");

	for (i = 0; i < NREQ; i++)
		free(a[i].body);
	fclose(in);
	close(fds[0]);
	event_free(ev);
	server_free(srv);
	api_free(api);
	test_ahead(base);
	while ((t = TAILQ_FIRST(&targets)) != NULL) {
		target_list_remove(&targets, t);
		target_free(t);
	}
	if (daemon_close(&d) == -1)
		ok(0, "the scratch folder is removed");
	event_base_free(base);
	return tap_done();
}
