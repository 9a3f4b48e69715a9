#include "config.h"

#include <sys/queue.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>

#include "arena.h"
#include "curlev.h"
#include "log.h"
#include "render.h"
#include "notifier.h"
#include "xmalloc.h"

#define BACKOFF_MIN_MS	1000
#define BACKOFF_MAX_MS	(5 * 60000)
#define REPEATS_VALID	4	/* a firing alert's endsAt, in repeats */
#define REPLY_MAX	256	/* of a receiver's answer, kept for the log */

/* A copy of a note, shared by the queues of every receiver. */
struct note {
	unsigned int		 refs;
	struct arena		*arena;
	struct alert_note	 a;		/* pointing into arena */
};

/* A note in the queue of one receiver. */
struct delivery {
	TAILQ_ENTRY(delivery)	 entry;
	struct note		*note;
};
TAILQ_HEAD(deliveries, delivery);

/* One webhook: its settings, its queue and the POST in flight. */
struct receiver {
	struct notifier		*nf;
	struct webhook_config	 cfg;		/* a copy */

	struct deliveries	 queue;		/* oldest first */
	size_t			 nqueued;
	struct delivery		*inflight;	/* the head, while POSTed */
	CURL			*easy;		/* of the POST in flight */
	struct curl_slist	*reqheaders;	/* held by easy */
	char			*body;		/* held by easy */
	char			 errbuf[CURL_ERROR_SIZE];
	char			 reply[REPLY_MAX];
	size_t			 nreply;
	struct event		*retry;		/* the backoff's timer */
	unsigned int		 failures;	/* in a row */

	uint64_t		 sent;
	uint64_t		 failed;
	uint64_t		 dropped;
	uint64_t		 replaced;
};

struct notifier {
	struct event_base	*base;
	struct curlev		*cev;
	CURLM			*multi;		/* the curlev's */
	char			*external_url;	/* without a trailing slash */
	struct receiver		**rcv;
	size_t			 nrcv;
};

static void	receiver_post(struct receiver *);

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Append to a string built with xasprintf. */
static void __attribute__((format(printf, 2, 3)))
append(char **s, const char *fmt, ...)
{
	va_list	 ap;
	char	*more, *both;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&more, fmt, ap);
	va_end(ap);
	if (n == -1)
		fatal("vasprintf");
	if (*s == NULL) {
		*s = more;
		return;
	}
	xasprintf(&both, "%s%s", *s, more);
	free(*s);
	free(more);
	*s = both;
}

/* A JSON string, or null for NULL. */
static json_t *
json_str(const char *s)
{
	return s != NULL ? render_string(s) : json_null();
}

/* An RFC 3339 time in UTC with milliseconds, or JSON null for 0. */
static json_t *
json_time(int64_t unix_ms)
{
	char		buf[64];
	struct tm	tm;
	int64_t		sec = unix_ms / 1000, msec = unix_ms % 1000;
	time_t		t;

	if (unix_ms == 0)
		return json_null();
	if (msec < 0) {
		msec += 1000;
		sec--;
	}
	t = (time_t)sec;
	if (gmtime_r(&t, &tm) == NULL)
		return json_null();
	snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)msec);
	return json_string(buf);
}

static const char *
status_name(enum note_status s)
{
	return s == NOTE_RESOLVED ? "resolved" : "firing";
}

static const char *
kind_name(enum note_kind k)
{
	return k == NOTE_GOROUTINE ? "goroutine" : "heap";
}

/* A snapshot's URL in the daemon's API, or null without an id. */
static json_t *
snapshot_url(const char *ext, const char *target, const char *id)
{
	json_t	*j;
	char	*s;

	if (id == NULL || target == NULL)
		return json_null();
	xasprintf(&s, "%s/api/v1/targets/%s/snapshots/%s", ext, target, id);
	j = render_string(s);
	free(s);
	return j;
}

