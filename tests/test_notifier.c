/*
 * Unit tests for src/notifier.c and the files it is made of (note.c,
 * webhook.c, entry.c, receiver.c): the bodies of both formats, the
 * queues, and the spool that keeps them over a restart.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>

#include "conf.h"
#include "tap.h"
#include "notifier.h"
#include "webhook.h"

#define EXT		"http://127.0.0.1:9470/"	/* slash dropped */
#define SINCE		1700000000123LL		/* 2023-11-14T22:13:20.123Z */
#define ENDS		1700003600000LL		/* 2023-11-14T23:13:20.000Z */
#define NOW		1700000500000LL		/* 2023-11-14T22:21:40.000Z */
#define SPOOL_NAME	".webhooks"

static struct config_pair labels[] = {
	{ "env", "quote\"and\\slash" },
	{ "team", "payments" },
	{ "zone", "bad\xff" "byte" },
};

static const struct note_function top[] = {
	/* nstack says more than fit: the renderer caps it. */
	{ "main.leak", 33554432, "/src/main.go", 42,
	    { "main.leak", "main.handler", "net/http.HandlerFunc.ServeHTTP",
	    "net/http.serverHandler.ServeHTTP", "net/http.(*conn).serve" },
	    NOTE_FRAMES + 1 },
	{ "main.cache", 1536, NULL, 0, { NULL }, 0 },
};

static struct alert_note
note(enum note_status status, enum note_kind kind)
{
	struct alert_note	n;

	memset(&n, 0, sizeof n);
	n.status = status;
	n.target = "api";
	n.labels = labels;
	n.nlabels = sizeof labels / sizeof labels[0];
	n.kind = kind;
	n.since = SINCE;
	n.ends = status == NOTE_RESOLVED ? ENDS : 0;
	n.growth = 50331648;
	n.window_seconds = 1800;
	n.summary = "Heap of api grew 48.0 MiB in 30m.";
	n.top = top;
	n.ntop = sizeof top / sizeof top[0];
	n.base_snapshot = "1700000000000";
	n.current_snapshot = "1700001800000-1";
	return n;
}

/* Render, check the body is one line of JSON, and parse it back. */
static json_t *
body(const struct alert_note *n, enum webhook_format format)
{
	struct webhook_config	 wc;
	json_error_t		 err;
	json_t			*j;
	char			*s;

	memset(&wc, 0, sizeof wc);
	wc.url = "http://127.0.0.1:1/";
	wc.format = format;
	wc.timeout_ms = 1000;
	wc.repeat_interval_ms = 3600000;
	s = webhook_render(n, &wc, EXT, NOW);
	ok(s != NULL && strchr(s, '\n') == NULL, "the body is one line");
	if ((j = json_loads(s, 0, &err)) == NULL)
		printf("# %s: %s\n", err.text, s);
	ok(j != NULL, "the body is JSON");
	free(s);
	return j;
}

/* Whether an object has exactly these keys, in this order. */
static bool
keys_are(json_t *o, const char *const *want, size_t n)
{
	const char	*k;
	void		*it;
	size_t		 i = 0;

	if (!json_is_object(o))
		return false;
	for (it = json_object_iter(o); it != NULL;
	    it = json_object_iter_next(o, it), i++) {
		k = json_object_iter_key(it);
		if (i >= n || strcmp(k, want[i]) != 0) {
			printf("# key %zu: got %s, want %s\n", i, k,
			    i < n ? want[i] : "(none)");
			return false;
		}
	}
	return i == n;
}

