/*
 * The alert note: its copy into one arena and the names of its enums.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "log.h"
#include "note.h"
#include "xmalloc.h"

const char *
note_status_name(enum note_status s)
{
	return s == NOTE_RESOLVED ? "resolved" : "firing";
}

const char *
note_kind_name(enum note_kind k)
{
	return k == NOTE_GOROUTINE ? "goroutine" : "heap";
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
struct note *
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
	a->horizon = note_strdup(nt->arena, src->horizon);
	a->base_snapshot = note_strdup(nt->arena, src->base_snapshot);
	a->current_snapshot = note_strdup(nt->arena, src->current_snapshot);
	a->severity = note_strdup(nt->arena, src->severity);
	a->ended_severity = note_strdup(nt->arena, src->ended_severity);
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

struct note *
note_carry_ended(struct note *nt, const struct note *old)
{
	struct alert_note	 a = nt->a;
	const char		*ended = old->a.ended_severity;

	if (ended == NULL || nt->a.ended_severity != NULL ||
	    strcmp(ended, nt->a.severity != NULL ? nt->a.severity :
	    "warning") == 0)
		return nt;
	a.ended_severity = ended;
	return note_copy(&a);
}

/* A queue lets go of a note; the last one frees it. */
void
note_release(struct note *nt)
{
	if (nt == NULL || --nt->refs > 0)
		return;
	arena_free(nt->arena);
	free(nt);
}
