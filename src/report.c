#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "profile.h"
#include "report.h"
#include "xmalloc.h"

/*
 * The calls into functions that are sometimes inlined, as (caller node,
 * callee node) pairs with how each was seen: pprof marks a function
 * "(inline)" when all its calls were inlined and "(partial-inline)" when
 * some were, deciding per calling function.
 */
#define CALL_INLINE	1
#define CALL_NOINLINE	2

struct calls {
	uint64_t	*keys;		/* caller << 32 | callee, + 1 */
	uint8_t		*how;
	uint32_t	 mask;
	uint32_t	 count;
};

static void
calls_add(struct calls *c, uint32_t caller, uint32_t callee, uint8_t how)
{
	uint64_t	 key = ((uint64_t)caller << 32 | callee) + 1, *keys;
	uint8_t		*hows;
	uint32_t	 i, n;

	if ((c->count + 1) * 2 > c->mask + 1) {
		keys = c->keys;
		hows = c->how;
		n = c->mask + 1;
		c->mask = n == 1 ? 255 : n * 2 - 1;
		c->keys = xcalloc(c->mask + 1, sizeof *c->keys);
		c->how = xcalloc(c->mask + 1, sizeof *c->how);
		c->count = 0;
		for (i = 0; keys != NULL && i < n; i++)
			if (keys[i] != 0)
				calls_add(c, (keys[i] - 1) >> 32,
				    (uint32_t)(keys[i] - 1), hows[i]);
		free(keys);
		free(hows);
	}
	for (i = (uint32_t)hash_word(0, key) & c->mask; c->keys[i] != 0;
	    i = (i + 1) & c->mask)
		if (c->keys[i] == key) {
			c->how[i] |= how;
			return;
		}
	c->keys[i] = key;
	c->how[i] = how;
	c->count++;
}

#define LOC_PAIRS	1	/* lines of several functions, to note */
#define LOC_TOPINL	2	/* its outermost function is ever inlined */

struct inl_parent {
	uint32_t	 node;
	uint8_t		 how;		/* CALL_INLINE | CALL_NOINLINE */
};

/* Per-node and per-location sums while samples are walked. */
struct acc {
	const struct symtab	*st;
	const struct sym_loc	*locs;
	const struct sym_line	*lines;
	const struct sym_node	*nodes;
	uint32_t		 nnodes;
	uint32_t		 nlocs;
	int64_t			*flat;
	int64_t			*cum;
	int64_t			*locv;
	uint8_t			*locflags;	/* LOC_PAIRS | LOC_TOPINL */
	uint32_t		*above;		/* the last location above, + 1 */
	uint32_t		*nodestamp;
	uint32_t		*locnode;	/* report_cum()'s: see there */
	uint32_t		*locstamp;
	uint32_t		 stamp;
	int64_t			 net;
	/*
	 * For pprof's inline marks: the functions each inlined function is
	 * inlined into (ipar[ipoff[n]..ipoff[n + 1]]), with how each call
	 * was seen, and whether the function was ever called not inlined.
	 */
	uint32_t		*ipoff;
	uint32_t		*ipfill;
	struct inl_parent	*ipar;
	uint8_t			*noinline;
};

static void	acc_inline_parents(struct acc *);

/* What flat and cum alone take: a report with no sites nor inline marks. */
static void
acc_init_cum(struct acc *a, const struct symtab *st)
{
	memset(a, 0, sizeof *a);
	a->st = st;
	a->locs = symtab_locs(st);
	a->lines = symtab_lines(st);
	a->nodes = symtab_nodes(st);
	a->nnodes = symtab_nnodes(st);
	a->nlocs = symtab_nlocs(st);
	a->flat = xcalloc(a->nnodes + 1, sizeof *a->flat);
	a->cum = xcalloc(a->nnodes + 1, sizeof *a->cum);
	a->nodestamp = xcalloc(a->nnodes + 1, sizeof *a->nodestamp);
}

static void
acc_init(struct acc *a, const struct symtab *st)
{
	const struct sym_line	*ln;
	uint32_t		 i, j, k;

	acc_init_cum(a, st);
	a->locv = xcalloc(a->nlocs + 1, sizeof *a->locv);
	a->locflags = xcalloc(a->nlocs + 1, sizeof *a->locflags);
	a->above = xcalloc(a->nlocs + 1, sizeof *a->above);
	a->noinline = xcalloc(a->nnodes + 1, sizeof *a->noinline);
	for (i = 0; i < a->nlocs; i++) {
		k = a->locs[i].nlines > 0 ? a->locs[i].nlines : 1;
		ln = &a->lines[a->locs[i].line0];
		for (j = 0; j + 1 < k; j++)
			if (ln[j].node != ln[j + 1].node)
				a->locflags[i] |= LOC_PAIRS;
		if (a->nodes[ln[k - 1].node].inlined)
			a->locflags[i] |= LOC_TOPINL;
	}
	acc_inline_parents(a);
	a->locstamp = xcalloc(a->nlocs + 1, sizeof *a->locstamp);
}