static const char *
str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static long long
num(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

static void
check_labels(json_t *l, bool am, const char *alertname)
{
	static const char *const target_keys[] = { "env", "team", "zone" };
	static const char *const am_keys[] = { "alertname", "target",
	    "severity", "env", "team", "zone" };

	if (am) {
		ok(keys_are(l, am_keys, 6), "labels: alertname, target, "
		    "severity and the target's, merged");
		is_str(str(l, "severity"), "warning", "severity: warning "
		    "without a limit");
		is_str(str(l, "alertname"), alertname, "alertname");
		is_str(str(l, "target"), "api", "target label");
	} else
		ok(keys_are(l, target_keys, 3), "labels: the target's");
	is_str(str(l, "env"), "quote\"and\\slash", "a label with a quote "
	    "and a backslash comes back as it was");
	is_str(str(l, "team"), "payments", "label team");
	is_str(str(l, "zone"), "bad\xef\xbf\xbd" "byte",
	    "an invalid UTF-8 byte becomes U+FFFD");
}

static void
test_json(enum note_status status)
{
	static const char *const keys[] = { "status", "target", "labels",
	    "kind", "since", "growth", "window_seconds", "top",
	    "base_snapshot", "current_snapshot", "severity" };
	static const char *const fn_keys[] = { "function", "growth", "file",
	    "line", "stack" };
	struct alert_note	 n = note(status, NOTE_HEAP);
	json_t			*j, *t, *f, *s;
	const char		*what = status == NOTE_FIRING ? "firing" :
				    "resolved";

	printf("# format json, %s\n", what);
	if ((j = body(&n, WEBHOOK_JSON)) == NULL)
		return;
	ok(keys_are(j, keys, 11), "exactly SPEC's keys, in its order");
	is_str(str(j, "severity"), "warning", "severity: warning without a "
	    "limit");
	json_decref(j);
	/* A limit: its time, or null while it does not grow. */
	n.severity = "critical";
	n.limited = true;
	n.time_to_limit = 12000;
	if ((j = body(&n, WEBHOOK_JSON)) == NULL)
		return;
	ok(json_object_size(j) == 12 && strcmp(str(j, "severity"),
	    "critical") == 0 && num(j, "time_to_limit_seconds") == 12000,
	    "a limit: severity critical, time_to_limit_seconds 12000");
	json_decref(j);
	n.evidence = "1700000000000.pb.gz";
	if ((j = body(&n, WEBHOOK_JSON)) == NULL)
		return;
	is_str(str(j, "evidence"), "http://127.0.0.1:9470/api/v1/targets/api/"
	    "evidence/1700000000000.pb.gz", "evidence: its URL");
	json_decref(j);
	n.evidence = NULL;
	n.time_to_limit = -1;
	if ((j = body(&n, WEBHOOK_JSON)) == NULL)
		return;
	ok(json_is_null(json_object_get(j, "time_to_limit_seconds")),
	    "a limit not approached: time_to_limit_seconds null");
	json_decref(j);
	n.severity = NULL;
	n.limited = false;
	/* The signals that agree, when said, come last. */
	n.signals = "total, live heap";
	if ((j = body(&n, WEBHOOK_JSON)) == NULL)
		return;
	s = json_object_get(j, "signals");
	ok(json_object_size(j) == 12 && json_is_array(s) &&
	    json_array_size(s) == 2 && strcmp(json_string_value(
	    json_array_get(s, 0)), "total") == 0 && strcmp(json_string_value(
	    json_array_get(s, 1)), "live heap") == 0,
	    "signals: a list of what agrees, after SPEC's keys");
	is_str(str(j, "status"), what, "status");
	is_str(str(j, "target"), "api", "target");
	check_labels(json_object_get(j, "labels"), false, NULL);
	is_str(str(j, "kind"), "heap", "kind");
	is_str(str(j, "since"), status == NOTE_FIRING ?
	    "2023-11-14T22:13:20.123Z" : "2023-11-14T23:13:20.000Z",
	    "since: RFC 3339 UTC, when the status began");
	is_int(num(j, "growth"), 50331648, "growth");
	is_int(num(j, "window_seconds"), 1800, "window_seconds");
	t = json_object_get(j, "top");
	ok(json_is_array(t) && json_array_size(t) == 2, "two top functions");
	f = json_array_get(t, 0);
	ok(keys_are(f, fn_keys, 5), "a function's keys");
	is_str(str(f, "function"), "main.leak", "function");
	is_int(num(f, "growth"), 33554432, "function growth");
	is_str(str(f, "file"), "/src/main.go", "file");
	is_int(num(f, "line"), 42, "line");
	s = json_object_get(f, "stack");
	ok(json_is_array(s) && json_array_size(s) == NOTE_FRAMES,
	    "the stack has at most %d frames", NOTE_FRAMES);
	is_str(json_string_value(json_array_get(s, 0)), "main.leak",
	    "innermost frame first");
	is_str(json_string_value(json_array_get(s, 4)),
	    "net/http.(*conn).serve", "fifth frame");
	f = json_array_get(t, 1);
	ok(keys_are(f, fn_keys, 5), "an unknown site keeps its keys");
	ok(json_is_null(json_object_get(f, "file")) &&
	    json_is_null(json_object_get(f, "line")),
	    "an unknown file and line are null");
	ok(json_array_size(json_object_get(f, "stack")) == 0, "empty stack");
	is_str(str(j, "base_snapshot"),
	    "http://127.0.0.1:9470/api/v1/targets/api/snapshots/1700000000000",
	    "base_snapshot URL");
	is_str(str(j, "current_snapshot"), "http://127.0.0.1:9470/api/v1/"
	    "targets/api/snapshots/1700001800000-1", "current_snapshot URL");
	json_decref(j);
}

static void
test_alertmanager(enum note_status status, enum note_kind kind)
{
	static const char *const keys[] = { "labels", "annotations",
	    "startsAt", "endsAt", "generatorURL" };
	static const char *const ann_keys[] = { "summary", "description" };
	struct alert_note	 n = note(status, kind);
	json_t			*j, *a, *ann;
	const char		*d, *alertname;
	const char		*what = status == NOTE_FIRING ? "firing" :
				    "resolved";

	alertname = kind == NOTE_HEAP ? "HeapGrowth" : "GoroutineGrowth";
	printf("# format alertmanager, %s, %s\n", what, alertname);
	if (kind == NOTE_GOROUTINE) {
		n.growth = 150;
		n.summary = NULL;
	}
	if ((j = body(&n, WEBHOOK_ALERTMANAGER)) == NULL)
		return;
	ok(json_is_array(j) && json_array_size(j) == 1,
	    "a list of one alert");
	a = json_array_get(j, 0);
	ok(keys_are(a, keys, 5), "Alertmanager's postable alert keys");
	check_labels(json_object_get(a, "labels"), true, alertname);
	ann = json_object_get(a, "annotations");
	ok(keys_are(ann, ann_keys, 2), "annotations summary, description");
	if (kind == NOTE_HEAP)
		is_str(str(ann, "summary"), "Heap of api grew 48.0 MiB in 30m.",
		    "summary: the note's sentence");
	else
		is_str(str(ann, "summary"),
		    "Goroutines of api: +150 goroutines over 30m.",
		    "a summary is made up when the note has none");
	d = str(ann, "description");
	if (d != NULL)
		printf("# description: %s\n", d);
	if (kind == NOTE_HEAP)
		ok(d != NULL && strstr(d, "\n- main.leak +32.0 MiB at "
		    "/src/main.go:42\n- main.cache +1.5 KiB\n") != NULL,
		    "description lists the top functions, growth, file:line");
	else
		ok(d != NULL && strstr(d, "\n- main.leak +33554432 goroutines"
		    " at /src/main.go:42") != NULL,
		    "goroutine growth is a count");
	ok(d != NULL && strstr(d, "\nDiff: http://127.0.0.1:9470/api/v1/"
	    "targets/api/diff?base=1700000000000&current=1700001800000-1")
	    != NULL, "description links the diff");
	is_str(str(a, "startsAt"), "2023-11-14T22:13:20.123Z",
	    "startsAt: when the alert began");
	if (status == NOTE_FIRING)
		is_str(str(a, "endsAt"), "2023-11-15T02:21:40.000Z",
		    "endsAt of a firing alert: now + 4 x repeat_interval");
	else
		is_str(str(a, "endsAt"), "2023-11-14T23:13:20.000Z",
		    "endsAt of a resolved alert: when it resolved");
	is_str(str(a, "generatorURL"), "http://127.0.0.1:9470/targets/api",
	    "generatorURL");
	json_decref(j);

	/* A limit 3h20m away: severity label, annotation, description. */
	n.severity = "critical";
	n.limited = true;
	n.time_to_limit = 12000;
	if ((j = body(&n, WEBHOOK_ALERTMANAGER)) == NULL)
		return;
	a = json_array_get(j, 0);
	ann = json_object_get(a, "annotations");
	is_str(str(json_object_get(a, "labels"), "severity"), "critical",
	    "a limit near: severity critical");
	is_str(str(ann, "time_to_limit"), "3h20m", "time_to_limit "
	    "annotation");
	d = str(ann, "description");
	ok(d != NULL && strstr(d, "Reaches its limit in 3h20m") != NULL,
	    "the description says when the limit is reached");
	is_int(json_array_size(j), 1, "one alert in the body");
	json_decref(j);
	/*
	 * Turned critical from warning: the warning alert ends now, in the
	 * same body; a resolve that replaced such a note before it was sent
	 * ends both at its own end.
	 */
	n.ended_severity = "warning";
	if ((j = body(&n, WEBHOOK_ALERTMANAGER)) == NULL)
		return;
	a = json_array_get(j, 1);
	if (status == NOTE_FIRING) {
		ok(json_array_size(j) == 2 && strcmp(str(json_object_get(
		    json_array_get(j, 0), "labels"), "severity"),
		    "critical") == 0, "turned critical: the critical alert "
		    "first, and a second");
		is_str(a != NULL ? str(json_object_get(a, "labels"),
		    "severity") : "none", "warning",
		    "the second is the warning alert");
		is_str(a != NULL ? str(a, "endsAt") : "none",
		    "2023-11-14T22:21:40.000Z", "which ends now");
	} else {
		ok(json_array_size(j) == 2 && strcmp(str(json_object_get(
		    json_array_get(j, 0), "labels"), "severity"),
		    "critical") == 0, "resolved, having turned critical: "
		    "the critical alert first, and a second");
		is_str(a != NULL ? str(json_object_get(a, "labels"),
		    "severity") : "none", "warning",
		    "the second is the warning alert");
		is_str(a != NULL ? str(a, "endsAt") : "none",
		    str(json_array_get(j, 0), "endsAt"),
		    "which ends when the alert does");
	}
	json_decref(j);
	n.ended_severity = NULL;
	n.evidence = "1700000000000.txt";
	if ((j = body(&n, WEBHOOK_ALERTMANAGER)) == NULL)
		return;
	is_str(str(json_object_get(json_array_get(j, 0), "annotations"),
	    "evidence"), "http://127.0.0.1:9470/api/v1/targets/api/evidence/"
	    "1700000000000.txt", "evidence annotation: its URL");
	json_decref(j);
}

static void
stats(struct notifier *nf, size_t i, struct receiver_stats *st)
{
	memset(st, 0xff, sizeof *st);
	if (i < notifier_receivers(nf))
		notifier_stats(nf, i, st);
}

/*
 * A change of severity waiting in an Alertmanager queue, replaced by a
 * repeat, then by a resolve: each replacement still ends the old
 * severity's alert, which was sent; the JSON queue sharing the note keeps
 * it as it was sent.
 */
static void
test_queue_severity(void)
{
	struct webhook_config	 wc[2];
	struct event_base	*base;
	struct notifier		*nf;
	struct alert_note	 a, b;
	const struct alert_note	*q;
	size_t			 i;

	memset(wc, 0, sizeof wc);
	wc[0].url = "http://127.0.0.1:1/am";
	wc[0].format = WEBHOOK_ALERTMANAGER;
	wc[1].url = "http://127.0.0.1:1/json";
	wc[1].format = WEBHOOK_JSON;
	for (i = 0; i < 2; i++) {
		wc[i].timeout_ms = 1000;
		wc[i].repeat_interval_ms = 60000;
	}
	if ((base = event_base_new()) == NULL) {
		ok(0, "event_base_new");
		return;
	}
	nf = notifier_new(base, wc, 2, EXT);
	a = note(NOTE_FIRING, NOTE_HEAP);
	notifier_send(nf, &a);		/* in flight: warning, sent */
	b = a;
	b.severity = "critical";
	b.ended_severity = "warning";
	notifier_send(nf, &b);
	b.ended_severity = NULL;
	notifier_send(nf, &b);
	q = notifier_queued(nf, 0, 1);
	ok(q != NULL && q->ended_severity != NULL &&
	    strcmp(q->ended_severity, "warning") == 0,
	    "alertmanager: a repeat replacing a change of severity ends "
	    "the old one (%s)", q != NULL && q->ended_severity != NULL ?
	    q->ended_severity : "none");
	q = notifier_queued(nf, 1, 1);
	ok(q != NULL && q->ended_severity == NULL,
	    "json: the repeat queued as it was sent");
	b.status = NOTE_RESOLVED;
	b.ends = ENDS;
	notifier_send(nf, &b);
	q = notifier_queued(nf, 0, 1);
	ok(q != NULL && q->status == NOTE_RESOLVED &&
	    q->ended_severity != NULL &&
	    strcmp(q->ended_severity, "warning") == 0,
	    "alertmanager: so does a resolve replacing it");
	/* Firing again as warning: what was sent, nothing to end. */
	b.status = NOTE_FIRING;
	b.ends = 0;
	b.severity = "warning";
	notifier_send(nf, &b);
	q = notifier_queued(nf, 0, 1);
	ok(q != NULL && q->status == NOTE_FIRING &&
	    q->ended_severity == NULL,
	    "alertmanager: a warning replacing them ends nothing");
	notifier_free(nf);
	event_base_free(base);
}

/*
 * The queues, without running the loop: the first note of each receiver
 * is handed to curl at once and stays in flight, the rest wait.
 */
static void
test_queue(void)
{
	struct webhook_config	 wc[3];
	struct receiver_stats	 st;
	struct event_base	*base;
	struct notifier		*nf;
	struct alert_note	 a, b;
	char			 key[32];
	int			 i;

	printf("# queues\n");
	memset(wc, 0, sizeof wc);
	wc[0].url = "http://127.0.0.1:1/json";
	wc[0].format = WEBHOOK_JSON;
	wc[1].url = "http://127.0.0.1:1/am";
	wc[1].format = WEBHOOK_ALERTMANAGER;
	for (i = 0; i < 3; i++) {
		wc[i].timeout_ms = 1000;
		wc[i].repeat_interval_ms = 60000;
	}
	wc[2] = wc[0];
	wc[2].url = "http://127.0.0.1:1/new";

	if ((base = event_base_new()) == NULL) {
		ok(0, "event_base_new");
		return;
	}
	nf = notifier_new(base, wc, 2, EXT);
	is_int(notifier_receivers(nf), 2, "two receivers");
	a = note(NOTE_FIRING, NOTE_HEAP);
	b = a;
	b.target = "workers";
	b.labels = NULL;
	b.nlabels = 0;

	notifier_send(nf, &a);		/* in flight everywhere */
	notifier_send(nf, &b);
	notifier_send(nf, &b);		/* a repeat */
	stats(nf, 0, &st);
	is_int(st.queued, 2, "json: a repeat of a queued note replaces it");
	is_int(st.replaced, 1, "json: one replaced");
	b.status = NOTE_RESOLVED;
	notifier_send(nf, &b);
	b.status = NOTE_FIRING;
	notifier_send(nf, &b);
	stats(nf, 0, &st);
	is_int(st.queued, 4, "json: state changes queue behind each other");
	notifier_send(nf, &a);
	stats(nf, 0, &st);
	is_int(st.queued, 5, "json: the note in flight is never replaced");
	is_int(st.replaced, 1, "json: still one replaced");
	is_str(st.url, "http://127.0.0.1:1/json", "stats name the url");
	stats(nf, 1, &st);
	is_int(st.queued, 3, "alertmanager: one queued note per alert, "
	    "behind the one in flight");
	is_int(st.replaced, 3, "alertmanager: any state replaces");
	is_int(st.sent + st.failed + st.dropped, 0, "nothing sent, failed "
	    "or dropped yet");

	/* Keep the json receiver, drop alertmanager's, add one. */
	wc[1] = wc[2];
	notifier_reconfigure(nf, wc, 2);
	is_int(notifier_receivers(nf), 2, "two receivers after reconfigure");
	stats(nf, 0, &st);
	is_int(st.queued, 5, "a receiver with the same url keeps its queue");
	is_int(st.replaced, 1, "and its counters");
	stats(nf, 1, &st);
	ok(st.queued == 0 && st.replaced == 0 &&
	    strcmp(st.url, "http://127.0.0.1:1/new") == 0,
	    "a new url starts empty");

	/* Overflow: the oldest waiting notes go, the one in flight stays. */
	for (i = 0; i < NOTIFIER_QUEUE_MAX + 10; i++) {
		snprintf(key, sizeof key, "t%d", i);
		b.key = key;
		notifier_send(nf, &b);
	}
	stats(nf, 0, &st);
	is_int(st.queued, NOTIFIER_QUEUE_MAX, "the queue holds at most "
	    "NOTIFIER_QUEUE_MAX notes");
	is_int(st.dropped, 15, "the 15 oldest waiting notes were dropped");
	stats(nf, 1, &st);
	is_int(st.queued, NOTIFIER_QUEUE_MAX, "so does the new receiver's");
	is_int(st.dropped, 10, "which dropped 10");

	notifier_reconfigure(nf, NULL, 0);
	is_int(notifier_receivers(nf), 0, "no receivers");
	notifier_send(nf, &a);
	is_int(notifier_receivers(nf), 0, "a note to no receiver adds none");
	notifier_reconfigure(nf, wc, 1);
	stats(nf, 0, &st);
	ok(st.queued == 0 && st.sent == 0 && st.dropped == 0,
	    "nor is it kept for a receiver configured later");
	notifier_send(nf, &a);
	notifier_send(nf, &b);
	stats(nf, 0, &st);
	is_int(st.queued, 2, "one note in flight, one waiting");
	/* The sanitizer builds check that this frees all of them. */
	notifier_free(nf);
	notifier_free(NULL);
	event_base_free(base);
}

static char	spool_root[256];

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* The entries of a folder whose names end with suffix, as "a,b,c". */
static const char *
names(const char *dir, const char *suffix)
{
	static char	 list[4096];
	struct dirent	**v;
	size_t		 len, slen = strlen(suffix);
	int		 n, i;

	list[0] = '\0';
	if ((n = scandir(dir, &v, NULL, alphasort)) == -1)
		return "(none)";
	for (i = 0; i < n; i++) {
		len = strlen(v[i]->d_name);
		if (strcmp(v[i]->d_name, ".") != 0 &&
		    strcmp(v[i]->d_name, "..") != 0 && len > slen &&
		    strcmp(v[i]->d_name + len - slen, suffix) == 0) {
			if (list[0] != '\0')
				strncat(list, ",", sizeof list -
				    strlen(list) - 1);
			/* Without the leading zeros, for short expectations. */
			strncat(list, v[i]->d_name + strspn(v[i]->d_name, "0"),
			    sizeof list - strlen(list) - 1);
		}
		free(v[i]);
	}
	free(v);
	return list;
}

static char *
spool_file(char *buf, size_t len, const char *sub, unsigned seq)
{
	snprintf(buf, len, "%s/" SPOOL_NAME "%s/%020u.json", spool_root, sub,
	    seq);
	return buf;
}

/* Replace a file's bytes. */
static void
put_file(const char *path, const void *data, size_t len)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL) {
		printf("# %s: %s\n", path, strerror(errno));
		return;
	}
	fwrite(data, 1, len, f);
	fclose(f);
}

