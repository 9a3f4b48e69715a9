#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "profile.h"
#include "report.h"
#include "summary.h"
#include "xmalloc.h"

/*
 * A name and the count of its holders (summaries and judgements), in one
 * allocation: a heap summary names 96 functions, and the replicas of a
 * service all name the same ones, so heapwatchd keeps one table for all
 * its targets and 10,000 replicas cost their names once, some 80 bytes a
 * name (string, header, id and two hash slots), rather than 16 KB each.
 */
struct name {
	uint32_t	 refs;
	char		 s[];
};

struct names {
	struct name	**list;		/* by id; NULL when free */
	uint32_t	 *spare;	/* ids freed, to reuse */
	uint32_t	  n, cap, nspare, live;
	struct idset	  set;
};

static bool
name_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct names	*nm = ctx;

	return strcmp(nm->list[id]->s, key) == 0;
}

struct names *
summary_names_new(void)
{
	struct names	*nm;

	nm = xcalloc(1, sizeof *nm);
	hash_set_init(&nm->set, 128);
	return nm;
}

void
summary_names_free(struct names *nm)
{
	uint32_t	i;

	if (nm == NULL)
		return;
	for (i = 0; i < nm->n; i++)
		free(nm->list[i]);
	free(nm->list);
	free(nm->spare);
	hash_set_free(&nm->set);
	free(nm);
}

uint32_t
summary_names_add(struct names *nm, const char *s)
{
	struct name	*e;
	uint32_t	 h, id;
	size_t		 len = strlen(s);

	h = (uint32_t)hash_bytes(s, len, 0);
	if ((id = hash_set_find(&nm->set, h, name_eq, nm, s)) != HASH_NONE) {
		nm->list[id]->refs++;
		return id;
	}
	if (nm->nspare > 0)
		id = nm->spare[--nm->nspare];
	else {
		if (nm->n == nm->cap) {
			nm->cap = nm->cap == 0 ? 64 : nm->cap * 2;
			nm->list = xreallocarray(nm->list, nm->cap,
			    sizeof *nm->list);
		}
		id = nm->n++;
	}
	e = xmalloc(sizeof *e + len + 1);
	e->refs = 1;
	memcpy(e->s, s, len + 1);
	nm->list[id] = e;
	nm->live++;
	hash_set_add(&nm->set, h, id);
	return id;
}

void
summary_names_hold(struct names *nm, uint32_t id)
{
	nm->list[id]->refs++;
}

void
summary_names_drop(struct names *nm, uint32_t id)
{
	struct name	*e = nm->list[id];

	if (--e->refs > 0)
		return;
	hash_set_remove(&nm->set, (uint32_t)hash_bytes(e->s, strlen(e->s),
	    0), id);
	free(e);
	nm->list[id] = NULL;
	if (nm->nspare % 64 == 0)
		nm->spare = xreallocarray(nm->spare, nm->nspare + 64,
		    sizeof *nm->spare);
	nm->spare[nm->nspare++] = id;
	nm->live--;
}

const char *
summary_names_get(const struct names *nm, uint32_t id)
{
	return nm->list[id]->s;
}

size_t
summary_names_count(const struct names *nm)
{
	return nm->live;
}

uint32_t
summary_names_refs(const struct names *nm, const char *s)
{
	uint32_t	id;

	id = hash_set_find(&nm->set, (uint32_t)hash_bytes(s, strlen(s), 0),
	    name_eq, nm, s);
	return id != HASH_NONE ? nm->list[id]->refs : 0;
}

struct summary_fns *
summary_fns_make(uint32_t n, bool cum)
{
	struct summary_fns	*f;
	size_t			 sz;

	/* The header, own and cum (8-byte values), then the names. */
	sz = sizeof *f + (size_t)n * ((cum ? 16 : 8) + sizeof *f->name);
	f = xmalloc(sz);
	memset(f, 0, sz);
	f->refs = 1;
	f->n = n;
	f->own = (int64_t *)(f + 1);
	f->cum = cum ? f->own + n : NULL;
	f->name = (uint32_t *)(f->own + (cum ? 2 * n : n));
	return f;
}