static void
acc_free(struct acc *a)
{
	free(a->ipoff);
	free(a->ipfill);
	free(a->ipar);
	free(a->noinline);
	free(a->flat);
	free(a->cum);
	free(a->locv);
	free(a->locflags);
	free(a->above);
	free(a->nodestamp);
	free(a->locnode);
	free(a->locstamp);
}

/*
 * Note the calls of one stack that pprof draws as edges, walking it as
 * pprof does, from the root: each frame is called by the frame before it,
 * inlined when both are lines of one location. With kept, frames of other
 * functions are passed over and the call comes from the nearest kept
 * frame, as in pprof's graph of its top nodes. Only calls into functions
 * that are ever inlined are noted: the others are never marked.
 */
static void
walk_calls(struct calls *c, const struct symtab *st, const uint32_t *stack,
    uint32_t n, const uint8_t *kept)
{
	const struct sym_loc	*locs = symtab_locs(st), *loc;
	const struct sym_line	*lines = symtab_lines(st);
	const struct sym_node	*nodes = symtab_nodes(st);
	uint32_t		 i, j, k, node, parent = SYM_NONE;

	for (i = n; i-- > 0;) {
		loc = &locs[stack[i]];
		k = loc->nlines > 0 ? loc->nlines : 1;
		for (j = k; j-- > 0;) {
			node = lines[loc->line0 + j].node;
			if (kept != NULL && !kept[node])
				continue;
			if (parent != SYM_NONE && parent != node &&
			    nodes[node].inlined)
				calls_add(c, parent, node, j != k - 1 ?
				    CALL_INLINE : CALL_NOINLINE);
			parent = node;
		}
	}
}

/* Every function each ever-inlined function is inlined into, once. */
static void
acc_inline_parents(struct acc *a)
{
	const struct sym_loc	*loc;
	const struct sym_line	*ln;
	uint32_t		*fill, i, j, k, n, child, parent, total = 0;

	a->ipoff = xcalloc(a->nnodes + 2, sizeof *a->ipoff);
	for (i = 0; i < a->nlocs; i++) {
		loc = &a->locs[i];
		ln = &a->lines[loc->line0];
		for (j = 0; j + 1 < loc->nlines; j++)
			if (ln[j].node != ln[j + 1].node) {
				a->ipoff[ln[j].node + 1]++;
				total++;
			}
	}
	for (i = 0; i < a->nnodes; i++)
		a->ipoff[i + 1] += a->ipoff[i];
	a->ipar = xreallocarray(NULL, total + 1, sizeof *a->ipar);
	fill = xcalloc(a->nnodes + 1, sizeof *fill);
	for (i = 0; i < a->nlocs; i++) {
		loc = &a->locs[i];
		ln = &a->lines[loc->line0];
		for (j = 0; j + 1 < loc->nlines; j++) {
			child = ln[j].node;
			parent = ln[j + 1].node;
			if (child == parent)
				continue;
			n = fill[child];
			for (k = 0; k < n; k++)
				if (a->ipar[a->ipoff[child] + k].node == parent)
					break;
			if (k == n) {
				a->ipar[a->ipoff[child] + n].node = parent;
				a->ipar[a->ipoff[child] + n].how = 0;
				fill[child]++;
			}
		}
	}
	a->ipfill = fill;	/* each list's length, without duplicates */
}

/* The entry for parent in child's inline parents, or NULL. */
static struct inl_parent *
ip_find(struct acc *a, uint32_t child, uint32_t parent)
{
	uint32_t	i, n = a->ipfill[child];

	for (i = 0; i < n; i++)
		if (a->ipar[a->ipoff[child] + i].node == parent)
			return &a->ipar[a->ipoff[child] + i];
	return NULL;
}

/*
 * Note how frame i of a stack is called, for pprof's inline marks, as
 * pprof's graph would when every function is kept: a line of a location is
 * called inlined by the line after it, which does not depend on the stack
 * and is noted once per location; its outermost line is called, not
 * inlined, by the innermost line of the frame above, noted once per pair
 * of locations in a row. Only locations with a function that is ever
 * inlined get here.
 */
