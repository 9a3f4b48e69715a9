#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "profile.h"
#include "report.h"
#include "xmalloc.h"

/* Per-node and per-line sums while samples are walked. */
struct acc {
	const struct symtab	*st;
	uint32_t		 nnodes;
	uint32_t		 nlines;
	int64_t			*flat;
	int64_t			*cum;
	int64_t			*linev;
	uint32_t		*nodestamp;
	uint32_t		*linestamp;
	uint32_t		 stamp;
	int64_t			 net;
};

static void
acc_init(struct acc *a, const struct symtab *st)
{
	memset(a, 0, sizeof *a);
	a->st = st;
	a->nnodes = symtab_nnodes(st);
	a->nlines = symtab_nlines(st);
	a->flat = xcalloc(a->nnodes + 1, sizeof *a->flat);
	a->cum = xcalloc(a->nnodes + 1, sizeof *a->cum);
	a->linev = xcalloc(a->nlines + 1, sizeof *a->linev);
	a->nodestamp = xcalloc(a->nnodes + 1, sizeof *a->nodestamp);
	a->linestamp = xcalloc(a->nlines + 1, sizeof *a->linestamp);
}

static void
acc_free(struct acc *a)
{
	free(a->flat);
	free(a->cum);
	free(a->linev);
	free(a->nodestamp);
	free(a->linestamp);
}

/*
 * Add sign times every sample's value to the functions of its stack: flat
 * to the innermost frame, cum once to each function present, and once to
 * each distinct line for the sites.
 */
static void
acc_add(struct acc *a, const struct profile *p, int idx, int sign)
{
	const struct sym_loc	*loc;
	const struct sym_line	*ln;
	const uint32_t		*stack;
	uint32_t		 i, j, k, n, node;
	size_t			 s;
	int64_t			 v;

	for (s = 0; s < p->nsamples; s++) {
		v = p->values[s * p->ntypes + idx];
		if (v == 0)
			continue;
		if (sign < 0)
			v = (int64_t)(0 - (uint64_t)v);
		a->net += v;
		a->stamp++;
		stack = &p->stacks[p->stack_off[s]];
		n = p->stack_off[s + 1] - p->stack_off[s];
		for (i = 0; i < n; i++) {
			loc = symtab_loc(a->st, stack[i]);
			k = loc->nlines > 0 ? loc->nlines : 1;
			for (j = 0; j < k; j++) {
				ln = symtab_line(a->st, loc->line0 + j);
				node = ln->node;
				if (a->nodestamp[node] != a->stamp) {
					a->nodestamp[node] = a->stamp;
					a->cum[node] += v;
				}
				if (a->linestamp[loc->line0 + j] != a->stamp) {
					a->linestamp[loc->line0 + j] = a->stamp;
					a->linev[loc->line0 + j] += v;
				}
			}
		}
		if (n > 0) {
			loc = symtab_loc(a->st, stack[0]);
			a->flat[symtab_line(a->st, loc->line0)->node] += v;
		}
	}
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

	return a->n == b->n && a->ls == b->ls &&
	    memcmp(a->stack, b->stack, a->n * sizeof *a->stack) == 0;
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
		id = idset_find(&m->set, h, msample_eq, m, &k);
		if (id != HASH_NONE) {
			m->ms[id].v += k.v;
			continue;
		}
		if (m->nms == m->capms) {
			m->capms = m->capms == 0 ? 1024 : m->capms * 2;
			m->ms = xreallocarray(m->ms, m->capms, sizeof *m->ms);
		}
		m->ms[m->nms] = k;
		idset_add(&m->set, h, m->nms++);
	}
}