/* The body of format json, as SPEC.md has it. */
static json_t *
render_json_body(const struct alert_note *n, const char *ext)
{
	const struct note_function	*f;
	json_t				*o, *labels, *top, *fn, *stack;
	size_t				 i, j;

	o = json_object();
	json_object_set_new(o, "status", json_string(status_name(n->status)));
	json_object_set_new(o, "target", json_str(n->target));
	labels = json_object();
	for (i = 0; i < n->nlabels; i++)
		json_object_set_new(labels, n->labels[i].name,
		    json_str(n->labels[i].value));
	json_object_set_new(o, "labels", labels);
	json_object_set_new(o, "kind", json_string(kind_name(n->kind)));
	json_object_set_new(o, "since", json_time(n->status == NOTE_RESOLVED ?
	    n->ends : n->since));
	json_object_set_new(o, "growth", json_integer(n->growth));
	json_object_set_new(o, "window_seconds",
	    json_integer((json_int_t)n->window_seconds));
	top = json_array();
	for (i = 0; i < n->ntop; i++) {
		f = &n->top[i];
		fn = json_object();
		json_object_set_new(fn, "function", json_str(f->function));
		json_object_set_new(fn, "growth", json_integer(f->growth));
		json_object_set_new(fn, "file", json_str(f->file));
		json_object_set_new(fn, "line", f->line > 0 ?
		    json_integer(f->line) : json_null());
		stack = json_array();
		for (j = 0; j < f->nstack && j < NOTE_FRAMES; j++)
			json_array_append_new(stack, json_str(f->stack[j]));
		json_object_set_new(fn, "stack", stack);
		json_array_append_new(top, fn);
	}
	json_object_set_new(o, "top", top);
	json_object_set_new(o, "base_snapshot",
	    snapshot_url(ext, n->target, n->base_snapshot));
	json_object_set_new(o, "current_snapshot",
	    snapshot_url(ext, n->target, n->current_snapshot));
	return o;
}

/* A growth for people: "+11.8 MiB", "-512 B", "+150 goroutines". */
static void
fmt_growth(char *buf, size_t len, enum note_kind kind, int64_t v)
{
	static const char	*units[] = { "KiB", "MiB", "GiB", "TiB",
				    "PiB" };
	const char		*sign = v < 0 ? "-" : "+";
	uint64_t		 a = v < 0 ? -(uint64_t)v : (uint64_t)v;
	double			 d = (double)a;
	int			 i = -1;

	if (kind == NOTE_GOROUTINE) {
		snprintf(buf, len, "%s%" PRIu64 " goroutine%s", sign, a,
		    a == 1 ? "" : "s");
		return;
	}
	if (a < 1024) {
		snprintf(buf, len, "%s%" PRIu64 " B", sign, a);
		return;
	}
	while (d >= 1024 && i < 4) {
		d /= 1024;
		i++;
	}
	snprintf(buf, len, "%s%.1f %s", sign, d, units[i]);
}

/* A window for people, Prometheus-style: "30m", "1h30m", "45s". */
static void
fmt_window(char *buf, size_t len, uint64_t seconds)
{
	uint64_t	h = seconds / 3600, m = seconds / 60 % 60;
	uint64_t	s = seconds % 60;
	int		n = 0;

	buf[0] = '\0';
	if (h > 0)
		n += snprintf(buf + n, len - n, "%" PRIu64 "h", h);
	if (m > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, "%" PRIu64 "m", m);
	if ((s > 0 || seconds == 0) && (size_t)n < len)
		snprintf(buf + n, len - n, "%" PRIu64 "s", s);
}

/* The summary annotation: the caller's sentence, or one made up. */
static char *
am_summary(const struct alert_note *n)
{
	char	 growth[64], window[64], *s;

	if (n->summary != NULL)
		return xstrdup(n->summary);
	fmt_growth(growth, sizeof growth, n->kind, n->growth);
	fmt_window(window, sizeof window, n->window_seconds);
	xasprintf(&s, "%s of %s: %s over %s.", n->kind == NOTE_GOROUTINE ?
	    "Goroutines" : "Heap", n->target, growth, window);
	return s;
}

/* The description annotation: the top functions and where to look. */
static char *
am_description(const struct alert_note *n, const char *ext)
{
	const struct note_function	*f;
	char				 growth[64], window[64], *s = NULL;
	size_t				 i;

	fmt_growth(growth, sizeof growth, n->kind, n->growth);
	fmt_window(window, sizeof window, n->window_seconds);
	append(&s, "Growth over %s: %s.", window, growth);
	if (n->ntop > 0)
		append(&s, "\nTop functions by growth:");
	for (i = 0; i < n->ntop; i++) {
		f = &n->top[i];
		fmt_growth(growth, sizeof growth, n->kind, f->growth);
		append(&s, "\n- %s %s", f->function != NULL ? f->function :
		    "?", growth);
		if (f->file != NULL && f->line > 0)
			append(&s, " at %s:%" PRId64, f->file, f->line);
		else if (f->file != NULL)
			append(&s, " at %s", f->file);
	}
	if (n->base_snapshot != NULL && n->current_snapshot != NULL)
		append(&s, "\nDiff: %s/api/v1/targets/%s/diff?base=%s"
		    "&current=%s", ext, n->target, n->base_snapshot,
		    n->current_snapshot);
	return s;
}