static void
acc_calls(struct acc *a, const uint32_t *stack, uint32_t n, uint32_t i)
{
	const struct sym_loc	*loc = &a->locs[stack[i]];
	const struct sym_line	*ln = &a->lines[loc->line0];
	struct inl_parent	*ip;
	uint32_t		 j, k, top, parent;

	k = loc->nlines > 0 ? loc->nlines : 1;
	if (a->locflags[stack[i]] & LOC_PAIRS) {
		a->locflags[stack[i]] &= ~LOC_PAIRS;	/* noted once */
		for (j = 0; j + 1 < k; j++)
			if ((ip = ip_find(a, ln[j].node, ln[j + 1].node)) !=
			    NULL)
				ip->how |= CALL_INLINE;
	}
	top = ln[k - 1].node;
	if (i + 1 == n || !(a->locflags[stack[i]] & LOC_TOPINL) ||
	    a->above[stack[i]] == stack[i + 1] + 1)
		return;
	a->above[stack[i]] = stack[i + 1] + 1;
	parent = a->lines[a->locs[stack[i + 1]].line0].node;
	if (parent == top)
		return;
	a->noinline[top] = 1;
	if ((ip = ip_find(a, top, parent)) != NULL)
		ip->how |= CALL_NOINLINE;
}

/* Add v to the cum of the functions of location l not yet given it. */
static inline void
acc_cum(struct acc *a, uint32_t l, int64_t v, uint32_t stamp)
{
	const struct sym_loc	*loc = &a->locs[l];
	uint32_t		 j, k, node;

	k = loc->nlines > 0 ? loc->nlines : 1;
	for (j = 0; j < k; j++) {
		node = a->lines[loc->line0 + j].node;
		if (a->nodestamp[node] != stamp) {
			a->nodestamp[node] = stamp;
			a->cum[node] += v;
		}
	}
}

/*
 * Add v to the functions of one stack: flat to the innermost frame, cum
 * once to each function present, and once to each distinct location for
 * the sites.
 */
static void
acc_stack(struct acc *a, const uint32_t *stack, uint32_t n, int64_t v)
{
	uint32_t	i, stamp = ++a->stamp;

	a->net += v;
	for (i = 0; i < n; i++) {
		if (a->locflags[stack[i]] != 0)
			acc_calls(a, stack, n, i);
		if (a->locstamp[stack[i]] == stamp)
			continue;	/* recursion: seen already */
		a->locstamp[stack[i]] = stamp;
		a->locv[stack[i]] += v;
		acc_cum(a, stack[i], v, stamp);
	}
	if (n > 0)
		a->flat[a->lines[a->locs[stack[0]].line0].node] += v;
}

/*
 * acc_stack() for flat and cum alone. A location of one line (most) is
 * taken to its node by one load from locnode[], not through the location
 * and its lines: the cums of the fixture's "many" profile took a quarter
 * of what a worker of heapwatchd spends on it.
 */
static void
acc_stack_cum(struct acc *a, const uint32_t *stack, uint32_t n, int64_t v)
{
	uint32_t	i, node, stamp = ++a->stamp;

	a->net += v;
	for (i = 0; i < n; i++) {
		if ((node = a->locnode[stack[i]]) == SYM_NONE)
			acc_cum(a, stack[i], v, stamp);
		else if (a->nodestamp[node] != stamp) {
			a->nodestamp[node] = stamp;
			a->cum[node] += v;
		}
	}
	if (n > 0)
		a->flat[a->lines[a->locs[stack[0]].line0].node] += v;
}

static void
acc_profile(struct acc *a, const struct profile *p, int idx)
{
	size_t	s;
	int64_t	v;

	for (s = 0; s < p->nsamples; s++)
		if ((v = p->values[s * p->ntypes + idx]) != 0)
			acc_stack(a, &p->stacks[p->stack_off[s]],
			    p->stack_off[s + 1] - p->stack_off[s], v);
}

static uint64_t
uabs(int64_t v)
{
	return v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
}

/* ---- merging samples, for a diff's total -------------------------------- */

struct msample {
	const uint32_t	*stack;
	uint32_t	 n;
	uint32_t	 ls;
	int64_t		 v;
};

struct merger {
	struct msample	*ms;
	uint32_t	 nms, capms;
	struct idset	 set;
};

static bool
msample_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct merger	*m = ctx;
	const struct msample	*a = &m->ms[id], *b = key;

	return a->n == b->n && a->ls == b->ls && (a->n == 0 ||
	    memcmp(a->stack, b->stack, a->n * sizeof *a->stack) == 0);
}

