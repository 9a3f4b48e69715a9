/*
 * The notifier's spool entries: a note queued for a receiver, as the JSON
 * text written to the spool (spool.h) and read back after a restart.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "entry.h"
#include "log.h"
#include "note.h"
#include "render.h"
#include "webhook.h"
#include "xmalloc.h"

#define ENTRY_VERSION	1	/* of a spool entry's JSON */
#define ENTRY_TOP_MAX	64	/* functions in a spooled note, at most */

/*
 * A delivery as a spool entry: one JSON object naming its receiver (url
 * and format), when it was queued, and every field of the note, so that
 * the body can be rendered again after a restart.
 */
char *
entry_text(const char *url, enum webhook_format format, int64_t queued,
    const struct alert_note *a)
{
	const struct note_function	*f;
	json_t				*o, *n, *labels, *top, *fn, *stack;
	char				*text;
	size_t				 i, j;

	n = json_object();
	json_object_set_new(n, "status", json_string(
	    note_status_name(a->status)));
	json_object_set_new(n, "key", render_string(a->key));
	json_object_set_new(n, "target", render_string(a->target));
	labels = json_array();
	for (i = 0; i < a->nlabels; i++)
		json_array_append_new(labels, json_pack("[oo]",
		    render_string(a->labels[i].name),
		    render_string(a->labels[i].value)));
	json_object_set_new(n, "labels", labels);
	json_object_set_new(n, "kind", json_string(note_kind_name(a->kind)));
	json_object_set_new(n, "since", json_integer(a->since));
	json_object_set_new(n, "ends", json_integer(a->ends));
	json_object_set_new(n, "growth", json_integer(a->growth));
	json_object_set_new(n, "window_seconds",
	    json_integer((json_int_t)a->window_seconds));
	json_object_set_new(n, "summary", render_string(a->summary));
	json_object_set_new(n, "signals", render_string(a->signals));
	json_object_set_new(n, "horizon", render_string(a->horizon));
	top = json_array();
	for (i = 0; i < a->ntop; i++) {
		f = &a->top[i];
		stack = json_array();
		for (j = 0; j < f->nstack && j < NOTE_FRAMES; j++)
			json_array_append_new(stack,
			    render_string(f->stack[j]));
		fn = json_object();
		json_object_set_new(fn, "function", render_string(f->function));
		json_object_set_new(fn, "growth", json_integer(f->growth));
		json_object_set_new(fn, "file", render_string(f->file));
		json_object_set_new(fn, "line", json_integer(f->line));
		json_object_set_new(fn, "stack", stack);
		json_array_append_new(top, fn);
	}
	json_object_set_new(n, "top", top);
	json_object_set_new(n, "base_snapshot",
	    render_string(a->base_snapshot));
	json_object_set_new(n, "current_snapshot",
	    render_string(a->current_snapshot));
	json_object_set_new(n, "severity", render_string(a->severity));
	json_object_set_new(n, "ended_severity",
	    render_string(a->ended_severity));
	json_object_set_new(n, "evidence", render_string(a->evidence));
	if (a->limited)
		json_object_set_new(n, "time_to_limit",
		    json_integer(a->time_to_limit));

	o = json_object();
	json_object_set_new(o, "version", json_integer(ENTRY_VERSION));
	json_object_set_new(o, "receiver", render_string(url));
	json_object_set_new(o, "format",
	    json_string(webhook_format_name(format)));
	json_object_set_new(o, "queued", json_integer(queued));
	json_object_set_new(o, "note", n);
	if ((text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)) ==
	    NULL)
		fatalx("json_dumps failed");
	json_decref(o);
	return text;
}

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

