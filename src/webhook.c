/*
 * The webhook bodies: format json (SPEC.md's) and format alertmanager
 * (Alertmanager's POST /api/v2/alerts), rendered from an alert note.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "log.h"
#include "note.h"
#include "render.h"
#include "webhook.h"
#include "xmalloc.h"

#define REPEATS_VALID	4	/* a firing alert's endsAt, in repeats */

/* Append to a string built with xasprintf. */
static void __attribute__((format(printf, 2, 3)))
webhook_append(char **s, const char *fmt, ...)
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


static json_t *
webhook_snapshot_url(const char *ext, const char *target, const char *id)
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
webhook_evidence_url(const char *ext, const char *target, const char *id)
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
webhook_render_signals(const char *signals)
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

/* The body of format json, as SPEC.md has it. */
static json_t *
webhook_render_json(const struct alert_note *n, const char *ext)
{
	const struct note_function	*f;
	json_t				*o, *labels, *top, *fn, *stack;
	size_t				 i, j;

	o = json_object();
	json_object_set_new(o, "status",
	    json_string(note_status_name(n->status)));
	json_object_set_new(o, "target", render_string(n->target));
	labels = json_object();
	for (i = 0; i < n->nlabels; i++)
		json_object_set_new(labels, n->labels[i].name,
		    render_string(n->labels[i].value));
	json_object_set_new(o, "labels", labels);
	json_object_set_new(o, "kind", json_string(note_kind_name(n->kind)));
	json_object_set_new(o, "since", render_time(n->status == NOTE_RESOLVED ?
	    n->ends : n->since));
	json_object_set_new(o, "growth", json_integer(n->growth));
	json_object_set_new(o, "window_seconds",
	    json_integer((json_int_t)n->window_seconds));
	top = json_array();
	for (i = 0; i < n->ntop; i++) {
		f = &n->top[i];
		fn = json_object();
		json_object_set_new(fn, "function", render_string(f->function));
		json_object_set_new(fn, "growth", json_integer(f->growth));
		json_object_set_new(fn, "file", render_string(f->file));
		json_object_set_new(fn, "line", f->line > 0 ?
		    json_integer(f->line) : json_null());
		stack = json_array();
		for (j = 0; j < f->nstack && j < NOTE_FRAMES; j++)
			json_array_append_new(stack,
			    render_string(f->stack[j]));
		json_object_set_new(fn, "stack", stack);
		json_array_append_new(top, fn);
	}
	json_object_set_new(o, "top", top);
	json_object_set_new(o, "base_snapshot",
	    webhook_snapshot_url(ext, n->target, n->base_snapshot));
	json_object_set_new(o, "current_snapshot",
	    webhook_snapshot_url(ext, n->target, n->current_snapshot));
	json_object_set_new(o, "severity", json_string(n->severity != NULL ?
	    n->severity : "warning"));
	if (n->limited)
		json_object_set_new(o, "time_to_limit_seconds",
		    n->time_to_limit >= 0 ? json_integer(n->time_to_limit) :
		    json_null());
	if (n->evidence != NULL && n->target != NULL)
		json_object_set_new(o, "evidence",
		    webhook_evidence_url(ext, n->target, n->evidence));
	/* Last, when the judgement said. */
	if (n->signals != NULL)
		json_object_set_new(o, "signals",
		    webhook_render_signals(n->signals));
	if (n->horizon != NULL)
		json_object_set_new(o, "horizon", json_string(n->horizon));
	return o;
}

/* A growth for people: "+11.8 MiB", "-512 B", "+150 goroutines". */
static void
webhook_growth(char *buf, size_t len, enum note_kind kind, int64_t v)
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
webhook_window(char *buf, size_t len, uint64_t seconds)
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
webhook_am_summary(const struct alert_note *n)
{
	char	 growth[64], window[64], *s;

	if (n->summary != NULL)
		return xstrdup(n->summary);
	webhook_growth(growth, sizeof growth, n->kind, n->growth);
	webhook_window(window, sizeof window, n->window_seconds);
	xasprintf(&s, "%s of %s: %s over %s.", n->kind == NOTE_GOROUTINE ?
	    "Goroutines" : "Heap", n->target, growth, window);
	return s;
}

