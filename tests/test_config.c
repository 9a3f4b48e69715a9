/* Unit tests for src/config.c, on the files in tests/config/. */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "tap.h"
#include "xmalloc.h"
#include "yamlx.h"

static const char	*srcdir;
static char		 tmpdir[] = "/tmp/test_config.XXXXXX";

static char *
corpus(const char *name)
{
	char	*path;

	xasprintf(&path, "%s/tests/config/%s", srcdir, name);
	return path;
}

/* Load a file that must load, showing its errors if it does not. */
static struct config *
good(const char *path, const char *name)
{
	struct yamlx_errors	 errs;
	struct config		*cf;
	size_t			 i;

	cf = config_load(path, &errs);
	ok(cf != NULL && errs.n == 0, "%s loads", name);
	for (i = 0; i < errs.n; i++)
		printf("#   %s\n", errs.list[i].text);
	yamlx_errors_free(&errs);
	return cf;
}

/* The retention count of a corpus file that must load; -1 if not. */
static long long
corpus_snapshots(const char *name)
{
	struct config	*cf;
	char		*path;
	long long	 n;

	path = corpus(name);
	cf = good(path, name);
	free(path);
	n = cf != NULL ? (long long)cf->retention.snapshots : -1;
	config_free(cf);
	return n;
}

/* s with every "FILE:" made "PATH:"; to free. */
static char *
expand_file(const char *s, const char *path)
{
	const char	*p;
	char		*out, *o;
	size_t		 n = 0;

	for (p = s; (p = strstr(p, "FILE:")) != NULL; p += 5)
		n++;
	out = o = xcalloc(1, strlen(s) + n * strlen(path) + 1);
	while ((p = strstr(s, "FILE:")) != NULL) {
		memcpy(o, s, p - s);
		o += p - s;
		o += sprintf(o, "%s:", path);
		s = p + 5;
	}
	strcpy(o, s);
	return out;
}

/*
 * Load a broken file; want lists its errors as "LINE:COL: message", or as
 * the message alone for an error about the whole file. "FILE:" in a
 * message stands for the file's path, where it names another place.
 */
static void
bad_path(const char *path, const char *name, const char *const *want)
{
	struct yamlx_errors	 errs;
	struct config		*cf;
	size_t			 i, n;
	char			*line, *msg;

	for (n = 0; want[n] != NULL; n++)
		continue;
	cf = config_load(path, &errs);
	ok(cf == NULL, "%s is refused", name);
	config_free(cf);
	is_int(errs.n, n, "%s: %zu errors", name, n);
	for (i = 0; i < n; i++) {
		msg = expand_file(want[i], path);
		xasprintf(&line, isdigit((unsigned char)want[i][0]) ?
		    "%s:%s" : "%s: %s", path, msg);
		is_str(i < errs.n ? errs.list[i].text : NULL, line, "%s: %s",
		    name, want[i]);
		free(line);
		free(msg);
	}
	if (errs.n != n)
		for (i = 0; i < errs.n; i++)
			printf("#   %s\n", errs.list[i].text);
	yamlx_errors_free(&errs);
}

static void
bad_file(const char *name, const char *const *want)
{
	char	*path;

	path = corpus(name);
	bad_path(path, name, want);
	free(path);
}

#define bad(name, ...) bad_file((name), (const char *const []){ __VA_ARGS__, \
    NULL })

/* Write text to a file of the temporary folder; its path, to free. */
static char *
scratch(const char *name, const char *text)
{
	FILE	*fp;
	char	*path;

	xasprintf(&path, "%s/%s", tmpdir, name);
	if ((fp = fopen(path, "w")) == NULL || fputs(text, fp) == EOF ||
	    fclose(fp) == EOF) {
		perror(path);
		exit(1);
	}
	return path;
}

static const struct target_config *
find(const struct config *cf, const char *name)
{
	size_t	i;

	for (i = 0; cf != NULL && i < cf->ntargets; i++)
		if (strcmp(cf->targets[i].name, name) == 0)
			return &cf->targets[i];
	return NULL;
}

/* The harness itself: is_int compares values, whatever their types. */
static void
test_tap(void)
{
	ok(!tap_int_eq(UINT64_MAX, -1), "tap: UINT64_MAX is not -1");
	ok(!tap_int_eq((uint64_t)1 << 63, INT64_MIN),
	    "tap: 2^63 is not INT64_MIN");
	ok(tap_int_eq((uint64_t)1 << 63, (uint64_t)1 << 63),
	    "tap: 2^63 is 2^63");
	ok(tap_int_eq((size_t)3, 3) && tap_int_eq(-2, (long long)-2),
	    "tap: small values of mixed types");
}

/*
 * A target's settings copied: every field of the list set, the copy equal
 * with pointers of its own, each field seen by config_target_equal(), and
 * both cleared once (the sanitizer builds catch a pointer freed twice).
 */
