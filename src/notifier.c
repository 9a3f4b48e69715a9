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
#include "clock.h"
#include "curlev.h"
#include "log.h"
#include "render.h"
#include "notifier.h"
#include "spool.h"
#include "xmalloc.h"

#define BACKOFF_MIN_MS	1000
#define BACKOFF_MAX_MS	(5 * 60000)
#define REPEATS_VALID	4	/* a firing alert's endsAt, in repeats */
#define REPLY_MAX	256	/* of a receiver's answer, kept for the log */
#define ENTRY_VERSION	1	/* of a spool entry's JSON */
#define ENTRY_TOP_MAX	64	/* functions in a spooled note, at most */

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
	uint64_t		 seq;		/* its spool entry; 0: none */
	int64_t			 queued;	/* unix ms */
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
	uint64_t		 restored;
};

struct notifier {
	struct event_base	*base;
	struct curlev		*cev;
	CURLM			*multi;		/* the curlev's */
	char			*external_url;	/* without a trailing slash */
	struct receiver		**rcv;
	size_t			 nrcv;
	struct spool		*spool;		/* NULL: memory only */
	uint64_t		 nextseq;	/* of the next spool entry */
	uint64_t		 spool_errors;
};

static void	receiver_post(struct receiver *);

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

/* An alert's evidence's URL in the daemon's API. */
static json_t *
evidence_url(const char *ext, const char *target, const char *id)
{
	json_t	*j;
	char	*s;

	xasprintf(&s, "%s/api/v1/targets/%s/evidence/%s", ext, target, id);
	j = render_string(s);
	free(s);
	return j;
}

/* "total, live heap" as ["total", "live heap"]. */
static json_t *
notifier_render_signals(const char *signals)
{
	json_t		*a = json_array();
	const char	*p = signals, *end;

	while (p != NULL && *p != '\0') {
		end = strstr(p, ", ");
		json_array_append_new(a, json_stringn(p, end != NULL ?
		    (size_t)(end - p) : strlen(p)));
		p = end != NULL ? end + 2 : NULL;
	}
	return a;
}