/* The body of format alertmanager: a list of one alert. */
static json_t *
render_am_body(const struct alert_note *n, const struct webhook_config *wc,
    const char *ext, int64_t now)
{
	json_t	*alert, *labels, *ann, *list;
	char	*s;
	size_t	 i;
	int64_t	 ends;

	alert = json_object();
	labels = json_object();
	json_object_set_new(labels, "alertname", json_string(n->kind ==
	    NOTE_GOROUTINE ? "GoroutineGrowth" : "HeapGrowth"));
	json_object_set_new(labels, "target", json_str(n->target));
	for (i = 0; i < n->nlabels; i++) {
		/* config.c refuses these; the notifier's own win anyway. */
		if (strcmp(n->labels[i].name, "alertname") == 0 ||
		    strcmp(n->labels[i].name, "target") == 0)
			continue;
		json_object_set_new(labels, n->labels[i].name,
		    json_str(n->labels[i].value));
	}
	json_object_set_new(alert, "labels", labels);

	ann = json_object();
	s = am_summary(n);
	json_object_set_new(ann, "summary", render_string(s));
	free(s);
	s = am_description(n, ext);
	json_object_set_new(ann, "description", render_string(s));
	free(s);
	json_object_set_new(alert, "annotations", ann);

	if (n->since != 0)
		json_object_set_new(alert, "startsAt", json_time(n->since));
	if (n->status == NOTE_RESOLVED)
		ends = n->ends != 0 ? n->ends : now;
	else
		ends = now + (int64_t)(REPEATS_VALID * wc->repeat_interval_ms);
	json_object_set_new(alert, "endsAt", json_time(ends));

	xasprintf(&s, "%s/api/v1/targets/%s", ext, n->target);
	json_object_set_new(alert, "generatorURL", render_string(s));
	free(s);

	list = json_array();
	json_array_append_new(list, alert);
	return list;
}