/* A file's bytes, NUL-terminated; free() them. */
static char *
get_file(const char *path, size_t *len)
{
	FILE	*f;
	char	*buf;
	long	 n;

	*len = 0;
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	*len = fread(buf, 1, (size_t)n, f);
	fclose(f);
	return buf;
}

/* Whether two notes render the same bodies in both formats. */
static bool
same_bodies(const struct alert_note *got, const struct alert_note *want)
{
	struct webhook_config	 wc;
	char			*g, *w;
	bool			 same = true;
	int			 f;

	if (got == NULL || want == NULL)
		return false;
	memset(&wc, 0, sizeof wc);
	wc.url = "http://127.0.0.1:1/";
	wc.repeat_interval_ms = 3600000;
	for (f = WEBHOOK_JSON; f <= WEBHOOK_ALERTMANAGER; f++) {
		wc.format = f;
		g = webhook_render(got, &wc, EXT, NOW);
		w = webhook_render(want, &wc, EXT, NOW);
		if (strcmp(g, w) != 0) {
			printf("# got  %s\n# want %s\n", g, w);
			same = false;
		}
		free(g);
		free(w);
	}
	return same;
}

/* A notifier on the spool of spool_root, as heapwatchd starts one. */
static struct notifier *
restart(struct event_base *base, const struct webhook_config *wc, size_t n)
{
	struct notifier	*nf;

	nf = notifier_new(base, wc, n, EXT);
	notifier_spool(nf, spool_root, SPOOL_NAME);
	return nf;
}