static void
merger_add(struct merger *m, const struct profile *p, int idx, int sign)
{
	struct msample	 k;
	uint32_t	 h, id;
	size_t		 s;

	for (s = 0; s < p->nsamples; s++) {
		k.v = p->values[s * p->ntypes + idx];
		if (k.v == 0)
			continue;
		if (sign < 0)
			k.v = (int64_t)(0 - (uint64_t)k.v);
		k.stack = &p->stacks[p->stack_off[s]];
		k.n = p->stack_off[s + 1] - p->stack_off[s];
		k.ls = p->labelset[s];
		h = (uint32_t)hash_bytes(k.stack, k.n * sizeof *k.stack, k.ls);
		id = hash_set_find(&m->set, h, msample_eq, m, &k);
		if (id != HASH_NONE) {
			m->ms[id].v += k.v;
			continue;
		}
		if (m->nms == m->capms) {
			m->capms = m->capms == 0 ? 1024 : m->capms * 2;
			m->ms = xreallocarray(m->ms, m->capms, sizeof *m->ms);
		}
		m->ms[m->nms] = k;
		hash_set_add(&m->set, h, m->nms++);
	}
}

/*
 * A diff as pprof computes it: the samples of both profiles merged by
 * stack and labels, current minus base, and the report made of the merged
 * samples; the total is the sum of their absolute values. Samples that
 * cancel out, as most do between two close profiles, cost nothing more.
 */
struct report_stacks {
	struct msample	*ms;
	uint32_t	 n;
};

static int64_t
acc_diff(struct acc *a, const struct profile *base, const struct profile *cur,
    int idx, struct report_stacks **keep)
{
	struct merger	 m;
	uint64_t	 total = 0;
	uint32_t	 i;

	/*
	 * Most samples of two profiles of a service merge: room for those of
	 * the current one and a quarter more, made at once rather than by
	 * doubling, which copied the array and faulted in each copy.
	 */
	memset(&m, 0, sizeof m);
	m.capms = cur->nsamples + base->nsamples / 4 + 1;
	m.ms = xmalloc_huge(m.capms, sizeof *m.ms);
	hash_set_init(&m.set, cur->nsamples + base->nsamples / 4);
	merger_add(&m, cur, idx, 1);
	merger_add(&m, base, idx, -1);
	for (i = 0; i < m.nms; i++) {
		if (m.ms[i].v == 0)
			continue;
		total += uabs(m.ms[i].v);
		acc_stack(a, m.ms[i].stack, m.ms[i].n, m.ms[i].v);
	}
	hash_set_free(&m.set);
	*keep = xcalloc(1, sizeof **keep);
	(*keep)->ms = m.ms;
	(*keep)->n = m.nms;
	return (int64_t)total;
}

/* ---- building the report ------------------------------------------------ */

static int
fn_cmp(const void *a, const void *b, void *arg)
{
	const struct report_fn	*x = a, *y = b;
	enum report_order	 sort_order = *(enum report_order *)arg;
	uint64_t		 xk1, yk1, xk2, yk2;
	int			 c;

	if (sort_order == REPORT_BY_CUM) {
		xk1 = uabs(x->cum), yk1 = uabs(y->cum);
		xk2 = uabs(x->flat), yk2 = uabs(y->flat);
	} else {
		xk1 = uabs(x->flat), yk1 = uabs(y->flat);
		xk2 = uabs(x->cum), yk2 = uabs(y->cum);
	}
	if (xk1 != yk1)
		return xk1 > yk1 ? -1 : 1;
	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	if (xk2 != yk2)
		return xk2 > yk2 ? -1 : 1;
	return x->node < y->node ? -1 : x->node > y->node;
}

struct site {
	uint32_t	node;
	uint32_t	line;		/* symtab line id */
	int64_t		lineno;
};

static int
site_cmp(const void *a, const void *b)
{
	const struct site	*x = a, *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	if (x->lineno != y->lineno)
		return x->lineno < y->lineno ? -1 : 1;
	return 0;
}

/*
 * Each function's site: sum the per-line values by (function, line
 * number), since one source line may have several locations, and keep the
 * line with the largest absolute sum. Only JSON shows sites, so they are
 * found when first asked for.
 */
