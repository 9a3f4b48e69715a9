/* Unit tests for src/notifier.c: the bodies of both formats, and the queues. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>

#include "conf.h"
#include "tap.h"
#include "notifier.h"

#define EXT		"http://127.0.0.1:9470/"	/* slash dropped */
#define SINCE		1700000000123LL		/* 2023-11-14T22:13:20.123Z */
#define ENDS		1700003600000LL		/* 2023-11-14T23:13:20.000Z */
#define NOW		1700000500000LL		/* 2023-11-14T22:21:40.000Z */

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
	s = notifier_render(n, &wc, EXT, NOW);
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
	static const char *const am_keys[] = { "alertname", "target", "env",
	    "team", "zone" };

	if (am) {
		ok(keys_are(l, am_keys, 5), "labels: alertname, target and "
		    "the target's, merged");
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
	    "base_snapshot", "current_snapshot" };
	static const char *const fn_keys[] = { "function", "growth", "file",
	    "line", "stack" };
	struct alert_note	 n = note(status, NOTE_HEAP);
	json_t			*j, *t, *f, *s;
	const char		*what = status == NOTE_FIRING ? "firing" :
				    "resolved";

	printf("# format json, %s\n", what);
	if ((j = body(&n, WEBHOOK_JSON)) == NULL)
		return;
	ok(keys_are(j, keys, 10), "exactly SPEC's keys, in its order");
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
	is_str(str(a, "generatorURL"), "http://127.0.0.1:9470/api/v1/"
	    "targets/api", "generatorURL");
	json_decref(j);
}

static void
stats(struct notifier *nf, size_t i, struct notifier_stats *st)
{
	memset(st, 0xff, sizeof *st);
	if (i < notifier_receivers(nf))
		notifier_stats(nf, i, st);
}

/*
 * The queues, without running the loop: the first note of each receiver
 * is handed to curl at once and stays in flight, the rest wait.
 */
static void
test_queue(void)
{
	struct webhook_config	 wc[3];
	struct notifier_stats	 st;
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
	ok(1, "a note to no receiver is fine");
	notifier_reconfigure(nf, wc, 1);
	notifier_send(nf, &a);
	notifier_send(nf, &b);
	notifier_free(nf);
	notifier_free(NULL);
	ok(1, "freed with POSTs in flight and notes queued");
	event_base_free(base);
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
	curl_global_cleanup();
	return tap_done();
}
