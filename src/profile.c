#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <protobuf-c/protobuf-c.h>
#include <zlib.h>

#include "arena.h"
#include "hash.h"
#include "log.h"
#include "profile.h"
#include "profile.pb-c.h"
#include "units.h"
#include "xmalloc.h"

typedef Perftools__Profiles__Profile	PB_Profile;
typedef Perftools__Profiles__Location	PB_Location;
typedef Perftools__Profiles__Sample	PB_Sample;
typedef Perftools__Profiles__Label	PB_Label;

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

struct profile_raw {
	struct arena		*arena;
	PB_Profile		*msg;
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
	struct sym_node	 n = { 0, 0, 0, NULL };
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

	return n == k->n &&
	    memcmp(&st->lsw[st->lsoff[id]], k->w, n * sizeof *k->w) == 0;
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

/*
 * Inflate one or more concatenated gzip members (as `cat a.gz b.gz` makes)
 * into buf, growing it up to max + 1 bytes. With count_only, the output goes
 * to a small scratch buffer instead and only its size is kept.
 */
static int
inflate_members(const unsigned char *in, size_t len, size_t max,
    bool count_only, unsigned char **bufp, size_t *capp, size_t *outlen,
    char **cause)
{
	unsigned char	 scratch[65536], *buf = *bufp;
	z_stream	 zs;
	size_t		 cap = *capp, used = 0, left = len, chunk;
	int		 rc, ret = -1;

	memset(&zs, 0, sizeof zs);
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		fatalx("inflateInit2 failed");
	zs.next_in = (unsigned char *)in;
	for (;;) {
		/* zlib counts in uInt: feed and drain it 1 GiB at most. */
		if (zs.avail_in == 0) {
			chunk = left > (1u << 30) ? (1u << 30) : left;
			zs.avail_in = chunk;
			left -= chunk;
		}
		if (count_only) {
			zs.next_out = scratch;
			zs.avail_out = sizeof scratch;
		} else {
			if (used == cap) {
				cap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
				buf = xreallocarray(buf, cap, 1);
			}
			zs.next_out = buf + used;
			zs.avail_out = cap - used > (1u << 30) ? (1u << 30) :
			    cap - used;
		}
		chunk = zs.avail_out;
		rc = inflate(&zs, Z_NO_FLUSH);
		used += chunk - zs.avail_out;
		if (used > max) {
			xasprintf(cause, "decompressed profile exceeds the "
			    "%s limit", units_fmt_size(max));
			goto out;
		}
		if (rc == Z_STREAM_END) {
			if (zs.avail_in == 0 && left == 0)
				break;
			if (inflateReset(&zs) != Z_OK)
				fatalx("inflateReset failed");
			continue;
		}
		if (rc == Z_BUF_ERROR && zs.avail_in == 0 && left == 0) {
			xasprintf(cause, "truncated gzip data");
			goto out;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			xasprintf(cause, "corrupt gzip data: %s",
			    zs.msg != NULL ? zs.msg : "inflate failed");
			goto out;
		}
	}
	*outlen = used;
	ret = 0;
out:
	inflateEnd(&zs);
	*bufp = buf;
	*capp = cap;
	return ret;
}

/*
 * Inflate gzip data, refusing output beyond max bytes. The output buffer
 * is sized from the gzip trailer; when the trailer claims more than max,
 * a first pass counts the output without keeping it, so that a gzip bomb
 * is refused without ever taking its size in memory.
 */
int
profile_inflate(const void *data, size_t len, size_t max, void **out,
    size_t *outlen, char **cause)
{
	const unsigned char	*in = data;
	unsigned char		*buf = NULL;
	size_t			 cap, hint = 0, n;

	if (len >= 18)
		hint = (size_t)in[len - 4] | (size_t)in[len - 3] << 8 |
		    (size_t)in[len - 2] << 16 | (size_t)in[len - 1] << 24;
	if (hint > max && inflate_members(in, len, max, true, &buf, &cap, &n,
	    cause) == -1)
		return -1;
	cap = hint > 0 && hint <= max ? hint + 1 : len * 4 + 4096;
	if (cap > max + 1)
		cap = max + 1;
	buf = xmalloc(cap);
	if (inflate_members(in, len, max, false, &buf, &cap, outlen,
	    cause) == -1) {
		free(buf);
		return -1;
	}
	*out = buf;
	return 0;
}

/* ---- parsing ------------------------------------------------------------ */

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

struct profile_raw *
profile_parse(const void *data, size_t len, size_t max, char **cause)
{
	struct profile_raw	*raw;
	ProtobufCAllocator	 alloc;
	void			*plain = NULL;
	size_t			 plainlen;

	if (is_gzip(data, len)) {
		if (profile_inflate(data, len, max, &plain, &plainlen,
		    cause) == -1)
			return NULL;
		data = plain;
		len = plainlen;
	} else if (len > max) {
		xasprintf(cause, "profile exceeds the %s limit",
		    units_fmt_size(max));
		return NULL;
	}
	if (len == 0) {
		free(plain);
		xasprintf(cause, "empty profile");
		return NULL;
	}
	raw = xcalloc(1, sizeof *raw);
	raw->arena = arena_new(len < (16u << 20) ? len + 4096 : 16u << 20);
	alloc.alloc = pb_alloc;
	alloc.free = pb_free;
	alloc.allocator_data = raw->arena;
	raw->msg = perftools__profiles__profile__unpack(&alloc, len, data);
	if (raw->msg == NULL) {
		if (plain != NULL)
			xasprintf(cause, "not a pprof profile: the "
			    "decompressed data is not a valid protobuf "
			    "message (corrupt or truncated)");
		else
			xasprintf(cause, "not a pprof profile: neither gzip "
			    "nor a valid protobuf message");
		free(plain);
		profile_raw_free(raw);
		return NULL;
	}
	free(plain);
	return raw;
}

void
profile_raw_free(struct profile_raw *raw)
{
	if (raw == NULL)
		return;
	arena_free(raw->arena);
	free(raw);
}

size_t
profile_raw_bytes(const struct profile_raw *raw)
{
	return arena_bytes(raw->arena);
}

/* ---- checking and interning --------------------------------------------- */

struct reducer {
	const PB_Profile	*pb;
	struct symtab		*st;
	struct profile		*p;
	uint32_t		*strmap;	/* profile string index -> id */
	struct idmap		 mapidx, funcidx, locidx;
	uint64_t		*mapids, *funcids, *locids;
	uint32_t		*msym, *fsym, *lsym;
	char			**cause;
};

/* Translate a string index of the profile, checking its range. */
static int
str_ref(struct reducer *r, int64_t idx, const char *what, uint32_t *id)
{
	if (idx < 0 || (uint64_t)idx >= r->pb->n_string_table) {
		xasprintf(r->cause, "%s: string index %lld out of range "
		    "(%zu strings)", what, (long long)idx,
		    r->pb->n_string_table);
		return -1;
	}
	*id = r->strmap[idx];
	return 0;
}

static int
reduce_strings(struct reducer *r)
{
	const PB_Profile	*pb = r->pb;
	size_t			 i;

	if (pb->n_string_table == 0 || pb->string_table[0].len != 0) {
		xasprintf(r->cause, "string table must start with an empty "
		    "string");
		return -1;
	}
	r->strmap = xreallocarray(NULL, pb->n_string_table,
	    sizeof *r->strmap);
	for (i = 0; i < pb->n_string_table; i++)
		r->strmap[i] = sym_intern_str(r->st,
		    (const char *)pb->string_table[i].data,
		    pb->string_table[i].len);
	return 0;
}

/* Index a table of the profile by id: ids must be non-zero and unique. */
static int
reduce_ids(struct reducer *r, struct idmap *m, uint64_t *ids, size_t n,
    const char *what)
{
	uint64_t	dup;
	size_t		i;

	for (i = 0; i < n; i++)
		if (ids[i] == 0) {
			xasprintf(r->cause, "%s with reserved id 0", what);
			return -1;
		}
	if (idmap_build(m, ids, n, &dup) == -1) {
		xasprintf(r->cause, "%ss with the same id %llu", what,
		    (unsigned long long)dup);
		return -1;
	}
	return 0;
}

static int
reduce_mappings(struct reducer *r)
{
	const PB_Profile		*pb = r->pb;
	const Perftools__Profiles__Mapping *pm;
	struct sym_mapping		 m;
	uint64_t			*ids;
	size_t				 i;
	int				 rc = -1;

	ids = r->mapids = xreallocarray(NULL, pb->n_mapping, sizeof *ids);
	for (i = 0; i < pb->n_mapping; i++)
		ids[i] = pb->mapping[i]->id;
	if (reduce_ids(r, &r->mapidx, ids, pb->n_mapping, "mapping") == -1)
		goto out;
	r->msym = xreallocarray(NULL, pb->n_mapping, sizeof *r->msym);
	for (i = 0; i < pb->n_mapping; i++) {
		pm = pb->mapping[i];
		memset(&m, 0, sizeof m);
		if (str_ref(r, pm->filename, "mapping file name",
		    &m.file) == -1 ||
		    str_ref(r, pm->build_id, "mapping build id",
		    &m.build_id) == -1)
			goto out;
		m.size = pm->memory_limit - pm->memory_start;
		m.size = m.size + 0xfff;
		m.size -= m.size % 0x1000;
		m.offset = pm->file_offset;
		m.key = m.build_id != 0 ? m.build_id : m.file;
		m.start = pm->memory_start;
		r->msym[i] = sym_intern_mapping(r->st, &m);
	}
	r->p->main_mapping = pb->n_mapping > 0 ? r->msym[0] : SYM_NONE;
	rc = 0;
out:
	return rc;
}

static int
reduce_functions(struct reducer *r)
{
	const PB_Profile		*pb = r->pb;
	const Perftools__Profiles__Function *pf;
	struct sym_func			 f;
	uint64_t			*ids;
	size_t				 i;
	int				 rc = -1;

	ids = r->funcids = xreallocarray(NULL, pb->n_function, sizeof *ids);
	for (i = 0; i < pb->n_function; i++)
		ids[i] = pb->function[i]->id;
	if (reduce_ids(r, &r->funcidx, ids, pb->n_function,
	    "function") == -1)
		goto out;
	r->fsym = xreallocarray(NULL, pb->n_function, sizeof *r->fsym);
	for (i = 0; i < pb->n_function; i++) {
		pf = pb->function[i];
		if (str_ref(r, pf->name, "function name", &f.name) == -1 ||
		    str_ref(r, pf->system_name, "function system name",
		    &f.system_name) == -1 ||
		    str_ref(r, pf->filename, "function file name",
		    &f.filename) == -1)
			goto out;
		f.start_line = pf->start_line;
		r->fsym[i] = sym_intern_func(r->st, &f);
	}
	rc = 0;
out:
	return rc;
}

static int
reduce_locations(struct reducer *r)
{
	const PB_Profile	*pb = r->pb;
	const PB_Location	*pl;
	struct loc_key		 k;
	struct sym_line		*lines = NULL;
	size_t			 caplines = 0, i, j;
	uint64_t		*ids;
	uint32_t		 pos;
	int			 rc = -1;

	ids = r->locids = xreallocarray(NULL, pb->n_location, sizeof *ids);
	for (i = 0; i < pb->n_location; i++)
		ids[i] = pb->location[i]->id;
	if (reduce_ids(r, &r->locidx, ids, pb->n_location,
	    "location") == -1)
		goto out;
	r->lsym = xreallocarray(NULL, pb->n_location, sizeof *r->lsym);
	for (i = 0; i < pb->n_location; i++) {
		pl = pb->location[i];
		memset(&k, 0, sizeof k);
		k.loc.mapping = SYM_NONE;
		k.loc.addr = pl->address;
		if (pl->mapping_id != 0) {
			pos = idmap_get(&r->mapidx, pl->mapping_id);
			if (pos == HASH_NONE) {
				xasprintf(r->cause, "location %llu: mapping "
				    "id %llu not found",
				    (unsigned long long)pl->id,
				    (unsigned long long)pl->mapping_id);
				goto out;
			}
			k.loc.mapping = r->msym[pos];
			k.loc.addr -= pb->mapping[pos]->memory_start;
		}
		k.loc.folded = pl->is_folded;
		if (pl->n_line > UINT32_MAX / 2) {
			xasprintf(r->cause, "location %llu: too many lines",
			    (unsigned long long)pl->id);
			goto out;
		}
		k.loc.nlines = pl->n_line;
		if (pl->n_line > caplines) {
			caplines = pl->n_line;
			lines = xreallocarray(lines, caplines, sizeof *lines);
		}
		for (j = 0; j < pl->n_line; j++) {
			pos = pl->line[j]->function_id == 0 ? HASH_NONE :
			    idmap_get(&r->funcidx, pl->line[j]->function_id);
			if (pos == HASH_NONE) {
				xasprintf(r->cause, "location %llu: line with "
				    "%s function id %llu",
				    (unsigned long long)pl->id,
				    pl->line[j]->function_id == 0 ?
				    "no" : "unknown",
				    (unsigned long long)
				    pl->line[j]->function_id);
				goto out;
			}
			lines[j].func = r->fsym[pos];
			lines[j].line = pl->line[j]->line;
			lines[j].node = 0;
		}
		k.lines = lines;
		r->lsym[i] = sym_intern_loc(r->st, &k);
	}
	rc = 0;
out:
	free(lines);
	return rc;
}

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

/*
 * A sample's labels in a canonical form, so that two samples have equal
 * label sets exactly when pprof's merge would find their labels equal:
 * labels grouped by kind and key, values in the order given, units listed
 * only for a key of which some value has one.
 */
static int
reduce_labels(struct reducer *r, const PB_Sample *ps, uint32_t *lsid,
    struct label_ent **ents, size_t *capents, uint64_t **words,
    size_t *capwords)
{
	struct label_ent	*e;
	uint64_t		*w;
	size_t			 n = 0, nw = 0, i, j, k;
	uint32_t		 key, val;
	bool			 units;

	if (ps->n_label == 0) {
		*lsid = 0;
		return 0;
	}
	if (ps->n_label > *capents) {
		*capents = ps->n_label;
		*ents = xreallocarray(*ents, *capents, sizeof **ents);
	}
	e = *ents;
	for (i = 0; i < ps->n_label; i++) {
		const PB_Label *pl = ps->label[i];

		if (str_ref(r, pl->key, "label key", &key) == -1)
			return -1;
		e[n].order = i;
		e[n].unit = SYM_NONE;
		if (pl->str != 0) {
			if (str_ref(r, pl->str, "label value", &val) == -1)
				return -1;
			e[n].kind_key = (uint64_t)1 << 32 | key;
			e[n].value = val;
		} else if (pl->num != 0 || pl->num_unit != 0) {
			e[n].kind_key = (uint64_t)2 << 32 | key;
			e[n].value = (uint64_t)pl->num;
			if (pl->num_unit != 0 && str_ref(r, pl->num_unit,
			    "label unit", &e[n].unit) == -1)
				return -1;
		} else
			continue;
		n++;
	}
	if (n == 0) {
		*lsid = 0;
		return 0;
	}
	qsort(e, n, sizeof *e, label_cmp);
	if (*capwords < 4 * n + 4) {
		*capwords = 4 * n + 4;
		*words = xreallocarray(*words, *capwords, sizeof **words);
	}
	w = *words;
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
	*lsid = sym_intern_labelset(r->st, w, nw);
	return 0;
}

static int
reduce_samples(struct reducer *r)
{
	const PB_Profile	*pb = r->pb;
	struct profile		*p = r->p;
	struct label_ent	*ents = NULL;
	uint64_t		*words = NULL;
	size_t			 capents = 0, capwords = 0, i, j, nstack = 0;
	uint32_t		 pos;
	int			 rc = -1;

	if (pb->n_sample > 0 && p->ntypes == 0) {
		xasprintf(r->cause, "profile has samples but no sample types");
		return -1;
	}
	for (i = 0; i < pb->n_sample; i++) {
		if (pb->sample[i]->n_value != p->ntypes) {
			xasprintf(r->cause, "sample %zu has %zu values for %u "
			    "sample types", i, pb->sample[i]->n_value,
			    p->ntypes);
			return -1;
		}
		nstack += pb->sample[i]->n_location_id;
		if (nstack >= UINT32_MAX) {
			xasprintf(r->cause, "too many stack frames");
			return -1;
		}
	}
	p->nsamples = pb->n_sample;
	p->values = xreallocarray(NULL, pb->n_sample * p->ntypes + 1,
	    sizeof *p->values);
	p->stack_off = xreallocarray(NULL, pb->n_sample + 1,
	    sizeof *p->stack_off);
	p->stacks = xreallocarray(NULL, nstack + 1, sizeof *p->stacks);
	p->labelset = xreallocarray(NULL, pb->n_sample + 1,
	    sizeof *p->labelset);
	nstack = 0;
	for (i = 0; i < pb->n_sample; i++) {
		const PB_Sample *ps = pb->sample[i];

		memcpy(&p->values[i * p->ntypes], ps->value,
		    p->ntypes * sizeof *p->values);
		p->stack_off[i] = nstack;
		for (j = 0; j < ps->n_location_id; j++) {
			pos = idmap_get(&r->locidx, ps->location_id[j]);
			if (pos == HASH_NONE) {
				xasprintf(r->cause, "sample %zu: location id "
				    "%llu not found", i,
				    (unsigned long long)ps->location_id[j]);
				goto out;
			}
			p->stacks[nstack++] = r->lsym[pos];
		}
		if (reduce_labels(r, ps, &p->labelset[i], &ents, &capents,
		    &words, &capwords) == -1)
			goto out;
	}
	p->stack_off[pb->n_sample] = nstack;
	rc = 0;
out:
	free(ents);
	free(words);
	return rc;
}

static int
reduce_header(struct reducer *r)
{
	const PB_Profile	*pb = r->pb;
	struct profile		*p = r->p;
	size_t			 i;

	if (pb->n_sample_type > UINT32_MAX / 2) {
		xasprintf(r->cause, "too many sample types");
		return -1;
	}
	p->ntypes = pb->n_sample_type;
	p->type_name = xreallocarray(NULL, p->ntypes + 1, sizeof *p->type_name);
	p->type_unit = xreallocarray(NULL, p->ntypes + 1, sizeof *p->type_unit);
	for (i = 0; i < p->ntypes; i++)
		if (str_ref(r, pb->sample_type[i]->type, "sample type",
		    &p->type_name[i]) == -1 ||
		    str_ref(r, pb->sample_type[i]->unit, "sample unit",
		    &p->type_unit[i]) == -1)
			return -1;
	if (pb->period_type != NULL &&
	    (str_ref(r, pb->period_type->type, "period type",
	    &p->period_type) == -1 ||
	    str_ref(r, pb->period_type->unit, "period unit",
	    &p->period_unit) == -1))
		return -1;
	if (str_ref(r, pb->default_sample_type, "default sample type",
	    &p->default_type) == -1 ||
	    str_ref(r, pb->drop_frames, "drop_frames", &p->drop_frames) == -1 ||
	    str_ref(r, pb->keep_frames, "keep_frames", &p->keep_frames) == -1)
		return -1;
	if (pb->n_comment > UINT32_MAX / 2) {
		xasprintf(r->cause, "too many comments");
		return -1;
	}
	p->ncomments = pb->n_comment;
	p->comments = xreallocarray(NULL, p->ncomments + 1,
	    sizeof *p->comments);
	for (i = 0; i < pb->n_comment; i++)
		if (str_ref(r, pb->comment[i], "comment",
		    &p->comments[i]) == -1)
			return -1;
	p->period = pb->period;
	p->time_nanos = pb->time_nanos;
	p->duration_nanos = pb->duration_nanos;
	return 0;
}

struct profile *
profile_reduce(struct profile_raw *raw, struct symtab *st, char **cause)
{
	struct reducer	 r;
	struct profile	*p;
	int		 rc;

	p = xcalloc(1, sizeof *p);
	p->main_mapping = SYM_NONE;
	if (st == NULL) {
		st = symtab_new();
		p->own_st = true;
	}
	p->st = st;
	memset(&r, 0, sizeof r);
	r.pb = raw->msg;
	r.st = st;
	r.p = p;
	r.cause = cause;
	rc = -1;
	if (reduce_strings(&r) == 0 && reduce_header(&r) == 0 &&
	    reduce_mappings(&r) == 0 && reduce_functions(&r) == 0 &&
	    reduce_locations(&r) == 0 && reduce_samples(&r) == 0)
		rc = 0;
	free(r.strmap);
	free(r.msym);
	free(r.fsym);
	free(r.lsym);
	idmap_free(&r.mapidx);
	idmap_free(&r.funcidx);
	idmap_free(&r.locidx);
	free(r.mapids);
	free(r.funcids);
	free(r.locids);
	profile_raw_free(raw);
	if (rc == -1) {
		profile_free(p);
		return NULL;
	}
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