static json_t *
notifier_render_json(const struct alert_note *n, const char *ext)
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
	json_object_set_new(o, "since", render_time(n->status == NOTE_RESOLVED ?
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
	json_object_set_new(o, "severity", json_string(n->severity != NULL ?
	    n->severity : "warning"));
	if (n->limited)
		json_object_set_new(o, "time_to_limit_seconds",
		    n->time_to_limit >= 0 ? json_integer(n->time_to_limit) :
		    json_null());
	if (n->evidence != NULL && n->target != NULL)
		json_object_set_new(o, "evidence",
		    evidence_url(ext, n->target, n->evidence));
	/* Last, when the judgement said. */
	if (n->signals != NULL)
		json_object_set_new(o, "signals",
		    notifier_render_signals(n->signals));
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
	if (n->limited && n->time_to_limit >= 0) {
		fmt_window(window, sizeof window, (uint64_t)n->time_to_limit);
		append(&s, "\nReaches its limit in %s at this rate.", window);
	}
	if (n->base_snapshot != NULL && n->current_snapshot != NULL)
		append(&s, "\nDiff: %s/api/v1/targets/%s/diff?base=%s"
		    "&current=%s", ext, n->target, n->base_snapshot,
		    n->current_snapshot);
	return s;
}

/* The body of format alertmanager: a list of one alert. */
static json_t *
notifier_render_am(const struct alert_note *n, const struct webhook_config *wc,
    const char *ext, int64_t now)
{
	json_t	*alert, *labels, *ann, *list;
	char	*s, window[64];
	size_t	 i;
	int64_t	 ends;

	alert = json_object();
	labels = json_object();
	json_object_set_new(labels, "alertname", json_string(n->kind ==
	    NOTE_GOROUTINE ? "GoroutineGrowth" : "HeapGrowth"));
	json_object_set_new(labels, "target", json_str(n->target));
	json_object_set_new(labels, "severity", json_string(n->severity !=
	    NULL ? n->severity : "warning"));
	for (i = 0; i < n->nlabels; i++) {
		/* config.c refuses these; the notifier's own win anyway. */
		if (strcmp(n->labels[i].name, "alertname") == 0 ||
		    strcmp(n->labels[i].name, "target") == 0 ||
		    strcmp(n->labels[i].name, "severity") == 0)
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
	if (n->signals != NULL)
		json_object_set_new(ann, "signals", render_string(n->signals));
	if (n->limited && n->time_to_limit >= 0) {
		fmt_window(window, sizeof window, (uint64_t)n->time_to_limit);
		json_object_set_new(ann, "time_to_limit", json_string(window));
	}
	if (n->evidence != NULL && n->target != NULL)
		json_object_set_new(ann, "evidence",
		    evidence_url(ext, n->target, n->evidence));
	json_object_set_new(alert, "annotations", ann);

	if (n->since != 0)
		json_object_set_new(alert, "startsAt", render_time(n->since));
	if (n->status == NOTE_RESOLVED)
		ends = n->ends != 0 ? n->ends : now;
	else
		ends = now + (int64_t)(REPEATS_VALID * wc->repeat_interval_ms);
	json_object_set_new(alert, "endsAt", render_time(ends));

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
		j = notifier_render_am(n, wc, ext, now);
	else
		j = notifier_render_json(n, ext);
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
	a->signals = note_strdup(nt->arena, src->signals);
	a->base_snapshot = note_strdup(nt->arena, src->base_snapshot);
	a->current_snapshot = note_strdup(nt->arena, src->current_snapshot);
	a->severity = note_strdup(nt->arena, src->severity);
	a->evidence = note_strdup(nt->arena, src->evidence);
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

static const char *
format_name(enum webhook_format f)
{
	return f == WEBHOOK_ALERTMANAGER ? "alertmanager" : "json";
}

/*
 * A delivery as a spool entry: one JSON object naming its receiver (url
 * and format), when it was queued, and every field of the note, so that
 * the body can be rendered again after a restart.
 */
static char *
entry_text(const struct receiver *r, const struct delivery *d)
{
	const struct alert_note		*a = &d->note->a;
	const struct note_function	*f;
	json_t				*o, *n, *labels, *top, *fn, *stack;
	char				*text;
	size_t				 i, j;

	n = json_object();
	json_object_set_new(n, "status", json_string(status_name(a->status)));
	json_object_set_new(n, "key", json_str(a->key));
	json_object_set_new(n, "target", json_str(a->target));
	labels = json_array();
	for (i = 0; i < a->nlabels; i++)
		json_array_append_new(labels, json_pack("[oo]",
		    json_str(a->labels[i].name),
		    json_str(a->labels[i].value)));
	json_object_set_new(n, "labels", labels);
	json_object_set_new(n, "kind", json_string(kind_name(a->kind)));
	json_object_set_new(n, "since", json_integer(a->since));
	json_object_set_new(n, "ends", json_integer(a->ends));
	json_object_set_new(n, "growth", json_integer(a->growth));
	json_object_set_new(n, "window_seconds",
	    json_integer((json_int_t)a->window_seconds));
	json_object_set_new(n, "summary", json_str(a->summary));
	json_object_set_new(n, "signals", json_str(a->signals));
	top = json_array();
	for (i = 0; i < a->ntop; i++) {
		f = &a->top[i];
		stack = json_array();
		for (j = 0; j < f->nstack && j < NOTE_FRAMES; j++)
			json_array_append_new(stack, json_str(f->stack[j]));
		fn = json_object();
		json_object_set_new(fn, "function", json_str(f->function));
		json_object_set_new(fn, "growth", json_integer(f->growth));
		json_object_set_new(fn, "file", json_str(f->file));
		json_object_set_new(fn, "line", json_integer(f->line));
		json_object_set_new(fn, "stack", stack);
		json_array_append_new(top, fn);
	}
	json_object_set_new(n, "top", top);
	json_object_set_new(n, "base_snapshot", json_str(a->base_snapshot));
	json_object_set_new(n, "current_snapshot",
	    json_str(a->current_snapshot));
	json_object_set_new(n, "severity", json_str(a->severity));
	json_object_set_new(n, "evidence", json_str(a->evidence));
	if (a->limited)
		json_object_set_new(n, "time_to_limit",
		    json_integer(a->time_to_limit));

	o = json_object();
	json_object_set_new(o, "version", json_integer(ENTRY_VERSION));
	json_object_set_new(o, "receiver", json_str(r->cfg.url));
	json_object_set_new(o, "format",
	    json_string(format_name(r->cfg.format)));
	json_object_set_new(o, "queued", json_integer(d->queued));
	json_object_set_new(o, "note", n);
	if ((text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)) ==
	    NULL)
		fatalx("json_dumps failed");
	json_decref(o);
	return text;
}

/* What a spool entry says, taken apart. */
struct spooled {
	const char		*url;
	enum webhook_format	 format;
	int64_t			 queued;
	struct note		*note;
};

/* A string member of o: NULL for null when nullable, else an error. */
static bool
entry_str(json_t *o, const char *key, bool nullable, const char **v,
    char **cause)
{
	json_t	*j = json_object_get(o, key);

	if (nullable && (j == NULL || json_is_null(j))) {
		*v = NULL;
		return true;
	}
	if (!json_is_string(j) || strlen(json_string_value(j)) !=
	    json_string_length(j)) {
		xasprintf(cause, "\"%s\": expected a string", key);
		return false;
	}
	*v = json_string_value(j);
	return true;
}

static bool
entry_int(json_t *o, const char *key, int64_t min, int64_t *v, char **cause)
{
	json_t	*j = json_object_get(o, key);

	if (!json_is_integer(j) || json_integer_value(j) < min) {
		xasprintf(cause, "\"%s\": expected an integer of at least "
		    "%lld", key, (long long)min);
		return false;
	}
	*v = (int64_t)json_integer_value(j);
	return true;
}

/* One name out of two, or an error. */
static bool
entry_enum(json_t *o, const char *key, const char *zero, const char *one,
    int *v, char **cause)
{
	const char	*s;

	if (!entry_str(o, key, false, &s, cause))
		return false;
	if (strcmp(s, zero) == 0)
		*v = 0;
	else if (strcmp(s, one) == 0)
		*v = 1;
	else {
		xasprintf(cause, "\"%s\": expected \"%s\" or \"%s\"", key,
		    zero, one);
		return false;
	}
	return true;
}

/* The functions of a spooled note into top, which holds ntop. */
static bool
entry_top(json_t *list, struct note_function *top, size_t ntop, char **cause)
{
	json_t	*fn, *stack, *frame;
	size_t	 i, j;

	for (i = 0; i < ntop; i++) {
		fn = json_array_get(list, i);
		stack = json_object_get(fn, "stack");
		if (!json_is_object(fn) || !json_is_array(stack) ||
		    json_array_size(stack) > NOTE_FRAMES) {
			xasprintf(cause, "\"top\": function %zu: expected an "
			    "object with a stack of at most %d frames", i,
			    NOTE_FRAMES);
			return false;
		}
		if (!entry_str(fn, "function", true, &top[i].function,
		    cause) ||
		    !entry_int(fn, "growth", INT64_MIN, &top[i].growth,
		    cause) ||
		    !entry_str(fn, "file", true, &top[i].file, cause) ||
		    !entry_int(fn, "line", 0, &top[i].line, cause))
			return false;
		json_array_foreach(stack, j, frame) {
			if (!json_is_string(frame)) {
				xasprintf(cause, "\"top\": function %zu: "
				    "frame %zu is not a string", i, j);
				return false;
			}
			top[i].stack[j] = json_string_value(frame);
		}
		top[i].nstack = json_array_size(stack);
	}
	return true;
}

/*
 * Take a spool entry apart: check every field and copy the note; the url
 * points into *root, which the caller lets go of once done with it.
 */
static int
entry_parse(const char *text, size_t len, json_t **root,
    struct spooled *sp, char **cause)
{
	struct alert_note	 a;
	struct config_pair	*labels = NULL;
	struct note_function	*top = NULL;
	json_error_t		 err;
	json_t			*o, *n, *l, *pair;
	int64_t			 v;
	int			 e;
	size_t			 i;
	bool			 good = false;

	memset(sp, 0, sizeof *sp);
	memset(&a, 0, sizeof a);
	if ((o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err)) ==
	    NULL) {
		xasprintf(cause, "not JSON: %s at byte %d", err.text,
		    err.position);
		return -1;
	}
	*root = o;
	n = json_object_get(o, "note");
	if (!json_is_object(o) || !json_is_object(n)) {
		xasprintf(cause, "expected an object with a \"note\"");
		return -1;
	}
	if (!entry_int(o, "version", 0, &v, cause))
		return -1;
	if (v != ENTRY_VERSION) {
		xasprintf(cause, "version %lld, expected %d", (long long)v,
		    ENTRY_VERSION);
		return -1;
	}
	if (!entry_str(o, "receiver", false, &sp->url, cause) ||
	    !entry_enum(o, "format", "json", "alertmanager", &e, cause) ||
	    !entry_int(o, "queued", 0, &sp->queued, cause))
		return -1;
	sp->format = e ? WEBHOOK_ALERTMANAGER : WEBHOOK_JSON;

	if (!entry_enum(n, "status", "firing", "resolved", &e, cause))
		return -1;
	a.status = e ? NOTE_RESOLVED : NOTE_FIRING;
	if (!entry_enum(n, "kind", "heap", "goroutine", &e, cause))
		return -1;
	a.kind = e ? NOTE_GOROUTINE : NOTE_HEAP;
	if (!entry_str(n, "key", false, &a.key, cause) ||
	    !entry_str(n, "target", false, &a.target, cause) ||
	    !entry_int(n, "since", 0, &a.since, cause) ||
	    !entry_int(n, "ends", 0, &a.ends, cause) ||
	    !entry_int(n, "growth", INT64_MIN, &a.growth, cause) ||
	    !entry_int(n, "window_seconds", 0, &v, cause) ||
	    !entry_str(n, "summary", true, &a.summary, cause) ||
	    !entry_str(n, "signals", true, &a.signals, cause) ||
	    !entry_str(n, "base_snapshot", true, &a.base_snapshot, cause) ||
	    !entry_str(n, "current_snapshot", true, &a.current_snapshot,
	    cause) ||
	    !entry_str(n, "severity", true, &a.severity, cause) ||
	    !entry_str(n, "evidence", true, &a.evidence, cause))
		return -1;
	a.window_seconds = (uint64_t)v;
	/* Entries written before limits were known have none. */
	if (json_object_get(n, "time_to_limit") != NULL) {
		if (!entry_int(n, "time_to_limit", -1, &a.time_to_limit,
		    cause))
			return -1;
		a.limited = true;
	}

	l = json_object_get(n, "labels");
	if (!json_is_array(l)) {
		xasprintf(cause, "\"labels\": expected a list");
		return -1;
	}
	labels = xcalloc(json_array_size(l) + 1, sizeof *labels);
	json_array_foreach(l, i, pair) {
		if (!json_is_array(pair) || json_array_size(pair) != 2 ||
		    !json_is_string(json_array_get(pair, 0)) ||
		    !json_is_string(json_array_get(pair, 1))) {
			xasprintf(cause, "\"labels\": label %zu: expected "
			    "[name, value]", i);
			goto out;
		}
		labels[i].name = (char *)json_string_value(
		    json_array_get(pair, 0));
		labels[i].value = (char *)json_string_value(
		    json_array_get(pair, 1));
	}
	a.labels = labels;
	a.nlabels = json_array_size(l);

	l = json_object_get(n, "top");
	if (!json_is_array(l) || json_array_size(l) > ENTRY_TOP_MAX) {
		xasprintf(cause, "\"top\": expected a list of at most %d",
		    ENTRY_TOP_MAX);
		goto out;
	}
	top = xcalloc(json_array_size(l) + 1, sizeof *top);
	if (!entry_top(l, top, json_array_size(l), cause))
		goto out;
	a.top = top;
	a.ntop = json_array_size(l);
	sp->note = note_copy(&a);
	good = true;
out:
	free(labels);
	free(top);
	return good ? 0 : -1;
}

/* Write a delivery to its spool entry, a new one when it has none. */
static void
delivery_spool(struct receiver *r, struct delivery *d)
{
	struct notifier	*nf = r->nf;
	char		*text, *cause = NULL;
	uint64_t	 seq;

	if (nf->spool == NULL)
		return;
	seq = d->seq != 0 ? d->seq : nf->nextseq++;
	text = entry_text(r, d);
	if (spool_put(nf->spool, seq, text, strlen(text), &cause) == 0) {
		d->seq = seq;
		free(text);
		return;
	}
	free(text);
	nf->spool_errors++;
	log_warnx("webhook %s: spool: %s; the %s note of %s is kept in "
	    "memory only", r->cfg.url, cause, status_name(d->note->a.status),
	    d->note->a.target);
	free(cause);
	cause = NULL;
	/* Whatever is on disk under seq is not this note: never send it. */
	if (spool_remove(nf->spool, seq, &cause) == -1) {
		nf->spool_errors++;
		log_warnx("webhook %s: spool: %s", r->cfg.url, cause);
		free(cause);
	}
	d->seq = 0;
}

/* Remove a delivery's spool entry: it was delivered, dropped or given up. */
static void
delivery_unspool(struct receiver *r, struct delivery *d)
{
	struct notifier	*nf = r->nf;
	char		*cause = NULL;

	if (nf->spool == NULL || d->seq == 0)
		return;
	if (spool_remove(nf->spool, d->seq, &cause) == -1) {
		nf->spool_errors++;
		log_warnx("webhook %s: spool: %s", r->cfg.url, cause);
		free(cause);
	}
	d->seq = 0;
}

/* Take a note off a queue; unspool says whether it is done with for
 * good, or only let go of by this process and due after a restart. */
static void
delivery_free(struct receiver *r, struct delivery *d, bool unspool)
{
	if (unspool)
		delivery_unspool(r, d);
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
	delivery_free(r, d, true);
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
	    clock_real_ms());
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

/* Let a receiver go; unspool also removes what it has in the spool. */
static void
receiver_free(struct receiver *r, bool unspool)
{
	if (r == NULL)
		return;
	receiver_abort(r);
	while (!TAILQ_EMPTY(&r->queue))
		delivery_free(r, TAILQ_FIRST(&r->queue), unspool);
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
			delivery_spool(r, d);
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
			delivery_free(r, d, true);
			r->dropped++;
		}
	}
	d = xcalloc(1, sizeof *d);
	d->note = nt;
	d->queued = clock_real_ms();
	nt->refs++;
	TAILQ_INSERT_TAIL(&r->queue, d, entry);
	r->nqueued++;
	/* On disk before the first attempt, so that a crash loses nothing. */
	delivery_spool(r, d);
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
	nf->nextseq = 1;
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
	/* What is queued stays in the spool for the next start. */
	for (i = 0; i < nf->nrcv; i++)
		receiver_free(nf->rcv[i], false);
	free(nf->rcv);
	spool_close(nf->spool);
	/* Closing its connections calls sock_cb and timer_cb. */
	curlev_free(nf->cev);
	free(nf->external_url);
	free(nf);
}