/*
 * The spool: what a notifier has queued is found again, in order, by the
 * next one; replaced notes are rewritten in place; delivered or dropped
 * ones, and those of receivers gone, leave it; a bad entry is set aside.
 */
static void
test_spool(void)
{
	struct webhook_config	 wc[2];
	struct receiver_stats	 st;
	struct event_base	*base;
	struct notifier		*nf;
	struct alert_note	 a, b, b2, c, d;
	const char		*t;
	char			 path[512], path2[512], *text;
	size_t			 len;
	int			 i;

	printf("# spool\n");
	if ((t = getenv("TMPDIR")) == NULL || *t == '\0')
		t = "/tmp";
	snprintf(spool_root, sizeof spool_root, "%s/test_notifier.XXXXXX", t);
	if (mkdtemp(spool_root) == NULL || (base = event_base_new()) ==
	    NULL) {
		ok(0, "a scratch folder and an event base");
		return;
	}
	memset(wc, 0, sizeof wc);
	wc[0].url = "http://127.0.0.1:1/json";
	wc[0].format = WEBHOOK_JSON;
	wc[1].url = "http://127.0.0.1:1/am";
	wc[1].format = WEBHOOK_ALERTMANAGER;
	for (i = 0; i < 2; i++) {
		wc[i].timeout_ms = 1000;
		wc[i].repeat_interval_ms = 60000;
	}
	a = note(NOTE_FIRING, NOTE_HEAP);
	b = a;
	b.target = "workers";
	b.kind = NOTE_GOROUTINE;
	b.labels = NULL;
	b.nlabels = 0;
	b.summary = NULL;
	b.ntop = 1;
	b.base_snapshot = b.current_snapshot = NULL;
	/* A limit near and its evidence come back too. */
	b.severity = "critical";
	b.limited = true;
	b.time_to_limit = 12000;
	b.evidence = "1700000000000.txt";
	b2 = b;
	b2.growth = 77;			/* a repeat, grown since */
	c = b2;
	c.status = NOTE_RESOLVED;
	c.ends = ENDS;
	d = a;
	d.target = "db";

	nf = restart(base, wc, 2);
	ok(strcmp(names(spool_root, ""), SPOOL_NAME) == 0 &&
	    notifier_spool_errors(nf) == 0, "the spool folder is made");
	notifier_send(nf, &a);		/* json 1, am 2: in flight */
	notifier_send(nf, &b);		/* json 3, am 4 */
	notifier_send(nf, &b2);		/* replaces both, in place */
	notifier_send(nf, &c);		/* json 5; replaces am 4 */
	snprintf(path, sizeof path, "%s/" SPOOL_NAME, spool_root);
	is_str(names(path, ".json"), "1.json,2.json,3.json,4.json,5.json",
	    "one entry per queued delivery, numbered in order");
	text = get_file(spool_file(path2, sizeof path2, "", 3), &len);
	ok(text != NULL && strstr(text, "\"growth\":77") != NULL &&
	    strstr(text, "\"receiver\":\"http://127.0.0.1:1/json\"") != NULL,
	    "a replaced entry holds the newer note");
	free(text);
	text = get_file(spool_file(path2, sizeof path2, "", 4), &len);
	ok(text != NULL && strstr(text, "\"status\":\"resolved\"") != NULL &&
	    strstr(text, "\"format\":\"alertmanager\"") != NULL,
	    "alertmanager: the entry holds the latest state");
	free(text);
	notifier_free(nf);
	is_str(names(path, ".json"), "1.json,2.json,3.json,4.json,5.json",
	    "freeing the notifier leaves the spool");

	/* The next start: every note back, in order, before new ones. */
	nf = restart(base, wc, 2);
	stats(nf, 0, &st);
	ok(st.queued == 3 && st.restored == 3, "json: 3 notes restored");
	ok(same_bodies(notifier_queued(nf, 0, 0), &a) &&
	    same_bodies(notifier_queued(nf, 0, 1), &b2) &&
	    same_bodies(notifier_queued(nf, 0, 2), &c),
	    "json: in their order, every field as sent (both bodies)");
	is_str(notifier_queued(nf, 0, 2)->key, "workers", "the key too");
	stats(nf, 1, &st);
	ok(st.queued == 2 && st.restored == 2 &&
	    same_bodies(notifier_queued(nf, 1, 0), &a) &&
	    same_bodies(notifier_queued(nf, 1, 1), &c),
	    "alertmanager: 2 notes restored, in order");
	notifier_send(nf, &d);
	is_str(names(path, ".json"),
	    "1.json,2.json,3.json,4.json,5.json,6.json,7.json",
	    "new entries are numbered after the restored ones");
	stats(nf, 0, &st);
	ok(st.queued == 4 && same_bodies(notifier_queued(nf, 0, 3), &d),
	    "and queued behind them");
	notifier_free(nf);

	/* Bad entries: truncated, not JSON, a field of the wrong type. */
	text = get_file(spool_file(path2, sizeof path2, "", 3), &len);
	put_file(path2, text, len / 2);
	free(text);
	put_file(spool_file(path2, sizeof path2, "", 4), "\x01\xff garbage",
	    10);
	text = get_file(spool_file(path2, sizeof path2, "", 7), &len);
	if (text != NULL && (t = strstr(text, "\"kind\":\"heap\"")) != NULL)
		((char *)t)[8] = 'H';	/* valid JSON, not a kind */
	put_file(path2, text, len);
	free(text);
	nf = restart(base, wc, 2);
	is_int(notifier_spool_errors(nf), 3, "three bad entries counted");
	is_str(names(path, ".json"), "1.json,2.json,5.json,6.json",
	    "and taken out of the spool");
	snprintf(path2, sizeof path2, "%s/" SPOOL_NAME "/quarantine",
	    spool_root);
	is_str(names(path2, ".json"), "3.json,4.json,7.json",
	    "into quarantine/, not deleted");
	stats(nf, 0, &st);
	ok(st.queued == 3 && same_bodies(notifier_queued(nf, 0, 1), &c),
	    "json: the good entries are restored");
	stats(nf, 1, &st);
	is_int(st.queued, 1, "alertmanager: the good entry is restored");

	/* A format changed by a reconfigure is rewritten in the entries. */
	wc[0].format = WEBHOOK_ALERTMANAGER;
	notifier_reconfigure(nf, wc, 2);
	notifier_free(nf);
	text = get_file(spool_file(path2, sizeof path2, "", 5), &len);
	ok(text != NULL && strstr(text, "\"format\":\"alertmanager\""),
	    "a reconfigure's new format is written to the entries");
	free(text);

	/* Start with the json receiver alone: the other's entries go. */
	nf = restart(base, wc, 1);
	stats(nf, 0, &st);
	is_int(st.restored, 3, "the receiver of the same url and format "
	    "gets its notes");
	is_str(names(path, ".json"), "1.json,5.json,6.json",
	    "the entries of a receiver no longer configured are removed");
	is_int(notifier_spool_errors(nf), 0, "which is not an error");

	/* Delivered from memory when the spool cannot be written. */
	for (i = 1; i <= 6; i++)
		unlink(spool_file(path2, sizeof path2, "", (unsigned)i));
	snprintf(path2, sizeof path2, "%s/" SPOOL_NAME, spool_root);
	nftw(path2, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	d.target = "cache";
	notifier_send(nf, &d);
	stats(nf, 0, &st);
	ok(st.queued == 4 && notifier_spool_errors(nf) == 1,
	    "a failed write is counted and the note still queued (%llu "
	    "queued, %llu errors)", (unsigned long long)st.queued,
	    (unsigned long long)notifier_spool_errors(nf));
	notifier_free(nf);

	/* More entries than a queue holds: the oldest are dropped. */
	nf = restart(base, wc, 1);
	notifier_send(nf, &a);
	notifier_free(nf);
	text = get_file(spool_file(path2, sizeof path2, "", 1), &len);
	for (i = 2; text != NULL && i <= NOTIFIER_QUEUE_MAX + 5; i++)
		put_file(spool_file(path2, sizeof path2, "", (unsigned)i), text,
		    len);
	free(text);
	nf = restart(base, wc, 1);
	stats(nf, 0, &st);
	ok(st.queued == NOTIFIER_QUEUE_MAX && st.dropped == 5 &&
	    st.restored == NOTIFIER_QUEUE_MAX + 5,
	    "a spool restores at most a queue's worth (%zu queued, "
	    "%llu dropped)", st.queued, (unsigned long long)st.dropped);
	ok(access(spool_file(path2, sizeof path2, "", 5), F_OK) == -1 &&
	    access(spool_file(path2, sizeof path2, "", 6), F_OK) == 0,
	    "the oldest entries are removed");
	notifier_free(nf);

	nftw(spool_root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	event_base_free(base);
}

/*
 * The backoff between attempts: each wait is the doubled one, 1 s to
 * 5 min, less at most a quarter, and that part is drawn afresh, so that
 * many heapwatchds do not retry in step.
 */
static void
test_backoff(void)
{
	uint64_t	 full, v, lo, hi;
	unsigned int	 f;
	int		 i;
	bool		 inside = true;

	for (f = 1; f <= 20; f++) {
		full = RECEIVER_BACKOFF_MIN_MS << (f < 12 ? f - 1 : 11);
		if (full > RECEIVER_BACKOFF_MAX_MS)
			full = RECEIVER_BACKOFF_MAX_MS;
		lo = UINT64_MAX;
		hi = 0;
		for (i = 0; i < 200; i++) {
			v = receiver_backoff_ms(f);
			if (v < full - full / 4 || v > full)
				inside = false;
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
		if (f == 1 || f == 4 || f == 20)
			ok(inside && lo < hi, "failure %u: waits from %llu to "
			    "%llu ms, within [%llu, %llu]", f,
			    (unsigned long long)lo, (unsigned long long)hi,
			    (unsigned long long)(full - full / 4),
			    (unsigned long long)full);
	}
	ok(inside, "every wait of 20 failures in a row is within its range");
}

int
main(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 1;
	test_json(NOTE_FIRING);
	test_json(NOTE_RESOLVED);
	test_alertmanager(NOTE_FIRING, NOTE_HEAP);
	test_alertmanager(NOTE_RESOLVED, NOTE_HEAP);
	test_alertmanager(NOTE_FIRING, NOTE_GOROUTINE);
	test_queue();
	test_queue_severity();
	test_spool();
	test_backoff();
	curl_global_cleanup();
	return tap_done();
}