/* Give back a holder's reference; the last frees them and their names. */
static void
summary_fns_drop(struct names *nm, struct summary_fns *f)
{
	uint32_t	i;

	if (f == NULL || --f->refs > 0)
		return;
	if (nm != NULL)
		for (i = 0; i < f->n; i++)
			summary_names_drop(nm, f->name[i]);
	free(f);
}

void
summary_rename(struct summary *s, struct names *to)
{
	struct summary_fns	*f = s->fns, *c;
	uint32_t		 i;

	if (s->names == to)
		return;
	c = summary_fns_make(f->n, f->cum != NULL);
	memcpy(c->own, f->own, f->n * sizeof *f->own);
	if (f->cum != NULL)
		memcpy(c->cum, f->cum, f->n * sizeof *f->cum);
	for (i = 0; i < f->n; i++)
		c->name[i] = summary_names_add(to, summary_names_get(s->names,
		    f->name[i]));
	summary_fns_drop(s->names, f);
	s->fns = c;
	s->names = to;
}

bool
summary_share(struct summary *s, const struct summary *prev)
{
	const struct summary_fns	*a = s->fns, *b = prev->fns;

	if (s->names != prev->names || a == b || a->n != b->n ||
	    (a->cum == NULL) != (b->cum == NULL) ||
	    memcmp(a->own, b->own, a->n * sizeof *a->own) != 0 ||
	    memcmp(a->name, b->name, a->n * sizeof *a->name) != 0 ||
	    (a->cum != NULL &&
	    memcmp(a->cum, b->cum, a->n * sizeof *a->cum) != 0))
		return false;
	summary_fns_drop(s->names, s->fns);
	s->fns = prev->fns;
	s->fns->refs++;
	return true;
}

struct summary *
summary_copy(const struct summary *s)
{
	struct summary	*c;

	c = xmalloc(sizeof *c);
	*c = *s;
	c->fns->refs++;
	return c;
}

