#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <protobuf-c/protobuf-c.h>
#include <libdeflate.h>
#include <zlib.h>

#include "arena.h"
#include "clock.h"
#include "hash.h"
#include "log.h"
#include "profile.h"
#include "pbwire.h"
#include "profile.pb-c.h"
#include "units.h"
#include "xmalloc.h"

/* Grow a dynamic array so that one more element fits. */
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

/* ---- interning ---------------------------------------------------------- */

struct str_key {
	const char	*s;
	size_t		 len;
};

static bool
str_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct symtab	*st = ctx;
	const struct str_key	*k = key;

	return st->strs[id].len == k->len &&
	    memcmp(st->strs[id].s, k->s, k->len) == 0;
}

static uint32_t
sym_intern_str(struct symtab *st, const char *s, size_t len)
{
	struct str_key	 k = { s, len };
	uint32_t	 h, id;

	h = (uint32_t)hash_bytes(s, len, 0);
	if ((id = idset_find(&st->strset, h, str_eq, st, &k)) != HASH_NONE)
		return id;
	GROW(st->strs, st->nstrs, st->capstrs);
	id = st->nstrs++;
	st->strs[id].s = arena_strndup(st->arena, s, len);
	st->strs[id].len = len;
	idset_add(&st->strset, h, id);
	return id;
}

static bool
func_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct symtab	*st = ctx;
	const struct sym_func	*a = &st->funcs[id], *b = key;

	return a->name == b->name && a->system_name == b->system_name &&
	    a->filename == b->filename && a->start_line == b->start_line;
}

static uint32_t
sym_intern_func(struct symtab *st, const struct sym_func *f)
{
	uint64_t	h;
	uint32_t	id;

	h = hash_word(hash_word(hash_word(hash_word(1, f->name),
	    f->system_name), f->filename), (uint64_t)f->start_line);
	if ((id = idset_find(&st->funcset, h, func_eq, st, f)) != HASH_NONE)
		return id;
	GROW(st->funcs, st->nfuncs, st->capfuncs);
	id = st->nfuncs++;
	st->funcs[id] = *f;
	idset_add(&st->funcset, h, id);
	return id;
}

static bool
map_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct symtab		*st = ctx;
	const struct sym_mapping	*a = &st->maps[id], *b = key;

	return a->size == b->size && a->offset == b->offset &&
	    a->key == b->key;
}

static uint32_t
sym_intern_mapping(struct symtab *st, const struct sym_mapping *m)
{
	uint64_t	h;
	uint32_t	id;

	h = hash_word(hash_word(hash_word(2, m->size), m->offset), m->key);
	if ((id = idset_find(&st->mapset, h, map_eq, st, m)) != HASH_NONE)
		return id;
	GROW(st->maps, st->nmaps, st->capmaps);
	id = st->nmaps++;
	st->maps[id] = *m;
	idset_add(&st->mapset, h, id);
	return id;
}

static bool
node_eq(const void *ctx, uint32_t id, const void *key)
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
sym_intern_node(struct symtab *st, uint32_t func, uint32_t mapping)
{
	struct sym_node	 n = { 0, 0, 0, NULL, false };
	const char	*file, *base;
	uint64_t	 h;
	uint32_t	 id;

	if (func != SYM_NONE) {
		n.name = st->funcs[func].name;
		if (st->strs[n.name].len == 0)
			n.start_line = st->funcs[func].start_line;
	}
	if (n.name == 0 && mapping != SYM_NONE)
		n.objfile = st->maps[mapping].file;
	h = hash_word(hash_word(hash_word(3, n.name), n.objfile),
	    (uint64_t)n.start_line);
	if ((id = idset_find(&st->nodeset, h, node_eq, st, &n)) != HASH_NONE)
		return id;
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
	idset_add(&st->nodeset, h, id);
	return id;
}

struct loc_key {
	struct sym_loc		 loc;
	const struct sym_line	*lines;
};

static bool
loc_eq(const void *ctx, uint32_t id, const void *key)
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

static uint32_t
sym_intern_loc(struct symtab *st, const struct loc_key *k)
{
	uint64_t	h;
	uint32_t	id, i, n;

	h = hash_word(hash_word(hash_word(hash_word(4, k->loc.mapping),
	    k->loc.addr), k->loc.folded), k->loc.nlines);
	for (i = 0; i < k->loc.nlines; i++)
		h = hash_word(hash_word(h, k->lines[i].func),
		    (uint64_t)k->lines[i].line);
	if ((id = idset_find(&st->locset, h, loc_eq, st, k)) != HASH_NONE)
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
		st->lines[st->nlines].node = sym_intern_node(st,
		    st->lines[st->nlines].func, k->loc.mapping);
		if (i + 1 < k->loc.nlines)
			st->nodes[st->lines[st->nlines].node].inlined = true;
		st->nlines++;
	}
	idset_add(&st->locset, h, id);
	return id;
}

struct ls_key {
	const uint64_t	*w;
	size_t		 n;
};

static bool
ls_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct symtab	*st = ctx;
	const struct ls_key	*k = key;
	size_t			 n = st->lsoff[id + 1] - st->lsoff[id];

	return n == k->n && (n == 0 ||
	    memcmp(&st->lsw[st->lsoff[id]], k->w, n * sizeof *k->w) == 0);
}

static uint32_t
sym_intern_labelset(struct symtab *st, const uint64_t *w, size_t n)
{
	struct ls_key	 k = { w, n };
	uint32_t	 h, id;

	h = (uint32_t)hash_bytes(w, n * sizeof *w, 5);
	if ((id = idset_find(&st->lsset, h, ls_eq, st, &k)) != HASH_NONE)
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
	idset_add(&st->lsset, h, id);
	return id;
}

struct symtab *
symtab_new(void)
{
	struct symtab	*st;

	st = xcalloc(1, sizeof *st);
	st->arena = arena_new(64 << 10);
	idset_init(&st->strset, 1024);
	idset_init(&st->funcset, 1024);
	idset_init(&st->mapset, 16);
	idset_init(&st->locset, 4096);
	idset_init(&st->nodeset, 1024);
	idset_init(&st->lsset, 16);
	sym_intern_str(st, "", 0);		/* string id 0 is "" */
	st->capls = 64;
	st->lsoff = xcalloc(st->capls, sizeof *st->lsoff);
	sym_intern_labelset(st, NULL, 0);	/* label set 0 is empty */
	return st;
}