void
notifier_reconfigure(struct notifier *nf, const struct webhook_config *wc,
    size_t n)
{
	struct receiver		**old = nf->rcv, **rcv;
	struct delivery		 *d;
	enum webhook_format	  was;
	size_t			  nold = nf->nrcv, i, j;

	rcv = xcalloc(n, sizeof *rcv);
	for (i = 0; i < n; i++) {
		for (j = 0; j < nold; j++)
			if (old[j] != NULL &&
			    strcmp(old[j]->cfg.url, wc[i].url) == 0)
				break;
		if (j < nold) {
			rcv[i] = old[j];
			old[j] = NULL;
			was = rcv[i]->cfg.format;
			receiver_configure(rcv[i], &wc[i]);
			/* The spool names the format: say the new one. */
			if (was != wc[i].format)
				TAILQ_FOREACH(d, &rcv[i]->queue, entry)
					if (d->seq != 0)
						delivery_spool(rcv[i], d);
		} else
			rcv[i] = receiver_new(nf, &wc[i]);
	}
	for (j = 0; j < nold; j++) {
		if (old[j] == NULL)
			continue;
		if (old[j]->nqueued > 0)
			log_warnx("webhook %s: removed, %zu notes not sent",
			    old[j]->cfg.url, old[j]->nqueued);
		receiver_free(old[j], true);
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
	st->restored = r->restored;
	st->queued = r->nqueued;
}

uint64_t
notifier_spool_errors(const struct notifier *nf)
{
	return nf->spool_errors;
}

const struct alert_note *
notifier_queued(const struct notifier *nf, size_t i, size_t j)
{
	const struct delivery	*d;

	if (i >= nf->nrcv)
		return NULL;
	TAILQ_FOREACH(d, &nf->rcv[i]->queue, entry)
		if (j-- == 0)
			return &d->note->a;
	return NULL;
}

/* Spool entries whose receiver is no longer configured, by receiver. */
struct unclaimed {
	char			*url;
	enum webhook_format	 format;
	size_t			 n;
};

static void
unclaimed_add(struct unclaimed **v, size_t *n, const struct spooled *sp)
{
	size_t	i;

	for (i = 0; i < *n; i++)
		if ((*v)[i].format == sp->format &&
		    strcmp((*v)[i].url, sp->url) == 0)
			break;
	if (i == *n) {
		*v = xreallocarray(*v, *n + 1, sizeof **v);
		(*v)[i].url = xstrdup(sp->url);
		(*v)[i].format = sp->format;
		(*v)[i].n = 0;
		(*n)++;
	}
	(*v)[i].n++;
}

/*
 * Put spool entry seq back in its receiver's queue, behind what is there.
 * An entry that cannot be read is set aside in quarantine/; one for a
 * receiver no longer configured is removed and counted in *gone.
 */
static void
notifier_restore(struct notifier *nf, uint64_t seq, struct unclaimed **gone,
    size_t *ngone)
{
	struct spooled	 sp;
	struct receiver	*r = NULL;
	struct delivery	*d;
	json_t		*root = NULL;
	char		*text, *cause = NULL, *why;
	size_t		 len, i;

	if (spool_read(nf->spool, seq, NOTIFIER_SPOOL_ENTRY_MAX, &text, &len,
	    &cause) == -1) {
		nf->spool_errors++;
		log_warnx("webhook spool: %s", cause);
		free(cause);
		cause = NULL;
		/* Too large to be read is as bad as corrupt. */
		if (spool_quarantine(nf->spool, seq, &cause) == -1) {
			log_warnx("webhook spool: %s", cause);
			free(cause);
		}
		return;
	}
	if (entry_parse(text, len, &root, &sp, &why) == -1) {
		nf->spool_errors++;
		if (spool_quarantine(nf->spool, seq, &cause) == -1) {
			log_warnx("webhook spool: entry %llu: %s; %s",
			    (unsigned long long)seq, why, cause);
			free(cause);
		} else
			log_warnx("webhook spool: entry %llu: %s; set aside "
			    "in %s/%s", (unsigned long long)seq, why,
			    spool_path(nf->spool), SPOOL_QUARANTINE);
		free(why);
		goto out;
	}
	for (i = 0; i < nf->nrcv; i++) {
		if (nf->rcv[i]->cfg.format == sp.format &&
		    strcmp(nf->rcv[i]->cfg.url, sp.url) == 0) {
			r = nf->rcv[i];
			break;
		}
	}
	if (r == NULL) {
		unclaimed_add(gone, ngone, &sp);
		if (spool_remove(nf->spool, seq, &cause) == -1) {
			nf->spool_errors++;
			log_warnx("webhook spool: %s", cause);
			free(cause);
		}
		sp.note->refs++;
		note_release(sp.note);
		goto out;
	}
	d = TAILQ_FIRST(&r->queue);
	if (d != NULL && d == r->inflight)
		d = TAILQ_NEXT(d, entry);
	if (r->nqueued >= NOTIFIER_QUEUE_MAX && d != NULL) {
		log_warnx("webhook %s: queue full, dropping the %s note of %s",
		    r->cfg.url, status_name(d->note->a.status),
		    d->note->a.target);
		delivery_free(r, d, true);
		r->dropped++;
	}
	d = xcalloc(1, sizeof *d);
	d->note = sp.note;
	d->note->refs++;
	d->seq = seq;
	d->queued = sp.queued;
	TAILQ_INSERT_TAIL(&r->queue, d, entry);
	r->nqueued++;
	r->restored++;
out:
	json_decref(root);
	free(text);
}

void
notifier_spool(struct notifier *nf, const char *root, const char *name)
{
	struct unclaimed	*gone = NULL;
	uint64_t		*seqs = NULL;
	size_t			 n, ngone = 0, tmp, i;
	char			*cause = NULL;

	if (nf->spool != NULL)
		fatalx("%s: the spool is open already", __func__);
	if ((nf->spool = spool_open(root, name, &cause)) == NULL ||
	    spool_list(nf->spool, &seqs, &n, &tmp, &cause) == -1) {
		nf->spool_errors++;
		log_warnx("webhook spool: %s; alerts not yet delivered will "
		    "not outlive a restart", cause);
		free(cause);
		spool_close(nf->spool);
		nf->spool = NULL;
		return;
	}
	if (tmp > 0)
		log_info("webhook spool: removed %zu unfinished writes", tmp);
	nf->nextseq = 1;
	for (i = 0; i < n; i++) {
		if (seqs[i] >= nf->nextseq)
			nf->nextseq = seqs[i] + 1;
		notifier_restore(nf, seqs[i], &gone, &ngone);
	}
	free(seqs);
	for (i = 0; i < ngone; i++) {
		log_warnx("webhook %s (format %s): no longer configured, %zu "
		    "spooled notes removed", gone[i].url,
		    format_name(gone[i].format), gone[i].n);
		free(gone[i].url);
	}
	free(gone);
	for (i = 0; i < nf->nrcv; i++) {
		if (nf->rcv[i]->restored == 0)
			continue;
		log_info("webhook %s: queued again what the last run left "
		    "undelivered: %llu", nf->rcv[i]->cfg.url,
		    (unsigned long long)nf->rcv[i]->restored);
		receiver_post(nf->rcv[i]);
	}
}
