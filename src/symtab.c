#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "hash.h"
#include "symtab.h"
#include "xmalloc.h"

#define GROW(arr, n, cap) do {						\
	if ((n) == (cap)) {						\
		(cap) = (cap) == 0 ? 64 : (cap) * 2;			\
		(arr) = xreallocarray((arr), (cap), sizeof *(arr));	\
	}								\
} while (0)

struct symtab {
	struct arena		*arena;

	struct sym_str		*strs;
	uint32_t		 nstrs, capstrs;
	struct idset		 strset;

	struct sym_func		*funcs;
	uint32_t		 nfuncs, capfuncs;
	struct idset		 funcset;
	uint32_t		*funcnode;	/* a named function's node, or
						   SYM_NONE until looked up */
	uint32_t		 capfuncnode;

	struct sym_mapping	*maps;
	uint32_t		 nmaps, capmaps;
	struct idset		 mapset;

	struct sym_loc		*locs;
	uint32_t		 nlocs, caplocs;
	struct idset		 locset;

	struct sym_line		*lines;
	uint32_t		 nlines, caplines;

	struct sym_node		*nodes;
	uint32_t		 nnodes, capnodes;
	struct idset		 nodeset;

	/* Label sets: canonical word sequences, set i at lsw[lsoff[i]..]. */
	uint64_t		*lsw;
	size_t			 nlsw, caplsw;
	uint32_t		*lsoff;
	uint32_t		 nls, capls;
	struct idset		 lsset;
};

struct str_key {
	const char	*s;
	size_t		 len;
};

static bool
symtab_str_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct symtab	*st = ctx;
	const struct str_key	*k = key;

	return st->strs[id].len == k->len &&
	    memcmp(st->strs[id].s, k->s, k->len) == 0;
}

/* Intern a string. */
uint32_t
symtab_intern_str(struct symtab *st, const char *s, size_t len)
{
	struct str_key	 k = { s, len };
	uint32_t	 h, id;

	h = (uint32_t)hash_bytes(s, len, 0);
	if ((id = hash_set_find(&st->strset, h, symtab_str_eq, st, &k)) !=
	    HASH_NONE)
		return id;
	GROW(st->strs, st->nstrs, st->capstrs);
	id = st->nstrs++;
	st->strs[id].s = arena_strndup(st->arena, s, len);
	st->strs[id].len = len;
	hash_set_add(&st->strset, h, id);
	return id;
}

static bool
symtab_func_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct symtab	*st = ctx;
	const struct sym_func	*a = &st->funcs[id], *b = key;

	return a->name == b->name && a->system_name == b->system_name &&
	    a->filename == b->filename && a->start_line == b->start_line;
}

/* The functions' nodes as many as there is room for functions. */
static void
funcnode_fit(struct symtab *st)
{
	if (st->capfuncnode < st->capfuncs) {
		st->funcnode = xreallocarray(st->funcnode, st->capfuncs,
		    sizeof *st->funcnode);
		st->capfuncnode = st->capfuncs;
	}
}

/* Intern a function. */
uint32_t
symtab_intern_func(struct symtab *st, const struct sym_func *f)
{
	uint64_t	h;
	uint32_t	id;

	h = hash_word(hash_word(hash_word(hash_word(1, f->name),
	    f->system_name), f->filename), (uint64_t)f->start_line);
	if ((id = hash_set_find(&st->funcset, h, symtab_func_eq, st, f)) !=
	    HASH_NONE)
		return id;
	GROW(st->funcs, st->nfuncs, st->capfuncs);
	funcnode_fit(st);
	id = st->nfuncs++;
	st->funcs[id] = *f;
	st->funcnode[id] = SYM_NONE;
	hash_set_add(&st->funcset, h, id);
	return id;
}

static bool
symtab_map_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct symtab		*st = ctx;
	const struct sym_mapping	*a = &st->maps[id], *b = key;

	return a->size == b->size && a->offset == b->offset &&
	    a->key == b->key;
}