/* The description annotation: the top functions and where to look. */
static char *
webhook_am_description(const struct alert_note *n, const char *ext)
{
	const struct note_function	*f;
	char				 growth[64], window[64], *s = NULL;
	size_t				 i;

	webhook_growth(growth, sizeof growth, n->kind, n->growth);
	webhook_window(window, sizeof window, n->window_seconds);
	webhook_append(&s, "Growth over %s: %s.", window, growth);
	if (n->ntop > 0)
		webhook_append(&s, "\nTop functions by growth:");
	for (i = 0; i < n->ntop; i++) {
		f = &n->top[i];
		webhook_growth(growth, sizeof growth, n->kind, f->growth);
		webhook_append(&s, "\n- %s %s", f->function != NULL ?
		    f->function : "?", growth);
		if (f->file != NULL && f->line > 0)
			webhook_append(&s, " at %s:%" PRId64, f->file, f->line);
		else if (f->file != NULL)
			webhook_append(&s, " at %s", f->file);
	}
	if (n->limited && n->time_to_limit >= 0) {
		webhook_window(window, sizeof window,
		    (uint64_t)n->time_to_limit);
		webhook_append(&s, "\nReaches its limit in %s at this rate.",
		    window);
	}
	if (n->base_snapshot != NULL && n->current_snapshot != NULL)
		webhook_append(&s, "\nDiff: %s/api/v1/targets/%s/diff?base=%s"
		    "&current=%s", ext, n->target, n->base_snapshot,
		    n->current_snapshot);
	return s;
}

/* The body of format alertmanager: a list of one alert. */
static json_t *
webhook_render_am(const struct alert_note *n, const struct webhook_config *wc,
    const char *ext, int64_t now)
{
	json_t	*alert, *labels, *ann, *list, *old;
	char	*s, window[64];
	size_t	 i;
	int64_t	 ends;

	alert = json_object();
	labels = json_object();
	json_object_set_new(labels, "alertname", json_string(n->kind ==
	    NOTE_GOROUTINE ? "GoroutineGrowth" : "HeapGrowth"));
	json_object_set_new(labels, "target", render_string(n->target));
	json_object_set_new(labels, "severity", json_string(n->severity !=
	    NULL ? n->severity : "warning"));
	for (i = 0; i < n->nlabels; i++) {
		/* config.c refuses these; the notifier's own win anyway. */
		if (strcmp(n->labels[i].name, "alertname") == 0 ||
		    strcmp(n->labels[i].name, "target") == 0 ||
		    strcmp(n->labels[i].name, "severity") == 0)
			continue;
		json_object_set_new(labels, n->labels[i].name,
		    render_string(n->labels[i].value));
	}
	json_object_set_new(alert, "labels", labels);

	ann = json_object();
	s = webhook_am_summary(n);
	json_object_set_new(ann, "summary", render_string(s));
	free(s);
	s = webhook_am_description(n, ext);
	json_object_set_new(ann, "description", render_string(s));
	free(s);
	if (n->signals != NULL)
		json_object_set_new(ann, "signals", render_string(n->signals));
	if (n->limited && n->time_to_limit >= 0) {
		webhook_window(window, sizeof window,
		    (uint64_t)n->time_to_limit);
		json_object_set_new(ann, "time_to_limit", json_string(window));
	}
	if (n->evidence != NULL && n->target != NULL)
		json_object_set_new(ann, "evidence",
		    webhook_evidence_url(ext, n->target, n->evidence));
	if (n->horizon != NULL)
		json_object_set_new(ann, "horizon", render_string(n->horizon));
	json_object_set_new(alert, "annotations", ann);

	if (n->since != 0)
		json_object_set_new(alert, "startsAt", render_time(n->since));
	if (n->status == NOTE_RESOLVED)
		ends = n->ends != 0 ? n->ends : now;
	else
		ends = now + (int64_t)(REPEATS_VALID * wc->repeat_interval_ms);
	json_object_set_new(alert, "endsAt", render_time(ends));

	/* A page for the person following the link, as Prometheus's is. */
	xasprintf(&s, "%s/targets/%s", ext, n->target);
	json_object_set_new(alert, "generatorURL", render_string(s));
	free(s);

	list = json_array();
	json_array_append_new(list, alert);
	/*
	 * Its severity changed: the alert of the old one, which Alertmanager
	 * holds apart (severity is a label), ends now, in the same body; a
	 * resolve ends it as it ends itself (one that replaced a queued
	 * change of severity, see note_carry_ended()).
	 */
	if (n->ended_severity != NULL && strcmp(n->ended_severity,
	    n->severity != NULL ? n->severity : "warning") != 0) {
		old = json_deep_copy(alert);
		json_object_set_new(json_object_get(old, "labels"),
		    "severity", json_string(n->ended_severity));
		if (n->status == NOTE_FIRING)
			json_object_set_new(old, "endsAt", render_time(now));
		json_array_append_new(list, old);
	}
	return list;
}

char *
webhook_render(const struct alert_note *n, const struct webhook_config *wc,
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
		j = webhook_render_am(n, wc, ext, now);
	else
		j = webhook_render_json(n, ext);
	free(ext);
	if ((body = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		fatalx("json_dumps failed");
	json_decref(j);
	return body;
}

const char *
webhook_format_name(enum webhook_format f)
{
	return f == WEBHOOK_ALERTMANAGER ? "alertmanager" : "json";
}