void
report_sites(struct report *r)
{
	const struct symtab	*st = r->profile->st;
	const struct sym_loc	*locs = symtab_locs(st), *loc;
	const struct sym_line	*lines = symtab_lines(st), *ln;
	struct site		*s;
	uint64_t		*best;
	uint32_t		*fnof;
	int64_t			*linev, sum;
	uint32_t		 i, j, l, n = 0, k, nlines, nnodes;

	if (r->locv == NULL)
		return;
	nnodes = symtab_nnodes(st);
	fnof = xreallocarray(NULL, nnodes + 1, sizeof *fnof);
	for (i = 0; i < nnodes; i++)
		fnof[i] = SYM_NONE;
	for (i = 0; i < r->nfns; i++)
		fnof[r->fns[i].node] = i;
	/* A location's value goes to each of its lines. */
	nlines = symtab_nlines(st);
	linev = xcalloc(nlines + 1, sizeof *linev);
	s = xreallocarray(NULL, nlines + 1, sizeof *s);
	for (l = 0; l < r->nlocs; l++) {
		if (r->locv[l] == 0)
			continue;
		loc = &locs[l];
		for (j = 0; j < loc->nlines; j++) {
			i = loc->line0 + j;
			ln = &lines[i];
			if (fnof[ln->node] == SYM_NONE)
				continue;
			linev[i] = r->locv[l];
			s[n].node = ln->node;
			s[n].line = i;
			s[n].lineno = ln->line;
			n++;
		}
	}
	qsort(s, n, sizeof *s, site_cmp);
	best = xcalloc(r->nfns + 1, sizeof *best);
	for (i = 0; i < n; i = j) {
		sum = 0;
		for (j = i; j < n && s[j].node == s[i].node &&
		    s[j].lineno == s[i].lineno; j++)
			sum += linev[s[j].line];
		k = fnof[s[i].node];
		if (r->fns[k].file == NULL || uabs(sum) > best[k]) {
			best[k] = uabs(sum);
			ln = &lines[s[i].line];
			r->fns[k].file = symtab_str(st,
			    symtab_func(st, ln->func)->filename)->s;
			r->fns[k].line = ln->line;
		}
	}
	free(best);
	free(linev);
	free(s);
	free(fnof);
	free(r->locv);
	r->locv = NULL;
}

static enum report_inline
inline_mark(bool inlined, bool noinline)
{
	if (!inlined)
		return REPORT_NOT_INLINED;
	return noinline ? REPORT_PARTLY_INLINED : REPORT_INLINED;
}

/*
 * Mark each function as pprof does: "(inline)" when some function calls
 * it only inlined and none calls it otherwise, "(partial-inline)" when
 * some call it inlined only and some not.
 */
static void
mark_inlined(const struct acc *a, struct report *r)
{
	const struct inl_parent	*ip;
	uint32_t		 i, j, node;
	bool			 inl;

	for (i = 0; i < r->nfns; i++) {
		node = r->fns[i].node;
		inl = false;
		for (j = 0; j < a->ipfill[node]; j++) {
			ip = &a->ipar[a->ipoff[node] + j];
			inl |= ip->how == CALL_INLINE;
		}
		r->fns[i].inlined = inline_mark(inl, a->noinline[node]);
	}
}

/* The report of what acc gathered; it takes acc's per-location sums, if
 * any. */
static struct report *
report_build(struct acc *a, const struct profile *p, int idx,
    enum report_order order, int64_t total)
{
	struct report	*r;
	uint32_t	 i;

	r = xcalloc(1, sizeof *r);
	r->profile = p;
	r->sample_index = idx;
	r->sample_type = profile_type_name(p, idx);
	r->unit = profile_type_unit(p, idx);
	r->total = total;
	r->net = a->net;
	r->fns = xreallocarray(NULL, a->nnodes + 1, sizeof *r->fns);
	for (i = 0; i < a->nnodes; i++) {
		if (a->flat[i] == 0 && a->cum[i] == 0)
			continue;
		r->fns[r->nfns].node = i;
		r->fns[r->nfns].name = symtab_node(a->st, i)->label;
		r->fns[r->nfns].flat = a->flat[i];
		r->fns[r->nfns].cum = a->cum[i];
		r->fns[r->nfns].file = NULL;
		r->fns[r->nfns].line = 0;
		r->fns[r->nfns].inlined = REPORT_NOT_INLINED;
		r->nfns++;
	}
	if (a->ipfill != NULL)
		mark_inlined(a, r);
	r->locv = a->locv;
	r->nlocs = a->nlocs;
	a->locv = NULL;
	r->time_nanos = p->time_nanos;
	r->duration_nanos = p->duration_nanos;
	r->main_mapping = p->main_mapping;
	r->ncomments = p->ncomments;
	r->comments = xreallocarray(NULL, p->ncomments + 1,
	    sizeof *r->comments);
	if (p->ncomments > 0)
		memcpy(r->comments, p->comments,
		    p->ncomments * sizeof *r->comments);
	qsort_r(r->fns, r->nfns, sizeof *r->fns, fn_cmp, &order);
	return r;
}

/* Add base's header to the report's, as pprof merges profiles. */
static void
merge_header(struct report *r, const struct profile *base)
{
	uint32_t	i, j;

	if (r->time_nanos == 0 || base->time_nanos < r->time_nanos)
		r->time_nanos = base->time_nanos;
	/* Wrapping, as Go's int64 sum does. */
	r->duration_nanos = (int64_t)((uint64_t)r->duration_nanos +
	    (uint64_t)base->duration_nanos);
	if (r->main_mapping == SYM_NONE)
		r->main_mapping = base->main_mapping;
	r->comments = xreallocarray(r->comments,
	    r->ncomments + base->ncomments + 1, sizeof *r->comments);
	for (i = 0; i < base->ncomments; i++) {
		for (j = 0; j < r->ncomments; j++)
			if (r->comments[j] == base->comments[i])
				break;
		if (j == r->ncomments)
			r->comments[r->ncomments++] = base->comments[i];
	}
}