/* pprof's total of a diff: the absolute values of the merged samples. */
static int64_t
merged_total(const struct profile *base, const struct profile *cur, int idx)
{
	struct merger	 m;
	uint64_t	 total = 0;
	uint32_t	 i;

	memset(&m, 0, sizeof m);
	idset_init(&m.set, cur->nsamples + base->nsamples / 4);
	merger_add(&m, cur, idx, 1);
	merger_add(&m, base, idx, -1);
	for (i = 0; i < m.nms; i++)
		total += uabs(m.ms[i].v);
	idset_free(&m.set);
	free(m.ms);
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
 * Pick each function's site: sum the per-line values by (function, line
 * number), since one source line may have several locations, and keep the
 * line with the largest absolute sum.
 */
static void
pick_sites(const struct acc *a, struct report *r, uint32_t *fnof)
{
	const struct symtab	*st = a->st;
	const struct sym_line	*ln;
	struct site		*s;
	uint64_t		*best;
	uint32_t		 i, j, n = 0, k;
	int64_t			 sum;

	s = xreallocarray(NULL, a->nlines + 1, sizeof *s);
	for (i = 0; i < a->nlines; i++) {
		ln = symtab_line(st, i);
		if (a->linev[i] == 0 || ln->func == SYM_NONE ||
		    fnof[ln->node] == SYM_NONE)
			continue;
		s[n].node = ln->node;
		s[n].line = i;
		s[n].lineno = ln->line;
		n++;
	}
	qsort(s, n, sizeof *s, site_cmp);
	best = xcalloc(r->nfns + 1, sizeof *best);
	for (i = 0; i < n; i = j) {
		sum = 0;
		for (j = i; j < n && s[j].node == s[i].node &&
		    s[j].lineno == s[i].lineno; j++)
			sum += a->linev[s[j].line];
		k = fnof[s[i].node];
		if (r->fns[k].file == NULL || uabs(sum) > best[k]) {
			best[k] = uabs(sum);
			ln = symtab_line(st, s[i].line);
			r->fns[k].file = symtab_str(st,
			    symtab_func(st, ln->func)->filename)->s;
			r->fns[k].line = ln->line;
		}
	}
	free(best);
	free(s);
}

static struct report *
report_build(const struct acc *a, const struct profile *p, int idx,
    enum report_order order, int64_t total)
{
	struct report	*r;
	uint32_t	*fnof, i;

	r = xcalloc(1, sizeof *r);
	r->profile = p;
	r->sample_index = idx;
	r->sample_type = profile_type_name(p, idx);
	r->unit = profile_type_unit(p, idx);
	r->total = total;
	r->net = a->net;
	r->fns = xreallocarray(NULL, a->nnodes + 1, sizeof *r->fns);
	fnof = xreallocarray(NULL, a->nnodes + 1, sizeof *fnof);
	for (i = 0; i < a->nnodes; i++) {
		fnof[i] = SYM_NONE;
		if (a->flat[i] == 0 && a->cum[i] == 0)
			continue;
		fnof[i] = r->nfns;
		r->fns[r->nfns].node = i;
		r->fns[r->nfns].name = symtab_node(a->st, i)->label;
		r->fns[r->nfns].flat = a->flat[i];
		r->fns[r->nfns].cum = a->cum[i];
		r->fns[r->nfns].file = NULL;
		r->fns[r->nfns].line = 0;
		r->nfns++;
	}
	pick_sites(a, r, fnof);
	free(fnof);
	qsort_r(r->fns, r->nfns, sizeof *r->fns, fn_cmp, &order);
	return r;
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
	acc_add(&a, p, idx, 1);
	r = report_build(&a, p, idx, order, (int64_t)total);
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
	struct report	*r;
	struct acc	 a;

	if (report_comparable(cur, base, cause) == -1 ||
	    check_index(cur, idx, cause) == -1)
		return NULL;
	acc_init(&a, cur->st);
	acc_add(&a, cur, idx, 1);
	acc_add(&a, base, idx, -1);
	r = report_build(&a, cur, idx, order, merged_total(base, cur, idx));
	acc_free(&a);
	return r;
}

void
report_free(struct report *r)
{
	if (r == NULL)
		return;
	free(r->fns);
	free(r);
}