char *
notifier_render(const struct alert_note *n, const struct webhook_config *wc,
    const char *external_url, int64_t now)
{
	struct alert_note	 copy;
	json_t			*j;
	char			*ext, *body;
	size_t			 len;

	if (n->target == NULL) {
		copy = *n;
		copy.target = "";
		n = &copy;
	}
	ext = xstrdup(external_url != NULL ? external_url : "");
	len = strlen(ext);
	while (len > 0 && ext[len - 1] == '/')
		ext[--len] = '\0';
	if (wc->format == WEBHOOK_ALERTMANAGER)
		j = render_am_body(n, wc, ext, now);
	else
		j = render_json_body(n, ext);
	free(ext);
	if ((body = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		fatalx("json_dumps failed");
	json_decref(j);
	return body;
}

static const char *
note_strdup(struct arena *a, const char *s)
{
	return s != NULL ? arena_strndup(a, s, strlen(s)) : NULL;
}

static void *
note_array(struct arena *a, size_t n, size_t size)
{
	if (n > 0 && SIZE_MAX / n < size)
		fatalx("note: %zu * %zu bytes overflows", n, size);
	return arena_alloc(a, n * size);
}

/* Copy a note, all of it into one arena, freed when the last queue lets
 * it go. */
static struct note *
note_copy(const struct alert_note *src)
{
	struct note		*nt;
	struct alert_note	*a;
	struct config_pair	*labels;
	struct note_function	*top;
	size_t			 i, j;

	nt = xcalloc(1, sizeof *nt);
	nt->arena = arena_new(4096);
	a = &nt->a;
	*a = *src;
	a->key = note_strdup(nt->arena, src->key != NULL ? src->key :
	    src->target);
	a->target = note_strdup(nt->arena, src->target);
	labels = note_array(nt->arena, src->nlabels, sizeof *labels);
	for (i = 0; i < src->nlabels; i++) {
		labels[i].name = arena_strndup(nt->arena, src->labels[i].name,
		    strlen(src->labels[i].name));
		labels[i].value = arena_strndup(nt->arena,
		    src->labels[i].value, strlen(src->labels[i].value));
	}
	a->labels = labels;
	a->summary = note_strdup(nt->arena, src->summary);
	a->base_snapshot = note_strdup(nt->arena, src->base_snapshot);
	a->current_snapshot = note_strdup(nt->arena, src->current_snapshot);
	top = note_array(nt->arena, src->ntop, sizeof *top);
	for (i = 0; i < src->ntop; i++) {
		top[i] = src->top[i];
		top[i].function = note_strdup(nt->arena, src->top[i].function);
		top[i].file = note_strdup(nt->arena, src->top[i].file);
		if (top[i].nstack > NOTE_FRAMES)
			top[i].nstack = NOTE_FRAMES;
		for (j = 0; j < top[i].nstack; j++)
			top[i].stack[j] = note_strdup(nt->arena,
			    src->top[i].stack[j]);
	}
	a->top = top;
	return nt;
}

/* A queue lets go of a note; the last one frees it. */
static void
note_release(struct note *nt)
{
	if (nt == NULL || --nt->refs > 0)
		return;
	arena_free(nt->arena);
	free(nt);
}

static void
delivery_free(struct receiver *r, struct delivery *d)
{
	TAILQ_REMOVE(&r->queue, d, entry);
	r->nqueued--;
	note_release(d->note);
	free(d);
}

/* curl's write callback: keep the start of the answer for the log. */
static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct receiver	*r = arg;
	size_t		 n = size * nmemb, room;

	room = sizeof r->reply - 1 - r->nreply;
	if (room > n)
		room = n;
	memcpy(r->reply + r->nreply, data, room);
	r->nreply += room;
	r->reply[r->nreply] = '\0';
	return n;
}

/* Let go of the POST in flight; never from a curl callback. */
static void
receiver_abort(struct receiver *r)
{
	if (r->easy != NULL) {
		curl_multi_remove_handle(r->nf->multi, r->easy);
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
	}
	curl_slist_free_all(r->reqheaders);
	r->reqheaders = NULL;
	free(r->body);
	r->body = NULL;
	r->inflight = NULL;
}

/* How long to wait after the nth failure in a row: 1 s doubling up to
 * 5 min, less a random part of at most a quarter. */
static uint64_t
backoff_ms(unsigned int failures)
{
	uint64_t	d = BACKOFF_MIN_MS;

	while (failures-- > 1 && d < BACKOFF_MAX_MS)
		d *= 2;
	if (d > BACKOFF_MAX_MS)
		d = BACKOFF_MAX_MS;
	return d - arc4random_uniform((uint32_t)(d / 4) + 1);
}

/* Make an answer fit for one log line. */
static void
clean_reply(char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			s[i] = ' ';
	while (len > 0 && s[len - 1] == ' ')
		s[--len] = '\0';
}

/* A failed attempt: count it and try the head again later. */
static void
receiver_failed(struct receiver *r, const char *why)
{
	struct timeval	tv;
	uint64_t	ms;

	r->failed++;
	r->failures++;
	ms = backoff_ms(r->failures);
	log_warnx("webhook %s: %s; retrying in %.1fs (%zu queued)",
	    r->cfg.url, why, ms / 1000.0, r->nqueued);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(r->retry, &tv);
}

/* A POST ended: deliver the head and go on, or back off. */
static void
receiver_done(struct receiver *r, CURLcode res)
{
	struct delivery	*d = r->inflight;
	char		 why[CURL_ERROR_SIZE + REPLY_MAX + 64];
	long		 status = 0;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (res != CURLE_OK)
		snprintf(why, sizeof why, "%s", r->errbuf[0] != '\0' ?
		    r->errbuf : curl_easy_strerror(res));
	else if (status < 200 || status > 299) {
		clean_reply(r->reply, r->nreply);
		snprintf(why, sizeof why, "HTTP status %ld%s%s", status,
		    r->reply[0] != '\0' ? ": " : "", r->reply);
	}
	receiver_abort(r);
	if (res != CURLE_OK || status < 200 || status > 299) {
		receiver_failed(r, why);
		return;
	}
	if (r->failures > 0)
		log_info("webhook %s: delivered after %u failed attempts",
		    r->cfg.url, r->failures);
	log_debug("webhook %s: %s %s delivered", r->cfg.url,
	    d->note->a.target, status_name(d->note->a.status));
	r->failures = 0;
	r->sent++;
	delivery_free(r, d);
	receiver_post(r);
}

/* Hand every finished POST to its receiver. */
static void
post_done(CURL *easy, CURLcode result, void *arg)
{
	struct receiver	*r;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, &r);
	receiver_done(r, result);
}