static int
check_index(const struct profile *p, int idx, char **cause)
{
	if (idx < 0 || (uint32_t)idx >= p->ntypes) {
		xasprintf(cause, "sample index %d out of range", idx);
		return -1;
	}
	return 0;
}

struct report *
report_top(const struct profile *p, int idx, enum report_order order,
    char **cause)
{
	struct report	*r;
	struct acc	 a;
	uint64_t	 total = 0;
	size_t		 s;

	if (check_index(p, idx, cause) == -1)
		return NULL;
	for (s = 0; s < p->nsamples; s++)
		total += uabs(p->values[s * p->ntypes + idx]);
	acc_init(&a, p->st);
	acc_profile(&a, p, idx);
	r = report_build(&a, p, idx, order, (int64_t)total);
	acc_free(&a);
	return r;
}

struct report *
report_cum(const struct profile *p, int idx, char **cause)
{
	struct report	*r;
	struct acc	 a;
	uint64_t	 total = 0;
	size_t		 s;
	uint32_t	 l;
	int64_t		 v;

	if (check_index(p, idx, cause) == -1)
		return NULL;
	acc_init_cum(&a, p->st);
	/* Each location's node when it has one line, else SYM_NONE. */
	a.locnode = xreallocarray(NULL, a.nlocs + 1, sizeof *a.locnode);
	for (l = 0; l < a.nlocs; l++)
		a.locnode[l] = a.locs[l].nlines > 1 ? SYM_NONE :
		    a.lines[a.locs[l].line0].node;
	for (s = 0; s < p->nsamples; s++) {
		if ((v = p->values[s * p->ntypes + idx]) == 0)
			continue;
		total += uabs(v);
		acc_stack_cum(&a, &p->stacks[p->stack_off[s]],
		    p->stack_off[s + 1] - p->stack_off[s], v);
	}
	r = report_build(&a, p, idx, REPORT_BY_CUM, (int64_t)total);
	acc_free(&a);
	return r;
}

int
report_comparable(const struct profile *a, const struct profile *b,
    char **cause)
{
	uint32_t	i;

	if (a->st != b->st) {
		xasprintf(cause, "profiles decoded into different symbol "
		    "tables");
		return -1;
	}
	if (a->period_type != b->period_type ||
	    a->period_unit != b->period_unit) {
		xasprintf(cause, "incompatible period types %s/%s and %s/%s",
		    symtab_str(a->st, a->period_type)->s,
		    symtab_str(a->st, a->period_unit)->s,
		    symtab_str(b->st, b->period_type)->s,
		    symtab_str(b->st, b->period_unit)->s);
		return -1;
	}
	for (i = 0; i < a->ntypes && i < b->ntypes; i++)
		if (a->type_name[i] != b->type_name[i] ||
		    a->type_unit[i] != b->type_unit[i])
			break;
	if (i < a->ntypes || i < b->ntypes) {
		xasprintf(cause, "incompatible sample types: %u of %s, "
		    "%u of %s", a->ntypes,
		    a->ntypes > 0 ? profile_type_name(a, 0) : "none",
		    b->ntypes,
		    b->ntypes > 0 ? profile_type_name(b, 0) : "none");
		return -1;
	}
	return 0;
}

struct report *
report_diff(const struct profile *base, const struct profile *cur, int idx,
    enum report_order order, char **cause)
{
	struct report		*r;
	struct report_stacks	*stacks;
	struct acc		 a;
	int64_t			 total;

	if (report_comparable(cur, base, cause) == -1 ||
	    check_index(cur, idx, cause) == -1)
		return NULL;
	acc_init(&a, cur->st);
	total = acc_diff(&a, base, cur, idx, &stacks);
	r = report_build(&a, cur, idx, order, total);
	r->stacks = stacks;
	merge_header(r, base);
	acc_free(&a);
	return r;
}

/* The innermost frame of a stack outside the Go runtime, as (i, j). */
static bool
first_own_frame(const struct symtab *st, const uint32_t *stack, uint32_t n,
    uint32_t *li, uint32_t *lj)
{
	const struct sym_loc	*locs = symtab_locs(st), *loc;
	const struct sym_line	*lines = symtab_lines(st);
	const char		*name;
	uint32_t		 i, j, k;

	for (i = 0; i < n; i++) {
		loc = &locs[stack[i]];
		k = loc->nlines > 0 ? loc->nlines : 1;
		for (j = 0; j < k; j++) {
			name = symtab_node(st, lines[loc->line0 + j].node)->label;
			if (strncmp(name, "runtime.", 8) != 0 &&
			    strncmp(name, "runtime/", 8) != 0) {
				*li = i;
				*lj = j;
				return true;
			}
		}
	}
	return false;
}