static void
test_target_copy(void)
{
	struct target_config	 s, d;
	const char		*shared = NULL, *unseen = NULL;

	memset(&s, 0, sizeof s);
#define SET_STRING(f)	s.f = xstrdup(#f);
#define SET_PAIRS(f, n)	s.f = xcalloc(2, sizeof *s.f);			\
	s.f[0].name = xstrdup("a"); s.f[0].value = xstrdup(#f);		\
	s.f[1].name = xstrdup("b"); s.f[1].value = xstrdup(#f);		\
	s.n = 2;
#define SET_ARGV(f, n)	s.f = xcalloc(3, sizeof *s.f);			\
	s.f[0] = xstrdup("journalctl"); s.f[1] = xstrdup(#f); s.n = 2;
#define SET_SCALAR(f)	s.f = 1;
	CONFIG_TARGET_FIELDS(SET_STRING, SET_PAIRS, SET_ARGV, SET_SCALAR)

	config_target_copy(&d, &s);
	ok(config_target_equal(&d, &s), "a copied target equals the original");
	ok(d.gctrace.journal_directory != NULL &&
	    d.gctrace.journal_directory != s.gctrace.journal_directory &&
	    strcmp(d.gctrace.journal_directory,
	    s.gctrace.journal_directory) == 0,
	    "gctrace.journal_directory is copied, not shared");
#define SHARED_STRING(f)	if (d.f == s.f) shared = #f;
#define SHARED_PAIRS(f, n)	if (d.f == s.f ||			\
	d.f[1].value == s.f[1].value) shared = #f;
#define SHARED_ARGV(f, n)	if (d.f == s.f || d.f[1] == s.f[1])	\
	shared = #f;
#define SHARED_SCALAR(f)
	CONFIG_TARGET_FIELDS(SHARED_STRING, SHARED_PAIRS, SHARED_ARGV,
	    SHARED_SCALAR)
	is_str(shared, NULL, "no pointer is shared by the copy");

	/* Change each field of the copy alone, then put it back. */
#define SEEN(f)	if (config_target_equal(&d, &s)) unseen = #f;
#define SEEN_STRING(f)		d.f[0] ^= 1; SEEN(f) d.f[0] ^= 1;
#define SEEN_PAIRS(f, n)	d.f[1].value[0] ^= 1; SEEN(f)		\
	d.f[1].value[0] ^= 1; d.n = 1; SEEN(f) d.n = 2;
#define SEEN_ARGV(f, n)		d.f[1][0] ^= 1; SEEN(f) d.f[1][0] ^= 1;
#define SEEN_SCALAR(f)		d.f = 0; SEEN(f) d.f = s.f;
	CONFIG_TARGET_FIELDS(SEEN_STRING, SEEN_PAIRS, SEEN_ARGV, SEEN_SCALAR)
	is_str(unseen, NULL, "a change to any one field makes them differ");
	ok(config_target_equal(&d, &s), "and they are equal again");

	config_target_clear(&s);
	config_target_clear(&d);
	ok(d.name == NULL && d.gctrace.journal_directory == NULL &&
	    d.gctrace.argv == NULL && d.nlabels == 0,
	    "a cleared target is zeroed");
	config_target_clear(&d);
}

static void
test_minimal(void)
{
	struct config			*cf;
	const struct target_config	*t;
	char				*path;

	path = corpus("minimal.yaml");
	cf = good(path, "minimal.yaml");
	free(path);
	if (cf == NULL)
		return;
	is_str(cf->listen, "127.0.0.1:9470", "default listen");
	is_str(cf->listen_host, "127.0.0.1", "default listen host");
	is_int(cf->listen_port, 9470, "default listen port");
	is_str(cf->storage_path, "/var/lib/heapwatchd", "default storage path");
	is_int(cf->retention.snapshots, 500, "default retention snapshots");
	is_int(cf->retention.age_ms, 30 * 86400000LL, "default retention age");
	is_int(cf->retention.size, 1LL << 30, "default retention size");
	ok(cf->retention.ntiers == 2 &&
	    cf->retention.tiers[0].after_ms == 86400000 &&
	    cf->retention.tiers[0].every_ms == 600000 &&
	    cf->retention.tiers[1].after_ms == 7 * 86400000ULL &&
	    cf->retention.tiers[1].every_ms == 3600000,
	    "default downsampling: after 24h one per 10m, after 7d one an "
	    "hour");
	is_int(cf->ntargets, 1, "one target");
	t = &cf->targets[0];
	is_str(t->name, "api", "name");
	is_str(t->url, "http://127.0.0.1:6060/debug/pprof/heap", "url");
	is_str(config_target_kind(t), "heap", "a heap target");
	is_int(t->interval_ms, 60000, "default interval");
	is_int(t->timeout_ms, 10000, "default timeout");
	is_int(t->window_ms, 1800000, "default window");
	is_int(t->for_ms, 900000, "default for");
	is_int(t->min_growth, 16 << 20, "default min_growth");
	is_int(t->slow_window_ms, 86400000, "default slow_window");
	is_int(t->slow_min_growth, 0, "default slow_min_growth: from "
	    "min_growth");
	is_int(t->nlabels, 0, "no labels");
	is_int(t->nheaders, 0, "no headers");
	ok(t->tls.ca_file == NULL && t->tls.cert_file == NULL &&
	    !t->tls.insecure_skip_verify, "no tls settings");
	ok(t->bearer_token == NULL && t->bearer_token_file == NULL &&
	    t->basic_auth.username == NULL, "no auth");
	is_int(t->max_size, 64 << 20, "default max_size");
	is_int(t->max_redirects, 5, "default max_redirects");
	is_int(cf->nwebhooks, 0, "no webhooks");
	config_free(cf);
}

static void
test_good(void)
{
	struct config			*cf;
	const struct target_config	*t;
	const struct webhook_config	*w;
	char				*path, *want;

	path = corpus("good.yaml");
	cf = good(path, "good.yaml");
	free(path);
	if (cf == NULL)
		return;
	is_str(cf->listen, "[::1]:9471", "listen");
	is_str(cf->listen_host, "::1", "listen host, without brackets");
	is_int(cf->listen_port, 9471, "listen port");
	want = corpus("data");
	is_str(cf->storage_path, want, "storage path next to the file");
	free(want);
	is_int(cf->retention.snapshots, 200, "retention snapshots");
	is_int(cf->retention.age_ms, 2 * 86400000LL, "retention age");
	is_int(cf->retention.size, 512LL << 20, "retention size");
	ok(cf->retention.ntiers == 2 &&
	    cf->retention.tiers[0].after_ms == 2 * 86400000ULL &&
	    cf->retention.tiers[0].every_ms == 300000 &&
	    cf->retention.tiers[1].after_ms == 3 * 86400000ULL &&
	    cf->retention.tiers[1].every_ms == 1800000,
	    "retention downsample, sorted by age");
	is_int(cf->ntargets, 4, "four targets");

	t = find(cf, "api");
	ok(t == &cf->targets[0], "targets in the file's order");
	if (t != NULL) {
		is_int(t->interval_ms, 30000, "api: interval from defaults");
		is_int(t->timeout_ms, 5000, "api: timeout from defaults");
		is_int(t->window_ms, 3600000, "api: window from defaults");
		is_int(t->for_ms, 1200000, "api: for from defaults");
		is_int(t->min_growth, 32 << 20, "api: min_growth from defaults");
		is_int(t->slow_window_ms, 12 * 3600000,
		    "api: slow_window from defaults");
		is_int(t->slow_min_growth, 48 << 20,
		    "api: slow_min_growth from defaults");
		is_int(t->nlabels, 2, "api: two labels");
		if (t->nlabels == 2) {
			is_str(t->labels[0].name, "env", "labels sorted");
			is_str(t->labels[0].value, "prod", "label value");
			is_str(t->labels[1].name, "team", "second label");
			is_str(t->labels[1].value, "payments",
			    "second label value");
		}
	}

	t = find(cf, "worker.v2");
	ok(t != NULL, "worker.v2 found");
	if (t != NULL) {
		is_str(config_target_kind(t), "heap", "worker.v2: heap, "
		    "with a query");
		is_int(t->interval_ms, 10000, "worker.v2: interval");
		is_int(t->slow_window_ms, 0, "worker.v2: no slow horizon");
		is_int(t->timeout_ms, 2000, "worker.v2: timeout");
		is_int(t->window_ms, 1200000, "worker.v2: window");
		is_int(t->for_ms, 0, "worker.v2: for 0");
		is_int(t->min_growth, 1048576, "worker.v2: min_growth");
		want = corpus("ca.pem");
		is_str(t->tls.ca_file, want, "worker.v2: relative ca_file");
		free(want);
		is_str(t->tls.cert_file, "/etc/heapwatchd/client.pem",
		    "worker.v2: absolute cert_file");
		is_str(t->tls.key_file, "/etc/heapwatchd/client.key",
		    "worker.v2: key_file");
		ok(!t->tls.insecure_skip_verify, "worker.v2: verify");
		want = corpus("token");
		is_str(t->bearer_token_file, want, "worker.v2: token file");
		free(want);
		is_int(t->nheaders, 2, "worker.v2: two headers");
		if (t->nheaders == 2) {
			is_str(t->headers[0].name, "Accept", "headers sorted");
			is_str(t->headers[0].value, "*/*", "header value");
			is_str(t->headers[1].name, "X-Scope", "second header");
		}
		is_int(t->max_size, 8 << 20, "worker.v2: max_size");
		is_int(t->max_redirects, 0, "worker.v2: max_redirects 0");
	}

	t = find(cf, "api-goroutines");
	ok(t != NULL, "api-goroutines found");
	if (t != NULL) {
		is_str(config_target_kind(t), "goroutine", "a goroutine target");
		is_int(t->min_growth, 100, "a size in defaults leaves "
		    "goroutine targets at 100");
		is_int(t->slow_min_growth, 0, "and slow_min_growth at 4 "
		    "times theirs");
		is_str(t->basic_auth.username, "heapwatch", "basic username");
		is_str(t->basic_auth.password, "s3cret", "basic password");
	}

	t = find(cf, "gc_2");
	ok(t != NULL, "gc_2 found");
	if (t != NULL) {
		is_str(config_target_kind(t), "goroutine",
		    "goroutine with a trailing slash");
		is_int(t->min_growth, 250, "a goroutine count");
		is_str(t->basic_auth.password_file, "/run/secrets/pprof",
		    "basic password_file");
		ok(t->basic_auth.password == NULL, "no basic password");
	}

	is_int(cf->nwebhooks, 2, "two webhooks");
	if (cf->nwebhooks == 2) {
		w = &cf->webhooks[0];
		is_str(w->url, "http://127.0.0.1:9093/api/v2/alerts",
		    "webhook url");
		is_int(w->format, WEBHOOK_ALERTMANAGER, "alertmanager format");
		is_int(w->timeout_ms, 10000, "default webhook timeout");
		is_int(w->repeat_interval_ms, 4 * 3600000,
		    "default repeat_interval");
		w = &cf->webhooks[1];
		is_int(w->format, WEBHOOK_JSON, "json format");
		is_int(w->timeout_ms, 3000, "webhook timeout");
		is_int(w->repeat_interval_ms, 3600000, "repeat_interval");
		is_int(w->nheaders, 1, "webhook header");
		if (w->nheaders == 1)
			is_str(w->headers[0].value, "Bearer abc",
			    "webhook header value");
	}
	config_free(cf);
}

static void
test_small_valid(void)
{
	struct yamlx_errors	 errs;
	struct config		*cf;
	char			*path;

	path = corpus("empty.yaml");
	cf = good(path, "empty.yaml");
	free(path);
	ok(cf != NULL && cf->ntargets == 0 && cf->nwebhooks == 0,
	    "an empty file has no targets");
	ok(cf != NULL && strcmp(cf->listen, "127.0.0.1:9470") == 0,
	    "an empty file has the defaults");
	config_free(cf);

	path = corpus("notargets.yaml");
	cf = good(path, "notargets.yaml");
	free(path);
	ok(cf != NULL && cf->ntargets == 0, "targets: with nothing");
	is_str(cf != NULL ? cf->listen_host : NULL, "",
	    ":PORT listens on every address");
	config_free(cf);

	path = corpus("growth.yaml");
	cf = good(path, "growth.yaml");
	free(path);
	ok(find(cf, "heap") != NULL && find(cf, "heap")->min_growth == 500,
	    "a plain min_growth is bytes for a heap target");
	ok(find(cf, "goroutines") != NULL &&
	    find(cf, "goroutines")->min_growth == 500,
	    "and goroutines for a goroutine target");
	config_free(cf);

	xasprintf(&path, "%s/etc/heapwatchd.yaml", srcdir);
	cf = good(path, "etc/heapwatchd.yaml");
	free(path);
	ok(cf != NULL && cf->ntargets == 4 && cf->nwebhooks == 1,
	    "the sample has four targets and a webhook");
	config_free(cf);

	/* A file that is not there: one error naming it, and no config. */
	xasprintf(&path, "%s/missing.yaml", tmpdir);
	cf = config_load(path, &errs);
	ok(cf == NULL && errs.n == 1 && errs.list[0].line == 0 &&
	    strstr(errs.list[0].text, path) == errs.list[0].text,
	    "a missing file: refused with one error naming it");
	config_free(cf);	/* NULL: nothing to free */
	yamlx_errors_free(&errs);
	ok(errs.n == 0 && errs.list == NULL, "yamlx_errors_free empties");
	free(path);
}

/*
 * Settings nobody wrote follow the ones written: the timeout the interval,
 * retention the windows. Only settings written can conflict.
 */
static void
test_follow(void)
{
	struct config			*cf;
	const struct target_config	*t;
	char				*path;

	path = corpus("follow.yaml");
	cf = good(path, "follow.yaml");
	free(path);
	ok((t = find(cf, "a")) != NULL && t->interval_ms == 1000 &&
	    t->timeout_ms == 1000,
	    "interval 1s, no timeout: the timeout is 1s");
	ok((t = find(cf, "b")) != NULL && t->timeout_ms == 5000,
	    "interval 5s, no timeout: the timeout is 5s");
	ok((t = find(cf, "c")) != NULL && t->timeout_ms == CONFIG_TIMEOUT,
	    "interval 30s, no timeout: the default 10s");
	ok((t = find(cf, "d")) != NULL && t->timeout_ms == 20000,
	    "a timeout written is kept");
	if (cf != NULL) {
		is_int(cf->retention.snapshots, 30 * 60 + 1,
		    "retention follows the 30m window at 1s");
		is_int(cf->retention.age_ms, 40 * 86400000ULL,
		    "retention age follows the 40d window");
		ok(cf->retention.ntiers == 2 &&
		    cf->retention.tiers[0].after_ms == 40 * 86400000ULL &&
		    cf->retention.tiers[1].after_ms == 40 * 86400000ULL &&
		    cf->retention.tiers[1].every_ms == 3600000,
		    "downsampling nobody wrote starts after the 40d window");
	}
	config_free(cf);

	path = corpus("follow_2s.yaml");
	cf = good(path, "follow_2s.yaml");
	free(path);
	if (cf != NULL) {
		is_int(cf->targets[0].timeout_ms, 2000,
		    "interval 2s: timeout 2s");
		is_int(cf->retention.snapshots, 901,
		    "interval 2s, window 30m: retention keeps 901");
		is_int(cf->retention.age_ms, CONFIG_RETENTION_AGE,
		    "the default age, longer than the window, stays");
	}
	config_free(cf);

	path = corpus("minimal.yaml");
	cf = good(path, "minimal.yaml");
	free(path);
	ok(cf != NULL && cf->retention.snapshots == CONFIG_RETENTION_SNAPSHOTS,
	    "retention never keeps fewer than the default 500");
	config_free(cf);

	path = corpus("pack_retention.yaml");
	cf = good(path, "pack_retention.yaml");
	free(path);
	ok(cf != NULL && cf->storage_pack &&
	    cf->retention.snapshots == CONFIG_RETENTION_PACKED &&
	    cf->retention.age_ms == CONFIG_RETENTION_AGE &&
	    cf->retention.size == CONFIG_RETENTION_SIZE &&
	    cf->retention.ntiers == 2,
	    "packed, a count nobody wrote keeps a month of one-minute "
	    "scrapes under the tiers (%zu), more than a 1s window needs",
	    cf != NULL ? cf->retention.snapshots : 0);
	config_free(cf);
	is_int(corpus_snapshots("pack_follow.yaml"), 3601,
	    "packed, the count follows a window that needs more");
	is_int(corpus_snapshots("pack_snapshots.yaml"), 2000,
	    "packed, a count written stays");

	bad("follow_conflict.yaml",
	    "5:13: a window of 30m at an interval of 2s needs 901 snapshots, "
	    "retention keeps 100; retention.snapshots is set at FILE:3:16",
	    "9:15: target \"a\": a window of 30m at an interval of 5s needs "
	    "361 snapshots, retention keeps 100; retention.snapshots is set "
	    "at FILE:3:16",
	    "10:14: target \"a\": timeout (5s) must be shorter than interval "
	    "(5s); the interval is set at FILE:9:15",
	    "13:13: target \"b\": a window of 1h at an interval of 2s needs "
	    "1801 snapshots, retention keeps 100; the interval is set at "
	    "FILE:5:13; retention.snapshots is set at FILE:3:16");
}

static void
test_reload(void)
{
	struct config			*a, *b, *g1, *g2;
	const struct target_config	*ta, *tb;
	char				*path;
	size_t				 i;
	bool				 same = true;

	path = corpus("reload_a.yaml");
	a = good(path, "reload_a.yaml");
	free(path);
	path = corpus("reload_b.yaml");
	b = good(path, "reload_b.yaml");
	free(path);
	if (a == NULL || b == NULL) {
		config_free(a);
		config_free(b);
		return;
	}
	ta = find(a, "api");
	tb = find(b, "api");
	ok(ta != NULL && tb != NULL && config_target_equal(ta, tb),
	    "labels in another order and an explicit default: unchanged");
	ta = find(a, "worker");
	tb = find(b, "worker");
	ok(ta != NULL && tb != NULL && !config_target_equal(ta, tb),
	    "another interval: changed");
	ok(!config_target_equal(find(a, "api"), find(a, "worker")),
	    "two targets differ");

	path = corpus("good.yaml");
	g1 = config_load(path, NULL);
	g2 = config_load(path, NULL);
	free(path);
	ok(g1 != NULL && g2 != NULL && g1->ntargets == g2->ntargets,
	    "good.yaml loads twice");
	for (i = 0; g1 != NULL && g2 != NULL && i < g1->ntargets; i++)
		same = same && config_target_equal(&g1->targets[i],
		    &g2->targets[i]);
	ok(same, "every setting compares equal to itself");
	config_free(g1);
	config_free(g2);
	config_free(a);
	config_free(b);
}

static void
test_listen(void)
{
	static const struct {
		const char	*listen;
		const char	*host;		/* NULL: refused */
		int		 port;
		const char	*error;
	} cases[] = {
		{ "0.0.0.0:80", "0.0.0.0", 80, NULL },
		{ "localhost:9470", "localhost", 9470, NULL },
		{ "[::]:9470", "::", 9470, NULL },
		{ ":65535", "", 65535, NULL },
		{ "127.0.0.1:0", NULL, 0,
		    "the port must be 1 to 65535" },
		{ "127.0.0.1:65536", NULL, 0,
		    "the port must be 1 to 65535" },
		{ "127.0.0.1", NULL, 0,
		    "expected HOST:PORT or [IPV6]:PORT" },
		{ "::1:9470", NULL, 0,
		    "an IPv6 address goes in brackets" },
		{ "[::1]9470", NULL, 0,
		    "expected HOST:PORT or [IPV6]:PORT" },
		{ "my_host:80", NULL, 0, "bad host" },
		{ "http://127.0.0.1:9470", NULL, 0,
		    "expected HOST:PORT, not a URL" },
	};
	struct yamlx_errors	 errs;
	struct config		*cf;
	char			*text, *path, *want;
	size_t			 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		xasprintf(&text, "listen: \"%s\"\n", cases[i].listen);
		path = scratch("listen.yaml", text);
		free(text);
		cf = config_load(path, &errs);
		if (cases[i].host != NULL) {
			ok(cf != NULL && strcmp(cf->listen_host,
			    cases[i].host) == 0 && cf->listen_port ==
			    cases[i].port, "listen \"%s\"", cases[i].listen);
		} else {
			xasprintf(&want, "%s:1:9: listen \"%s\": %s", path,
			    cases[i].listen, cases[i].error);
			is_str(cf == NULL && errs.n == 1 ?
			    errs.list[0].text : NULL, want, "listen \"%s\" "
			    "refused", cases[i].listen);
			free(want);
		}
		config_free(cf);
		yamlx_errors_free(&errs);
		unlink(path);
		free(path);
	}
}

static void
test_files(void)
{
	char	*path;

	bad_path("/nonexistent/heapwatchd.yaml", "a missing file",
	    (const char *const []){ "No such file or directory", NULL });
	bad_path(tmpdir, "a folder",
	    (const char *const []){ "Is a directory", NULL });
	path = scratch("utf8.yaml", "listen: :9470\ntargets: \xff\n");
	bad_path(path, "not UTF-8", (const char *const []){
	    "2:10: invalid leading UTF-8 octet (0xff)", NULL });
	unlink(path);
	free(path);
}

#define HASH_A	"$2y$10$abcdefghijklmnopqrstuuqflPDzB6gcMhKa1rZqKiun2YGL5sa2u"
#define HASH_B	"$2b$04$abcdefghijklmnopqrstuuFmYmt6g3gkcmVHEDbdZcxIbyeUqUQsq"

/* web: files read at load, relative to the file's folder; errors placed. */
static void
test_web(void)
{
	struct config	*cf;
	char		*path, *cert, *key, *tok, *empty, *nopem, *want[16];
	size_t		 i;

	cert = scratch("web-cert.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n"
	    "-----END CERTIFICATE-----\n");
	key = scratch("web-key.pem", "-----BEGIN PRIVATE KEY-----\nMIIE\n"
	    "-----END PRIVATE KEY-----\n");
	tok = scratch("web-token", "s3cret-token\n\n");
	empty = scratch("web-empty", " \n");
	nopem = scratch("web-nopem", "not a key\n");
	path = scratch("web.yaml",
	    "listen: 127.0.0.1:9470\n"
	    "web:\n"
	    "  external_url: https://watch.example.com/heapwatch/\n"
	    "  tls:\n"
	    "    cert_file: web-cert.pem\n"
	    "    key_file: web-key.pem\n"
	    "  basic_auth_users:\n"
	    "    zoe: '" HASH_B "'\n"
	    "    alice: '" HASH_A "'\n"
	    "  bearer_token_file: web-token\n");
	cf = good(path, "web with tls, users and a token file");
	if (cf != NULL) {
		xasprintf(&want[0], "%s/web-cert.pem", tmpdir);
		is_str(cf->web.cert_file, want[0], "cert_file is taken from "
		    "the file's folder");
		free(want[0]);
		ok(cf->web.cert != NULL && strncmp(cf->web.cert,
		    "-----BEGIN CERTIFICATE-----", 27) == 0,
		    "the certificate is read at load");
		ok(cf->web.key != NULL && strstr(cf->web.key,
		    "PRIVATE KEY") != NULL, "the key is read at load");
		is_int(cf->web.nusers, 2, "two users");
		is_str(cf->web.nusers == 2 ? cf->web.users[0].name : NULL,
		    "alice", "users are sorted by name");
		is_str(cf->web.nusers == 2 ? cf->web.users[0].value : NULL,
		    HASH_A, "with their hash");
		is_str(cf->web.bearer_token, "s3cret-token",
		    "the token file's trailing newlines are dropped");
		is_str(cf->web.external_url, "https://watch.example.com/"
		    "heapwatch", "external_url, without its trailing '/'");
	}
	config_free(cf);
	unlink(path);
	free(path);

	path = scratch("web-none.yaml", "listen: 127.0.0.1:9470\n");
	cf = good(path, "no web section");
	ok(cf != NULL && cf->web.cert == NULL && cf->web.nusers == 0 &&
	    cf->web.bearer_token == NULL && cf->web.external_url == NULL,
	    "no web: plain HTTP, no auth, links to the listen address");
	config_free(cf);
	unlink(path);
	free(path);

	path = scratch("web-bad.yaml",
	    "web:\n"
	    "  tls:\n"
	    "    cert_file: missing.pem\n"
	    "    key_file: web-nopem\n"
	    "  basic_auth_users:\n"
	    "    alice: $2y$10$short\n"
	    "    bob: plain\n"
	    "    \"c:d\": '" HASH_A "'\n"
	    "    eve: '$2b$03$abcdefghijklmnopqrstuuqflPDzB6gcMhKa1rZqKiun2YGL5"
	    "sa2u'\n"
	    "    carol:\n"
	    "  bearer_token: \"a b\"\n"
	    "  bearer_token_file: web-token\n"
	    "  bearer: x\n");
	xasprintf(&want[0], "3:16: cert_file \"%s/missing.pem\": No such file "
	    "or directory", tmpdir);
	xasprintf(&want[1], "4:15: key_file \"%s/web-nopem\": no PEM PRIVATE "
	    "KEY in the file", tmpdir);
	want[2] = xstrdup("6:12: user \"alice\": bad bcrypt hash (53 "
	    "characters of salt and hash after the cost)");
	want[3] = xstrdup("7:10: user \"bob\": not a bcrypt hash ($2a$, $2b$ "
	    "or $2y$)");
	want[4] = xstrdup("8:5: user \"c:d\": no \":\" or control characters "
	    "in a user name");
	want[5] = xstrdup("9:10: user \"eve\": bcrypt cost must be 04 to 31");
	want[6] = xstrdup("10:5: carol: missing value");
	want[7] = xstrdup("11:17: bearer_token: no spaces or control "
	    "characters");
	want[8] = xstrdup("12:3: bearer_token and bearer_token_file are "
	    "mutually exclusive");
	want[9] = xstrdup("13:3: unknown key \"bearer\"");
	want[10] = NULL;
	bad_path(path, "web with errors", (const char *const *)want);
	for (i = 0; want[i] != NULL; i++)
		free(want[i]);
	unlink(path);
	free(path);

	path = scratch("web-bad2.yaml",
	    "web:\n"
	    "  external_url: http://h:8080/p?x=1\n"
	    "  tls:\n"
	    "    key_file: web-key.pem\n"
	    "  bearer_token_file: web-empty\n");
	xasprintf(&want[0], "2:17: external_url \"http://h:8080/p?x=1\": no "
	    "query or fragment: links are added after it");
	xasprintf(&want[1], "4:5: tls: key_file needs cert_file");
	xasprintf(&want[2], "5:22: bearer_token_file \"%s/web-empty\": empty",
	    tmpdir);
	want[3] = NULL;
	bad_path(path, "web: a query in external_url, key alone, empty token",
	    (const char *const *)want);
	free(want[0]);
	free(want[1]);
	free(want[2]);
	unlink(path);
	free(path);

	path = scratch("web-bad3.yaml",
	    "web:\n"
	    "  external_url: heapwatch.example.com\n"
	    "  tls: {cert_file: web-cert.pem, key_file: /}\n"
	    "  bearer_token_file: /nonexistent/token\n");
	want[0] = xstrdup("2:17: external_url \"heapwatch.example.com\": "
	    "expected an http:// or https:// URL");
	want[1] = xstrdup("3:44: key_file \"/\": not a regular file");
	want[2] = xstrdup("4:22: bearer_token_file \"/nonexistent/token\": No "
	    "such file or directory");
	want[3] = NULL;
	bad_path(path, "web: no scheme in external_url, a folder as key, a "
	    "missing token file", (const char *const *)want);
	free(want[0]);
	free(want[1]);
	free(want[2]);
	unlink(path);
	free(path);

	path = scratch("web-bad4.yaml", "web:\n  tls: {}\n");
	bad_path(path, "web: tls without files", (const char *const []){
	    "2:3: tls: needs cert_file and key_file", NULL });
	unlink(path);
	free(path);

	unlink(cert);
	unlink(key);
	unlink(tok);
	unlink(empty);
	unlink(nopem);
	free(cert);
	free(key);
	free(tok);
	free(empty);
	free(nopem);
}

/* gctrace: a file, a command, or with no url at all. */
static void
test_gctrace(void)
{
	const struct target_config	*t;
	struct config			*cf;
	char				*path, *want;

	path = corpus("gctrace.yaml");
	cf = good(path, "gctrace.yaml");
	t = find(cf, "both");
	xasprintf(&want, "%s/tests/config/logs/api.log", srcdir);
	ok(t != NULL && t->url != NULL &&
	    t->gctrace.source == GCTRACE_SRC_FILE &&
	    strcmp(t->gctrace.file, want) == 0,
	    "a profile and a gctrace file, taken from the file's folder");
	free(want);
	t = find(cf, "alone");
	ok(t != NULL && t->url == NULL &&
	    t->gctrace.source == GCTRACE_SRC_COMMAND && t->gctrace.argc == 6 &&
	    strcmp(t->gctrace.argv[0], "journalctl") == 0 &&
	    strcmp(t->gctrace.argv[5], "api.service") == 0 &&
	    t->gctrace.argv[6] == NULL, "gctrace alone, from a command");
	is_str(t != NULL ? config_target_kind(t) : NULL, "heap",
	    "a target without a url judges the heap");
	t = find(cf, "absolute");
	ok(t != NULL && t->gctrace.source == GCTRACE_SRC_FILE &&
	    strcmp(t->gctrace.file, "/var/log/api.log") == 0,
	    "an absolute file stays as it is");
	ok(cf != NULL && !config_target_equal(&cf->targets[0],
	    &cf->targets[2]) && config_target_equal(&cf->targets[1],
	    &cf->targets[1]), "gctrace counts in a target's settings");
	config_free(cf);
	free(path);
}

/*
 * gctrace from the journal: the system's, or journal files in a folder
 * (taken from the configuration's folder when relative).
 */
static void
test_gctrace_journal(void)
{
#ifdef HAVE_SYSTEMD
	const struct target_config	*t;
	struct config			*cf;
	char				*path, *want;

	path = corpus("gctrace_journal.yaml");
	cf = good(path, "gctrace_journal.yaml");
	t = find(cf, "system");
	ok(t != NULL && t->gctrace.source == GCTRACE_SRC_JOURNAL &&
	    strcmp(t->gctrace.journal_unit, "api.service") == 0 &&
	    t->gctrace.journal_directory == NULL,
	    "journal_unit alone: the system journal");
	t = find(cf, "remote");
	xasprintf(&want, "%s/tests/config/journal/remote", srcdir);
	ok(t != NULL && t->gctrace.source == GCTRACE_SRC_JOURNAL &&
	    strcmp(t->gctrace.journal_unit, "api.service") == 0 &&
	    t->gctrace.journal_directory != NULL &&
	    strcmp(t->gctrace.journal_directory, want) == 0,
	    "journal_directory, taken from the file's folder");
	free(want);
	t = find(cf, "absolute");
	ok(t != NULL && t->gctrace.journal_directory != NULL &&
	    strcmp(t->gctrace.journal_directory,
	    "/var/log/journal/remote") == 0,
	    "an absolute journal_directory stays as it is");
	ok(cf != NULL && !config_target_equal(&cf->targets[0],
	    &cf->targets[2]) && !config_target_equal(&cf->targets[1],
	    &cf->targets[2]) && config_target_equal(&cf->targets[2],
	    &cf->targets[2]),
	    "journal_directory counts in a target's settings");
	config_free(cf);
	free(path);
	bad("bad_journal.yaml",
	    "3:15: gctrace: journal_directory needs journal_unit",
	    "5:28: gctrace: journal_directory needs journal_unit",
	    "7:61: journal_directory: must not be empty");
#else
	bad("gctrace_journal.yaml",
	    "5:15: journal_unit: heapwatchd was built without libsystemd",
	    "8:7: journal_unit: heapwatchd was built without libsystemd",
	    "12:7: journal_unit: heapwatchd was built without libsystemd");
	bad("bad_journal.yaml",
	    "3:15: gctrace: journal_directory needs journal_unit",
	    "5:28: gctrace: journal_directory needs journal_unit",
	    "7:15: journal_unit: heapwatchd was built without libsystemd");
#endif
}

/* discovery.file_sd and shard: patterns, the shared settings, defaults. */
static void
test_discovery(void)
{
	struct config			*cf;
	const struct file_sd_config	*sd;
	char				*path, *want;

	path = corpus("discovery.yaml");
	cf = good(path, "discovery.yaml");
	if (cf == NULL) {
		free(path);
		return;
	}
	is_int(cf->nfile_sd, 2, "discovery.yaml: two file_sd entries");
	sd = &cf->file_sd[0];
	is_int(sd->nfiles, 2, "the first has two patterns");
	xasprintf(&want, "%s/tests/config/sd/*.json", srcdir);
	is_str(sd->files[0], want, "a relative pattern is taken from the "
	    "configuration's folder");
	free(want);
	is_str(sd->files[1], "/etc/heapwatchd/targets/*.yml",
	    "an absolute pattern stays");
	is_str(sd->path, "/debug/pprof/heap", "path defaults to the heap");
	is_str(sd->scheme, "http", "scheme defaults to http");
	is_int(sd->refresh_ms, 5 * 60000, "refresh_interval defaults to 5m");
	is_int(sd->tmpl.interval_ms, 10000, "the entry takes the defaults");
	ok(sd->tmpl.name == NULL && sd->tmpl.url == NULL,
	    "the entry has no name or url");
	ok(sd->tmpl.tls.ca_file != NULL && strstr(sd->tmpl.tls.ca_file,
	    "ca.pem") != NULL, "tls on an http entry, for the targets "
	    "a file makes https");
	sd = &cf->file_sd[1];
	is_str(sd->path, "/debug/pprof/goroutine", "path set");
	is_str(sd->scheme, "https", "scheme set");
	is_int(sd->refresh_ms, 60000, "refresh_interval set");
	is_int(sd->tmpl.interval_ms, 30000, "a target setting on the entry");
	is_int(sd->tmpl.min_growth, CONFIG_GOROUTINE_GROWTH,
	    "a goroutine path counts goroutines");
	ok(sd->tmpl.nlabels == 1 && strcmp(sd->tmpl.labels[0].value,
	    "platform") == 0, "labels on the entry");
	ok(sd->tmpl.bearer_token_file != NULL &&
	    sd->tmpl.tls.insecure_skip_verify, "auth and tls on the entry");
	ok(cf->shard.count == 3 && cf->shard.index == 2, "shard 2 of 3");
	config_free(cf);
	free(path);

	path = corpus("minimal.yaml");
	cf = good(path, "minimal.yaml");
	ok(cf != NULL && cf->shard.count == 1 && cf->shard.index == 0 &&
	    cf->nfile_sd == 0, "no shard: one of one; no file_sd");
	config_free(cf);
	free(path);
}

/* limit, page_within and force_gc: their defaults, units and errors. */
static void
test_limit(void)
{
	struct config	*cf;
	char		*path;

	path = scratch("limit.yaml",
	    "defaults:\n"
	    "  page_within: 2h\n"
	    "  force_gc: never\n"
	    "targets:\n"
	    "  - name: api\n"
	    "    url: http://127.0.0.1:6060/debug/pprof/heap\n"
	    "    limit: 1GiB\n"
	    "    force_gc: always\n"
	    "  - name: workers\n"
	    "    url: http://127.0.0.1:6060/debug/pprof/goroutine\n"
	    "    limit: 10000\n"
	    "    page_within: 30m\n"
	    "  - name: plain\n"
	    "    url: http://127.0.0.1:6061/debug/pprof/heap\n");
	cf = good(path, "limit.yaml");
	if (cf != NULL) {
		is_int(find(cf, "api")->limit, 1ULL << 30, "limit: 1GiB");
		is_int(find(cf, "api")->page_within_ms, 2 * 3600000,
		    "page_within from defaults");
		is_int(find(cf, "api")->force_gc, FORCE_GC_ALWAYS,
		    "force_gc: always");
		is_int(find(cf, "workers")->limit, 10000,
		    "a goroutine limit counts goroutines");
		is_int(find(cf, "workers")->page_within_ms, 30 * 60000,
		    "page_within of the target");
		is_int(find(cf, "plain")->limit, 0, "no limit by default");
		is_int(find(cf, "plain")->force_gc, FORCE_GC_NEVER,
		    "force_gc from defaults");
	}
	config_free(cf);
	free(path);

	path = scratch("limit_default.yaml",
	    "targets:\n"
	    "  - name: api\n"
	    "    url: http://127.0.0.1:6060/debug/pprof/heap\n");
	cf = good(path, "limit_default.yaml");
	if (cf != NULL) {
		is_int(cf->targets[0].page_within_ms, CONFIG_PAGE_WITHIN,
		    "page_within: 6h by default");
		is_int(cf->targets[0].force_gc, FORCE_GC_ON_SUSPICION,
		    "force_gc: on_suspicion by default");
	}
	config_free(cf);
	free(path);

	path = scratch("limit_bad.yaml",
	    "defaults:\n"
	    "  limit: 1GiB\n"
	    "targets:\n"
	    "  - name: api\n"
	    "    url: http://127.0.0.1:6060/debug/pprof/heap\n"
	    "    limit: 0\n"
	    "    force_gc: sometimes\n"
	    "    page_within: 0s\n"
	    "  - name: workers\n"
	    "    url: http://127.0.0.1:6060/debug/pprof/goroutine\n"
	    "    limit: 1GiB\n"
	    "    force_gc: always\n");
	bad_path(path, "limit_bad.yaml", (const char *const []){
	    "2:3: unknown key \"limit\" here (a key of a target)",
	    "6:12: limit \"0\": must be more than 0",
	    "7:15: force_gc \"sometimes\": expected never, on_suspicion or "
	    "always",
	    "8:18: page_within \"0s\": must be more than 0",
	    "11:12: limit \"1GiB\": a goroutine target counts goroutines, "
	    "not bytes",
	    "12:5: force_gc: a GC before the profile is for heap targets "
	    "only", NULL });
	free(path);
}

int
main(void)
{
	if ((srcdir = getenv("top_srcdir")) == NULL)
		srcdir = ".";
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}

	test_tap();
	test_target_copy();
	test_minimal();
	test_good();
	test_small_valid();
	test_follow();
	test_reload();
	test_listen();
	test_files();
	test_web();
	test_gctrace();
	test_gctrace_journal();
	test_discovery();
	test_limit();

	bad("bad_discovery.yaml",
	    "3:15: files \"sd/targets.txt\": must end in .json, .yml or "
	    ".yaml",
	    "4:13: path \"debug/pprof/heap\": expected an absolute path, "
	    "without spaces",
	    "5:15: scheme \"ftp\": expected http or https",
	    "6:7: file_sd: name is not set here: the target files give it",
	    "7:7: file_sd: url is not set here: the target files give it",
	    "8:25: refresh_interval \"10ms\": too short (at least 1s)",
	    "9:7: file_sd: missing key \"files\"",
	    "11:16: label \"target\": reserved (heapwatch sets it)",
	    "12:7: file_sd: gctrace is not set here: it belongs to one "
	    "process",
	    "13:3: unknown key \"static_sd\"",
	    "14:26: index \"2\": must be less than count (2)");
	bad("bad_shard.yaml", "1:8: shard: missing key \"count\"");

	bad("unknown_key.yaml", "4:5: unknown key \"interva\"");
	bad("bad_duration.yaml",
	    "2:13: interval \"5x\": invalid duration unit (use ms, s, m, h, "
	    "d, w or y)",
	    "3:11: window \"1m30\": invalid duration unit (use ms, s, m, h, "
	    "d, w or y)",
	    "7:10: for \"1s1h\": duration units out of order",
	    "8:14: timeout \"0\": must be more than 0");
	bad("bad_size.yaml",
	    "2:15: min_growth \"16Mi\": invalid size unit (use B, KiB, MiB, "
	    "GiB, TiB, kB, MB, GB, TB)",
	    "6:15: max_size \"1.5MiB\": no fractions: 1536MiB, not 1.5GiB",
	    "9:15: max_size \"100\": too small (at least 1 KiB)",
	    "10:17: min_growth \"0\": must be more than 0");
	bad("dup_name.yaml",
	    "4:11: name \"api\": already used by the target on line 2");
	bad("unsafe_name.yaml",
	    "3:12: name \"../x\": only letters, digits, \"_\", \".\" and "
	    "\"-\" are allowed",
	    "4:12: name \"a/b\": only letters, digits, \"_\", \".\" and "
	    "\"-\" are allowed",
	    "5:12: name: must not be empty",
	    "6:12: name \"..\": not allowed",
	    "7:12: name \"caf\xc3\xa9\": only letters, digits, \"_\", \".\" "
	    "and \"-\" are allowed",
	    "8:12: name: contains a NUL character",
	    "9:6: name: missing value",
	    "10:11: name: longer than 128 characters",
	    "12:12: name \".webhooks\": must not start with \".\"");
	bad("bad_gctrace.yaml",
	    "3:14: gctrace: expected one of file, journal_unit or command",
	    "5:28: gctrace: file and command are mutually exclusive",
	    "8:5: gctrace: a goroutine leak profile is judged without it",
	    "10:24: command: expected a program and its arguments, not an "
	    "empty list",
	    "12:25: command: must not be empty",
	    "14:24: command: expected a list, not a scalar",
	    "16:31: command: expected a string, not a list",
	    "17:5: target \"neither\": missing key \"url\" (or \"gctrace\", "
	    "to follow its GC lines alone)",
	    "20:14: gctrace: expected one of file, journal_unit or command",
	    "20:15: unknown key \"flie\"");
	bad("missing_url.yaml",
	    "2:5: target \"api\": missing key \"url\" (or \"gctrace\", to "
	    "follow its GC lines alone)",
	    "4:5: target: missing key \"name\"");
	bad("timeout.yaml",
	    "6:14: target \"api\": timeout (1m) must be shorter than "
	    "interval (1m)",
	    "9:15: target \"fast\": timeout (10s) must be shorter than "
	    "interval (5s); the timeout is set at FILE:2:12",
	    "12:15: target \"slow\": window (30m) must be at least twice the "
	    "interval (20m)",
	    "15:10: target \"patient\": for (1h) must not be longer than "
	    "window (30m)",
	    "18:15: interval \"50ms\": too short (at least 100ms)");
	bad("defaults_timing.yaml",
	    "4:12: timeout (10s) must be shorter than interval (10s); the "
	    "interval is set at FILE:3:13");
	bad("wrong_type.yaml",
	    "1:9: listen: expected a string, not a list",
	    "2:10: storage: expected a map, not a scalar",
	    "4:13: interval: expected a duration, not a map",
	    "8:13: labels: expected a map, not a list",
	    "9:20: max_redirects \"five\": invalid number",
	    "10:33: insecure_skip_verify \"yes\": expected true or false",
	    "11:5: targets: expected a map for each target, not a scalar",
	    "13:13: webhooks: expected a list, not a map");
	bad("syntax.yaml",
	    "4:4: syntax error: did not find expected '-' indicator (while "
	    "parsing a block collection started at line 2, column 3)");
	bad("two_errors.yaml",
	    "3:3: unknown key \"intervall\"",
	    "6:10: url \"htp://127.0.0.1:6060/debug/pprof/heap\": expected an "
	    "http:// or https:// URL");
	bad("dup_key.yaml",
	    "6:5: duplicate key \"interval\" (first on line 5)",
	    "7:23: duplicate key \"team\" (first on line 7)",
	    "8:1: duplicate key \"listen\" (first on line 1)");
	bad("labels.yaml",
	    "6:7: label \"target\": reserved (heapwatch sets it)",
	    "7:7: label \"alertname\": reserved (heapwatch sets it)",
	    "8:7: label \"__name__\": names starting with \"__\" are reserved",
	    "9:7: label \"1st\": not a valid label name "
	    "([a-zA-Z_][a-zA-Z0-9_]*)",
	    "10:7: label \"team-name\": not a valid label name "
	    "([a-zA-Z_][a-zA-Z0-9_]*)",
	    "11:12: env: expected a string, not a map",
	    "12:7: label \"result\": reserved (heapwatch sets it)",
	    "13:7: label \"severity\": reserved (heapwatch sets it)");
	bad("headers.yaml",
	    "6:7: header \"Host\": set by heapwatch",
	    "7:7: header \"Authorization\": conflicts with bearer_token",
	    "9:7: header \"x-scope\": already set as \"X-Scope\" (header "
	    "names ignore case)",
	    "10:7: header \"X Bad\": not a valid header name",
	    "11:19: header \"X-Injected\": the value contains a control "
	    "character",
	    "15:43: header \"Content-Length\": set by heapwatch");
	bad("auth.yaml",
	    "5:5: bearer_token and bearer_token_file are mutually exclusive",
	    "9:5: basic_auth and bearer_token are mutually exclusive",
	    "12:17: basic_auth: missing key \"username\"",
	    "15:44: basic_auth: password and password_file are mutually "
	    "exclusive",
	    "18:11: tls: cert_file needs key_file",
	    "21:5: tls: the url is not https://");
	bad("url.yaml",
	    "2:20: url \"ftp://127.0.0.1/debug/pprof/heap\": expected an "
	    "http:// or https:// URL",
	    "3:20: url \"http://user:pw@127.0.0.1:6060/debug/pprof/heap\": "
	    "credentials (user:password@) do not belong in the URL",
	    "4:20: url \"http://127.0.0.1:99999/debug/pprof/heap\": bad port",
	    "5:20: url \"http:///debug/pprof/heap\": missing host",
	    "6:20: url \"http://127.0.0.1:6060/debug pprof/heap\": contains "
	    "spaces or control characters",
	    "7:20: url \"http://[::1/debug/pprof/heap\": bad IPv6 address",
	    "8:20: url: must not be empty");
	bad("webhook.yaml",
	    "4:15: format \"xml\": expected json or alertmanager",
	    "5:7: webhook: missing key \"url\"",
	    "6:16: timeout \"0\": must be more than 0",
	    "7:24: repeat_interval \"500ms\": too short (at least 1s)",
	    "8:7: webhooks: expected a map for each webhook, not a scalar",
	    "9:12: url \"http://127.0.0.1:9093/api/v2/alerts\": already that "
	    "of another webhook");
	bad("retention.yaml",
	    "4:26: a window of 30m at an interval of 1m needs 31 snapshots, "
	    "retention keeps 10",
	    "4:35: window (30m) is longer than retention age (10m)",
	    "14:13: target \"slow\": a window of 20m at an interval of 1m "
	    "needs 21 snapshots, retention keeps 10; retention.snapshots is "
	    "set at FILE:4:26",
	    "14:13: target \"slow\": window (20m) is longer than retention "
	    "age (10m); retention.age is set at FILE:4:35");
	bad("retention_limits.yaml",
	    "2:26: snapshots \"1\": too small (0 for no limit, or at least 2)",
	    "2:35: size \"1KiB\": too small (0 for no limit, or at least "
	    "1 MiB)");
	bad("retention_downsample.yaml",
	    "3:5: downsample: age 1h is shorter than the longest window (2h)",
	    "3:31: downsample: period \"0s\" for age 2h: must be more than 0",
	    "3:35: downsample: age \"soon\": invalid duration",
	    "3:49: downsample: the period for age 3h is not a duration");
	bad("retention_zero.yaml",
	    "2:3: retention: snapshots, age and size are all 0; keep at least "
	    "one limit");
	bad("goroutine.yaml",
	    "4:17: min_growth \"16MiB\": a goroutine target counts goroutines, "
	    "not bytes",
	    "7:17: min_growth \"-5\": must be more than 0");
	bad("multidoc.yaml", "3:1: only one YAML document is allowed");
	bad("toplevel.yaml", "1:1: expected a map at the top level, not a list");

	rmdir(tmpdir);
	return tap_done();
}