/* The note's own fields, each checked, into a (its strings are n's). */
static bool
entry_note(json_t *n, struct alert_note *a, char **cause)
{
	int64_t	v;
	int	e;

	if (!entry_enum(n, "status", "firing", "resolved", &e, cause))
		return false;
	a->status = e ? NOTE_RESOLVED : NOTE_FIRING;
	if (!entry_enum(n, "kind", "heap", "goroutine", &e, cause))
		return false;
	a->kind = e ? NOTE_GOROUTINE : NOTE_HEAP;
	if (!entry_str(n, "key", false, &a->key, cause) ||
	    !entry_str(n, "target", false, &a->target, cause) ||
	    !entry_int(n, "since", 0, &a->since, cause) ||
	    !entry_int(n, "ends", 0, &a->ends, cause) ||
	    !entry_int(n, "growth", INT64_MIN, &a->growth, cause) ||
	    !entry_int(n, "window_seconds", 0, &v, cause) ||
	    !entry_str(n, "summary", true, &a->summary, cause) ||
	    !entry_str(n, "signals", true, &a->signals, cause) ||
	    !entry_str(n, "horizon", true, &a->horizon, cause) ||
	    !entry_str(n, "base_snapshot", true, &a->base_snapshot, cause) ||
	    !entry_str(n, "current_snapshot", true, &a->current_snapshot,
	    cause) ||
	    !entry_str(n, "severity", true, &a->severity, cause) ||
	    !entry_str(n, "ended_severity", true, &a->ended_severity,
	    cause) ||
	    !entry_str(n, "evidence", true, &a->evidence, cause))
		return false;
	a->window_seconds = (uint64_t)v;
	/* Entries written before limits were known have none. */
	if (json_object_get(n, "time_to_limit") != NULL) {
		if (!entry_int(n, "time_to_limit", -1, &a->time_to_limit,
		    cause))
			return false;
		a->limited = true;
	}
	return true;
}

/*
 * The note's labels, [name, value] pairs, into *labels (the caller's to
 * free, even on failure; the strings are n's).
 */
static bool
entry_labels(json_t *n, struct config_pair **labels, size_t *nlabels,
    char **cause)
{
	json_t	*l, *pair;
	size_t	 i;

	*labels = NULL;
	l = json_object_get(n, "labels");
	if (!json_is_array(l)) {
		xasprintf(cause, "\"labels\": expected a list");
		return false;
	}
	*labels = xcalloc(json_array_size(l) + 1, sizeof **labels);
	json_array_foreach(l, i, pair) {
		if (!json_is_array(pair) || json_array_size(pair) != 2 ||
		    !json_is_string(json_array_get(pair, 0)) ||
		    !json_is_string(json_array_get(pair, 1))) {
			xasprintf(cause, "\"labels\": label %zu: expected "
			    "[name, value]", i);
			return false;
		}
		(*labels)[i].name = (char *)json_string_value(
		    json_array_get(pair, 0));
		(*labels)[i].value = (char *)json_string_value(
		    json_array_get(pair, 1));
	}
	*nlabels = json_array_size(l);
	return true;
}

/*
 * Take a spool entry apart: check every field and copy the note; the url
 * points into *root, which the caller lets go of once done with it.
 */
static int
entry_parse_json(const char *text, size_t len, json_t **root,
    const char **url, struct entry *sp, char **cause)
{
	struct alert_note	 a;
	struct config_pair	*labels = NULL;
	struct note_function	*top = NULL;
	json_error_t		 err;
	json_t			*o, *n, *l;
	int64_t			 v;
	int			 e;
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
	if (!entry_str(o, "receiver", false, url, cause) ||
	    !entry_enum(o, "format", "json", "alertmanager", &e, cause) ||
	    !entry_int(o, "queued", 0, &sp->queued, cause))
		return -1;
	sp->format = e ? WEBHOOK_ALERTMANAGER : WEBHOOK_JSON;

	if (!entry_note(n, &a, cause))
		return -1;
	if (!entry_labels(n, &labels, &a.nlabels, cause))
		goto out;
	a.labels = labels;

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

int
entry_parse(const char *text, size_t len, struct entry *e, char **cause)
{
	json_t		*root = NULL;
	const char	*url = NULL;
	int		 rc;

	rc = entry_parse_json(text, len, &root, &url, e, cause);
	e->url = rc == 0 ? xstrdup(url) : NULL;
	json_decref(root);
	return rc;
}

void
entry_clear(struct entry *e)
{
	free(e->url);
	e->url = NULL;
}