size_t
report_stack(const struct report *r, const char *name, const char **frames,
    size_t max)
{
	const struct symtab	*st = r->profile->st;
	const struct sym_loc	*locs = symtab_locs(st), *loc;
	const struct sym_line	*lines = symtab_lines(st);
	const struct msample	*best = NULL, *m;
	const char		*label, *prev = NULL;
	uint32_t		 i, j, k, bi = 0, bj = 0, fi, fj;
	size_t			 n = 0;

	if (r->stacks == NULL || max == 0)
		return 0;
	for (i = 0; i < r->stacks->n; i++) {
		m = &r->stacks->ms[i];
		if (m->v <= 0 || (best != NULL && m->v <= best->v) ||
		    !first_own_frame(st, m->stack, m->n, &fi, &fj))
			continue;
		loc = &locs[m->stack[fi]];
		if (strcmp(symtab_node(st, lines[loc->line0 + fj].node)->label,
		    name) != 0)
			continue;
		best = m;
		bi = fi;
		bj = fj;
	}
	if (best == NULL)
		return 0;
	/* From that frame outwards, each function once in a row. */
	for (i = bi; i < best->n && n < max; i++) {
		loc = &locs[best->stack[i]];
		k = loc->nlines > 0 ? loc->nlines : 1;
		for (j = i == bi ? bj : 0; j < k && n < max; j++) {
			label = symtab_node(st, lines[loc->line0 + j].node)->label;
			if (prev == NULL || strcmp(prev, label) != 0)
				frames[n++] = label;
			prev = label;
		}
	}
	return n;
}

/* A (parent, node) to tree index map, for building trees. */
struct tree_map {
	uint64_t	*keys;		/* parent << 32 | node, + 1 */
	uint32_t	*vals;
	uint32_t	 mask, count;
};

static uint32_t *
tree_slot(struct tree_map *m, uint64_t key)
{
	uint64_t	*keys;
	uint32_t	*vals, i, n;

	if ((m->count + 1) * 2 > m->mask + 1) {
		keys = m->keys;
		vals = m->vals;
		n = m->mask + 1;
		m->mask = n == 1 ? 1023 : n * 2 - 1;
		m->keys = xcalloc(m->mask + 1, sizeof *m->keys);
		m->vals = xcalloc(m->mask + 1, sizeof *m->vals);
		for (i = 0; keys != NULL && i < n; i++) {
			uint32_t j;

			if (keys[i] == 0)
				continue;
			for (j = (uint32_t)hash_word(0, keys[i]) & m->mask;
			    m->keys[j] != 0; j = (j + 1) & m->mask)
				;
			m->keys[j] = keys[i];
			m->vals[j] = vals[i];
		}
		free(keys);
		free(vals);
	}
	for (i = (uint32_t)hash_word(0, key + 1) & m->mask; m->keys[i] != 0;
	    i = (i + 1) & m->mask)
		if (m->keys[i] == key + 1)
			return &m->vals[i];
	m->keys[i] = key + 1;
	m->vals[i] = 0;
	m->count++;
	return &m->vals[i];
}

struct tree_build {
	struct report_node	*nodes;
	size_t			 n, cap;
	struct tree_map		 map;
	const struct symtab	*st;
};

/* Add one stack's value along its path from the root. */
static void
tree_add(struct tree_build *tb, const uint32_t *stack, uint32_t n, int64_t v)
{
	const struct sym_loc	*locs = symtab_locs(tb->st), *loc;
	const struct sym_line	*lines = symtab_lines(tb->st);
	const struct sym_line	*ln;
	uint32_t		 i, j, k, cur = 0, node, *slot;
	int64_t			 a = v < 0 ? -v : v;

	tb->nodes[0].value += a;
	tb->nodes[0].delta += v;
	for (i = n; i-- > 0;) {
		loc = &locs[stack[i]];
		k = loc->nlines > 0 ? loc->nlines : 1;
		for (j = k; j-- > 0;) {
			ln = &lines[loc->line0 + j];
			node = ln->node;
			slot = tree_slot(&tb->map, (uint64_t)cur << 32 | node);
			if (*slot == 0) {
				if (tb->n == tb->cap) {
					tb->cap *= 2;
					tb->nodes = xreallocarray(tb->nodes,
					    tb->cap, sizeof *tb->nodes);
				}
				memset(&tb->nodes[tb->n], 0,
				    sizeof tb->nodes[tb->n]);
				tb->nodes[tb->n].name = symtab_node(tb->st,
				    node)->label;
				tb->nodes[tb->n].parent = cur;
				tb->nodes[tb->n].depth =
				    tb->nodes[cur].depth + 1;
				*slot = tb->n++;
			}
			cur = *slot;
			tb->nodes[cur].value += a;
			tb->nodes[cur].delta += v;
			if (a > tb->nodes[cur].best && ln->func != SYM_NONE) {
				tb->nodes[cur].best = a;
				tb->nodes[cur].file = symtab_str(tb->st,
				    symtab_func(tb->st, ln->func)->filename)->s;
				tb->nodes[cur].line = ln->line;
			}
		}
	}
}