static struct curl_slist *
slist_add(struct curl_slist *l, const char *s)
{
	if ((l = curl_slist_append(l, s)) == NULL)
		fatalx("curl_slist_append failed");
	return l;
}

/* Start POSTing the head of the queue, unless one is in flight or the
 * receiver is backing off. */
static void
receiver_post(struct receiver *r)
{
	struct notifier		*nf = r->nf;
	struct delivery		*d;
	struct curl_slist	*l;
	CURLMcode		 mc;
	char			*h, why[128];
	size_t			 i;

	if (r->inflight != NULL || evtimer_pending(r->retry, NULL) ||
	    (d = TAILQ_FIRST(&r->queue)) == NULL)
		return;
	r->body = notifier_render(&d->note->a, &r->cfg, nf->external_url,
	    now_ms());
	if ((r->easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	l = slist_add(NULL, "Content-Type: application/json");
	/* No "Expect: 100-continue" wait before larger bodies. */
	l = slist_add(l, "Expect:");
	for (i = 0; i < r->cfg.nheaders; i++) {
		/* The body is JSON whatever the configuration says. */
		if (strcasecmp(r->cfg.headers[i].name, "Content-Type") == 0)
			continue;
		xasprintf(&h, "%s: %s", r->cfg.headers[i].name,
		    r->cfg.headers[i].value);
		l = slist_add(l, h);
		free(h);
	}
	r->reqheaders = l;
	r->errbuf[0] = '\0';
	r->reply[0] = '\0';
	r->nreply = 0;
	curl_easy_setopt(r->easy, CURLOPT_URL, r->cfg.url);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->reqheaders);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)r->cfg.timeout_ms);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)r->cfg.timeout_ms);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, PACKAGE "/"
	    PACKAGE_VERSION);
	r->inflight = d;
	if ((mc = curl_multi_add_handle(nf->multi, r->easy)) != CURLM_OK) {
		snprintf(why, sizeof why, "curl_multi_add_handle: %s",
		    curl_multi_strerror(mc));
		receiver_abort(r);
		receiver_failed(r, why);
	}
}

static void
retry_fired(evutil_socket_t fd, short what, void *arg)
{
	receiver_post(arg);
}

/* Take a receiver's settings; the url stays the one it was made with. */
static void
receiver_configure(struct receiver *r, const struct webhook_config *wc)
{
	size_t	i;

	config_pairs_free(r->cfg.headers, r->cfg.nheaders);
	r->cfg.format = wc->format;
	r->cfg.timeout_ms = wc->timeout_ms;
	r->cfg.repeat_interval_ms = wc->repeat_interval_ms;
	r->cfg.headers = xcalloc(wc->nheaders, sizeof *r->cfg.headers);
	r->cfg.nheaders = wc->nheaders;
	for (i = 0; i < wc->nheaders; i++) {
		r->cfg.headers[i].name = xstrdup(wc->headers[i].name);
		r->cfg.headers[i].value = xstrdup(wc->headers[i].value);
	}
}

static struct receiver *
receiver_new(struct notifier *nf, const struct webhook_config *wc)
{
	struct receiver	*r;

	r = xcalloc(1, sizeof *r);
	r->nf = nf;
	r->cfg.url = xstrdup(wc->url);
	TAILQ_INIT(&r->queue);
	if ((r->retry = evtimer_new(nf->base, retry_fired, r)) == NULL)
		fatalx("evtimer_new failed");
	receiver_configure(r, wc);
	return r;
}

static void
receiver_free(struct receiver *r)
{
	if (r == NULL)
		return;
	receiver_abort(r);
	while (!TAILQ_EMPTY(&r->queue))
		delivery_free(r, TAILQ_FIRST(&r->queue));
	event_free(r->retry);
	free(r->cfg.url);
	config_pairs_free(r->cfg.headers, r->cfg.nheaders);
	free(r);
}

/*
 * Queue a note for one receiver: replace a queued repeat of it, drop the
 * oldest when the queue is full, and start it if the receiver is idle.
 */