struct summary *
summary_again(const struct summary *s, const char *id, int64_t time_ms,
    int64_t profile_ns)
{
	struct summary	*c = summary_copy(s);

	snprintf(c->id, sizeof c->id, "%s", id);
	c->time_ms = time_ms;
	c->profile_ns = profile_ns;
	return c;
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

int
summary_is_runtime(const char *name)
{
	return strncmp(name, "runtime.", 8) == 0 ||
	    strncmp(name, "runtime/", 8) == 0;
}

/*
 * Each function's own value: a sample's value goes to its innermost frame
 * outside the runtime, or to its innermost frame if all are the runtime's.
 */
static int64_t *
own_values(const struct profile *p, int idx)
{
	const struct sym_loc	*locs = symtab_locs(p->st), *loc;
	const struct sym_line	*lines = symtab_lines(p->st);
	uint32_t		 nnodes = symtab_nnodes(p->st);
	const uint32_t		*stack;
	int64_t			*own, v;
	uint32_t		 i, j, k, n, node, leaf;
	uint8_t			*rt;
	size_t			 s;

	/* Named once per function, not once per frame of every sample. */
	rt = xcalloc(nnodes + 1, 1);
	for (i = 0; i < nnodes; i++)
		rt[i] = summary_is_runtime(symtab_node(p->st, i)->label);
	own = xcalloc(nnodes + 1, sizeof *own);
	for (s = 0; s < p->nsamples; s++) {
		if ((v = p->values[s * p->ntypes + idx]) == 0)
			continue;
		stack = &p->stacks[p->stack_off[s]];
		n = p->stack_off[s + 1] - p->stack_off[s];
		if (n == 0)
			continue;
		leaf = lines[locs[stack[0]].line0].node;
		node = SYM_NONE;
		for (i = 0; i < n && node == SYM_NONE; i++) {
			loc = &locs[stack[i]];
			k = loc->nlines > 0 ? loc->nlines : 1;
			for (j = 0; j < k; j++)
				if (!rt[lines[loc->line0 + j].node]) {
					node = lines[loc->line0 + j].node;
					break;
				}
		}
		own[node != SYM_NONE ? node : leaf] += v;
	}
	free(rt);
	return own;
}

struct summary *
summary_make(const struct profile *p, const char *kind, const char *id,
    int64_t time_ms, struct names *nm, char **cause)
{
	struct summary	*s;
	struct report	*r;
	int64_t		*own, v;
	uint8_t		*taken;
	size_t		 top[SUMMARY_BY_OWN + SUMMARY_BY_CUM], ntop, i, n;
	size_t		 best;
	int		 idx, oidx = -1, aidx = -1;

	if (strcmp(kind, "goroutine") == 0 || strcmp(kind, "goroutineleak") == 0)
		idx = type_index(p, kind);
	else {
		idx = type_index(p, "inuse_space");
		oidx = type_index(p, "inuse_objects");
		aidx = type_index(p, "alloc_space");
	}
	if (idx == -1 || (strcmp(kind, "heap") == 0 && oidx == -1)) {
		xasprintf(cause, "not a %s profile", kind);
		return NULL;
	}
	if ((r = report_cum(p, idx, cause)) == NULL)
		return NULL;
	own = own_values(p, idx);
	s = xcalloc(1, sizeof *s);
	snprintf(s->id, sizeof s->id, "%s", id);
	s->names = nm;
	s->time_ms = time_ms;
	s->profile_ns = p->time_nanos;
	s->total = type_total(p, idx);
	s->objects = oidx != -1 ? type_total(p, oidx) : 0;
	s->alloc = aidx != -1 ? type_total(p, aidx) : 0;
	taken = xcalloc(r->nfns + 1, 1);
	/*
	 * The largest own values first, of equal ones the first in the
	 * report: kept in order in one pass over the report, rather than
	 * a pass for each.
	 */
	for (i = 0, ntop = 0; i < r->nfns; i++) {
		v = own[r->fns[i].node];
		if (v <= 0 || (ntop == SUMMARY_BY_OWN &&
		    v <= own[r->fns[top[ntop - 1]].node]))
			continue;
		if (ntop < SUMMARY_BY_OWN)
			ntop++;
		for (n = ntop - 1; n > 0 &&
		    own[r->fns[top[n - 1]].node] < v; n--)
			top[n] = top[n - 1];
		top[n] = i;
	}
	for (n = 0; n < ntop; n++)
		taken[top[n]] = 1;
	/* Then the largest cums not taken: the report is in cum order. */
	for (i = 0, n = 0; i < r->nfns && n < SUMMARY_BY_CUM; i++) {
		if (taken[i] || r->fns[i].cum <= 0)
			continue;
		top[ntop++] = i;
		n++;
	}
	/*
	 * A heap is judged by its functions' own values alone: their cum
	 * (which picked some of them) is kept for goroutine profiles only,
	 * where it tells the traffic. 12 bytes a function rather than 24
	 * (a name, own and cum, padded), 1.2 KB a summary rather than 2.3.
	 */
	s->fns = summary_fns_make((uint32_t)ntop, strcmp(kind, "heap") != 0);
	for (n = 0; n < ntop; n++) {
		best = top[n];
		s->fns->name[n] = summary_names_add(nm, r->fns[best].name);
		s->fns->own[n] = own[r->fns[best].node];
		if (s->fns->cum != NULL)
			s->fns->cum[n] = r->fns[best].cum;
	}
	free(taken);
	free(own);
	report_free(r);
	return s;
}

void
summary_free(struct summary *s)
{
	if (s == NULL)
		return;
	summary_fns_drop(s->names, s->fns);
	free(s);
}
