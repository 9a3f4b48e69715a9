#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "profile.h"
#include "report.h"
#include "summary.h"
#include "xmalloc.h"

struct names {
	char		**list;
	uint32_t	  n, cap;
	struct idset	  set;
};

static bool
name_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct names	*nm = ctx;

	return strcmp(nm->list[id], key) == 0;
}

struct names *
names_new(void)
{
	struct names	*nm;

	nm = xcalloc(1, sizeof *nm);
	idset_init(&nm->set, 256);
	return nm;
}

void
names_free(struct names *nm)
{
	uint32_t	i;

	if (nm == NULL)
		return;
	for (i = 0; i < nm->n; i++)
		free(nm->list[i]);
	free(nm->list);
	idset_free(&nm->set);
	free(nm);
}

uint32_t
names_add(struct names *nm, const char *s)
{
	uint32_t	h, id;

	h = (uint32_t)hash_bytes(s, strlen(s), 0);
	if ((id = idset_find(&nm->set, h, name_eq, nm, s)) != HASH_NONE)
		return id;
	if (nm->n == nm->cap) {
		nm->cap = nm->cap == 0 ? 64 : nm->cap * 2;
		nm->list = xreallocarray(nm->list, nm->cap, sizeof *nm->list);
	}
	id = nm->n++;
	nm->list[id] = xstrdup(s);
	idset_add(&nm->set, h, id);
	return id;
}

const char *
names_get(const struct names *nm, uint32_t id)
{
	return nm->list[id];
}

size_t
names_count(const struct names *nm)
{
	return nm->n;
}

/* The index of a sample type, by name; -1 when absent. */
static int
type_index(const struct profile *p, const char *name)
{
	uint32_t	i;

	for (i = 0; i < p->ntypes; i++)
		if (strcmp(profile_type_name(p, i), name) == 0)
			return i;
	return -1;
}

static int64_t
type_total(const struct profile *p, int idx)
{
	int64_t	total = 0;
	size_t	s;

	for (s = 0; s < p->nsamples; s++)
		total += p->values[s * p->ntypes + idx];
	return total;
}

struct summary *
summary_make(const struct profile *p, const char *kind, const char *id,
    int64_t time_ms, struct names *nm, char **cause)
{
	struct summary	*s;
	struct report	*r;
	uint8_t		*taken;
	size_t		 i, n;
	int		 idx, oidx = -1, aidx = -1;

	if (strcmp(kind, "goroutine") == 0)
		idx = type_index(p, "goroutine");
	else {
		idx = type_index(p, "inuse_space");
		oidx = type_index(p, "inuse_objects");
		aidx = type_index(p, "alloc_space");
	}
	if (idx == -1 || (strcmp(kind, "heap") == 0 && oidx == -1)) {
		xasprintf(cause, "not a %s profile", kind);
		return NULL;
	}
	if ((r = report_top(p, idx, REPORT_BY_FLAT, cause)) == NULL)
		return NULL;
	s = xcalloc(1, sizeof *s);
	snprintf(s->id, sizeof s->id, "%s", id);
	s->time_ms = time_ms;
	s->profile_ns = p->time_nanos;
	s->total = type_total(p, idx);
	s->objects = oidx != -1 ? type_total(p, oidx) : 0;
	s->alloc = aidx != -1 ? type_total(p, aidx) : 0;
	s->fns = xreallocarray(NULL, SUMMARY_BY_FLAT + SUMMARY_BY_CUM + 1,
	    sizeof *s->fns);
	taken = xcalloc(r->nfns + 1, 1);
	/* The report is in flat order: the first are the largest flats. */
	for (i = 0; i < r->nfns && s->nfns < SUMMARY_BY_FLAT; i++) {
		if (r->fns[i].flat == 0)
			break;
		taken[i] = 1;
		s->fns[s->nfns].name = names_add(nm, r->fns[i].name);
		s->fns[s->nfns].flat = r->fns[i].flat;
		s->fns[s->nfns].cum = r->fns[i].cum;
		s->nfns++;
	}
	/* Then the largest cums not taken: callers of many small sites. */
	for (n = 0; n < SUMMARY_BY_CUM; n++) {
		size_t best = r->nfns;

		for (i = 0; i < r->nfns; i++)
			if (!taken[i] && (best == r->nfns ||
			    r->fns[i].cum > r->fns[best].cum))
				best = i;
		if (best == r->nfns || r->fns[best].cum <= 0)
			break;
		taken[best] = 1;
		s->fns[s->nfns].name = names_add(nm, r->fns[best].name);
		s->fns[s->nfns].flat = r->fns[best].flat;
		s->fns[s->nfns].cum = r->fns[best].cum;
		s->nfns++;
	}
	free(taken);
	report_free(r);
	return s;
}

void
summary_free(struct summary *s)
{
	if (s == NULL)
		return;
	free(s->fns);
	free(s);
}