static void
receiver_enqueue(struct receiver *r, struct note *nt)
{
	struct delivery	*d;

	TAILQ_FOREACH_REVERSE(d, &r->queue, deliveries, entry) {
		if (d == r->inflight)
			break;
		if (strcmp(d->note->a.key, nt->a.key) != 0)
			continue;
		if (r->cfg.format == WEBHOOK_ALERTMANAGER ||
		    d->note->a.status == nt->a.status) {
			note_release(d->note);
			d->note = nt;
			nt->refs++;
			r->replaced++;
			return;
		}
		break;
	}
	if (r->nqueued >= NOTIFIER_QUEUE_MAX) {
		d = TAILQ_FIRST(&r->queue);
		if (d == r->inflight)
			d = TAILQ_NEXT(d, entry);
		if (d != NULL) {
			log_warnx("webhook %s: queue full, dropping the %s "
			    "note of %s", r->cfg.url,
			    status_name(d->note->a.status), d->note->a.target);
			delivery_free(r, d);
			r->dropped++;
		}
	}
	d = xcalloc(1, sizeof *d);
	d->note = nt;
	nt->refs++;
	TAILQ_INSERT_TAIL(&r->queue, d, entry);
	r->nqueued++;
	receiver_post(r);
}

struct notifier *
notifier_new(struct event_base *base, const struct webhook_config *wc,
    size_t n, const char *external_url)
{
	struct notifier	*nf;

	nf = xcalloc(1, sizeof *nf);
	nf->base = base;
	nf->cev = curlev_new(base, post_done, nf);
	nf->multi = curlev_multi(nf->cev);
	notifier_set_external_url(nf, external_url);
	notifier_reconfigure(nf, wc, n);
	return nf;
}

void
notifier_free(struct notifier *nf)
{
	size_t	i;

	if (nf == NULL)
		return;
	for (i = 0; i < nf->nrcv; i++)
		receiver_free(nf->rcv[i]);
	free(nf->rcv);
	/* Closing its connections calls sock_cb and timer_cb. */
	curlev_free(nf->cev);
	free(nf->external_url);
	free(nf);
}

void
notifier_reconfigure(struct notifier *nf, const struct webhook_config *wc,
    size_t n)
{
	struct receiver	**old = nf->rcv, **rcv;
	size_t		  nold = nf->nrcv, i, j;

	rcv = xcalloc(n, sizeof *rcv);
	for (i = 0; i < n; i++) {
		for (j = 0; j < nold; j++)
			if (old[j] != NULL &&
			    strcmp(old[j]->cfg.url, wc[i].url) == 0)
				break;
		if (j < nold) {
			rcv[i] = old[j];
			old[j] = NULL;
			receiver_configure(rcv[i], &wc[i]);
		} else
			rcv[i] = receiver_new(nf, &wc[i]);
	}
	for (j = 0; j < nold; j++) {
		if (old[j] == NULL)
			continue;
		if (old[j]->nqueued > 0)
			log_warnx("webhook %s: removed, %zu notes not sent",
			    old[j]->cfg.url, old[j]->nqueued);
		receiver_free(old[j]);
	}
	free(old);
	nf->rcv = rcv;
	nf->nrcv = n;
}

void
notifier_set_external_url(struct notifier *nf, const char *url)
{
	size_t	len;

	free(nf->external_url);
	nf->external_url = xstrdup(url != NULL ? url : "");
	len = strlen(nf->external_url);
	while (len > 0 && nf->external_url[len - 1] == '/')
		nf->external_url[--len] = '\0';
}

void
notifier_send(struct notifier *nf, const struct alert_note *n)
{
	struct note	*nt;
	size_t		 i;

	if (n->target == NULL) {
		log_warnx("webhook: a note without a target, not sent");
		return;
	}
	if (nf->nrcv == 0)
		return;
	nt = note_copy(n);
	for (i = 0; i < nf->nrcv; i++)
		receiver_enqueue(nf->rcv[i], nt);
}

void
notifier_send_to(struct notifier *nf, size_t i, const struct alert_note *n)
{
	struct note	*nt;

	if (n->target == NULL || i >= nf->nrcv)
		return;
	nt = note_copy(n);
	receiver_enqueue(nf->rcv[i], nt);
}

uint64_t
notifier_repeat_interval(const struct notifier *nf, size_t i)
{
	return nf->rcv[i]->cfg.repeat_interval_ms;
}

size_t
notifier_receivers(const struct notifier *nf)
{
	return nf->nrcv;
}

void
notifier_stats(const struct notifier *nf, size_t i, struct notifier_stats *st)
{
	const struct receiver	*r = nf->rcv[i];

	memset(st, 0, sizeof *st);
	st->url = r->cfg.url;
	st->sent = r->sent;
	st->failed = r->failed;
	st->dropped = r->dropped;
	st->replaced = r->replaced;
	st->queued = r->nqueued;
}