/* Intern a mapping. */
uint32_t
symtab_intern_mapping(struct symtab *st, const struct sym_mapping *m)
{
	uint64_t	h;
	uint32_t	id;

	h = hash_word(hash_word(hash_word(2, m->size), m->offset), m->key);
	if ((id = hash_set_find(&st->mapset, h, symtab_map_eq, st, m)) !=
	    HASH_NONE)
		return id;
	GROW(st->maps, st->nmaps, st->capmaps);
	id = st->nmaps++;
	st->maps[id] = *m;
	hash_set_add(&st->mapset, h, id);
	return id;
}

static bool
symtab_node_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct symtab	*st = ctx;
	const struct sym_node	*a = &st->nodes[id], *b = key;

	return a->name == b->name && a->objfile == b->objfile &&
	    a->start_line == b->start_line;
}

/*
 * The report node of a frame, as pprof names it at function granularity:
 * the function's name; for a nameless function or a location without lines,
 * the object file (and start line), printed "[file]" or "<unknown>".
 */
static uint32_t
symtab_intern_node(struct symtab *st, uint32_t func, uint32_t mapping)
{
	struct sym_node	 n = { 0, 0, 0, NULL, false };
	const char	*file, *base;
	uint64_t	 h;
	uint32_t	 id;

	/*
	 * A named function's node is its name's: looked up once, not for
	 * every line of every location (3,185 lines of 386 functions in
	 * bench/scale.sh's profile, 2% of a worker's instructions).
	 */
	if (func != SYM_NONE && st->funcnode[func] != SYM_NONE)
		return st->funcnode[func];
	if (func != SYM_NONE) {
		n.name = st->funcs[func].name;
		if (st->strs[n.name].len == 0)
			n.start_line = st->funcs[func].start_line;
	}
	if (n.name == 0 && mapping != SYM_NONE)
		n.objfile = st->maps[mapping].file;
	h = hash_word(hash_word(hash_word(3, n.name), n.objfile),
	    (uint64_t)n.start_line);
	if ((id = hash_set_find(&st->nodeset, h, symtab_node_eq, st, &n)) !=
	    HASH_NONE) {
		if (n.name != 0)
			st->funcnode[func] = id;
		return id;
	}
	if (n.name != 0)
		n.label = st->strs[n.name].s;
	else if (n.objfile != 0) {
		file = st->strs[n.objfile].s;
		base = strrchr(file, '/');
		base = base != NULL && base[1] != '\0' ? base + 1 : file;
		n.label = arena_alloc(st->arena, strlen(base) + 3);
		strcpy((char *)n.label, "[");
		strcat((char *)n.label, base);
		strcat((char *)n.label, "]");
	} else
		n.label = "<unknown>";
	GROW(st->nodes, st->nnodes, st->capnodes);
	id = st->nnodes++;
	st->nodes[id] = n;
	hash_set_add(&st->nodeset, h, id);
	if (n.name != 0)
		st->funcnode[func] = id;
	return id;
}

struct loc_key {
	struct sym_loc		 loc;
	const struct sym_line	*lines;
};

static bool
symtab_loc_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct symtab	*st = ctx;
	const struct sym_loc	*a = &st->locs[id];
	const struct loc_key	*k = key;
	const struct sym_line	*al = &st->lines[a->line0];
	uint32_t		 i;

	if (a->mapping != k->loc.mapping || a->addr != k->loc.addr ||
	    a->folded != k->loc.folded || a->nlines != k->loc.nlines)
		return false;
	for (i = 0; i < a->nlines; i++)
		if (al[i].func != k->lines[i].func ||
		    al[i].line != k->lines[i].line)
			return false;
	return true;
}