void
symtab_free(struct symtab *st)
{
	if (st == NULL)
		return;
	idset_free(&st->strset);
	idset_free(&st->funcset);
	idset_free(&st->mapset);
	idset_free(&st->locset);
	idset_free(&st->nodeset);
	idset_free(&st->lsset);
	free(st->strs);
	free(st->funcs);
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

/* ---- reading and inflating ---------------------------------------------- */

int
profile_read_file(const char *path, size_t max, void **data, size_t *len,
    char **cause)
{
	struct stat	 sb;
	unsigned char	*buf;
	size_t		 n = 0, cap;
	ssize_t		 r;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		xasprintf(cause, "%s: %s", path,
		    S_ISDIR(sb.st_mode) ? "is a directory" :
		    "not a regular file");
		close(fd);
		return -1;
	}
	if ((uint64_t)sb.st_size > max) {
		xasprintf(cause, "%s: file of %lld bytes exceeds the %s limit",
		    path, (long long)sb.st_size, units_fmt_size(max));
		close(fd);
		return -1;
	}
	cap = (size_t)sb.st_size + 1;
	buf = xmalloc(cap);
	for (;;) {
		if (n == cap) {
			if (cap > max) {
				xasprintf(cause, "%s: file exceeds the %s "
				    "limit", path, units_fmt_size(max));
				goto fail;
			}
			cap *= 2;
			buf = xreallocarray(buf, cap, 1);
		}
		r = read(fd, buf + n, cap - n);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			xasprintf(cause, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += r;
	}
	close(fd);
	*data = buf;
	*len = n;
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}

static bool
is_gzip(const void *data, size_t len)
{
	const unsigned char	*p = data;

	return len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

/* ---- parsing ------------------------------------------------------------ */

/*
 * profile_parse() reads a profile in one pass as it is inflated, a window
 * at a time, so that what inflate writes is parsed while it is still in
 * the cache and the decompressed profile is never held whole. It walks the
 * top level of the Profile message itself and unpacks each embedded
 * message on its own: samples, locations and functions, most of a
 * profile, with pbwire.c; the few others with the generated protobuf-c
 * code, into a scratch arena rewound after every message. Only compact
 * arrays remain. The walk follows protobuf's rules: fields in any order,
 * unknown fields skipped, the last value of a scalar kept, repeated
 * scalars packed or not. As fields may come in any order, references
 * (string indices, ids) are checked and resolved once the whole profile
 * has been read.
 */

#define PROFILE_MAX_FIELD	((size_t)16 << 20)	/* one top-level field */
#define INFLATE_WINDOW		((size_t)256 << 10)
#define INFLATE_WHOLE		((size_t)32 << 20)	/* inflated whole, at most */
#define INFLATE_RATIO		64	/* profiles compress far less */

struct raw_vt {
	int64_t		 type;
	int64_t		 unit;
};

struct raw_str {
	const char	*s;
	uint32_t	 len;
};

struct raw_mapping {
	uint64_t	 id, start, limit, offset;
	int64_t		 file, build_id;
};

struct raw_function {
	uint64_t	 id;
	int64_t		 name, system_name, filename, start_line;
};

struct raw_location {
	uint64_t	 id, mapping_id, address;
	uint32_t	 line0, nlines;
	uint32_t	 mapping;	/* local index, or SYM_NONE */
	bool		 folded;
};

struct raw_line {
	uint64_t	 function_id;
	int64_t		 line;
	uint32_t	 function;	/* local index */
};

struct profile_raw {
	struct profile_stats	 stats;
	size_t			 budget;	/* bytes the tables may take */
	bool			 over;		/* failed on a size limit */
	size_t			 nfields;
	struct arena		*scratch;	/* one message at a time */
	struct arena		*strings;	/* the string table's bytes */
	struct pbwire_location	 pl;

	struct raw_vt		*types;
	size_t			 ntypes, captypes;
	struct raw_vt		 period_type;
	int64_t			 drop_frames, keep_frames, time_nanos;
	int64_t			 duration_nanos, period, default_type;
	int64_t			*comments;
	size_t			 ncomments, capcomments;

	struct raw_str		*strs;
	size_t			 nstrs, capstrs;
	struct raw_mapping	*maps;
	size_t			 nmaps, capmaps;
	struct raw_function	*funcs;
	size_t			 nfuncs, capfuncs;
	struct raw_location	*locs;
	size_t			 nlocs, caplocs;
	struct raw_line		*lines;
	size_t			 nlines, caplines;

	size_t			 nsamples, capsamples;
	uint32_t		*stack_off;	/* nsamples + 1 */
	uint32_t		*label_off;	/* nsamples + 1 */
	/*
	 * Every sample's location ids (then indices), values and labels,
	 * decoded in place.
	 */
	struct pbwire_sample	 samples;
	size_t			 first_nval;	/* values in sample 0 */
	size_t			 odd_sample;	/* first with another count */
	size_t			 odd_nval;
};

static void *
pb_alloc(void *arena, size_t size)
{
	return arena_alloc(arena, size);
}

static void
pb_free(void *arena, void *p)
{
	/* Freed with the arena. */
}

/* An allocator for one message: the scratch arena, emptied. */
static ProtobufCAllocator *
scratch_allocator(struct profile_raw *raw, ProtobufCAllocator *a)
{
	arena_reset(raw->scratch);
	a->alloc = pb_alloc;
	a->free = pb_free;
	a->allocator_data = raw->scratch;
	return a;
}

/* Make room for more elements of an array. */
static void
reserve(void **arr, size_t n, size_t *cap, size_t more, size_t size)
{
	if (*cap - n >= more)
		return;
	if (n > SIZE_MAX / 2 - more)
		fatalx("profile: array too large");
	while (*cap - n < more)
		*cap = *cap == 0 ? 64 : *cap * 2;
	*arr = xreallocarray(*arr, *cap, size);
}

static int
parse_value_type(struct profile_raw *raw, const struct pbwire_field *f,
    struct raw_vt *vt, bool merge, char **cause)
{
	Perftools__Profiles__ValueType	*m;
	ProtobufCAllocator		 a;

	m = perftools__profiles__value_type__unpack(scratch_allocator(raw,
	    &a), f->len, f->p);
	if (m == NULL) {
		xasprintf(cause, "malformed value type");
		return -1;
	}
	/* A message repeated is merged: fields it sets replace. */
	if (!merge || m->type != 0)
		vt->type = m->type;
	if (!merge || m->unit != 0)
		vt->unit = m->unit;
	return 0;
}

static int
parse_mapping(struct profile_raw *raw, const struct pbwire_field *f,
    char **cause)
{
	Perftools__Profiles__Mapping	*m;
	ProtobufCAllocator		 a;
	struct raw_mapping		*rm;

	m = perftools__profiles__mapping__unpack(scratch_allocator(raw, &a),
	    f->len, f->p);
	if (m == NULL) {
		xasprintf(cause, "malformed mapping");
		return -1;
	}
	GROW(raw->maps, raw->nmaps, raw->capmaps);
	rm = &raw->maps[raw->nmaps++];
	rm->id = m->id;
	rm->start = m->memory_start;
	rm->limit = m->memory_limit;
	rm->offset = m->file_offset;
	rm->file = m->filename;
	rm->build_id = m->build_id;
	return 0;
}

static int
parse_function(struct profile_raw *raw, const struct pbwire_field *f,
    char **cause)
{
	struct raw_function	*rf;
	uint64_t		 v[5];

	if (pbwire_scalars(f->p, f->len, v, 5) == -1) {
		xasprintf(cause, "malformed function");
		return -1;
	}
	GROW(raw->funcs, raw->nfuncs, raw->capfuncs);
	rf = &raw->funcs[raw->nfuncs++];
	rf->id = v[0];
	rf->name = (int64_t)v[1];
	rf->system_name = (int64_t)v[2];
	rf->filename = (int64_t)v[3];
	rf->start_line = (int64_t)v[4];
	return 0;
}

static int
parse_location(struct profile_raw *raw, const struct pbwire_field *f,
    char **cause)
{
	struct pbwire_location	*pl = &raw->pl;
	struct raw_location	*rl;
	size_t			 i;

	if (pbwire_location(f->p, f->len, pl) == -1) {
		xasprintf(cause, "malformed location");
		return -1;
	}
	if (raw->nlines + pl->nlines >= UINT32_MAX) {
		xasprintf(cause, "too many lines");
		return -1;
	}
	GROW(raw->locs, raw->nlocs, raw->caplocs);
	rl = &raw->locs[raw->nlocs++];
	rl->id = pl->id;
	rl->mapping_id = pl->mapping_id;
	rl->address = pl->address;
	rl->folded = pl->is_folded;
	rl->line0 = raw->nlines;
	rl->nlines = pl->nlines;
	reserve((void **)&raw->lines, raw->nlines, &raw->caplines, pl->nlines,
	    sizeof *raw->lines);
	for (i = 0; i < pl->nlines; i++) {
		raw->lines[raw->nlines].function_id = pl->lines[i].function_id;
		raw->lines[raw->nlines].line = pl->lines[i].line;
		raw->nlines++;
	}
	return 0;
}

static int
parse_sample(struct profile_raw *raw, const struct pbwire_field *f,
    char **cause)
{
	struct pbwire_sample	*ps = &raw->samples;
	size_t			 s = raw->nsamples, nval = ps->nval;

	if (pbwire_sample(f->p, f->len, ps) == -1) {
		xasprintf(cause, "sample %zu: malformed message", s);
		return -1;
	}
	if (ps->nloc >= UINT32_MAX || ps->nlab >= UINT32_MAX) {
		xasprintf(cause, "too many stack frames");
		return -1;
	}
	/* The sample types may come later: counts are checked at the end. */
	nval = ps->nval - nval;
	if (s == 0)
		raw->first_nval = nval;
	else if (nval != raw->first_nval && raw->odd_sample == 0) {
		raw->odd_sample = s;
		raw->odd_nval = nval;
	}
	if (s + 2 > raw->capsamples) {
		raw->capsamples = raw->capsamples == 0 ? 1024 :
		    raw->capsamples * 2;
		raw->stack_off = xreallocarray(raw->stack_off,
		    raw->capsamples, sizeof *raw->stack_off);
		raw->label_off = xreallocarray(raw->label_off,
		    raw->capsamples, sizeof *raw->label_off);
		raw->stack_off[0] = raw->label_off[0] = 0;
	}
	raw->nsamples++;
	raw->stack_off[raw->nsamples] = ps->nloc;
	raw->label_off[raw->nsamples] = ps->nlab;
	return 0;
}

/* One top-level field of the Profile message. */
static int
parse_field(struct profile_raw *raw, const struct pbwire_field *f,
    char **cause)
{
	/* Fields 1-6 and 11 are messages or bytes, 13 may be packed. */
	if ((((f->num >= 1 && f->num <= 6) || f->num == 11) && f->wt != 2) ||
	    (f->num >= 7 && f->num <= 14 && f->num != 11 && f->num != 13 &&
	    f->wt != 0) || (f->num == 13 && f->wt != 0 && f->wt != 2)) {
		xasprintf(cause, "field %u has wire type %u", f->num, f->wt);
		return -1;
	}
	switch (f->num) {
	case 1:
		GROW(raw->types, raw->ntypes, raw->captypes);
		memset(&raw->types[raw->ntypes], 0, sizeof *raw->types);
		if (parse_value_type(raw, f, &raw->types[raw->ntypes], false,
		    cause) == -1)
			return -1;
		raw->ntypes++;
		return 0;
	case 2:
		return parse_sample(raw, f, cause);
	case 3:
		return parse_mapping(raw, f, cause);
	case 4:
		return parse_location(raw, f, cause);
	case 5:
		return parse_function(raw, f, cause);
	case 6:
		GROW(raw->strs, raw->nstrs, raw->capstrs);
		raw->strs[raw->nstrs].s = arena_strndup(raw->strings,
		    (const char *)f->p, f->len);
		raw->strs[raw->nstrs].len = f->len;
		raw->nstrs++;
		return 0;
	case 7: raw->drop_frames = f->v; return 0;
	case 8: raw->keep_frames = f->v; return 0;
	case 9: raw->time_nanos = f->v; return 0;
	case 10: raw->duration_nanos = f->v; return 0;
	case 11:
		return parse_value_type(raw, f, &raw->period_type, true, cause);
	case 12: raw->period = f->v; return 0;
	case 13:
		/* int64 travels as the varint of its two's complement */
		if (pbwire_repeated(f, (uint64_t **)&raw->comments,
		    &raw->ncomments, &raw->capcomments) == -1) {
			xasprintf(cause, "malformed comments");
			return -1;
		}
		return 0;
	case 14: raw->default_type = f->v; return 0;
	default:
		return 0;		/* a field of a newer format */
	}
}

/* What the tables take, roughly: their capacities. */
static size_t
raw_bytes(const struct profile_raw *raw)
{
	return raw->captypes * sizeof *raw->types +
	    raw->capcomments * sizeof *raw->comments +
	    raw->capstrs * sizeof *raw->strs + arena_bytes(raw->strings) +
	    raw->capmaps * sizeof *raw->maps +
	    raw->capfuncs * sizeof *raw->funcs +
	    raw->caplocs * sizeof *raw->locs +
	    raw->caplines * sizeof *raw->lines +
	    raw->capsamples * 2 * sizeof *raw->stack_off +
	    raw->samples.caploc * sizeof *raw->samples.loc +
	    raw->samples.capwide * sizeof *raw->samples.wide +
	    raw->samples.capval * sizeof *raw->samples.val +
	    raw->samples.caplab * sizeof *raw->samples.lab;
}

#define HUGE_PAGE	((size_t)2 << 20)

/*
 * A block of n elements of size bytes that is freed with free(), on huge
 * pages where it is large enough and the kernel lets it. Decoding a
 * profile of 75,000 deep stacks writes some 15 MB of fresh memory once;
 * faulted in 4 KiB at a time, that took a third of `heapwatch top`'s time
 * in a virtual machine (5,600 faults; 1,700 with huge pages).
 */
static void *
huge_alloc(size_t n, size_t size)
{
	void	*p;
	size_t	 bytes;

	if (n == 0 || size > SIZE_MAX / n || (bytes = n * size) < HUGE_PAGE)
		return xreallocarray(NULL, n, size);
	if (posix_memalign(&p, HUGE_PAGE, bytes) != 0)
		fatalx("posix_memalign: out of memory");
#ifdef MADV_HUGEPAGE
	/* A hint: without it, the block is made of small pages. */
	(void)madvise(p, (bytes + 4095) & ~(size_t)4095, MADV_HUGEPAGE);
#endif
	return p;
}

/*
 * Size the arrays of the samples at once when the whole profile is in
 * memory. Grown by doubling as samples came, they were copied by realloc
 * over and over: a quarter of the parse of a profile of 75,000 deep stacks,
 * and as many page faults again. Counting walks the samples' fields and
 * counts the bytes that end a varint, without decoding any. Sizes over the
 * budget are left to parse_fields() to refuse as it goes.
 */
static void
presize_samples(struct profile_raw *raw, const uint8_t *p, size_t len)
{
	const uint8_t		*end = p + len;
	struct pbwire_sample	*ps = &raw->samples;
	struct pbwire_field	 f;
	size_t			 n[3] = { 0, 0, 0 }, nsamples = 0;

	while (pbwire_next(&p, end, &f) == 1)
		if (f.num == 2 && f.wt == 2) {
			pbwire_sample_count(f.p, f.len, n);
			nsamples++;
		}
	if (nsamples == 0 || ps->nloc != 0 || ps->nval != 0 || ps->nlab != 0 ||
	    n[0] > UINT32_MAX || n[2] > UINT32_MAX ||
	    n[0] * sizeof *ps->loc + n[1] * sizeof *ps->val +
	    n[2] * sizeof *ps->lab + (nsamples + 2) * 2 *
	    sizeof *raw->stack_off > raw->budget)
		return;
	/* Sized before any sample is read: nothing to keep. */
	free(ps->loc);
	ps->loc = huge_alloc(n[0], sizeof *ps->loc);
	ps->caploc = n[0];
	free(ps->val);
	ps->val = huge_alloc(n[1], sizeof *ps->val);
	ps->capval = n[1];
	free(ps->lab);
	ps->lab = huge_alloc(n[2], sizeof *ps->lab);
	ps->caplab = n[2];
	if (nsamples + 2 > raw->capsamples) {
		raw->capsamples = nsamples + 2;
		raw->stack_off = xreallocarray(raw->stack_off,
		    raw->capsamples, sizeof *raw->stack_off);
		raw->label_off = xreallocarray(raw->label_off,
		    raw->capsamples, sizeof *raw->label_off);
		raw->stack_off[0] = raw->label_off[0] = 0;
	}
}

/*
 * Parse the complete fields of data[0..len); returns how many bytes they
 * took (a field cut by the end of the window waits for more), or -1.
 * With final set, nothing may be left over.
 */
static ssize_t
parse_fields(struct profile_raw *raw, const uint8_t *data, size_t len,
    bool final, char **cause)
{
	const uint8_t		*p = data, *end = data + len, *start;
	struct pbwire_field	 f;
	uint64_t		 tag, flen;
	int			 rc;

	for (;;) {
		start = p;
		rc = pbwire_next(&p, end, &f);
		if (rc == 1) {
			if (f.wt == 2 && f.len > PROFILE_MAX_FIELD) {
				raw->over = true;
				xasprintf(cause, "field %u of %zu bytes is "
				    "larger than %s", f.num, f.len,
				    units_fmt_size(PROFILE_MAX_FIELD));
				return -1;
			}
			if (parse_field(raw, &f, cause) == -1)
				return -1;
			/* Many tiny records could multiply into much memory. */
			if (++raw->nfields % 4096 == 0 &&
			    raw_bytes(raw) > raw->budget) {
				raw->over = true;
				xasprintf(cause, "decoded profile exceeds %s",
				    units_fmt_size(raw->budget));
				return -1;
			}
			continue;
		}
		if (rc == 0)
			return len;
		/* Malformed, or cut short by the end of the window? */
		p = start;
		if (!final && pbwire_varint(&p, end, &tag) == 0 &&
		    (tag & 7) == 2 && (tag >> 3) != 0) {
			if (pbwire_varint(&p, end, &flen) == -1 &&
			    end - p < 10)
				return start - data;	/* length cut */
			if (flen > PROFILE_MAX_FIELD) {
				raw->over = true;
				xasprintf(cause, "field %llu of %llu bytes is "
				    "larger than %s",
				    (unsigned long long)(tag >> 3),
				    (unsigned long long)flen,
				    units_fmt_size(PROFILE_MAX_FIELD));
				return -1;
			}
			return start - data;		/* payload cut */
		}
		if (!final && end - start < 11)
			return start - data;		/* tag or varint cut */
		xasprintf(cause, "not a pprof profile: malformed or truncated "
		    "protobuf");
		return -1;
	}
}

/*
 * A decompressor a thread, kept until the thread ends: made for each
 * profile, its allocation of some 11 KB cost heapwatchd's workers, among
 * many smaller blocks, about a tenth of inflating the profile.
 */
static pthread_key_t	inflater_key;
static pthread_once_t	inflater_once = PTHREAD_ONCE_INIT;

static void
inflater_free(void *d)
{
	libdeflate_free_decompressor(d);
}

static void
inflater_init(void)
{
	if (pthread_key_create(&inflater_key, inflater_free) != 0)
		fatalx("pthread_key_create failed");
}

static struct libdeflate_decompressor *
inflater(void)
{
	struct libdeflate_decompressor	*d;

	pthread_once(&inflater_once, inflater_init);
	if ((d = pthread_getspecific(inflater_key)) != NULL)
		return d;
	if ((d = libdeflate_alloc_decompressor()) != NULL &&
	    pthread_setspecific(inflater_key, d) != 0) {
		libdeflate_free_decompressor(d);
		d = NULL;
	}
	return d;
}

void
profile_thread_done(void)
{
	struct libdeflate_decompressor	*d;

	pthread_once(&inflater_once, inflater_init);
	if ((d = pthread_getspecific(inflater_key)) != NULL) {
		pthread_setspecific(inflater_key, NULL);
		libdeflate_free_decompressor(d);
	}
}

/*
 * Inflate a gzip member whole with libdeflate, some three times faster than
 * zlib, when the size its trailer claims is plausible: within INFLATE_WHOLE
 * bytes and INFLATE_RATIO times the input, as a bomb's is not. 1 when it
 * does not apply or fails, for parse_gzip(), whose messages say what is
 * wrong, to stream it instead; else what parsing it gave.
 */
static int
parse_whole(struct profile_raw *raw, const uint8_t *in, size_t len,
    size_t max, char **cause)
{
	struct libdeflate_decompressor	*d;
	enum libdeflate_result		 r;
	uint8_t				*out;
	size_t				 isize, got = 0, used = 0;
	double				 t0;
	int				 rc;

	if (len < 18)
		return 1;
	isize = (size_t)in[len - 4] | (size_t)in[len - 3] << 8 |
	    (size_t)in[len - 2] << 16 | (size_t)in[len - 1] << 24;
	if (isize == 0 || isize > max || isize > INFLATE_WHOLE ||
	    isize / INFLATE_RATIO > len)
		return 1;
	if ((d = inflater()) == NULL)
		return 1;
	out = huge_alloc(isize, 1);
	t0 = clock_mono_us() / 1e3;
	r = libdeflate_gzip_decompress_ex(d, in, len, out, isize, &used, &got);
	raw->stats.inflate_ms += clock_mono_us() / 1e3 - t0;
	if (r != LIBDEFLATE_SUCCESS || got != isize || used != len) {
		/* Not one whole member of that size: zlib will say why. */
		free(out);
		return 1;
	}
	raw->stats.bytes_out = got;
	presize_samples(raw, out, got);
	rc = parse_fields(raw, out, got, true, cause) == -1 ? -1 : 0;
	free(out);
	return rc;
}

/*
 * Inflate one or more concatenated gzip members (as `cat a.gz b.gz` makes)
 * a window at a time, parsing each window's complete fields before the
 * next; more than max bytes of output are refused, so that a gzip bomb
 * costs a window of memory and at most max bytes of work.
 */
static int
parse_gzip(struct profile_raw *raw, const uint8_t *in, size_t len,
    size_t max, char **cause)
{
	z_stream	 zs;
	uint8_t		*win;
	size_t		 cap = INFLATE_WINDOW, have = 0, total = 0, left = len;
	size_t		 chunk, got;
	ssize_t		 used;
	double		 t0;
	int		 rc, ret = -1;
	bool		 done = false;

	memset(&zs, 0, sizeof zs);
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		fatalx("inflateInit2 failed");
	win = xmalloc(cap);
	zs.next_in = (uint8_t *)in;
	while (!done) {
		/* zlib counts in uInt: feed it 1 GiB at most at a time. */
		if (zs.avail_in == 0) {
			chunk = left > (1u << 30) ? (1u << 30) : left;
			zs.avail_in = chunk;
			left -= chunk;
		}
		if (have == cap) {
			/* One field fills the window: widen it. */
			cap *= 2;
			win = xreallocarray(win, cap, 1);
		}
		zs.next_out = win + have;
		zs.avail_out = cap - have;
		t0 = clock_mono_us() / 1e3;
		rc = inflate(&zs, Z_NO_FLUSH);
		raw->stats.inflate_ms += clock_mono_us() / 1e3 - t0;
		got = cap - have - zs.avail_out;
		total += got;
		have += got;
		if (total > max) {
			xasprintf(cause, "decompressed profile exceeds the "
			    "%s limit", units_fmt_size(max));
			goto out;
		}
		if (rc == Z_STREAM_END) {
			if (zs.avail_in == 0 && left == 0)
				done = true;
			else if (inflateReset(&zs) != Z_OK)
				fatalx("inflateReset failed");
		} else if (rc == Z_BUF_ERROR && zs.avail_in == 0 &&
		    left == 0) {
			xasprintf(cause, "truncated gzip data");
			goto out;
		} else if (rc != Z_OK && rc != Z_BUF_ERROR) {
			xasprintf(cause, "corrupt gzip data: %s",
			    zs.msg != NULL ? zs.msg : "inflate failed");
			goto out;
		}
		if ((used = parse_fields(raw, win, have, done, cause)) == -1)
			goto out;
		memmove(win, win + used, have - used);
		have -= used;
	}
	if (total == 0) {
		xasprintf(cause, "empty profile");
		goto out;
	}
	raw->stats.bytes_out = total;
	ret = 0;
out:
	inflateEnd(&zs);
	free(win);
	return ret;
}

static int
check_str(const struct profile_raw *raw, int64_t idx, const char *what,
    char **cause)
{
	if (idx < 0 || (uint64_t)idx >= raw->nstrs) {
		xasprintf(cause, "%s: string index %lld out of range (%zu "
		    "strings)", what, (long long)idx, raw->nstrs);
		return -1;
	}
	return 0;
}

static int
check_strings(const struct profile_raw *raw, char **cause)
{
	size_t	i;

	if (raw->nstrs == 0 || raw->strs[0].len != 0) {
		xasprintf(cause, "string table must start with an empty "
		    "string");
		return -1;
	}
	for (i = 0; i < raw->ntypes; i++)
		if (check_str(raw, raw->types[i].type, "sample type",
		    cause) == -1 || check_str(raw, raw->types[i].unit,
		    "sample unit", cause) == -1)
			return -1;
	if (check_str(raw, raw->period_type.type, "period type", cause) == -1 ||
	    check_str(raw, raw->period_type.unit, "period unit", cause) == -1 ||
	    check_str(raw, raw->default_type, "default sample type",
	    cause) == -1 ||
	    check_str(raw, raw->drop_frames, "drop_frames", cause) == -1 ||
	    check_str(raw, raw->keep_frames, "keep_frames", cause) == -1)
		return -1;
	for (i = 0; i < raw->ncomments; i++)
		if (check_str(raw, raw->comments[i], "comment", cause) == -1)
			return -1;
	for (i = 0; i < raw->nmaps; i++)
		if (check_str(raw, raw->maps[i].file, "mapping file name",
		    cause) == -1 || check_str(raw, raw->maps[i].build_id,
		    "mapping build id", cause) == -1)
			return -1;
	for (i = 0; i < raw->nfuncs; i++)
		if (check_str(raw, raw->funcs[i].name, "function name",
		    cause) == -1 || check_str(raw, raw->funcs[i].system_name,
		    "function system name", cause) == -1 ||
		    check_str(raw, raw->funcs[i].filename, "function file name",
		    cause) == -1)
			return -1;
	for (i = 0; i < raw->samples.nlab; i++)
		if (check_str(raw, raw->samples.lab[i].key, "label key",
		    cause) == -1 || check_str(raw, raw->samples.lab[i].str,
		    "label value", cause) == -1 || check_str(raw,
		    raw->samples.lab[i].unit, "label unit", cause) == -1)
			return -1;
	return 0;
}

/* Index the ids of a table: they must be non-zero and unique. */
static int
index_table(struct idmap *m, const void *table, size_t n, size_t stride,
    const char *what, char **cause)
{
	uint64_t	*ids, dup;
	size_t		 i;
	int		 rc = 0;

	/* Every raw table starts with its uint64_t id. */
	ids = xreallocarray(NULL, n + 1, sizeof *ids);
	for (i = 0; i < n; i++) {
		memcpy(&ids[i], (const char *)table + i * stride, sizeof *ids);
		if (ids[i] == 0) {
			xasprintf(cause, "%s with reserved id 0", what);
			rc = -1;
			break;
		}
	}
	if (rc == 0 && idmap_build(m, ids, n, &dup) == -1) {
		xasprintf(cause, "%ss with the same id %llu", what,
		    (unsigned long long)dup);
		rc = -1;
	}
	free(ids);
	return rc;
}

/* Check the sample values against the sample types, read by now. */
static int
check_values(const struct profile_raw *raw, char **cause)
{
	if (raw->nsamples == 0)
		return 0;
	if (raw->ntypes == 0) {
		xasprintf(cause, "profile has samples but no sample types");
		return -1;
	}
	if (raw->first_nval != raw->ntypes) {
		xasprintf(cause, "sample 0 has %zu values for %zu sample "
		    "types", raw->first_nval, raw->ntypes);
		return -1;
	}
	if (raw->odd_sample != 0) {
		xasprintf(cause, "sample %zu has %zu values for %zu sample "
		    "types", raw->odd_sample, raw->odd_nval, raw->ntypes);
		return -1;
	}
	return 0;
}

/* Resolve the location ids of the stacks to local indices, in place. */
static int
resolve_stacks(struct pbwire_sample *ps, const struct idmap *locidx,
    char **cause)
{
	const struct pbwire_wide	*wide = ps->wide;
	uint32_t			*loc = ps->loc, pos;
	uint64_t			 id;
	size_t				 i, n = ps->nloc, w = 0;
	size_t				 next = ps->nwide > 0 ? wide[0].pos : n;

	for (i = 0; i < n; i++) {
		id = loc[i];
		if (i == next) {
			id = wide[w++].id;
			next = w < ps->nwide ? wide[w].pos : n;
		}
		if ((pos = idmap_get(locidx, id)) == HASH_NONE) {
			xasprintf(cause, "location id %llu of a sample not "
			    "found", (unsigned long long)id);
			return -1;
		}
		loc[i] = pos;
	}
	return 0;
}

/*
 * With the whole profile read: check every string index and value count,
 * and resolve ids to local indices, in the tables and in the stacks.
 */
static int
parse_finish(struct profile_raw *raw, char **cause)
{
	struct idmap		 mapidx, funcidx, locidx;
	struct raw_location	*rl;
	struct raw_line		*ln;
	size_t			 i, j;
	int			 rc = -1;

	memset(&mapidx, 0, sizeof mapidx);
	memset(&funcidx, 0, sizeof funcidx);
	memset(&locidx, 0, sizeof locidx);
	if (check_values(raw, cause) == -1 || check_strings(raw, cause) == -1 ||
	    index_table(&mapidx, raw->maps, raw->nmaps, sizeof *raw->maps,
	    "mapping", cause) == -1 ||
	    index_table(&funcidx, raw->funcs, raw->nfuncs, sizeof *raw->funcs,
	    "function", cause) == -1 ||
	    index_table(&locidx, raw->locs, raw->nlocs, sizeof *raw->locs,
	    "location", cause) == -1)
		goto out;
	for (i = 0; i < raw->nlocs; i++) {
		rl = &raw->locs[i];
		rl->mapping = SYM_NONE;
		if (rl->mapping_id != 0 && (rl->mapping = idmap_get(&mapidx,
		    rl->mapping_id)) == HASH_NONE) {
			xasprintf(cause, "location %llu: mapping id %llu not "
			    "found", (unsigned long long)rl->id,
			    (unsigned long long)rl->mapping_id);
			goto out;
		}
		for (j = rl->line0; j < rl->line0 + rl->nlines; j++) {
			ln = &raw->lines[j];
			ln->function = ln->function_id == 0 ? HASH_NONE :
			    idmap_get(&funcidx, ln->function_id);
			if (ln->function == HASH_NONE) {
				xasprintf(cause, "location %llu: line with %s "
				    "function id %llu",
				    (unsigned long long)rl->id,
				    ln->function_id == 0 ? "no" : "unknown",
				    (unsigned long long)ln->function_id);
				goto out;
			}
		}
	}
	rc = resolve_stacks(&raw->samples, &locidx, cause);
out:
	idmap_free(&mapidx);
	idmap_free(&funcidx);
	idmap_free(&locidx);
	return rc;
}

struct profile_raw *
profile_parse(const void *data, size_t len, size_t max, char **cause)
{
	struct profile_raw	*raw;
	double			 t0 = clock_mono_us() / 1e3;
	char			*why;
	bool			 plain;
	int			 rc;

	raw = xcalloc(1, sizeof *raw);
	raw->stats.bytes_in = raw->stats.bytes_out = len;
	raw->budget = max > SIZE_MAX / 2 ? SIZE_MAX : max * 2;
	raw->scratch = arena_new(16384);
	raw->strings = arena_new(65536);
	if (is_gzip(data, len)) {
		if ((rc = parse_whole(raw, data, len, max, cause)) == 1)
			rc = parse_gzip(raw, data, len, max, cause);
	}
	else if (len == 0) {
		xasprintf(cause, "empty profile");
		rc = -1;
	} else if (len > max) {
		xasprintf(cause, "profile exceeds the %s limit",
		    units_fmt_size(max));
		rc = -1;
	} else {
		presize_samples(raw, data, len);
		if (parse_fields(raw, data, len, true, cause) == -1) {
			/*
			 * Whatever is wrong with the wire format, random
			 * bytes or text fail here in many ways that all mean
			 * the same; what the parser found stays in
			 * parentheses. A size limit says so itself.
			 */
			if (!raw->over) {
				why = *cause;
				plain = strncmp(why, "not a pprof", 11) == 0;
				xasprintf(cause, "not a pprof profile: neither "
				    "gzip nor a valid protobuf message%s%s%s",
				    plain ? "" : " (", plain ? "" : why,
				    plain ? "" : ")");
				free(why);
			}
			rc = -1;
		} else
			rc = 0;
	}
	if (rc == 0)
		rc = parse_finish(raw, cause);
	if (rc == -1) {
		profile_raw_free(raw);
		return NULL;
	}
	arena_free(raw->scratch);
	raw->scratch = NULL;
	pbwire_location_free(&raw->pl);
	raw->stats.parse_ms = clock_mono_us() / 1e3 - t0 - raw->stats.inflate_ms;
	return raw;
}

void
profile_raw_free(struct profile_raw *raw)
{
	if (raw == NULL)
		return;
	arena_free(raw->scratch);
	arena_free(raw->strings);
	pbwire_sample_free(&raw->samples);
	pbwire_location_free(&raw->pl);
	free(raw->types);
	free(raw->comments);
	free(raw->strs);
	free(raw->maps);
	free(raw->funcs);
	free(raw->locs);
	free(raw->lines);
	free(raw->stack_off);
	free(raw->label_off);
	free(raw);
}

/* ---- interning a parsed profile ----------------------------------------- */

struct label_ent {
	uint64_t	kind_key;	/* kind << 32 | key string id */
	uint32_t	order;
	uint32_t	unit;		/* string id, or SYM_NONE */
	uint64_t	value;		/* string id or number */
};

static int
label_cmp(const void *a, const void *b)
{
	const struct label_ent	*x = a, *y = b;

	if (x->kind_key != y->kind_key)
		return x->kind_key < y->kind_key ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* The label set of a sample with one label, by the label: most have one. */
struct label_memo {
	uint64_t	 kind_key;	/* 0: empty */
	uint64_t	 value;
	uint32_t	 unit;
	uint32_t	 id;
};

#define LABEL_MEMO	1024

struct label_buf {
	struct label_memo	 memo[LABEL_MEMO];
	struct label_ent	*ents;
	size_t			 capents;
	uint64_t		*words;
	size_t			 capwords;
};

/*
 * A sample's labels in a canonical form, so that two samples have equal
 * label sets exactly when pprof's merge would find their labels equal:
 * labels grouped by kind and key, values in the order given, units listed
 * only for a key of which some value has one. A label with neither a
 * string nor a number is dropped, as pprof drops it.
 */
static uint32_t
intern_labels(struct symtab *st, const uint32_t *strmap,
    const struct pbwire_label *rl, size_t nl, struct label_buf *lb)
{
	struct label_ent	*e;
	struct label_memo	*memo = NULL;
	uint64_t		*w;
	size_t			 n = 0, nw = 0, i, j, k;
	uint32_t		 id;
	bool			 units;

	if (nl == 0)
		return 0;
	if (nl > lb->capents) {
		lb->capents = nl;
		lb->ents = xreallocarray(lb->ents, nl, sizeof *lb->ents);
	}
	e = lb->ents;
	for (i = 0; i < nl; i++) {
		e[n].order = i;
		e[n].unit = SYM_NONE;
		if (rl[i].str != 0) {
			e[n].kind_key = (uint64_t)1 << 32 | strmap[rl[i].key];
			e[n].value = strmap[rl[i].str];
		} else if (rl[i].num != 0 || rl[i].unit != 0) {
			e[n].kind_key = (uint64_t)2 << 32 | strmap[rl[i].key];
			e[n].value = (uint64_t)rl[i].num;
			if (rl[i].unit != 0)
				e[n].unit = strmap[rl[i].unit];
		} else
			continue;
		n++;
	}
	if (n == 0)
		return 0;
	if (n == 1) {
		memo = &lb->memo[hash_word(e[0].kind_key, e[0].value ^
		    e[0].unit) % LABEL_MEMO];
		if (memo->kind_key == e[0].kind_key &&
		    memo->value == e[0].value && memo->unit == e[0].unit)
			return memo->id;
	}
	/* Few labels to a sample, often one: an insertion sort. */
	for (i = 1; i < n; i++) {
		struct label_ent t = e[i];

		for (j = i; j > 0 && label_cmp(&e[j - 1], &t) > 0; j--)
			e[j] = e[j - 1];
		e[j] = t;
	}
	if (lb->capwords < 4 * n + 4) {
		lb->capwords = 4 * n + 4;
		lb->words = xreallocarray(lb->words, lb->capwords,
		    sizeof *lb->words);
	}
	w = lb->words;
	for (i = 0; i < n; i = j) {
		units = false;
		for (j = i; j < n && e[j].kind_key == e[i].kind_key; j++)
			units |= e[j].unit != SYM_NONE;
		w[nw++] = e[i].kind_key;
		w[nw++] = j - i;
		for (k = i; k < j; k++)
			w[nw++] = e[k].value;
		if (units)
			for (k = i; k < j; k++)
				w[nw++] = e[k].unit == SYM_NONE ? 0 :
				    e[k].unit;
	}
	id = sym_intern_labelset(st, w, nw);
	if (memo != NULL) {
		memo->kind_key = e[0].kind_key;
		memo->value = e[0].value;
		memo->unit = e[0].unit;
		memo->id = id;
	}
	return id;
}

/* Intern the tables; returns the location map, local index to symtab id. */
static uint32_t *
intern_tables(struct profile_raw *raw, struct symtab *st,
    const uint32_t *strmap, struct profile *p)
{
	struct sym_mapping	 m;
	struct sym_func		 f;
	struct loc_key		 k;
	struct sym_line		*lines = NULL;
	uint32_t		*msym, *fsym, *lsym;
	size_t			 i, j, caplines = 0;

	msym = xreallocarray(NULL, raw->nmaps + 1, sizeof *msym);
	for (i = 0; i < raw->nmaps; i++) {
		const struct raw_mapping *rm = &raw->maps[i];

		memset(&m, 0, sizeof m);
		m.file = strmap[rm->file];
		m.build_id = strmap[rm->build_id];
		/* pprof's key: size rounded up to 4 KiB, offset, identity. */
		m.size = rm->limit - rm->start + 0xfff;
		m.size -= m.size % 0x1000;
		m.offset = rm->offset;
		m.key = m.build_id != 0 ? m.build_id : m.file;
		m.start = rm->start;
		msym[i] = sym_intern_mapping(st, &m);
	}
	p->main_mapping = raw->nmaps > 0 ? msym[0] : SYM_NONE;

	fsym = xreallocarray(NULL, raw->nfuncs + 1, sizeof *fsym);
	for (i = 0; i < raw->nfuncs; i++) {
		f.name = strmap[raw->funcs[i].name];
		f.system_name = strmap[raw->funcs[i].system_name];
		f.filename = strmap[raw->funcs[i].filename];
		f.start_line = raw->funcs[i].start_line;
		fsym[i] = sym_intern_func(st, &f);
	}

	lsym = xreallocarray(NULL, raw->nlocs + 1, sizeof *lsym);
	for (i = 0; i < raw->nlocs; i++) {
		const struct raw_location *rl = &raw->locs[i];

		memset(&k, 0, sizeof k);
		k.loc.addr = rl->address;
		k.loc.mapping = SYM_NONE;
		if (rl->mapping != SYM_NONE) {
			k.loc.mapping = msym[rl->mapping];
			k.loc.addr -= raw->maps[rl->mapping].start;
		}
		k.loc.folded = rl->folded;
		k.loc.nlines = rl->nlines;
		if (rl->nlines > caplines) {
			caplines = rl->nlines;
			lines = xreallocarray(lines, caplines, sizeof *lines);
		}
		for (j = 0; j < rl->nlines; j++) {
			lines[j].func = fsym[raw->lines[rl->line0 + j].function];
			lines[j].line = raw->lines[rl->line0 + j].line;
			lines[j].node = 0;
		}
		k.lines = lines;
		lsym[i] = sym_intern_loc(st, &k);
	}
	free(lines);
	free(msym);
	free(fsym);
	return lsym;
}

struct profile *
profile_reduce(struct profile_raw *raw, struct symtab *st, char **cause)
{
	struct profile		*p;
	struct label_buf	 lb;
	uint32_t		*strmap, *lsym;
	size_t			 i;
	double			 t0;

	p = xcalloc(1, sizeof *p);
	p->stats = raw->stats;
	t0 = clock_mono_us() / 1e3;
	if (st == NULL) {
		st = symtab_new();
		p->own_st = true;
	}
	p->st = st;

	strmap = xreallocarray(NULL, raw->nstrs, sizeof *strmap);
	for (i = 0; i < raw->nstrs; i++)
		strmap[i] = sym_intern_str(st, raw->strs[i].s,
		    raw->strs[i].len);

	p->ntypes = raw->ntypes;
	p->type_name = xreallocarray(NULL, p->ntypes + 1, sizeof *p->type_name);
	p->type_unit = xreallocarray(NULL, p->ntypes + 1, sizeof *p->type_unit);
	for (i = 0; i < p->ntypes; i++) {
		p->type_name[i] = strmap[raw->types[i].type];
		p->type_unit[i] = strmap[raw->types[i].unit];
	}
	p->period_type = strmap[raw->period_type.type];
	p->period_unit = strmap[raw->period_type.unit];
	p->default_type = strmap[raw->default_type];
	p->drop_frames = strmap[raw->drop_frames];
	p->keep_frames = strmap[raw->keep_frames];
	p->ncomments = raw->ncomments;
	p->comments = xreallocarray(NULL, p->ncomments + 1,
	    sizeof *p->comments);
	for (i = 0; i < raw->ncomments; i++)
		p->comments[i] = strmap[raw->comments[i]];
	p->period = raw->period;
	p->time_nanos = raw->time_nanos;
	p->duration_nanos = raw->duration_nanos;

	lsym = intern_tables(raw, st, strmap, p);

	/* The sample arrays change hands; stacks are renumbered in place. */
	p->nsamples = raw->nsamples;
	p->values = raw->samples.val;
	p->stack_off = raw->stack_off;
	p->stacks = raw->samples.loc;
	raw->samples.val = NULL;
	raw->stack_off = NULL;
	raw->samples.loc = NULL;
	for (i = 0; i < raw->samples.nloc; i++)
		p->stacks[i] = lsym[p->stacks[i]];
	p->labelset = xreallocarray(NULL, p->nsamples + 1,
	    sizeof *p->labelset);
	memset(&lb, 0, sizeof lb);		/* kind_key 0: no memo */
	for (i = 0; i < p->nsamples; i++)	/* labels is NULL if none */
		p->labelset[i] = raw->label_off[i + 1] == raw->label_off[i] ?
		    0 : intern_labels(st, strmap,
		    &raw->samples.lab[raw->label_off[i]],
		    raw->label_off[i + 1] - raw->label_off[i], &lb);
	free(lb.ents);
	free(lb.words);
	free(lsym);
	free(strmap);
	profile_raw_free(raw);
	p->stats.reduce_ms = clock_mono_us() / 1e3 - t0;
	return p;
}

struct profile *
profile_decode(const void *data, size_t len, size_t max, struct symtab *st,
    char **cause)
{
	struct profile_raw	*raw;

	if ((raw = profile_parse(data, len, max, cause)) == NULL)
		return NULL;
	return profile_reduce(raw, st, cause);
}

struct profile *
profile_load(const char *path, size_t max, struct symtab *st, char **cause)
{
	struct profile	*p;
	void		*data;
	size_t		 len;
	char		*why = NULL;

	if (profile_read_file(path, max, &data, &len, cause) == -1)
		return NULL;
	p = profile_decode(data, len, max, st, &why);
	free(data);
	if (p == NULL) {
		xasprintf(cause, "%s: %s", path, why);
		free(why);
	}
	return p;
}

void
profile_free(struct profile *p)
{
	if (p == NULL)
		return;
	free(p->type_name);
	free(p->type_unit);
	free(p->comments);
	free(p->values);
	free(p->stack_off);
	free(p->stacks);
	free(p->labelset);
	if (p->own_st)
		symtab_free(p->st);
	free(p);
}

/* ---- sample types ------------------------------------------------------- */

const char *
profile_type_name(const struct profile *p, uint32_t i)
{
	return p->st->strs[p->type_name[i]].s;
}

const char *
profile_type_unit(const struct profile *p, uint32_t i)
{
	return p->st->strs[p->type_unit[i]].s;
}

int
profile_sample_index(const struct profile *p, const char *name,
    char **cause)
{
	const char	*noinuse, *ep;
	long		 n;
	uint32_t	 i;

	if (p->ntypes == 0) {
		xasprintf(cause, "profile has no sample types");
		return -1;
	}
	if (name == NULL || *name == '\0') {
		if (p->default_type != 0)
			for (i = 0; i < p->ntypes; i++)
				if (p->type_name[i] == p->default_type)
					return i;
		return p->ntypes - 1;
	}
	errno = 0;
	n = strtol(name, (char **)&ep, 10);
	if (*ep == '\0' && errno == 0) {
		if (n < 0 || n >= (long)p->ntypes) {
			xasprintf(cause, "sample index %s is outside the range "
			    "[0..%u]", name, p->ntypes - 1);
			return -1;
		}
		return n;
	}
	noinuse = strncmp(name, "inuse_", 6) == 0 ? name + 6 : name;
	for (i = 0; i < p->ntypes; i++)
		if (strcmp(profile_type_name(p, i), name) == 0 ||
		    strcmp(profile_type_name(p, i), noinuse) == 0)
			return i;
	xasprintf(cause, "sample type \"%s\" is not in the profile", name);
	return -1;
}