static int
node_cmp(const void *a, const void *b, void *arg)
{
	const struct report_node	*nodes = arg;
	uint32_t			 x = *(const uint32_t *)a;
	uint32_t			 y = *(const uint32_t *)b;

	if (nodes[x].value != nodes[y].value)
		return nodes[x].value > nodes[y].value ? -1 : 1;
	return strcmp(nodes[x].name, nodes[y].name);
}

struct report_node *
report_tree(const struct report *r, size_t *nout)
{
	const struct profile	*p = r->profile;
	struct tree_build	 tb;
	uint32_t		*order, i, k;
	size_t			 s;
	int64_t			 v;

	memset(&tb, 0, sizeof tb);
	tb.st = p->st;
	tb.cap = 1024;
	tb.nodes = xcalloc(tb.cap, sizeof *tb.nodes);
	tb.nodes[0].name = "all";
	tb.n = 1;
	if (r->stacks != NULL) {
		for (i = 0; i < r->stacks->n; i++)
			if (r->stacks->ms[i].v != 0)
				tree_add(&tb, r->stacks->ms[i].stack,
				    r->stacks->ms[i].n, r->stacks->ms[i].v);
	} else
		for (s = 0; s < p->nsamples; s++)
			if ((v = p->values[s * p->ntypes +
			    r->sample_index]) != 0)
				tree_add(&tb, &p->stacks[p->stack_off[s]],
				    p->stack_off[s + 1] - p->stack_off[s], v);
	free(tb.map.keys);
	free(tb.map.vals);
	/* Link children to parents, largest first. */
	order = xreallocarray(NULL, tb.n + 1, sizeof *order);
	for (i = 1; i < tb.n; i++)
		order[i - 1] = i;
	qsort_r(order, tb.n - 1, sizeof *order, node_cmp, tb.nodes);
	for (k = tb.n - 1; k-- > 0;) {
		i = order[k];
		tb.nodes[i].next = tb.nodes[tb.nodes[i].parent].child;
		tb.nodes[tb.nodes[i].parent].child = i;
	}
	free(order);
	*nout = tb.n;
	return tb.nodes;
}

void
report_limit(struct report *r, size_t nmax)
{
	const struct profile	*p = r->profile;
	struct calls		 c;
	uint8_t			*kept, *mark;
	uint32_t		 i, callee, nnodes = symtab_nnodes(p->st);
	size_t			 s;
	int64_t			 v;

	if (nmax == 0 || nmax >= r->nfns)
		return;
	kept = xcalloc(nnodes + 1, sizeof *kept);
	for (i = 0; i < nmax; i++)
		kept[r->fns[i].node] = 1;
	memset(&c, 0, sizeof c);
	if (r->stacks != NULL) {
		for (i = 0; i < r->stacks->n; i++)
			if (r->stacks->ms[i].v != 0)
				walk_calls(&c, p->st, r->stacks->ms[i].stack,
				    r->stacks->ms[i].n, kept);
	} else {
		for (s = 0; s < p->nsamples; s++) {
			v = p->values[s * p->ntypes + r->sample_index];
			if (v != 0)
				walk_calls(&c, p->st,
				    &p->stacks[p->stack_off[s]],
				    p->stack_off[s + 1] - p->stack_off[s], kept);
		}
	}
	mark = xcalloc(nnodes + 1, sizeof *mark);
	for (i = 0; c.keys != NULL && i <= c.mask; i++) {
		if (c.keys[i] == 0)
			continue;
		callee = (uint32_t)(c.keys[i] - 1);
		/* A call seen both ways is not an inlined one. */
		mark[callee] |= c.how[i] & CALL_NOINLINE ? CALL_NOINLINE :
		    CALL_INLINE;
	}
	for (i = 0; i < nmax; i++)
		r->fns[i].inlined = inline_mark(mark[r->fns[i].node] &
		    CALL_INLINE, mark[r->fns[i].node] & CALL_NOINLINE);
	free(mark);
	free(kept);
	free(c.keys);
	free(c.how);
}

void
report_free(struct report *r)
{
	if (r == NULL)
		return;
	if (r->stacks != NULL) {
		free(r->stacks->ms);
		free(r->stacks);
	}
	free(r->locv);
	free(r->comments);
	free(r->fns);
	free(r);
}