/* Intern a location with its lines, and the report nodes of its lines. */
uint32_t
symtab_intern_loc(struct symtab *st, const struct sym_loc *loc,
    const struct sym_line *lines)
{
	struct loc_key		 key = { *loc, lines };
	const struct loc_key	*k = &key;
	uint64_t		 h;
	uint32_t		 id, i, n;

	/*
	 * Two 32-bit fields to a word, a word to a round of the hash: 2.2
	 * rounds a location of bench/scale.sh's profile rather than 6.3, each
	 * waiting on the one before. Equal keys are compared whole anyway.
	 */
	h = hash_word(k->loc.addr, (uint64_t)k->loc.mapping << 32 ^
	    (uint64_t)k->loc.nlines << 1 ^ k->loc.folded);
	for (i = 0; i < k->loc.nlines; i++)
		h = hash_word(h, (uint64_t)k->lines[i].func << 32 ^
		    (uint64_t)k->lines[i].line);
	if ((id = hash_set_find(&st->locset, h, symtab_loc_eq, st, k)) !=
	    HASH_NONE)
		return id;
	GROW(st->locs, st->nlocs, st->caplocs);
	id = st->nlocs++;
	st->locs[id] = k->loc;
	st->locs[id].line0 = st->nlines;
	n = k->loc.nlines > 0 ? k->loc.nlines : 1;
	for (i = 0; i < n; i++) {
		GROW(st->lines, st->nlines, st->caplines);
		if (k->loc.nlines > 0)
			st->lines[st->nlines] = k->lines[i];
		else {
			st->lines[st->nlines].func = SYM_NONE;
			st->lines[st->nlines].line = 0;
		}
		st->lines[st->nlines].node = symtab_intern_node(st,
		    st->lines[st->nlines].func, k->loc.mapping);
		if (i + 1 < k->loc.nlines)
			st->nodes[st->lines[st->nlines].node].inlined = true;
		st->nlines++;
	}
	hash_set_add(&st->locset, h, id);
	return id;
}

struct ls_key {
	const uint64_t	*w;
	size_t		 n;
};

static bool
symtab_ls_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct symtab	*st = ctx;
	const struct ls_key	*k = key;
	size_t			 n = st->lsoff[id + 1] - st->lsoff[id];

	return n == k->n && (n == 0 ||
	    memcmp(&st->lsw[st->lsoff[id]], k->w, n * sizeof *k->w) == 0);
}

/* Intern a canonical label set. */
uint32_t
symtab_intern_labelset(struct symtab *st, const uint64_t *w, size_t n)
{
	struct ls_key	 k = { w, n };
	uint32_t	 h, id;

	h = (uint32_t)hash_bytes(w, n * sizeof *w, 5);
	if ((id = hash_set_find(&st->lsset, h, symtab_ls_eq, st, &k)) !=
	    HASH_NONE)
		return id;
	while (st->caplsw - st->nlsw < n) {
		st->caplsw = st->caplsw == 0 ? 256 : st->caplsw * 2;
		st->lsw = xreallocarray(st->lsw, st->caplsw, sizeof *st->lsw);
	}
	if (n > 0)
		memcpy(&st->lsw[st->nlsw], w, n * sizeof *w);
	st->nlsw += n;
	/* lsoff has one more entry than there are sets. */
	if (st->nls + 2 > st->capls) {
		st->capls = st->capls == 0 ? 64 : st->capls * 2;
		st->lsoff = xreallocarray(st->lsoff, st->capls,
		    sizeof *st->lsoff);
	}
	id = st->nls++;
	st->lsoff[id + 1] = st->nlsw;
	hash_set_add(&st->lsset, h, id);
	return id;
}

struct symtab *
symtab_new(void)
{
	struct symtab	*st;

	st = xcalloc(1, sizeof *st);
	st->arena = arena_new(64 << 10);
	hash_set_init(&st->strset, 1024);
	hash_set_init(&st->funcset, 1024);
	hash_set_init(&st->mapset, 16);
	hash_set_init(&st->locset, 4096);
	hash_set_init(&st->nodeset, 1024);
	hash_set_init(&st->lsset, 16);
	symtab_intern_str(st, "", 0);		/* string id 0 is "" */
	st->capls = 64;
	st->lsoff = xcalloc(st->capls, sizeof *st->lsoff);
	symtab_intern_labelset(st, NULL, 0);	/* label set 0 is empty */
	return st;
}

/* Make room for more elements of an array counted in uint32_t. */
static void
reserve(void **arr, uint32_t n, uint32_t *cap, size_t more, size_t size)
{
	size_t	want;

	if (more > UINT32_MAX - n)
		return;			/* left to GROW, which fails as it does */
	want = (size_t)n + more;
	if (want <= *cap)
		return;
	*arr = xreallocarray(*arr, want, size);
	*cap = (uint32_t)want;
}

/*
 * Room for what a profile of nstrs strings, nfuncs functions, nmaps
 * mappings, nlocs locations and nlines lines may add, at most. A symtab of
 * one profile (a worker's) otherwise grew each table from 64 entries by
 * doubling: for bench/scale.sh's profile (2,760 locations), six copies
 * of each by realloc, 95,000 instructions (callgrind), 0.8% of a worker's.
 */
void
symtab_reserve(struct symtab *st, size_t nstrs, size_t nfuncs, size_t nmaps,
    size_t nlocs, size_t nlines)
{
	reserve((void **)&st->strs, st->nstrs, &st->capstrs, nstrs,
	    sizeof *st->strs);
	reserve((void **)&st->funcs, st->nfuncs, &st->capfuncs, nfuncs,
	    sizeof *st->funcs);
	funcnode_fit(st);
	reserve((void **)&st->maps, st->nmaps, &st->capmaps, nmaps,
	    sizeof *st->maps);
	reserve((void **)&st->locs, st->nlocs, &st->caplocs, nlocs,
	    sizeof *st->locs);
	/* A location without lines takes one. */
	reserve((void **)&st->lines, st->nlines, &st->caplines,
	    nlines > nlocs ? nlines : nlocs, sizeof *st->lines);
	/* A node a function, or a mapping's object file. */
	reserve((void **)&st->nodes, st->nnodes, &st->capnodes,
	    nfuncs + nmaps + 1, sizeof *st->nodes);
}

void
symtab_free(struct symtab *st)
{
	if (st == NULL)
		return;
	hash_set_free(&st->strset);
	hash_set_free(&st->funcset);
	hash_set_free(&st->mapset);
	hash_set_free(&st->locset);
	hash_set_free(&st->nodeset);
	hash_set_free(&st->lsset);
	free(st->strs);
	free(st->funcs);
	free(st->funcnode);
	free(st->maps);
	free(st->locs);
	free(st->lines);
	free(st->nodes);
	free(st->lsw);
	free(st->lsoff);
	arena_free(st->arena);
	free(st);
}

const struct sym_str *
symtab_str(const struct symtab *st, uint32_t id)
{
	return &st->strs[id];
}

const struct sym_func *
symtab_func(const struct symtab *st, uint32_t id)
{
	return &st->funcs[id];
}

const struct sym_loc *
symtab_loc(const struct symtab *st, uint32_t id)
{
	return &st->locs[id];
}

const struct sym_line *
symtab_line(const struct symtab *st, uint32_t id)
{
	return &st->lines[id];
}

const struct sym_node *
symtab_node(const struct symtab *st, uint32_t id)
{
	return &st->nodes[id];
}

const struct sym_mapping *
symtab_mapping(const struct symtab *st, uint32_t id)
{
	return &st->maps[id];
}

uint32_t
symtab_nnodes(const struct symtab *st)
{
	return st->nnodes;
}

uint32_t
symtab_nlines(const struct symtab *st)
{
	return st->nlines;
}

uint32_t
symtab_nlocs(const struct symtab *st)
{
	return st->nlocs;
}

const struct sym_loc *
symtab_locs(const struct symtab *st)
{
	return st->locs;
}

const struct sym_line *
symtab_lines(const struct symtab *st)
{
	return st->lines;
}

const struct sym_node *
symtab_nodes(const struct symtab *st)
{
	return st->nodes;
}
