#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>
#define XXH_STATIC_LINKING_ONLY		/* XXH3_state_t on the stack */
#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>

#include "hash.h"
#include "pack.h"
#include "pbwire.h"
#include "profile.h"
#include "xmalloc.h"

#define PACK_DICT_TAG	'D'
#define PACK_BODY_TAG	'S'
#define PACK_VERSION	1
/*
 * Go's pprof writer gives a heap profile's ids densely from 1, so that an
 * id's index is id - 1; others are looked up in a sorted copy.
 */
/*
 * libdeflate's level for serving pprof: the 3.7 MB profile of 65,536
 * stacks gzips in 4.8 ms to 223 KB at 1, in 7.9 ms to 221 KB at 3 and in
 * 21 ms to 206 KB at 6; at 0 (stored) in 0.4 ms but to 3.7 MB, which a
 * browser or `go tool pprof` then fetches. 1 it is: the 8% that 6
 * saves is not worth four times the CPU.
 */
#define PACK_GZ_LEVEL	1
/*
 * zstd's level for a key kept in memory (pack_key_body(), a shrunk
 * writer's) rather than stored: coding bench/scale.sh's profile by its
 * shape, which makes one at every put, took 8.5 million instructions a
 * put at 3 and 7.9 at 1 (callgrind, bench/packstore -p -F), for a key of
 * 17,456 bytes rather than 16,736.
 */
#define PACK_KEPT_LEVEL	1

enum pack_kind {
	PACK_STR, PACK_MAP, PACK_FUNC, PACK_LOC, PACK_STACK, PACK_NKINDS
};

/* Growing bytes and the varints written to them. */
struct pack_buf {
	uint8_t		*p;
	size_t		 len, cap;
};

/* Varints read from p..end; bad is set at the first one that overruns. */
struct pack_rd {
	const uint8_t	*p, *end;
	bool		 bad;
};

/*
 * One table of the dictionary: its entries' encodings back to back, each
 * entry's offset, and an open-addressing index from an encoding to its id.
 * An entry's encoding is its key: two entries are the same when their
 * encodings are, and what a dictionary blob carries is those encodings.
 */
struct pack_tab {
	struct pack_buf	 data;
	size_t		*off;		/* n + 1 */
	uint32_t	 n, capn;
	uint32_t	*slot;		/* id + 1; 0 is empty */
	uint32_t	 nslot;		/* a power of two, or 0: none made */
	uint32_t	 saved;		/* entries already in a blob */
	/*
	 * Each entry's hash (capn + 1), from the first index made on: a
	 * writer's index, which pack_trim() drops, is made again at each
	 * snapshot from these rather than by hashing every entry again,
	 * for 4 bytes an entry kept (for 65,536 stacks, 5 of the 101
	 * million instructions that storing a snapshot took). NULL in a
	 * reader, which looks nothing up.
	 */
	uint32_t	*hash;
};

/* A snapshot as values of stacks, sorted by stack id. */
struct pack_snap {
	uint64_t	 serial;	/* 0: none */
	uint8_t		*hdr;		/* header, as the body holds it */
	size_t		 hdrlen;
	uint32_t	 ntypes;
	uint32_t	*stk;
	size_t		 n;
	int64_t		*val;		/* n * ntypes */
};

struct pack {
	int		 level;
	ZSTD_CCtx	*cctx;
	ZSTD_DCtx	*dctx;
	struct libdeflate_compressor *gz;
	struct libdeflate_decompressor *inflater;
	struct pack_tab	 tab[PACK_NKINDS];
	struct pack_snap cur;
	/*
	 * What reading a profile needs, kept from one snapshot to the next:
	 * allocating the megabytes a large profile takes afresh each time
	 * cost more in page faults and copies than its interning.
	 */
	struct pack_in	*in;
	uint8_t		*inflated;
	size_t		 inflated_cap;
	/*
	 * The sizes of the last profile read, which pack_trim() keeps, so
	 * that the next is read into arrays allocated once at their size
	 * rather than doubled from 64 a dozen times: for a profile of 65,536
	 * stacks realloc's copies and page faults were a third of storing
	 * it. Samples; their values.
	 */
	size_t		 hint[2];
	size_t		 pprof_hint;	/* bytes of the last pprof made */
	/*
	 * The stack of each sample of the last profile coded, in the
	 * samples' order, which pack_trim() keeps: the next profile of one
	 * process lists nearly all its stacks in the same order, so that
	 * its i-th sample's entry is first compared with this one's
	 * (4 bytes a sample; see pack_stack_id()).
	 */
	uint32_t	*order;
	size_t		 norder;
	/*
	 * A writer read back (pack_will_code()): it hashes its entries as
	 * its dictionary blobs are loaded, and notes the first stack each
	 * blob added, until it codes a snapshot (see pack_order_seed()).
	 */
	bool		 coder;
	uint32_t	*blobstk;
	size_t		 nblobstk, capblobstk;
	size_t		 looked;	/* see pack_stats */
};

/* A profile as read, before anything is interned. */
struct pack_in {
	uint8_t		*raw;		/* inflated, when it was gzipped */
	const uint8_t	**str;
	uint32_t	*strlen;
	size_t		 nstr, capstr;
	struct profile_mapping *map;
	size_t		 nmap, capmap;
	uint64_t	(*fn)[5];
	size_t		 nfn, capfn;
	struct pack_inloc {
		uint64_t	 id, mapping, addr;
		bool		 folded;
		size_t		 line0, nlines;
	}		*loc;
	size_t		 nloc, caploc;
	struct pbwire_line *line;
	size_t		 nline, capline;
	/*
	 * The Sample messages, read where they lie once the locations are
	 * interned, each straight into its stack's entry and its values.
	 */
	struct pack_inmsg {
		const uint8_t	*p;
		size_t		 len;
	}		*smp;
	size_t		 ns, caps;
	int64_t		*val;		/* ns * ntypes, in the samples' order */
	size_t		 capval;
	uint64_t	 types[16][2];
	size_t		 ntypes;
	uint64_t	 ptype[2];
	uint64_t	 drop, keep, time, dur, period, deftype;
	uint64_t	*comment;
	size_t		 ncomment, capcomment;
};

static void	 pack_in_free(struct pack_in *);

/* Arrays for a profile of the last one's sizes, an eighth more. */
static void
pack_in_size(struct pack_in *in, const size_t *hint)
{
	if (hint[0] == 0)
		return;
	in->caps = hint[0] + hint[0] / 8 + 64;
	in->smp = xreallocarray(in->smp, in->caps, sizeof *in->smp);
	in->capval = hint[1] + hint[1] / 8 + 64;
	in->val = xreallocarray(in->val, in->capval, sizeof *in->val);
}

static void *
pack_grow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t	c = *cap;

	if (need <= c)
		return p;
	if (c < 16)
		c = 16;
	while (c < need)
		c *= 2;
	*cap = c;
	return xreallocarray(p, c, size);
}

static void
pack_put(struct pack_buf *b, const void *p, size_t n)
{
	b->p = pack_grow(b->p, &b->cap, b->len + n, 1);
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

/*
 * Inline: the varints of a profile written out as pprof are its bytes,
 * and a call for each was a third of making it.
 */
static inline void
pack_put_u(struct pack_buf *b, uint64_t v)
{
	uint8_t	*t;

	if (b->cap - b->len < 10)
		b->p = pack_grow(b->p, &b->cap, b->len + 10, 1);
	t = b->p + b->len;
	while (v >= 0x80) {
		*t++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*t++ = (uint8_t)v;
	b->len = (size_t)(t - b->p);
}

static void
pack_put_s(struct pack_buf *b, int64_t v)
{
	pack_put_u(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* Inline for the one-byte varints that most are, read on the spot. */
static inline uint64_t
pack_get_u(struct pack_rd *r)
{
	uint64_t	v = 0;
	unsigned int	sh;

	if (r->p < r->end && r->p[0] < 0x80)
		return *r->p++;
	/*
	 * Two bytes, as a dictionary's location ids past 127 are in its
	 * stacks: the loop below was a third of reading one back.
	 */
	if (r->end - r->p >= 2 && r->p[1] < 0x80) {
		v = (r->p[0] & 0x7f) | (uint64_t)r->p[1] << 7;
		r->p += 2;
		return v;
	}
	for (sh = 0; sh < 64; sh += 7) {
		if (r->p >= r->end) {
			r->bad = true;
			return 0;
		}
		v |= (uint64_t)(*r->p & 0x7f) << sh;
		if ((*r->p++ & 0x80) == 0)
			return v;
	}
	r->bad = true;
	return 0;
}

static int64_t
pack_get_s(struct pack_rd *r)
{
	uint64_t	u = pack_get_u(r);

	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* A varint that must be below lim, as an id; bad otherwise. */
static uint32_t
pack_get_id(struct pack_rd *r, uint64_t lim)
{
	uint64_t	v = pack_get_u(r);

	if (v >= lim) {
		r->bad = true;
		return 0;
	}
	return (uint32_t)v;
}

/*
 * An entry's hash, for the tables' indexes only (never stored). The last
 * 1 to 8 bytes are read at once, the last 8 overlapping those before
 * when there are as many: a byte at a time, they were half of hashing
 * the 40 bytes a stack of 20 frames takes.
 */
static uint64_t
pack_hash(const uint8_t *p, size_t n)
{
	uint64_t	h = 0x9e3779b97f4a7c15ULL ^ n, w;
	uint32_t	a, b;
	const uint8_t	*end = p + n;

	if (n >= 8) {
		for (; end - p > 8; p += 8) {
			memcpy(&w, p, 8);
			h = (h ^ w) * 0xff51afd7ed558ccdULL;
			h ^= h >> 32;
		}
		memcpy(&w, end - 8, 8);
	} else if (n >= 4) {
		memcpy(&a, p, 4);
		memcpy(&b, end - 4, 4);
		w = (uint64_t)a << 32 | b;
	} else if (n > 0)
		w = (uint64_t)p[0] | (uint64_t)p[n / 2] << 8 |
		    (uint64_t)p[n - 1] << 16;
	else
		w = 0;
	h = (h ^ w) * 0xff51afd7ed558ccdULL;
	h ^= h >> 29;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 32);
}

/*
 * Whether a[0..n) and b[0..n) are the same, 8 bytes at a time, the last
 * 8 overlapping those before: a stack's entry, some 40 bytes, is compared
 * with the last profile's for each sample, inline rather than a call.
 */
static inline bool
pack_same(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint64_t	x, y;

	if (n < 8)
		return memcmp(a, b, n) == 0;
	for (; n > 8; a += 8, b += 8, n -= 8) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y)
			return false;
	}
	memcpy(&x, a + n - 8, 8);
	memcpy(&y, b + n - 8, 8);
	return x == y;
}

static const uint8_t *
pack_tab_get(const struct pack_tab *t, uint32_t id, size_t *len)
{
	*len = t->off[id + 1] - t->off[id];
	return t->data.p + t->off[id];
}

/* Set r to read entry id of t. */
static void
pack_tab_rd(const struct pack_tab *t, uint32_t id, struct pack_rd *r)
{
	size_t	len;

	r->p = pack_tab_get(t, id, &len);
	r->end = r->p + len;
	r->bad = false;
}

static void
pack_tab_slot(struct pack_tab *t, uint32_t id)
{
	uint32_t	 i;

	i = t->hash[id] & (t->nslot - 1);
	while (t->slot[i] != 0)
		i = (i + 1) & (t->nslot - 1);
	t->slot[i] = id + 1;
}

/* Make t's index afresh with nslot slots, the entries in order of id. */
static void
pack_tab_rehash(struct pack_tab *t, uint32_t nslot)
{
	uint32_t	i;

	free(t->slot);
	t->nslot = nslot;
	t->slot = xcalloc(t->nslot, sizeof *t->slot);
	for (i = 0; i < t->n; i++)
		pack_tab_slot(t, i);
}

/*
 * Make t's index afresh, at most half full, so that probes stay short:
 * when it fills, or at the first lookup (none is made until one, and
 * pack_trim() drops it).
 */
/* Each entry's hash, kept from now on. */
static void
pack_tab_hashes(struct pack_tab *t)
{
	const uint8_t	*p;
	size_t		 len;
	uint32_t	 i;

	if (t->hash != NULL)
		return;
	t->hash = xreallocarray(NULL, (size_t)t->capn + 1, sizeof *t->hash);
	for (i = 0; i < t->n; i++) {
		p = pack_tab_get(t, i, &len);
		t->hash[i] = (uint32_t)pack_hash(p, len);
	}
}

static void
pack_tab_index(struct pack_tab *t)
{
	uint32_t	 nslot = 128;

	pack_tab_hashes(t);
	while ((size_t)t->n * 2 > nslot)
		nslot *= 2;
	pack_tab_rehash(t, nslot);
}

/*
 * Room for c more entries of len bytes in all, as pack_tab_put() would
 * make it adding them one by one (the same capacities, doubled).
 */
static void
pack_tab_reserve(struct pack_tab *t, size_t c, size_t len)
{
	size_t	cap;

	if (c == 0)
		return;
	if (t->off == NULL || (size_t)t->n + c > t->capn) {
		cap = t->off == NULL ? 64 : t->capn;
		while (cap < (size_t)t->n + c)
			cap *= 2;
		if (t->off == NULL)
			t->off = xcalloc(cap + 1, sizeof *t->off);
		else
			t->off = xreallocarray(t->off, cap + 1,
			    sizeof *t->off);
		if (t->hash != NULL)
			t->hash = xreallocarray(t->hash, cap + 1,
			    sizeof *t->hash);
		t->capn = (uint32_t)cap;
	}
	t->data.p = pack_grow(t->data.p, &t->data.cap, t->data.len + len, 1);
}

/* Append an entry, same as another or not, of hash h; its id. */
static uint32_t
pack_tab_put(struct pack_tab *t, const uint8_t *p, size_t len, uint32_t h)
{
	uint32_t	id = t->n;

	if (t->off == NULL || t->n == t->capn) {
		if (t->off == NULL) {
			t->capn = 64;
			t->off = xcalloc(t->capn + 1, sizeof *t->off);
		} else {
			t->off = xreallocarray(t->off, (size_t)t->capn * 2 + 1,
			    sizeof *t->off);
			t->capn *= 2;
		}
		if (t->hash != NULL)
			t->hash = xreallocarray(t->hash, (size_t)t->capn + 1,
			    sizeof *t->hash);
	}
	pack_put(&t->data, p, len);
	t->off[++t->n] = t->data.len;
	if (t->hash != NULL)
		t->hash[id] = h;
	/* No index yet: the first lookup makes it (a reader needs none). */
	if (t->nslot == 0)
		return id;
	if ((size_t)t->n * 2 > t->nslot)
		pack_tab_index(t);
	else
		pack_tab_slot(t, id);
	return id;
}

static uint32_t
pack_tab_add(struct pack_tab *t, const uint8_t *p, size_t len)
{
	return pack_tab_put(t, p, len, t->hash != NULL ?
	    (uint32_t)pack_hash(p, len) : 0);
}

static uint32_t
pack_tab_intern(struct pack_tab *t, const uint8_t *p, size_t len)
{
	const uint8_t	*q;
	size_t		 qlen;
	uint32_t	 i, h = (uint32_t)pack_hash(p, len), id;

	if (t->nslot == 0)
		pack_tab_index(t);
	i = h & (t->nslot - 1);
	for (; t->slot[i] != 0; i = (i + 1) & (t->nslot - 1)) {
		id = t->slot[i] - 1;
		if (t->hash[id] != h)
			continue;
		q = pack_tab_get(t, id, &qlen);
		if (qlen == len && pack_same(p, q, len))
			return id;
	}
	return pack_tab_put(t, p, len, h);
}

/* What a table was before a profile began to be interned into it. */
struct pack_mark {
	uint32_t	 n, capn, nslot;
	size_t		 cap;
	bool		 off;		/* off was allocated */
	bool		 hash;		/* and hash */
};

static void
pack_tab_mark(const struct pack_tab *t, struct pack_mark *m)
{
	m->n = t->n;
	m->capn = t->capn;
	m->nslot = t->nslot;
	m->cap = t->data.cap;
	m->off = t->off != NULL;
	m->hash = t->hash != NULL;
}

/*
 * Take back the entries added since m and the room they took, so that a
 * profile found malformed while being interned leaves the table as it
 * was, to the byte that pack_stats() counts. An entry's probe sequence
 * holds only entries older than itself (ids grow, and an index is made
 * in order of id), so emptying the slots of the newer ones keeps every
 * older one found.
 */
static void
pack_tab_undo(struct pack_tab *t, const struct pack_mark *m)
{
	uint32_t	i;

	if (t->n > m->n) {
		t->n = m->n;
		t->data.len = t->off[m->n];
	}
	if (t->data.cap != m->cap) {
		if (m->cap == 0) {
			free(t->data.p);
			t->data.p = NULL;
		} else
			t->data.p = xreallocarray(t->data.p, m->cap, 1);
		t->data.cap = m->cap;
	}
	if (!m->hash) {
		free(t->hash);
		t->hash = NULL;
	}
	if (!m->off) {
		free(t->off);
		t->off = NULL;
		t->capn = 0;
	} else if (t->capn != m->capn) {
		t->off = xreallocarray(t->off, (size_t)m->capn + 1,
		    sizeof *t->off);
		if (t->hash != NULL)
			t->hash = xreallocarray(t->hash, (size_t)m->capn + 1,
			    sizeof *t->hash);
		t->capn = m->capn;
	}
	if (m->nslot == 0) {
		free(t->slot);
		t->slot = NULL;
		t->nslot = 0;
	} else if (t->nslot != m->nslot)
		pack_tab_rehash(t, m->nslot);
	else
		for (i = 0; i < t->nslot; i++)
			if (t->slot[i] > t->n)
				t->slot[i] = 0;
}

static void
pack_tab_free(struct pack_tab *t)
{
	free(t->data.p);
	free(t->off);
	free(t->slot);
	free(t->hash);
}

static void
pack_snap_clear(struct pack_snap *s)
{
	free(s->hdr);
	free(s->stk);
	free(s->val);
	memset(s, 0, sizeof *s);
}

struct pack *
pack_new(int level)
{
	struct pack	*pk = xcalloc(1, sizeof *pk);

	pk->level = level;
	return pk;
}

void
pack_free(struct pack *pk)
{
	int	i;

	if (pk == NULL)
		return;
	for (i = 0; i < PACK_NKINDS; i++)
		pack_tab_free(&pk->tab[i]);
	pack_snap_clear(&pk->cur);
	pack_in_free(pk->in);
	free(pk->inflated);
	free(pk->order);
	free(pk->blobstk);
	ZSTD_freeCCtx(pk->cctx);
	ZSTD_freeDCtx(pk->dctx);
	if (pk->gz != NULL)
		libdeflate_free_compressor(pk->gz);
	if (pk->inflater != NULL)
		libdeflate_free_decompressor(pk->inflater);
	free(pk);
}

void
pack_will_code(struct pack *pk)
{
	pk->coder = true;
}

void
pack_trim(struct pack *pk)
{
	struct pack_tab	*t;
	int		 k;

	if (pk == NULL)
		return;
	/*
	 * The tables, grown by doubling, fitted to what they hold: a
	 * fifth of a dictionary of 65,536 stacks was room to grow, which a
	 * realloc() gives back when the next snapshot adds to it. Their
	 * indexes go too, another 1.3 MB of 7: a reader never looks an
	 * entry up, and a writer makes them again at its next snapshot
	 * from the entries' hashes, which stay (265 KB for 65,536 stacks).
	 */
	for (k = 0; k < PACK_NKINDS; k++) {
		t = &pk->tab[k];
		free(t->slot);
		t->slot = NULL;
		t->nslot = 0;
		if (t->data.cap > t->data.len && t->data.len > 0) {
			t->data.p = xreallocarray(t->data.p, t->data.len, 1);
			t->data.cap = t->data.len;
		}
		if (t->capn > t->n && t->n > 0) {
			t->off = xreallocarray(t->off, (size_t)t->n + 1,
			    sizeof *t->off);
			if (t->hash != NULL)
				t->hash = xreallocarray(t->hash,
				    (size_t)t->n + 1, sizeof *t->hash);
			t->capn = t->n;
		}
	}
	pack_in_free(pk->in);
	pk->in = NULL;
	free(pk->blobstk);
	pk->blobstk = NULL;
	pk->nblobstk = pk->capblobstk = 0;
	free(pk->inflated);
	pk->inflated = NULL;
	pk->inflated_cap = 0;
	ZSTD_freeCCtx(pk->cctx);
	pk->cctx = NULL;
	ZSTD_freeDCtx(pk->dctx);
	pk->dctx = NULL;
	if (pk->gz != NULL)
		libdeflate_free_compressor(pk->gz);
	pk->gz = NULL;
	if (pk->inflater != NULL)
		libdeflate_free_decompressor(pk->inflater);
	pk->inflater = NULL;
}

void
pack_stats(const struct pack *pk, struct pack_stats *st)
{
	int	i;

	memset(st, 0, sizeof *st);
	st->strings = pk->tab[PACK_STR].n;
	st->mappings = pk->tab[PACK_MAP].n;
	st->functions = pk->tab[PACK_FUNC].n;
	st->locations = pk->tab[PACK_LOC].n;
	st->stacks = pk->tab[PACK_STACK].n;
	st->dict_bytes = 0;
	for (i = 0; i < PACK_NKINDS; i++)
		st->dict_bytes += pk->tab[i].data.len;
	st->serial = pk->cur.serial;
	st->nsamples = pk->cur.n;
	st->looked = pk->looked;
	/* What pack_trim() keeps, as allocated; buffers come on top. */
	for (i = 0; i < PACK_NKINDS; i++)
		st->held += pk->tab[i].data.cap + (pk->tab[i].off != NULL ?
		    ((size_t)pk->tab[i].capn + 1) * sizeof *pk->tab[i].off :
		    0) + (size_t)pk->tab[i].nslot * sizeof *pk->tab[i].slot +
		    (pk->tab[i].hash != NULL ? ((size_t)pk->tab[i].capn + 1) *
		    sizeof *pk->tab[i].hash : 0);
	st->held += sizeof *pk + pk->cur.hdrlen + pk->cur.n * (sizeof
	    *pk->cur.stk + pk->cur.ntypes * sizeof *pk->cur.val) +
	    pk->norder * sizeof *pk->order;
}

/* Inflate a gzip or zlib stream to at most max bytes. */
static int
pack_inflate(const uint8_t *data, size_t len, size_t max, uint8_t **out,
    size_t *outlen, char **cause)
{
	z_stream	 z;
	uint8_t		*b = NULL;
	size_t		 cap = 0;
	int		 rc;

	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, 15 + 32) != Z_OK) {
		*cause = xstrdup("cannot start inflating");
		return -1;
	}
	z.next_in = (uint8_t *)(uintptr_t)data;
	z.avail_in = len > UINT32_MAX ? UINT32_MAX : (uInt)len;
	do {
		if (z.total_out == cap) {
			if (cap >= max) {
				xasprintf(cause, "profile inflates to more "
				    "than %zu bytes", max);
				goto fail;
			}
			cap = cap == 0 ? len * 4 + 4096 : cap * 2;
			if (cap > max)
				cap = max;
			b = xreallocarray(b, cap, 1);
		}
		z.next_out = b + z.total_out;
		z.avail_out = (uInt)(cap - z.total_out);
		rc = inflate(&z, Z_NO_FLUSH);
	} while (rc == Z_OK);
	if (rc != Z_STREAM_END) {
		xasprintf(cause, "bad gzip stream: %s",
		    z.msg != NULL ? z.msg : "truncated");
		goto fail;
	}
	*out = b;
	*outlen = z.total_out;
	inflateEnd(&z);
	return 0;
fail:
	inflateEnd(&z);
	free(b);
	return -1;
}

/*
 * Inflate a gzip member whole through libdeflate, twice as fast as zlib,
 * when its trailer gives a size within max; -1, with nothing said, when it
 * cannot (several members, a size over 4 GiB), for zlib to stream it.
 */
static int
pack_inflate_whole(struct pack *pk, const uint8_t *data, size_t len,
    size_t max, uint8_t **out, size_t *outlen)
{
	uint32_t	 isize;

	if (len < 18)
		return -1;
	isize = (uint32_t)data[len - 4] | (uint32_t)data[len - 3] << 8 |
	    (uint32_t)data[len - 2] << 16 | (uint32_t)data[len - 1] << 24;
	if (isize > max || isize == 0)
		return -1;
	if (pk->inflater == NULL &&
	    (pk->inflater = libdeflate_alloc_decompressor()) == NULL)
		return -1;
	pk->inflated = pack_grow(pk->inflated, &pk->inflated_cap, isize, 1);
	if (libdeflate_gzip_decompress(pk->inflater, data, len, pk->inflated,
	    isize, outlen) != LIBDEFLATE_SUCCESS || *outlen != isize)
		return -1;
	*out = pk->inflated;
	return 0;
}

/* Empty in for the next profile, keeping what it allocated. */
static void
pack_in_reset(struct pack_in *in)
{
	free(in->raw);
	in->raw = NULL;
	in->nstr = in->nmap = in->nfn = in->nloc = in->nline = in->ns = 0;
	in->ntypes = in->ncomment = 0;
	in->ptype[0] = in->ptype[1] = 0;
	in->drop = in->keep = in->time = in->dur = in->period = 0;
	in->deftype = 0;
}

static void
pack_in_free(struct pack_in *in)
{
	if (in == NULL)
		return;
	free(in->raw);
	free(in->str);
	free(in->strlen);
	free(in->map);
	free(in->fn);
	free(in->loc);
	free(in->line);
	free(in->smp);
	free(in->val);
	free(in->comment);
	free(in);
}

/* Read a profile's messages into in, without checking references. */
static int
pack_in_read(struct pack_in *in, const uint8_t *p, size_t len,
    char **cause)
{
	const uint8_t		*end = p + len;
	struct pbwire_field	 f;
	struct pbwire_location	 pl;
	uint64_t		 v[10];
	struct profile_mapping	 pm;
	size_t			 i;
	int			 rc;

	memset(&pl, 0, sizeof pl);
	while ((rc = pbwire_next(&p, end, &f)) == 1) {
		if (f.num >= 1 && f.num <= 6 && f.num != 13 && f.wt != 2)
			goto bad;
		switch (f.num) {
		case 1:
		case 11:
			if (f.wt != 2 ||
			    pbwire_scalars(f.p, f.len, v, 2) == -1)
				goto bad;
			if (f.num == 11) {
				/*
				 * Repeated, the message is merged, as
				 * profile.c reads it: what it sets
				 * replaces.
				 */
				if (v[0] != 0)
					in->ptype[0] = v[0];
				if (v[1] != 0)
					in->ptype[1] = v[1];
				break;
			}
			if (in->ntypes == 16) {
				*cause = xstrdup("more than 16 sample types");
				goto fail;
			}
			in->types[in->ntypes][0] = v[0];
			in->types[in->ntypes++][1] = v[1];
			break;
		case 2:
			in->smp = pack_grow(in->smp, &in->caps, in->ns + 1,
			    sizeof *in->smp);
			in->smp[in->ns].p = f.p;
			in->smp[in->ns++].len = f.len;
			break;
		case 3:
			in->map = pack_grow(in->map, &in->capmap,
			    in->nmap + 1, sizeof *in->map);
			/* As profile.c reads it, odd encodings of the
			 * flags included: the parsed path must agree. */
			if (profile_mapping_read(f.p, f.len, &pm) == -1)
				goto bad;
			in->map[in->nmap++] = pm;
			break;
		case 4:
			if (pbwire_location(f.p, f.len, &pl) == -1)
				goto bad;
			in->loc = pack_grow(in->loc, &in->caploc,
			    in->nloc + 1, sizeof *in->loc);
			in->loc[in->nloc].id = pl.id;
			in->loc[in->nloc].mapping = pl.mapping_id;
			in->loc[in->nloc].addr = pl.address;
			in->loc[in->nloc].folded = pl.is_folded != 0;
			in->loc[in->nloc].line0 = in->nline;
			in->loc[in->nloc++].nlines = pl.nlines;
			in->line = pack_grow(in->line, &in->capline,
			    in->nline + pl.nlines, sizeof *in->line);
			for (i = 0; i < pl.nlines; i++)
				in->line[in->nline++] = pl.lines[i];
			break;
		case 5:
			in->fn = pack_grow(in->fn, &in->capfn, in->nfn + 1,
			    sizeof *in->fn);
			if (pbwire_scalars(f.p, f.len, in->fn[in->nfn++],
			    5) == -1)
				goto bad;
			break;
		case 6:
			if (in->nstr == UINT32_MAX - 1)
				goto bad;
			in->str = pack_grow(in->str, &in->capstr,
			    in->nstr + 1, sizeof *in->str);
			in->strlen = xreallocarray(in->strlen, in->capstr,
			    sizeof *in->strlen);
			in->str[in->nstr] = f.p;
			in->strlen[in->nstr++] = (uint32_t)f.len;
			break;
		case 7: case 8: case 9: case 10: case 12: case 14:
			if (f.wt != 0)
				goto bad;
			if (f.num == 7)
				in->drop = f.v;
			else if (f.num == 8)
				in->keep = f.v;
			else if (f.num == 9)
				in->time = f.v;
			else if (f.num == 10)
				in->dur = f.v;
			else if (f.num == 12)
				in->period = f.v;
			else
				in->deftype = f.v;
			break;
		case 13:
			if (pbwire_repeated(&f, &in->comment, &in->ncomment,
			    &in->capcomment) == -1)
				goto bad;
			break;
		default:
			break;
		}
	}
	if (rc == -1)
		goto bad;
	pbwire_location_free(&pl);
	return 0;
bad:
	*cause = xstrdup("malformed profile: bad protobuf");
fail:
	pbwire_location_free(&pl);
	return -1;
}

/*
 * Ids to indexes: hash.c's idmap, a table by id when ids are small, as Go
 * numbers them, else hashed. Ids shuffled, as bench/genprof's, once made
 * a binary search for each location of each sample a quarter of
 * heapwatchd's CPU with 1,000 packed targets of 3,000 samples.
 */

/* -1 when an id is 0 or repeated. */
static int
pack_ids_make(struct idmap *m, size_t n, uint64_t (*id)(void *, size_t),
    void *arg)
{
	uint64_t	*v, dup;
	size_t		 i;
	int		 rc = 0;

	memset(m, 0, sizeof *m);
	v = xreallocarray(NULL, n + 1, sizeof *v);
	for (i = 0; i < n; i++)
		if ((v[i] = id(arg, i)) == 0)
			rc = -1;
	if (rc == 0)
		rc = hash_map_build(m, v, n, &dup);
	free(v);
	return rc;
}

static uint64_t
pack_map_id(void *arg, size_t i)
{
	return ((struct pack_in *)arg)->map[i].id;
}

static uint64_t
pack_fn_id(void *arg, size_t i)
{
	return ((struct pack_in *)arg)->fn[i][0];
}

static uint64_t
pack_loc_id(void *arg, size_t i)
{
	return ((struct pack_in *)arg)->loc[i].id;
}

/* A stack being encoded: its id and where its values are. */
struct pack_ref {
	uint32_t	 stack;
	uint32_t	 sample;
};

/*
 * Sort refs by stack, samples of one stack in their order: a counting
 * sort, the stacks being ids below nstk, where qsort() of a profile of
 * 65,536 samples took a tenth of coding it.
 */
static void
pack_sort_refs(struct pack_ref *ref, size_t n, uint32_t nstk)
{
	struct pack_ref	*out;
	uint32_t	*at;
	size_t		 i;
	uint32_t	 k, sum = 0, c;

	if (n < 2)
		return;
	at = xcalloc((size_t)nstk + 1, sizeof *at);
	for (i = 0; i < n; i++)
		at[ref[i].stack]++;
	for (k = 0; k <= nstk; k++) {
		c = at[k];
		at[k] = sum;
		sum += c;
	}
	out = xreallocarray(NULL, n, sizeof *out);
	for (i = 0; i < n; i++)
		out[at[ref[i].stack]++] = ref[i];
	memcpy(ref, out, n * sizeof *ref);
	free(out);
	free(at);
}

/*
 * Location ids below this, a varint of one or two bytes in a sample, are
 * turned into their entries' varints through a table of their own (64 KB
 * at most; Go numbers a heap profile's few hundred locations from 1).
 */
#define PACK_TR_MAX	16384

/* What pack_stack() reads a sample with. */
struct pack_stk {
	const struct pack_in	*in;
	const struct idmap	*li;	/* location ids to indexes */
	const uint32_t		*lid;	/* location indexes to entries */
	const uint32_t		*sid;	/* string indexes to entries */
	/*
	 * A location id below ntr to its entry's varint, its bytes from
	 * the lowest up and its length in the top byte; 0: not there, or
	 * an entry of over 3 bytes, for the idmap to find.
	 */
	const uint32_t		*tr;
	size_t			 ntr;
};

/* A varint at t, which has room for it; the byte after it. */
static inline uint8_t *
pack_varint(uint8_t *t, uint64_t v)
{
	while (v >= 0x80) {
		*t++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*t++ = (uint8_t)v;
	return t;
}

/*
 * The varint at q, before qe, into *v; the byte after it, or NULL when it
 * is malformed: pbwire_varint()'s reading (ten bytes at most, bits past
 * 64 dropped), inline and calling nothing, so that the caller's q and *v
 * stay in registers rather than being stored for a call that could
 * reach them and loaded again after each byte written: with the tail
 * of pack_stack() copied without memcpy(), 3 million of the 104 million
 * instructions of storing a snapshot of 65,536 stacks, whose samples
 * have four values of two bytes or more.
 */
static inline const uint8_t *
pack_varint_rd(const uint8_t *q, const uint8_t *qe, uint64_t *v)
{
	uint64_t	x = 0;
	unsigned int	sh;

	for (sh = 0; sh < 70 && q < qe; sh += 7) {
		if (sh < 64)
			x |= (uint64_t)(*q & 0x7f) << sh;
		if ((*q++ & 0x80) == 0) {
			*v = x;
			return q;
		}
	}
	return NULL;
}

/*
 * A Label message's four fields into v, as pbwire_scalars() reads them:
 * the fields of one key byte and varints of up to 3 bytes that Go writes
 * (its heap profiles give every sample a "bytes" label) read here, for a
 * third of the instructions, anything else by pbwire_scalars().
 */
static int
pack_label(const uint8_t *p, size_t len, uint64_t *v)
{
	const uint8_t	*q = p, *end = p + len;
	unsigned int	 k;

	v[0] = v[1] = v[2] = v[3] = 0;
	while (q < end) {
		k = *q++;
		if ((k & 7) != 0 || k < 1 << 3 || k > 4 << 3)
			return pbwire_scalars(p, len, v, 4);
		k = (k >> 3) - 1;
		if (end - q >= 1 && q[0] < 0x80) {
			v[k] = q[0];
			q += 1;
		} else if (end - q >= 2 && q[1] < 0x80) {
			v[k] = (q[0] & 0x7f) | (uint64_t)q[1] << 7;
			q += 2;
		} else if (end - q >= 3 && q[2] < 0x80) {
			v[k] = (q[0] & 0x7f) | (uint64_t)(q[1] & 0x7f) << 7 |
			    (uint64_t)q[2] << 14;
			q += 3;
		} else
			return pbwire_scalars(p, len, v, 4);
	}
	return 0;
}

/*
 * Location id as its entry's varint at t, which has room for it; the byte
 * after it, or NULL when there is no such location.
 */
static uint8_t *
pack_loc(const struct pack_stk *sk, uint64_t id, uint8_t *t)
{
	uint32_t	x;

	if (id < sk->ntr && sk->tr[id] != 0) {
		x = sk->tr[id];
		t[0] = (uint8_t)x;
		t[1] = (uint8_t)(x >> 8);
		t[2] = (uint8_t)(x >> 16);
		return t + (x >> 24);
	}
	if ((x = hash_map_get(sk->li, id)) == HASH_NONE)
		return NULL;
	return pack_varint(t, sk->lid[x]);
}

/*
 * The stack of a Sample message m as its entry in the stack table,
 * *e[0..*elen) (in b), and its values into val[0..ntypes), checking its
 * references on the way. A sample's location ids are read from its
 * packed bytes and written as the dictionary's at once, since most take
 * a byte or two either way; labels, which Go's heap profiles do not
 * have, go through lb.
 */
static int
pack_stack(const struct pack_stk *sk, const struct pack_inmsg *m,
    int64_t *val, struct pack_buf *b, struct pack_buf *lb,
    const uint8_t **e, size_t *elen, char **cause)
{
	const struct pack_in	*in = sk->in;
	const uint8_t		*p = m->p, *end = m->p + m->len, *q, *qe;
	const uint32_t		*tr = sk->tr;
	struct pbwire_field	 f;
	uint64_t		 id, x, v[4];
	uint32_t		 c;
	uint8_t			*t, head[10];
	size_t			 nl = 0, nv = 0, nb = 0, hl, n, ntr = sk->ntr;
	int			 rc;

	/* Room for the count, put in front of the ids once known. */
	b->p = pack_grow(b->p, &b->cap, sizeof head, 1);
	b->len = sizeof head;
	lb->len = 0;
	while ((rc = pbwire_next(&p, end, &f)) == 1) {
		if (f.num == 3) {
			if (f.wt != 2 || pack_label(f.p, f.len, v) == -1)
				goto bad;
			if (v[0] >= in->nstr || v[1] >= in->nstr ||
			    v[3] >= in->nstr) {
				*cause = xstrdup("malformed profile: a string "
				    "index out of range");
				return -1;
			}
			pack_put_u(lb, sk->sid[v[0]]);
			pack_put_u(lb, sk->sid[v[1]]);
			pack_put_s(lb, (int64_t)v[2]);
			pack_put_u(lb, sk->sid[v[3]]);
			nb++;
			continue;
		}
		if (f.num != 1 && f.num != 2)
			continue;		/* unknown: skipped */
		if (f.wt != 0 && f.wt != 2)
			goto bad;
		id = f.v;
		q = qe = NULL;
		if (f.wt == 2) {
			q = f.p;
			qe = f.p + f.len;
		}
		if (f.num == 2) {
			if (f.wt == 0 && nv++ < in->ntypes)
				val[nv - 1] = (int64_t)id;
			for (; q < qe; nv++) {
				if (q[0] < 0x80)
					id = *q++;
				else if ((q = pack_varint_rd(q, qe,
				    &x)) == NULL)
					goto bad;
				else
					id = x;
				if (nv < in->ntypes)
					val[nv] = (int64_t)id;
			}
			continue;
		}
		/* A dictionary id takes at most 5 bytes, a profile's 1. */
		n = ((size_t)(qe - q) + 1) * 5;
		if (b->cap - b->len < n)
			b->p = pack_grow(b->p, &b->cap, b->len + n, 1);
		t = b->p + b->len;
		if (f.wt == 0) {
			if ((t = pack_loc(sk, id, t)) == NULL)
				goto missing;
			nl++;
		}
		/*
		 * Through the table, kept in locals that the bytes written
		 * cannot be taken to change, nor a call: 32 instructions an
		 * id, for a profile of 65,536 stacks of 20 frames. The
		 * branch on an id's length stays: without it (the length
		 * from the first byte's top bit, 22 instructions an id, or
		 * from a table by the two bytes at hand, 11), where the next
		 * id starts waits for the loads of this one, and coding that
		 * profile took 15 to 30% more CPU time for 20% fewer
		 * instructions.
		 */
		while (q < qe) {
			if (q[0] < 0x80)
				id = *q++;
			else if (qe - q >= 2 && q[1] < 0x80) {
				id = (q[0] & 0x7f) | (uint64_t)q[1] << 7;
				q += 2;
			} else if ((q = pack_varint_rd(q, qe, &x)) == NULL)
				goto bad;
			else
				id = x;
			nl++;
			if (id < ntr && (c = tr[id]) != 0) {
				t[0] = (uint8_t)c;
				t[1] = (uint8_t)(c >> 8);
				t[2] = (uint8_t)(c >> 16);
				t += c >> 24;
			} else if ((t = pack_loc(sk, id, t)) == NULL)
				goto missing;
		}
		b->len = (size_t)(t - b->p);
	}
	if (rc == -1)
		goto bad;
	if (nv != in->ntypes) {
		xasprintf(cause, "malformed profile: a sample has %zu values "
		    "for %zu sample types", nv, in->ntypes);
		return -1;
	}
	/*
	 * The count, the labels' count and the labels copied a byte at a
	 * time: a call to memcpy() for each of a few bytes was a tenth of
	 * reading a sample of Go's heap profile, whose "bytes" label is 8.
	 */
	hl = (size_t)(pack_varint(head, nl) - head);
	for (n = 0; n < hl; n++)
		b->p[sizeof head - hl + n] = head[n];
	if (b->cap - b->len < 10 + lb->len)
		b->p = pack_grow(b->p, &b->cap, b->len + 10 + lb->len, 1);
	t = pack_varint(b->p + b->len, nb);
	for (n = 0; n < lb->len; n++)
		t[n] = lb->p[n];
	b->len = (size_t)(t + lb->len - b->p);
	*e = b->p + sizeof head - hl;
	*elen = b->len - (sizeof head - hl);
	return 0;
missing:
	*cause = xstrdup("malformed profile: a reference to a missing id");
	return -1;
bad:
	*cause = xstrdup("malformed profile: bad protobuf");
	return -1;
}

/*
 * Where the samples of the last profile coded are followed, to find a
 * stack's id without looking it up: the next to compare with, and each
 * of those stacks' place in it (+ 1; 0: not there).
 */
struct pack_follow {
	size_t		 next;
	uint32_t	*pos;
	uint32_t	 npos;
	size_t		 looked;	/* samples not followed */
};

/*
 * The id of the stack entry e[0..elen) of a sample: that of the last
 * profile's sample being followed when its entry is the same, byte for
 * byte, else looked up, and the samples followed on from where that
 * stack was. Consecutive profiles of one process list nearly all their
 * stacks in the same order, Go's newest first, so that after a few new
 * ones the rest follow as before: the lookup, hashing the entry and
 * probing (and the index made again after pack_trim(), 65,536 entries
 * hashed), is mostly not needed.
 */
static uint32_t
pack_stack_id(struct pack *pk, struct pack_follow *fw, const uint8_t *e,
    size_t elen)
{
	struct pack_tab	*t = &pk->tab[PACK_STACK];
	const uint8_t	*q;
	size_t		 qlen;
	uint32_t	 id;

	if (fw->next < pk->norder && (id = pk->order[fw->next]) < t->n) {
		q = pack_tab_get(t, id, &qlen);
		if (qlen == elen && pack_same(q, e, elen)) {
			fw->next++;
			return id;
		}
	}
	fw->looked++;
	id = pack_tab_intern(t, e, elen);
	if (id < fw->npos && fw->pos[id] != 0)
		fw->next = fw->pos[id];
	return id;
}

/*
 * The stack entries of a profile being coded from its parse that did not
 * follow the last profile's, set aside to be looked up together once all
 * its samples are read. A writer's stack index, which pack_trim() drops,
 * would otherwise be made again at the first: for 65,536 stacks, a
 * megabyte zeroed and 65,536 entries placed, a tenth of storing a
 * profile, for the few dozen stacks new since the last. Looked up
 * together, they cost one pass over the entries' hashes, most passed
 * over on a bit of a filter by their top 12 bits. Over PACK_PENDING_MAX,
 * the index is made and each looked up in it.
 */
#define PACK_PENDING_MAX	4096
#define PACK_PENDING		UINT32_MAX
#define PACK_FOLLOW_AHEAD	8	/* followed samples tried past a miss */

struct pack_pending {
	struct pack_buf	 data;		/* the entries back to back */
	size_t		*off;		/* n + 1 */
	uint32_t	*smp;		/* each one's sample */
	uint32_t	*hash;
	uint32_t	*id;		/* PACK_PENDING: not found yet */
	size_t		 n;
	bool		 index;		/* over the limit: looked up at once */
};

static void
pack_pending_free(struct pack_pending *pd)
{
	free(pd->data.p);
	free(pd->off);
	free(pd->smp);
	free(pd->hash);
	free(pd->id);
}

/*
 * The id of a sample's stack entry when it is the last profile's sample
 * being followed, or one of the PACK_FOLLOW_AHEAD after it (stacks gone
 * since), the samples then followed on from there; else PACK_PENDING.
 */
static uint32_t
pack_stack_follow(struct pack *pk, struct pack_follow *fw, const uint8_t *e,
    size_t elen)
{
	struct pack_tab	*t = &pk->tab[PACK_STACK];
	const uint8_t	*q;
	size_t		 qlen, i;
	uint32_t	 id;

	if (fw->next < pk->norder && (id = pk->order[fw->next]) < t->n) {
		q = pack_tab_get(t, id, &qlen);
		if (qlen == elen && pack_same(q, e, elen)) {
			fw->next++;
			return id;
		}
	}
	for (i = fw->next + 1; i < pk->norder &&
	    i <= fw->next + PACK_FOLLOW_AHEAD; i++) {
		if ((id = pk->order[i]) >= t->n)
			continue;
		q = pack_tab_get(t, id, &qlen);
		if (qlen == elen && pack_same(q, e, elen)) {
			fw->next = i + 1;
			return id;
		}
	}
	return PACK_PENDING;
}

/*
 * Find or add the stack entries set aside, in the order of their samples,
 * setting each one's ref[] and order[]: the pending ones are indexed by
 * their hashes, and the table's entries' hashes read once, in order of
 * id, so that each finds the entry it is, if any.
 */
static void
pack_pending_intern(struct pack *pk, struct pack_pending *pd,
    struct pack_ref *ref, uint32_t *order, bool index)
{
	struct pack_tab	*t = &pk->tab[PACK_STACK];
	const uint8_t	*p, *q;
	size_t		 len, qlen, nslot = 16, i, k, j;
	uint32_t	*slot, n0 = t->n, id, h;
	uint64_t	 bits[64];	/* the pending's hashes' top 12 bits */

	if (pd->n == 0)
		return;
	if (index || t->hash == NULL || t->nslot != 0) {
		for (k = 0; k < pd->n; k++) {
			id = pack_tab_intern(t, pd->data.p + pd->off[k],
			    pd->off[k + 1] - pd->off[k]);
			ref[pd->smp[k]].stack = order[pd->smp[k]] = id;
		}
		pd->n = 0;
		pd->data.len = 0;
		return;
	}
	while (nslot < pd->n * 2)
		nslot *= 2;
	slot = xcalloc(nslot, sizeof *slot);
	memset(bits, 0, sizeof bits);
	for (k = 0; k < pd->n; k++) {
		pd->id[k] = PACK_PENDING;
		h = pd->hash[k] >> 20;
		bits[h / 64] |= (uint64_t)1 << (h % 64);
		for (i = pd->hash[k] & (nslot - 1); slot[i] != 0;
		    i = (i + 1) & (nslot - 1))
			;
		slot[i] = (uint32_t)k + 1;
	}
	for (j = 0; j < n0; j++) {
		h = t->hash[j];
		if ((bits[h >> 26] >> (h >> 20 & 63) & 1) == 0)
			continue;
		for (i = h & (nslot - 1); slot[i] != 0;
		    i = (i + 1) & (nslot - 1)) {
			k = slot[i] - 1;
			if (pd->hash[k] != h || pd->id[k] != PACK_PENDING)
				continue;
			p = pd->data.p + pd->off[k];
			len = pd->off[k + 1] - pd->off[k];
			q = pack_tab_get(t, (uint32_t)j, &qlen);
			if (qlen == len && pack_same(p, q, len))
				pd->id[k] = (uint32_t)j;
		}
	}
	/* Those not found are added, once each, in the samples' order. */
	for (k = 0; k < pd->n; k++) {
		p = pd->data.p + pd->off[k];
		len = pd->off[k + 1] - pd->off[k];
		for (i = pd->hash[k] & (nslot - 1); pd->id[k] == PACK_PENDING &&
		    slot[i] != 0; i = (i + 1) & (nslot - 1)) {
			j = slot[i] - 1;
			if (j >= k || pd->hash[j] != pd->hash[k] ||
			    pd->off[j + 1] - pd->off[j] != len)
				continue;
			if (pack_same(pd->data.p + pd->off[j], p, len))
				pd->id[k] = pd->id[j];
		}
		if (pd->id[k] == PACK_PENDING)
			pd->id[k] = pack_tab_put(t, p, len, pd->hash[k]);
		ref[pd->smp[k]].stack = order[pd->smp[k]] = pd->id[k];
	}
	free(slot);
	pd->n = 0;
	pd->data.len = 0;
}

/* Set aside sample smp's stack entry e[0..elen). */
static void
pack_pending_add(struct pack_pending *pd, const uint8_t *e, size_t elen,
    uint32_t smp)
{
	if (pd->off == NULL) {
		pd->off = xreallocarray(NULL, PACK_PENDING_MAX + 2,
		    sizeof *pd->off);
		pd->smp = xreallocarray(NULL, PACK_PENDING_MAX + 1,
		    sizeof *pd->smp);
		pd->hash = xreallocarray(NULL, PACK_PENDING_MAX + 1,
		    sizeof *pd->hash);
		pd->id = xreallocarray(NULL, PACK_PENDING_MAX + 1,
		    sizeof *pd->id);
		pd->off[0] = 0;
	}
	pack_put(&pd->data, e, elen);
	pd->smp[pd->n] = smp;
	pd->hash[pd->n] = (uint32_t)pack_hash(e, elen);
	pd->off[++pd->n] = pd->data.len;
}

/* Intern a profile's n mappings, their strings sid[] ids; their ids. */
static uint32_t *
pack_maps_intern(struct pack *pk, struct pack_buf *b,
    const struct profile_mapping *m, size_t n, const uint32_t *sid)
{
	uint32_t	*mid;
	size_t		 i;

	mid = xreallocarray(NULL, n + 1, sizeof *mid);
	for (i = 0; i < n; i++) {
		b->len = 0;
		pack_put_u(b, m[i].start);
		pack_put_u(b, m[i].limit);
		pack_put_u(b, m[i].offset);
		pack_put_u(b, sid[m[i].file]);
		pack_put_u(b, sid[m[i].build_id]);
		pack_put_u(b, m[i].has_functions | m[i].has_filenames << 1 |
		    m[i].has_line_numbers << 2 | m[i].has_inline_frames << 3);
		mid[i] = pack_tab_intern(&pk->tab[PACK_MAP], b->p, b->len);
	}
	return mid;
}

/*
 * The samples' order of a pack that has coded nothing since it was read
 * back, which knows the current snapshot's stacks sorted by id only:
 * those each dictionary blob added, in order of id, the newest blob's
 * first. Go lists a heap profile's stacks newest first, so that a
 * profile's stacks are those new since the last scrape, then the last
 * profile's in its order; and a pack gives the stacks new in a profile
 * their ids in its order, and stores them as one blob. Without it, a
 * writer read back again at each put (as the writers' budget has it for
 * most of many targets) had no sample followed: each of a profile of
 * 65,536 stacks was looked up, the stack index made for it.
 */
static bool
pack_order_seed(struct pack *pk)
{
	const struct pack_snap *c = &pk->cur;
	size_t		 b, i, lo, hi, mid, k = 0;
	uint32_t	 top = pk->tab[PACK_STACK].n, from;
	bool		 seeded = false;

	if (pk->norder == 0 && c->n > 0) {
		pk->order = xreallocarray(pk->order, c->n + 1,
		    sizeof *pk->order);
		for (b = pk->nblobstk + 1; b-- > 0; top = from) {
			from = b > 0 ? pk->blobstk[b - 1] : 0;
			if (from > top)
				break;		/* not as loaded: by id */
			for (lo = 0, hi = c->n; lo < hi;) {
				mid = lo + (hi - lo) / 2;
				if (c->stk[mid] < from)
					lo = mid + 1;
				else
					hi = mid;
			}
			for (i = lo; i < c->n && c->stk[i] < top; i++)
				pk->order[k++] = c->stk[i];
		}
		if (k != c->n) {
			memcpy(pk->order, c->stk, c->n * sizeof *c->stk);
			k = c->n;
		}
		pk->norder = k;
		seeded = true;
	}
	free(pk->blobstk);
	pk->blobstk = NULL;
	pk->nblobstk = pk->capblobstk = 0;
	return seeded;
}

/* A profile refused: the pack as it was, but for the blobs' stacks. */
static void
pack_order_unseed(struct pack *pk, bool seeded)
{
	if (!seeded)
		return;
	free(pk->order);
	pk->order = NULL;
	pk->norder = 0;
}

/* Where each stack stood in the last snapshot, for pack_stack_id(). */
static void
pack_follow_begin(struct pack *pk, struct pack_follow *fw)
{
	size_t	i;

	fw->npos = pk->tab[PACK_STACK].n;
	fw->pos = xcalloc((size_t)fw->npos + 1, sizeof *fw->pos);
	for (i = 0; i < pk->norder; i++)
		if (pk->order[i] < fw->npos)
			fw->pos[pk->order[i]] = (uint32_t)i + 1;
}

/* Sort the n samples' refs by stack; *order, taken, is the new order. */
static void
pack_order_set(struct pack *pk, struct pack_ref *ref, uint32_t **order,
    size_t n)
{
	pack_sort_refs(ref, n, pk->tab[PACK_STACK].n);
	free(pk->order);
	pk->order = *order;
	pk->norder = n;
	*order = NULL;
}

/*
 * Make s of the header in hb (taken) and the samples' values, val[ntypes]
 * each, their stacks in ref, sorted.
 */
static void
pack_snap_fill(struct pack_snap *s, struct pack_buf *hb,
    const struct pack_ref *ref, size_t ns, const int64_t *val,
    size_t ntypes)
{
	size_t	i, j, n;

	memset(s, 0, sizeof *s);
	s->hdr = hb->p;
	s->hdrlen = hb->len;
	hb->p = NULL;
	hb->len = hb->cap = 0;
	s->ntypes = (uint32_t)ntypes;
	s->stk = xreallocarray(NULL, ns + 1, sizeof *s->stk);
	s->val = xreallocarray(NULL, (ns + 1) * ntypes, sizeof *s->val);
	/* A stack's first sample sets its values, the others add to them. */
	for (i = 0, n = 0; i < ns; i++) {
		if (n == 0 || s->stk[n - 1] != ref[i].stack) {
			s->stk[n++] = ref[i].stack;
			memcpy(s->val + (n - 1) * ntypes, val +
			    (size_t)ref[i].sample * ntypes, ntypes *
			    sizeof *s->val);
			continue;
		}
		for (j = 0; j < ntypes; j++)
			s->val[(n - 1) * ntypes + j] = (int64_t)(
			    (uint64_t)s->val[(n - 1) * ntypes + j] +
			    (uint64_t)val[(size_t)ref[i].sample * ntypes + j]);
	}
	s->n = n;
}

/*
 * Check every reference of a profile read into in, and intern it: its
 * string, mapping, function and location ids as dictionary ids, and its
 * samples as a snapshot of stacks. The samples, most of a profile, are
 * read once, as they are interned: copying their ids and values into
 * arrays first and checking those, then reading them again, took a
 * quarter more time for a profile of 65,536 stacks. Nothing stays
 * interned unless all is well.
 */
static int
pack_in_intern(struct pack *pk, struct pack_in *in, struct pack_snap *s,
    char **cause)
{
	struct idmap	 mi, fi, li;
	struct pack_buf	 b = { 0 }, lb = { 0 };
	struct pack_ref	*ref = NULL;
	struct pack_mark mark[PACK_NKINDS];
	struct pack_stk	 sk;
	uint32_t	*sid = NULL, *mid = NULL, *fid = NULL, *lid = NULL;
	uint32_t	*tr = NULL, *order = NULL;
	struct pack_follow fw;
	uint8_t		 vb[5];
	const uint8_t	*e;
	size_t		 i, j, k, n, elen;
	uint64_t	 id;
	bool		 seeded = false;
	int		 rc = -1;

	memset(&mi, 0, sizeof mi);
	memset(&fi, 0, sizeof fi);
	memset(&li, 0, sizeof li);
	memset(&fw, 0, sizeof fw);
	if (in->nstr == 0 || in->strlen[0] != 0) {
		*cause = xstrdup("malformed profile: string 0 is not empty");
		return -1;
	}
	if (in->ntypes == 0) {
		*cause = xstrdup("malformed profile: no sample types");
		return -1;
	}
	if (pack_ids_make(&mi, in->nmap, pack_map_id, in) == -1 ||
	    pack_ids_make(&fi, in->nfn, pack_fn_id, in) == -1 ||
	    pack_ids_make(&li, in->nloc, pack_loc_id, in) == -1) {
		*cause = xstrdup("malformed profile: id 0 or repeated");
		goto out;
	}
	/* Every string reference first. */
#define STR_OK(v)	((v) < in->nstr)
	for (i = 0; i < in->ntypes; i++)
		if (!STR_OK(in->types[i][0]) || !STR_OK(in->types[i][1]))
			goto badstr;
	if (!STR_OK(in->ptype[0]) || !STR_OK(in->ptype[1]) ||
	    !STR_OK(in->drop) || !STR_OK(in->keep) || !STR_OK(in->deftype))
		goto badstr;
	for (i = 0; i < in->ncomment; i++)
		if (!STR_OK(in->comment[i]))
			goto badstr;
	for (i = 0; i < in->nmap; i++)
		if (!STR_OK((uint64_t)in->map[i].file) ||
		    !STR_OK((uint64_t)in->map[i].build_id))
			goto badstr;
	for (i = 0; i < in->nfn; i++)
		if (!STR_OK(in->fn[i][1]) || !STR_OK(in->fn[i][2]) ||
		    !STR_OK(in->fn[i][3]))
			goto badstr;
#undef STR_OK
	for (i = 0; i < in->nloc; i++) {
		if (in->loc[i].mapping != 0 &&
		    hash_map_get(&mi, in->loc[i].mapping) == HASH_NONE)
			goto badref;
		for (j = 0; j < in->loc[i].nlines; j++)
			if (hash_map_get(&fi, in->line[in->loc[i].line0 +
			    j].function_id) == HASH_NONE)
				goto badref;
	}

	/*
	 * Intern. The samples are checked as they are read, once the rest
	 * is in the tables; one found malformed takes back all this
	 * profile added.
	 */
	for (k = 0; k < PACK_NKINDS; k++)
		pack_tab_mark(&pk->tab[k], &mark[k]);
	sid = xreallocarray(NULL, in->nstr, sizeof *sid);
	for (i = 0; i < in->nstr; i++)
		sid[i] = pack_tab_intern(&pk->tab[PACK_STR], in->str[i],
		    in->strlen[i]);
	mid = pack_maps_intern(pk, &b, in->map, in->nmap, sid);
	fid = xreallocarray(NULL, in->nfn + 1, sizeof *fid);
	for (i = 0; i < in->nfn; i++) {
		b.len = 0;
		for (j = 1; j <= 3; j++)
			pack_put_u(&b, sid[in->fn[i][j]]);
		pack_put_s(&b, (int64_t)in->fn[i][4]);
		fid[i] = pack_tab_intern(&pk->tab[PACK_FUNC], b.p, b.len);
	}
	lid = xreallocarray(NULL, in->nloc + 1, sizeof *lid);
	for (i = 0; i < in->nloc; i++) {
		b.len = 0;
		pack_put_u(&b, in->loc[i].mapping == 0 ? 0 :
		    (uint64_t)mid[hash_map_get(&mi, in->loc[i].mapping)] + 1);
		pack_put_u(&b, in->loc[i].addr);
		pack_put_u(&b, in->loc[i].folded);
		pack_put_u(&b, in->loc[i].nlines);
		for (j = 0; j < in->loc[i].nlines; j++) {
			k = in->loc[i].line0 + j;
			pack_put_u(&b, fid[hash_map_get(&fi,
			    in->line[k].function_id)]);
			pack_put_s(&b, in->line[k].line);
		}
		lid[i] = pack_tab_intern(&pk->tab[PACK_LOC], b.p, b.len);
	}
	ref = xreallocarray(NULL, in->ns + 1, sizeof *ref);
	in->val = pack_grow(in->val, &in->capval, in->ns * in->ntypes + 1,
	    sizeof *in->val);
	memset(&sk, 0, sizeof sk);
	sk.in = in;
	sk.li = &li;
	sk.lid = lid;
	sk.sid = sid;
	for (i = 0; i < in->nloc; i++)
		if (in->loc[i].id < PACK_TR_MAX && in->loc[i].id >= sk.ntr)
			sk.ntr = in->loc[i].id + 1;
	tr = xcalloc(sk.ntr + 1, sizeof *tr);
	for (i = 0; i < in->nloc; i++) {
		id = in->loc[i].id;
		if (id >= PACK_TR_MAX || lid[i] >= 1U << 21)
			continue;
		n = (size_t)(pack_varint(vb, lid[i]) - vb);
		tr[id] = (uint32_t)vb[0] | (n > 1 ? (uint32_t)vb[1] << 8 : 0) |
		    (n > 2 ? (uint32_t)vb[2] << 16 : 0) | (uint32_t)n << 24;
	}
	sk.tr = tr;
	order = xreallocarray(NULL, in->ns + 1, sizeof *order);
	seeded = pack_order_seed(pk);
	pack_follow_begin(pk, &fw);
	for (i = 0; i < in->ns; i++) {
		if (pack_stack(&sk, &in->smp[i], in->val + i * in->ntypes,
		    &b, &lb, &e, &elen, cause) == -1) {
			for (k = 0; k < PACK_NKINDS; k++)
				pack_tab_undo(&pk->tab[k], &mark[k]);
			goto out;
		}
		ref[i].stack = order[i] = pack_stack_id(pk, &fw, e, elen);
		ref[i].sample = (uint32_t)i;
	}
	pack_order_set(pk, ref, &order, in->ns);
	pk->looked = fw.looked;

	/* The header, in dictionary ids. */
	b.len = 0;
	pack_put_u(&b, in->ntypes);
	for (i = 0; i < in->ntypes; i++) {
		pack_put_u(&b, sid[in->types[i][0]]);
		pack_put_u(&b, sid[in->types[i][1]]);
	}
	pack_put_u(&b, sid[in->deftype]);
	pack_put_u(&b, sid[in->ptype[0]]);
	pack_put_u(&b, sid[in->ptype[1]]);
	pack_put_s(&b, (int64_t)in->period);
	pack_put_s(&b, (int64_t)in->time);
	pack_put_s(&b, (int64_t)in->dur);
	pack_put_u(&b, sid[in->drop]);
	pack_put_u(&b, sid[in->keep]);
	pack_put_u(&b, in->ncomment);
	for (i = 0; i < in->ncomment; i++)
		pack_put_u(&b, sid[in->comment[i]]);
	pack_put_u(&b, in->nmap);
	for (i = 0; i < in->nmap; i++)
		pack_put_u(&b, mid[i]);

	pack_snap_fill(s, &b, ref, in->ns, in->val, in->ntypes);
	rc = 0;
	goto out;
badstr:
	*cause = xstrdup("malformed profile: a string index out of range");
	goto out;
badref:
	*cause = xstrdup("malformed profile: a reference to a missing id");
out:
	if (rc == -1)
		pack_order_unseed(pk, seeded);
	hash_map_free(&mi);
	hash_map_free(&fi);
	hash_map_free(&li);
	free(sid);
	free(mid);
	free(fid);
	free(lid);
	free(tr);
	free(order);
	free(fw.pos);
	free(ref);
	free(b.p);
	free(lb.p);
	return rc;
}

/*
 * pack_in_intern() for a profile parsed by profile.c, its references
 * checked and resolved there: its tables are interned as they are, and
 * each sample's stack entry made from its location references through a
 * table, with no protobuf read again. It must give the same entries,
 * snapshot and header as pack_in_intern() for the same profile, byte for
 * byte: tests/test_pack.c codes every profile both ways.
 */
static int
pack_view_intern(struct pack *pk, const struct profile_view *v,
    struct pack_snap *s, char **cause)
{
	struct pack_buf	 b = { 0 };
	struct pack_ref	*ref = NULL;
	struct pack_mark mark[PACK_NKINDS];
	struct pack_follow fw;
	struct pack_pending pd;
	const struct profile_location *pl;
	const struct profile_line *ln;
	const struct pbwire_label *lab;
	const uint32_t	*r, *re;
	uint32_t	*sid = NULL, *mid = NULL, *fid = NULL, *lid = NULL;
	uint32_t	*order = NULL, x;
	uint64_t	*tr = NULL, c;
	uint8_t		*t, vb[8];
	size_t		 i, j, k, n, nref, nl, nb, need;
	bool		 seeded = false;
	int		 rc = -1;

	memset(&fw, 0, sizeof fw);
	memset(&pd, 0, sizeof pd);
	if (v->ntypes > 16) {
		*cause = xstrdup("more than 16 sample types");
		return -1;
	}
	if (v->nstrs == 0 || v->strs[0].len != 0) {
		*cause = xstrdup("malformed profile: string 0 is not empty");
		return -1;
	}
	if (v->ntypes == 0) {
		*cause = xstrdup("malformed profile: no sample types");
		return -1;
	}
	for (k = 0; k < PACK_NKINDS; k++)
		pack_tab_mark(&pk->tab[k], &mark[k]);
	sid = xreallocarray(NULL, v->nstrs, sizeof *sid);
	for (i = 0; i < v->nstrs; i++)
		sid[i] = pack_tab_intern(&pk->tab[PACK_STR],
		    (const uint8_t *)v->strs[i].s, v->strs[i].len);
	mid = pack_maps_intern(pk, &b, v->maps, v->nmaps, sid);
	fid = xreallocarray(NULL, v->nfuncs + 1, sizeof *fid);
	for (i = 0; i < v->nfuncs; i++) {
		b.len = 0;
		pack_put_u(&b, sid[v->funcs[i].name]);
		pack_put_u(&b, sid[v->funcs[i].system_name]);
		pack_put_u(&b, sid[v->funcs[i].filename]);
		pack_put_s(&b, v->funcs[i].start_line);
		fid[i] = pack_tab_intern(&pk->tab[PACK_FUNC], b.p, b.len);
	}
	lid = xreallocarray(NULL, v->nlocs + 1, sizeof *lid);
	for (i = 0; i < v->nlocs; i++) {
		pl = &v->locs[i];
		b.len = 0;
		pack_put_u(&b, pl->mapping >= v->nmaps ? 0 :
		    (uint64_t)mid[pl->mapping] + 1);
		pack_put_u(&b, pl->address);
		pack_put_u(&b, pl->folded);
		pack_put_u(&b, pl->nlines);
		for (j = 0; j < pl->nlines; j++) {
			ln = &v->lines[pl->line0 + j];
			pack_put_u(&b, fid[ln->function]);
			pack_put_s(&b, ln->line);
		}
		lid[i] = pack_tab_intern(&pk->tab[PACK_LOC], b.p, b.len);
	}

	/*
	 * A location reference to its entry's varint, its bytes from the
	 * lowest up and its length in the top byte, for every reference
	 * the stacks may hold (profile.c checked them all; 0: none there).
	 * A frame is then a load and one store of 8 bytes, the next frame
	 * written over what is past the varint: 9 instructions, where
	 * reading the protobuf's varint ids and writing the entry's took
	 * 32.
	 */
	nref = v->byid != NULL ? v->nbyid : v->nlocs + v->base;
	tr = xcalloc(nref + 1, sizeof *tr);
	for (i = 0; i < nref; i++) {
		if (v->byid != NULL) {
			if (v->byid[i] == 0)
				continue;
			x = lid[v->byid[i] - 1];
		} else if (i < v->base)
			continue;
		else
			x = lid[i - v->base];
		memset(vb, 0, sizeof vb);
		n = (size_t)(pack_varint(vb, x) - vb);
		for (k = 0; k < n; k++)
			tr[i] |= (uint64_t)vb[k] << (8 * k);
		tr[i] |= (uint64_t)n << 56;
	}

	ref = xreallocarray(NULL, v->nsamples + 1, sizeof *ref);
	order = xreallocarray(NULL, v->nsamples + 1, sizeof *order);
	seeded = pack_order_seed(pk);
	for (i = 0; i < v->nsamples; i++) {
		r = v->stacks + v->stack_off[i];
		re = v->stacks + v->stack_off[i + 1];
		nl = (size_t)(re - r);
		lab = v->labels + v->label_off[i];
		nb = v->label_off[i + 1] - v->label_off[i];
		/* Counts, 5 bytes a location and 3 over, 25 a label. */
		need = 20 + nl * 5 + 8 + nb * 25;
		if (b.cap < need)
			b.p = pack_grow(b.p, &b.cap, need, 1);
		t = pack_varint(b.p, nl);
		for (; r < re; r++) {
			if (*r >= nref || (c = tr[*r]) == 0)
				goto bad;
			memcpy(t, &c, 8);
			t += c >> 56;
		}
		t = pack_varint(t, nb);
		for (j = 0; j < nb; j++) {
			t = pack_varint(t, sid[lab[j].key]);
			t = pack_varint(t, sid[lab[j].str]);
			t = pack_varint(t, ((uint64_t)lab[j].num << 1) ^
			    (uint64_t)(lab[j].num >> 63));
			t = pack_varint(t, sid[lab[j].unit]);
		}
		ref[i].sample = (uint32_t)i;
		if (pd.index) {
			ref[i].stack = order[i] = pack_stack_id(pk, &fw, b.p,
			    (size_t)(t - b.p));
			continue;
		}
		ref[i].stack = order[i] = pack_stack_follow(pk, &fw, b.p,
		    (size_t)(t - b.p));
		if (order[i] != PACK_PENDING)
			continue;
		if (pd.n < PACK_PENDING_MAX) {
			fw.looked++;
			pack_pending_add(&pd, b.p, (size_t)(t - b.p),
			    (uint32_t)i);
			continue;
		}
		/* Many new: the index is made, and the samples followed. */
		pd.index = true;
		pack_pending_intern(pk, &pd, ref, order, true);
		pack_follow_begin(pk, &fw);
		ref[i].stack = order[i] = pack_stack_id(pk, &fw, b.p,
		    (size_t)(t - b.p));
	}
	pack_pending_intern(pk, &pd, ref, order, false);
	pack_order_set(pk, ref, &order, v->nsamples);
	pk->looked = fw.looked;

	/* The header, in dictionary ids, as pack_in_intern() writes it. */
	b.len = 0;
	pack_put_u(&b, v->ntypes);
	for (i = 0; i < v->ntypes; i++) {
		pack_put_u(&b, sid[v->types[i].type]);
		pack_put_u(&b, sid[v->types[i].unit]);
	}
	pack_put_u(&b, sid[v->default_type]);
	pack_put_u(&b, sid[v->period_type.type]);
	pack_put_u(&b, sid[v->period_type.unit]);
	pack_put_s(&b, v->period);
	pack_put_s(&b, v->time_nanos);
	pack_put_s(&b, v->duration_nanos);
	pack_put_u(&b, sid[v->drop_frames]);
	pack_put_u(&b, sid[v->keep_frames]);
	pack_put_u(&b, v->ncomments);
	for (i = 0; i < v->ncomments; i++)
		pack_put_u(&b, sid[v->comments[i]]);
	pack_put_u(&b, v->nmaps);
	for (i = 0; i < v->nmaps; i++)
		pack_put_u(&b, mid[i]);
	pack_snap_fill(s, &b, ref, v->nsamples, v->values, v->ntypes);
	rc = 0;
	goto out;
bad:
	for (k = 0; k < PACK_NKINDS; k++)
		pack_tab_undo(&pk->tab[k], &mark[k]);
	*cause = xstrdup("parsed profile: a location reference out of range");
	pack_order_unseed(pk, seeded);
out:
	free(sid);
	free(mid);
	free(fid);
	free(lid);
	free(tr);
	free(order);
	free(fw.pos);
	pack_pending_free(&pd);
	free(ref);
	free(b.p);
	return rc;
}

/* Compress raw into a blob tagged tag, at zstd's level. */
static int
pack_zstd(struct pack *pk, char tag, int level, const struct pack_buf *raw,
    struct pack_blob *out, char **cause)
{
	size_t	cap, n;

	if (pk->cctx == NULL) {
		if ((pk->cctx = ZSTD_createCCtx()) == NULL) {
			*cause = xstrdup("cannot start zstd");
			return -1;
		}
		ZSTD_CCtx_setParameter(pk->cctx, ZSTD_c_checksumFlag, 1);
	}
	ZSTD_CCtx_setParameter(pk->cctx, ZSTD_c_compressionLevel, level);
	cap = ZSTD_compressBound(raw->len) + 2;
	out->data = xmalloc(cap);
	out->data[0] = (uint8_t)tag;
	out->data[1] = PACK_VERSION;
	n = ZSTD_compress2(pk->cctx, out->data + 2, cap - 2, raw->p, raw->len);
	if (ZSTD_isError(n)) {
		xasprintf(cause, "zstd: %s", ZSTD_getErrorName(n));
		free(out->data);
		out->data = NULL;
		return -1;
	}
	out->len = n + 2;
	return 0;
}

/* Inflate a blob tagged tag to at most max bytes. */
static int
pack_unzstd(struct pack *pk, char tag, const uint8_t *p, size_t len,
    size_t max, struct pack_buf *raw, char **cause)
{
	unsigned long long	 sz;
	size_t			 n;

	if (len < 2 || p[0] != (uint8_t)tag || p[1] != PACK_VERSION) {
		xasprintf(cause, "not a %s blob of version %d",
		    tag == PACK_DICT_TAG ? "dictionary" : "snapshot",
		    PACK_VERSION);
		return -1;
	}
	p += 2;
	len -= 2;
	if (ZSTD_findFrameCompressedSize(p, len) != len) {
		*cause = xstrdup("corrupt blob: bad zstd frame");
		return -1;
	}
	sz = ZSTD_getFrameContentSize(p, len);
	if (sz == ZSTD_CONTENTSIZE_ERROR || sz == ZSTD_CONTENTSIZE_UNKNOWN) {
		*cause = xstrdup("corrupt blob: no content size");
		return -1;
	}
	if (sz > max) {
		xasprintf(cause, "blob inflates to %llu bytes, over %zu", sz,
		    max);
		return -1;
	}
	if (pk->dctx == NULL && (pk->dctx = ZSTD_createDCtx()) == NULL) {
		*cause = xstrdup("cannot start zstd");
		return -1;
	}
	raw->len = 0;
	raw->p = pack_grow(raw->p, &raw->cap, sz + 1, 1);
	n = ZSTD_decompressDCtx(pk->dctx, raw->p, sz, p, len);
	if (ZSTD_isError(n) || n != sz) {
		xasprintf(cause, "corrupt blob: %s", ZSTD_isError(n) ?
		    ZSTD_getErrorName(n) : "short");
		return -1;
	}
	raw->len = n;
	return 0;
}

/* The gaps between the sorted ids of a that are not in b. */
static void
pack_put_minus(struct pack_buf *out, const struct pack_snap *a,
    const struct pack_snap *b)
{
	struct pack_buf	 ids = { 0 };
	size_t		 i, j, n = 0;
	uint64_t	 last = 0;

	for (i = 0, j = 0; i < a->n; i++) {
		while (j < b->n && b->stk[j] < a->stk[i])
			j++;
		if (j < b->n && b->stk[j] == a->stk[i])
			continue;
		pack_put_u(&ids, a->stk[i] - last);
		last = (uint64_t)a->stk[i] + 1;
		n++;
	}
	pack_put_u(out, n);
	pack_put(out, ids.p, ids.len);
	free(ids.p);
}

/* The body of s coded against prev (serial 0: against nothing). */
static void
pack_put_body(struct pack_buf *out, const struct pack_snap *s,
    const struct pack_snap *prev)
{
	size_t		 i, j, t, z, nt = s->ntypes;
	bool		 same = prev->ntypes == s->ntypes;
	const int64_t	*pv;
	int64_t		 zero[16] = { 0 };

	pack_put_u(out, s->serial);
	pack_put_u(out, prev->serial);
	pack_put_u(out, s->hdrlen);
	pack_put(out, s->hdr, s->hdrlen);
	pack_put_minus(out, prev, s);	/* removed */
	pack_put_minus(out, s, prev);	/* added */
	/*
	 * Runs of stacks whose values did not move are counted, then one
	 * that did is written: between two scrapes a minute apart, most of
	 * a heap profile's stacks did not move at all.
	 */
	for (i = 0, j = 0, z = 0; i < s->n; i++) {
		while (j < prev->n && prev->stk[j] < s->stk[i])
			j++;
		pv = same && j < prev->n && prev->stk[j] == s->stk[i] ?
		    prev->val + j * nt : zero;
		/*
		 * Compared in place: a call to memcmp() for each stack's
		 * few values was a sixth of storing a profile of 65,536.
		 */
		for (t = 0; t < nt && s->val[i * nt + t] == pv[t]; t++)
			;
		if (t == nt) {
			z++;
			continue;
		}
		pack_put_u(out, z);
		z = 0;
		for (t = 0; t < nt; t++)
			pack_put_s(out, (int64_t)((uint64_t)s->val[i * nt + t] -
			    (uint64_t)pv[t]));
	}
	if (z > 0)
		pack_put_u(out, z);
}

/* The dictionary's entries not yet saved. */
static void
pack_put_dict(struct pack *pk, struct pack_buf *out)
{
	struct pack_tab	*t;
	const uint8_t	*p;
	size_t		 len;
	uint32_t	 i;
	int		 k;

	for (k = 0; k < PACK_NKINDS; k++) {
		t = &pk->tab[k];
		pack_put_u(out, t->n - t->saved);
		for (i = t->saved; i < t->n; i++) {
			p = pack_tab_get(t, i, &len);
			pack_put_u(out, len);
			pack_put(out, p, len);
		}
	}
}

/*
 * The body of a repeat of the snapshot of serial, header hdr and n
 * stacks, coded against it: what pack_put_body() writes for the same
 * stacks and values, none removed, none added, one run of all the stacks
 * unchanged. Walking them to find that was 7 of the 7.6 million
 * instructions that storing a repeat of 65,536 stacks took; coding it is
 * now 8 thousand.
 */
static void
pack_put_same(struct pack_buf *out, uint64_t serial, const uint8_t *hdr,
    size_t hdrlen, size_t n)
{
	pack_put_u(out, serial + 1);
	pack_put_u(out, serial);
	pack_put_u(out, hdrlen);
	pack_put(out, hdr, hdrlen);
	pack_put_u(out, 0);
	pack_put_u(out, 0);
	if (n > 0)
		pack_put_u(out, n);
}

/*
 * Code the snapshot s, interned, against the current one (or nothing,
 * when key), into its body and the dictionary entries it added; then it
 * is the current one. s is taken, whatever happens; when shared is set,
 * its stacks and values are the current snapshot's own arrays, which
 * then stay (only its header is s's).
 */
static int
pack_commit(struct pack *pk, struct pack_snap *s, bool key, bool shared,
    struct pack_blob *dict, struct pack_blob *body, char **cause)
{
	struct pack_snap none;
	struct pack_buf	 raw = { 0 };
	uint32_t	 nold[PACK_NKINDS];
	int		 k, rc = -1;

	memset(&none, 0, sizeof none);
	s->serial = pk->cur.serial + 1;
	for (k = 0; k < PACK_NKINDS; k++)
		nold[k] = pk->tab[k].saved;
	if (shared && !key)
		pack_put_same(&raw, pk->cur.serial, s->hdr, s->hdrlen, s->n);
	else
		pack_put_body(&raw, s, key ? &none : &pk->cur);
	if (pack_zstd(pk, PACK_BODY_TAG, pk->level, &raw, body, cause) == -1)
		goto drop;
	raw.len = 0;
	for (k = 0; k < PACK_NKINDS; k++)
		if (pk->tab[k].n != nold[k])
			break;
	if (k < PACK_NKINDS) {
		pack_put_dict(pk, &raw);
		if (pack_zstd(pk, PACK_DICT_TAG, pk->level, &raw, dict,
		    cause) == -1) {
			free(body->data);
			memset(body, 0, sizeof *body);
			goto drop;
		}
		for (k = 0; k < PACK_NKINDS; k++)
			pk->tab[k].saved = pk->tab[k].n;
	}
	if (shared) {
		free(pk->cur.hdr);
		pk->cur.hdr = s->hdr;
		pk->cur.hdrlen = s->hdrlen;
		pk->cur.serial = s->serial;
	} else {
		pack_snap_clear(&pk->cur);
		pk->cur = *s;
	}
	rc = 0;
	goto out;
drop:
	if (shared) {
		s->stk = NULL;
		s->val = NULL;
	}
	pack_snap_clear(s);
out:
	free(raw.p);
	return rc;
}

int
pack_key_body(struct pack *pk, struct pack_blob *body, char **cause)
{
	struct pack_snap none;
	struct pack_buf	 raw = { 0 };
	int		 rc;

	memset(body, 0, sizeof *body);
	if (pk->cur.serial == 0) {
		*cause = xstrdup("no current snapshot");
		return -1;
	}
	memset(&none, 0, sizeof none);
	pack_put_body(&raw, &pk->cur, &none);
	rc = pack_zstd(pk, PACK_BODY_TAG, PACK_KEPT_LEVEL, &raw, body,
	    cause);
	free(raw.p);
	/* Kept long: its room for the worst case given back. */
	if (rc == 0)
		body->data = xreallocarray(body->data, body->len, 1);
	return rc;
}

int
pack_encode(struct pack *pk, const void *data, size_t len, size_t max,
    bool key, struct pack_blob *dict, struct pack_blob *body, char **cause)
{
	struct pack_in	*in;
	struct pack_snap s;
	const uint8_t	*p = data;
	uint8_t		*raw0;
	size_t		 rawlen = len;
	int		 rc = -1;

	if (pk->in == NULL) {
		pk->in = xcalloc(1, sizeof *pk->in);
		pack_in_size(pk->in, pk->hint);
	}
	in = pk->in;
	pack_in_reset(in);
	memset(dict, 0, sizeof *dict);
	memset(body, 0, sizeof *body);
	if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
		if (pack_inflate_whole(pk, p, len, max, &raw0, &rawlen) == 0)
			p = raw0;
		else if (pack_inflate(p, len, max, &in->raw, &rawlen,
		    cause) == 0)
			p = in->raw;
		else
			return -1;
	} else if (len > max) {
		xasprintf(cause, "profile larger than %zu bytes", max);
		return -1;
	}
	if (pack_in_read(in, p, rawlen, cause) == -1 ||
	    pack_in_intern(pk, in, &s, cause) == -1)
		goto out;
	pk->hint[0] = in->ns;
	pk->hint[1] = in->ns * in->ntypes;
	rc = pack_commit(pk, &s, key, false, dict, body, cause);
out:
	free(in->raw);
	in->raw = NULL;
	return rc;
}

int
pack_encode_parsed(struct pack *pk, const struct profile_view *v, bool key,
    struct pack_blob *dict, struct pack_blob *body, char **cause)
{
	struct pack_snap s;

	memset(dict, 0, sizeof *dict);
	memset(body, 0, sizeof *body);
	if (pack_view_intern(pk, v, &s, cause) == -1)
		return -1;
	pk->hint[0] = v->nsamples;
	pk->hint[1] = v->nsamples * v->ntypes;
	return pack_commit(pk, &s, key, false, dict, body, cause);
}

/*
 * The header hdr[0..len) with the time and duration replaced, into hb:
 * the header as pack_view_intern() writes it, up to the period, then the
 * new times, then the rest as it was, the same bytes as that of the
 * profile coded again with these times. -1 when it does not parse.
 */
static int
pack_repeat_hdr(const uint8_t *hdr, size_t len, int64_t time_nanos,
    int64_t duration_nanos, struct pack_buf *hb)
{
	struct pack_rd	 r = { hdr, hdr + len, false };
	const uint8_t	*rest;
	uint64_t	 nt, i;

	nt = pack_get_u(&r);
	if (nt == 0 || nt > 16)
		return -1;
	for (i = 0; i < 2 * nt + 3; i++)
		(void)pack_get_u(&r);
	(void)pack_get_s(&r);		/* period */
	pack_put(hb, hdr, (size_t)(r.p - hdr));
	(void)pack_get_s(&r);
	(void)pack_get_s(&r);
	rest = r.p;
	if (r.bad)
		return -1;
	pack_put_s(hb, time_nanos);
	pack_put_s(hb, duration_nanos);
	pack_put(hb, rest, (size_t)(r.end - rest));
	return 0;
}

int
pack_encode_repeat(struct pack *pk, int64_t time_nanos,
    int64_t duration_nanos, bool key, struct pack_blob *dict,
    struct pack_blob *body, char **cause)
{
	struct pack_snap s;
	struct pack_buf	 hb = { 0 };
	bool		 seeded;
	int		 rc;

	memset(dict, 0, sizeof *dict);
	memset(body, 0, sizeof *body);
	if (pk->cur.serial == 0) {
		*cause = xstrdup("no snapshot to repeat");
		return -1;
	}
	/* The header was checked when made or loaded. */
	if (pack_repeat_hdr(pk->cur.hdr, pk->cur.hdrlen, time_nanos,
	    duration_nanos, &hb) == -1) {
		free(hb.p);
		*cause = xstrdup("corrupt snapshot header");
		return -1;
	}
	/*
	 * A writer read back whose first snapshot is a repeat seeds its
	 * order here, as a profile coded would: pack_trim() drops the
	 * blobs' first stacks it is seeded from, and the next profile,
	 * coded after it, would have each of its stacks looked up.
	 */
	seeded = pack_order_seed(pk);
	/* The stacks and values stay the current snapshot's own. */
	s = pk->cur;
	s.hdr = hb.p;
	s.hdrlen = hb.len;
	if ((rc = pack_commit(pk, &s, key, true, dict, body, cause)) == -1)
		pack_order_unseed(pk, seeded);
	return rc;
}

int
pack_body_check(struct pack *pk, const void *data, size_t len, size_t max,
    char **cause)
{
	struct pack_buf	raw = { 0 };
	int		rc;

	rc = pack_unzstd(pk, PACK_BODY_TAG, data, len, max, &raw, cause);
	free(raw.p);
	return rc;
}

int
pack_encode_repeat_body(const void *data, size_t len, size_t max, int level,
    int64_t time_nanos, int64_t duration_nanos, struct pack_blob *body,
    uint64_t *serial, char **cause)
{
	struct pack	*pk;
	struct pack_buf	 raw = { 0 }, hb = { 0 }, out = { 0 };
	struct pack_rd	 r;
	const uint8_t	*hdr;
	uint64_t	 hl, c, i, nt, n = 0;
	int		 rc = -1;

	memset(body, 0, sizeof *body);
	/* A pack of no dictionary, for its zstd contexts and level. */
	pk = pack_new(level);
	if (pack_unzstd(pk, PACK_BODY_TAG, data, len, max, &raw, cause) == -1)
		goto out;
	r.p = raw.p;
	r.end = raw.p + raw.len;
	r.bad = false;
	*serial = pack_get_u(&r);
	(void)pack_get_u(&r);		/* what it is coded against */
	hl = pack_get_u(&r);
	if (r.bad || *serial == 0 || hl > (uint64_t)(r.end - r.p))
		goto bad;
	hdr = r.p;
	r.p += hl;
	/*
	 * The header gives the count of values a stack; the count of
	 * stacks is that of the runs and the stacks that moved (each
	 * coded as one count then its values), after the stacks removed
	 * and added, which change no count of what follows.
	 */
	nt = hl > 0 ? hdr[0] : 0;	/* a varint of one byte */
	if (nt == 0 || nt > 16)
		goto bad;
	for (c = 0; c < 2; c++) {
		i = pack_get_u(&r);
		if (r.bad || i > (uint64_t)(r.end - r.p))
			goto bad;
		for (; i > 0; i--)
			(void)pack_get_u(&r);
	}
	while (!r.bad && r.p < r.end) {
		n += pack_get_u(&r);
		if (r.p == r.end)
			break;
		for (i = 0; i < nt; i++)
			(void)pack_get_s(&r);
		n++;
	}
	if (r.bad || pack_repeat_hdr(hdr, hl, time_nanos, duration_nanos,
	    &hb) == -1)
		goto bad;
	pack_put_same(&out, *serial, hb.p, hb.len, n);
	if (pack_zstd(pk, PACK_BODY_TAG, pk->level, &out, body, cause) == -1)
		goto out;
	(*serial)++;
	rc = 0;
	goto out;
bad:
	*cause = xstrdup("corrupt snapshot blob");
out:
	free(raw.p);
	free(hb.p);
	free(out.p);
	pack_free(pk);
	return rc;
}

/*
 * Whether the c varints r reads next are all below lim, r past them: a
 * stack's location ids, most of a dictionary, read in locals, their
 * bytes checked once (through pack_get_id(), 20 instructions an id of
 * two bytes, as most are past a profile's first 127 locations).
 */
static inline bool
pack_ids_ok(struct pack_rd *r, uint64_t c, uint64_t lim)
{
	const uint8_t	*q = r->p, *e = r->end;
	uint64_t	 v, over = 0;

	/*
	 * With room for c ids of two bytes, none is read past the end:
	 * only one of three bytes or more leaves this loop.
	 */
	if ((uint64_t)(e - q) / 2 >= c) {
		for (; c > 0; c--) {
			if (q[0] < 0x80)
				v = *q++;
			else if (q[1] < 0x80) {
				v = (q[0] & 0x7f) | (uint64_t)q[1] << 7;
				q += 2;
			} else
				break;
			over |= v >= lim;
		}
	}
	for (; c > 0; c--) {
		if (q < e && q[0] < 0x80)
			v = *q++;
		else if (e - q >= 2 && q[1] < 0x80) {
			v = (q[0] & 0x7f) | (uint64_t)q[1] << 7;
			q += 2;
		} else {
			r->p = q;
			v = pack_get_u(r);
			if (r->bad)
				return false;
			q = r->p;
		}
		over |= v >= lim;
	}
	r->p = q;
	return over == 0;
}

/*
 * Whether the entry p[0..len) of table k is well formed and refers only
 * to entries below the counts n[].
 */
static bool
pack_entry_ok(int k, const uint8_t *p, size_t len, const uint32_t *n)
{
	struct pack_rd	 r = { p, p + len, false };
	uint64_t	 i, c;

	switch (k) {
	case PACK_STR:
		return true;
	case PACK_MAP:
		pack_get_u(&r);
		pack_get_u(&r);
		pack_get_u(&r);
		pack_get_id(&r, n[PACK_STR]);
		pack_get_id(&r, n[PACK_STR]);
		pack_get_id(&r, 16);
		break;
	case PACK_FUNC:
		pack_get_id(&r, n[PACK_STR]);
		pack_get_id(&r, n[PACK_STR]);
		pack_get_id(&r, n[PACK_STR]);
		pack_get_s(&r);
		break;
	case PACK_LOC:
		pack_get_id(&r, (uint64_t)n[PACK_MAP] + 1);
		pack_get_u(&r);
		pack_get_id(&r, 2);
		c = pack_get_u(&r);
		for (i = 0; i < c && !r.bad; i++) {
			pack_get_id(&r, n[PACK_FUNC]);
			pack_get_s(&r);
		}
		break;
	case PACK_STACK:
		c = pack_get_u(&r);
		if (r.bad || c > (uint64_t)(r.end - r.p) ||
		    !pack_ids_ok(&r, c, n[PACK_LOC]))
			return false;
		c = pack_get_u(&r);
		for (i = 0; i < c && !r.bad; i++) {
			pack_get_id(&r, n[PACK_STR]);
			pack_get_id(&r, n[PACK_STR]);
			pack_get_s(&r);
			pack_get_id(&r, n[PACK_STR]);
		}
		break;
	}
	return !r.bad && r.p == r.end;
}

int
pack_load_dict(struct pack *pk, const void *data, size_t len, size_t max,
    char **cause)
{
	struct pack_buf	 raw = { 0 };
	struct pack_rd	 r;
	struct pack_tab	*t;
	uint32_t	 n[PACK_NKINDS], n0;
	uint64_t	 c, i, l;
	size_t		 bytes[PACK_NKINDS];
	int		 k, pass, rc = -1;

	if (pack_unzstd(pk, PACK_DICT_TAG, data, len, max, &raw, cause) == -1)
		goto out;
	/*
	 * Check it all, then add it all, so that a bad blob adds nothing;
	 * the entries checked once are not checked again as they are added
	 * (checking them was half of reading a dictionary of 65,536 stacks
	 * back, which a writer forgotten between scrapes does at each).
	 */
	for (pass = 0; pass < 2; pass++) {
		r.p = raw.p;
		r.end = raw.p + raw.len;
		r.bad = false;
		for (k = 0; k < PACK_NKINDS; k++)
			n[k] = pk->tab[k].n;
		for (k = 0; k < PACK_NKINDS; k++) {
			c = pack_get_u(&r);
			if (r.bad || c > (uint64_t)(r.end - r.p) ||
			    c > UINT32_MAX / 2 - n[k])
				goto bad;
			if (pass == 0) {
				bytes[k] = 0;
				for (i = 0; i < c; i++) {
					l = pack_get_u(&r);
					if (r.bad ||
					    l > (uint64_t)(r.end - r.p) ||
					    !pack_entry_ok(k, r.p, l, n))
						goto bad;
					r.p += l;
					bytes[k] += l;
					n[k]++;
				}
				continue;
			}
			/*
			 * Added in place, the table's room made once rather
			 * than grown entry by entry, and hashed as they are
			 * at hand for a writer read back. An entry that is
			 * another's again, which only a blob made by hand
			 * holds, is taken as it is: each id still gives its
			 * bytes, and a writer that finds either codes a
			 * snapshot that reads back the same. Refusing the
			 * blob would refuse the target's every put after it,
			 * and finding such entries costs a writer read back
			 * an index made as it loads (4% of a put of 65,536
			 * stacks).
			 */
			t = &pk->tab[k];
			n0 = t->n;
			if (pk->coder)
				pack_tab_hashes(t);
			pack_tab_reserve(t, c, bytes[k]);
			for (i = 0; i < c; i++) {
				l = pack_get_u(&r);
				if (t->nslot != 0)
					pack_tab_add(t, r.p, l);
				else {
					if (l > 0)
						memcpy(t->data.p + t->data.len,
						    r.p, l);
					t->data.len += l;
					t->off[++t->n] = t->data.len;
					if (t->hash != NULL)
						t->hash[t->n - 1] = (uint32_t)
						    pack_hash(r.p, l);
				}
				r.p += l;
			}
			if (k == PACK_STACK && pk->coder && c > 0) {
				pk->blobstk = pack_grow(pk->blobstk,
				    &pk->capblobstk, pk->nblobstk + 1,
				    sizeof *pk->blobstk);
				pk->blobstk[pk->nblobstk++] = n0;
			}
		}
		if (r.p != r.end)
			goto bad;
	}
	for (k = 0; k < PACK_NKINDS; k++)
		pk->tab[k].saved = pk->tab[k].n;
	rc = 0;
	goto out;
bad:
	*cause = xstrdup("corrupt dictionary blob");
out:
	free(raw.p);
	return rc;
}

/* Read a header and check its references; the count of sample types. */
static int
pack_hdr_check(const uint32_t *lim, const uint8_t *p, size_t len,
    uint32_t *ntypes)
{
	struct pack_rd	 r = { p, p + len, false };
	uint32_t	 ns = lim[PACK_STR];
	uint64_t	 i, c;

	*ntypes = pack_get_id(&r, 17);
	if (*ntypes == 0)
		return -1;
	for (i = 0; i < *ntypes * 2; i++)
		pack_get_id(&r, ns);
	pack_get_id(&r, ns);
	pack_get_id(&r, ns);
	pack_get_id(&r, ns);
	pack_get_s(&r);
	pack_get_s(&r);
	pack_get_s(&r);
	pack_get_id(&r, ns);
	pack_get_id(&r, ns);
	c = pack_get_u(&r);
	for (i = 0; i < c && !r.bad; i++)
		pack_get_id(&r, ns);
	c = pack_get_u(&r);
	for (i = 0; i < c && !r.bad; i++)
		pack_get_id(&r, lim[PACK_MAP]);
	return r.bad || r.p != r.end ? -1 : 0;
}

/* Read a list of sorted stack ids as pack_put_minus() writes it. */
static int
pack_get_ids(struct pack_rd *r, uint32_t lim, uint32_t **ids, size_t *n)
{
	uint64_t	 c, i, last = 0, v;

	c = pack_get_u(r);
	if (r->bad || c > (uint64_t)(r->end - r->p))
		return -1;
	*ids = xreallocarray(NULL, c + 1, sizeof **ids);
	*n = c;
	for (i = 0; i < c; i++) {
		v = pack_get_u(r);
		if (r->bad || v >= lim || last + v >= lim)
			return -1;
		(*ids)[i] = (uint32_t)(last + v);
		last += v + 1;
	}
	return 0;
}

int
pack_body_info(const void *data, size_t len, bool *key, uint64_t *serial)
{
	const uint8_t	*p = data;
	uint8_t		 head[32];
	ZSTD_DCtx	*d;
	ZSTD_inBuffer	 in;
	ZSTD_outBuffer	 out = { head, sizeof head, 0 };
	struct pack_rd	 r;
	uint64_t	 base;

	if (len < 2 || p[0] != PACK_BODY_TAG || p[1] != PACK_VERSION)
		return -1;
	/* The first bytes are enough: two varints. */
	if ((d = ZSTD_createDCtx()) == NULL)
		return -1;
	in.src = p + 2;
	in.size = len - 2;
	in.pos = 0;
	if (ZSTD_isError(ZSTD_decompressStream(d, &out, &in)))
		out.pos = 0;
	ZSTD_freeDCtx(d);
	r.p = head;
	r.end = head + out.pos;
	r.bad = false;
	*serial = pack_get_u(&r);
	base = pack_get_u(&r);
	*key = base == 0;
	return r.bad ? -1 : 0;
}

/*
 * The values of a body read by r, into val[n * nt], which holds the
 * previous snapshot's for each stack (0 for one added): a run of stacks
 * that did not move is passed over, a stack that did gets its deltas
 * added. With val NULL, only whether they read, to the body's end.
 */
static int
pack_snap_vals(struct pack_rd *r, int64_t *val, size_t n, size_t nt)
{
	size_t		 i, t;
	uint64_t	 z;
	int64_t		*v;

	for (i = 0; i < n;) {
		z = pack_get_u(r);
		if (r->bad || z > n - i)
			return -1;
		if ((i += z) == n)
			break;
		if (val == NULL) {
			for (t = 0; t < nt; t++)
				(void)pack_get_s(r);
		} else {
			v = val + i * nt;
			for (t = 0; t < nt; t++)
				v[t] = (int64_t)((uint64_t)v[t] +
				    (uint64_t)pack_get_s(r));
		}
		i++;
	}
	return r->bad || r->p != r->end ? -1 : 0;
}

/*
 * Apply the rest of a body read by r, which removes no stack and adds
 * those of add[0..nadd), all past the current snapshot's, to cur in
 * place: its new header and serial are s's (taken). The values are read
 * twice, checked then applied, so that a body that does not read leaves
 * cur as it was. A delta of a profile of 65,536 stacks, most of them
 * unchanged, then writes the few that moved only.
 */
static int
pack_snap_onto(struct pack_snap *cur, struct pack_snap *s,
    const struct pack_rd *body, const uint32_t *add, size_t nadd)
{
	struct pack_rd	 r = *body;
	size_t		 n = cur->n + nadd, nt = cur->ntypes;

	if (pack_snap_vals(&r, NULL, n, nt) == -1)
		return -1;
	if (nadd > 0) {
		cur->stk = xreallocarray(cur->stk, n + 1, sizeof *cur->stk);
		cur->val = xreallocarray(cur->val, n * nt + 1,
		    sizeof *cur->val);
		memcpy(cur->stk + cur->n, add, nadd * sizeof *add);
		memset(cur->val + cur->n * nt, 0, nadd * nt * sizeof *cur->val);
		cur->n = n;
	}
	r = *body;
	(void)pack_snap_vals(&r, cur->val, n, nt);
	free(cur->hdr);
	cur->hdr = s->hdr;
	cur->hdrlen = s->hdrlen;
	cur->serial = s->serial;
	s->hdr = NULL;
	return 0;
}

/* The first of stk[i..n) not below v, or n. */
static size_t
pack_stk_find(const uint32_t *stk, size_t i, size_t n, uint32_t v)
{
	size_t	mid;

	while (i < n) {
		mid = i + (n - i) / 2;
		if (stk[mid] < v)
			i = mid + 1;
		else
			n = mid;
	}
	return i;
}

/*
 * The stacks of s: those of prev less rm[0..nrm), merged with
 * add[0..nadd), each with prev's values (when of as many sample types)
 * or 0 for one added; the runs between two of those, most of a
 * snapshot, copied whole. -1 when it removes what was not there or adds
 * what was. A stack both removed and added keeps prev's values, as a
 * body read stack by stack had it.
 */
static int
pack_snap_merge(struct pack_snap *s, const struct pack_snap *prev,
    const uint32_t *rm, size_t nrm, const uint32_t *add, size_t nadd)
{
	size_t		 nt = s->ntypes, i = 0, j, d = 0, a = 0, o = 0;
	uint32_t	 e;
	bool		 vals = prev->ntypes == nt;

	s->stk = xreallocarray(NULL, prev->n + nadd + 1, sizeof *s->stk);
	s->val = xreallocarray(NULL, (prev->n + nadd) * nt + 1,
	    sizeof *s->val);
	/* A key's: all its stacks added, at once. */
	if (prev->n == 0) {
		if (nrm > 0)
			return -1;
		if (nadd > 0)
			memcpy(s->stk, add, nadd * sizeof *add);
		memset(s->val, 0, (nadd * nt + 1) * sizeof *s->val);
		s->n = nadd;
		return 0;
	}
	for (;;) {
		e = d < nrm && (a == nadd || rm[d] <= add[a]) ? rm[d] :
		    a < nadd ? add[a] : UINT32_MAX;
		j = d < nrm || a < nadd ? pack_stk_find(prev->stk, i, prev->n,
		    e) : prev->n;
		if (j > i) {
			memcpy(s->stk + o, prev->stk + i, (j - i) *
			    sizeof *s->stk);
			if (vals)
				memcpy(s->val + o * nt, prev->val + i * nt,
				    (j - i) * nt * sizeof *s->val);
			else
				memset(s->val + o * nt, 0, (j - i) * nt *
				    sizeof *s->val);
		}
		o += j - i;
		i = j;
		if (d == nrm && a == nadd)
			break;
		if (d < nrm && e == rm[d]) {
			if (j == prev->n || prev->stk[j] != e)
				return -1;	/* removes what was not there */
			d++;
			i = j + 1;
			if (a == nadd || add[a] != e)
				continue;
			/* Removed and added: prev's values. */
			s->stk[o] = e;
			if (vals)
				memcpy(s->val + o * nt, prev->val + j * nt,
				    nt * sizeof *s->val);
			else
				memset(s->val + o * nt, 0, nt * sizeof *s->val);
			o++;
			a++;
			continue;
		}
		if (j < prev->n && prev->stk[j] == e)
			return -1;		/* adds what was there */
		s->stk[o] = e;
		memset(s->val + o * nt, 0, nt * sizeof *s->val);
		o++;
		a++;
	}
	/* Made for all of prev and add: a writer keeps it to the next. */
	if (nrm > 0) {
		s->stk = xreallocarray(s->stk, o + 1, sizeof *s->stk);
		s->val = xreallocarray(s->val, o * nt + 1, sizeof *s->val);
	}
	s->n = o;
	return 0;
}

/*
 * pack_load_snap() with the dictionary's sizes in lim (by kind), which
 * the body's ids must be below: pk's own, or, for a pack of no
 * dictionary coding by a profile's shape, those of the dictionary it
 * stands for.
 */
static int
pack_load_snap_in(struct pack *pk, const uint32_t *lim, const void *data,
    size_t len, size_t max, char **cause)
{
	struct pack_buf	 raw = { 0 };
	struct pack_rd	 r;
	struct pack_snap s, none, *prev;
	uint32_t	*rm = NULL, *add = NULL, nst = lim[PACK_STACK];
	size_t		 nrm, nadd, nt;
	uint64_t	 base, hl;
	int		 rc = -1;

	memset(&s, 0, sizeof s);
	memset(&none, 0, sizeof none);
	if (pack_unzstd(pk, PACK_BODY_TAG, data, len, max, &raw, cause) == -1)
		goto out;
	r.p = raw.p;
	r.end = raw.p + raw.len;
	r.bad = false;
	s.serial = pack_get_u(&r);
	base = pack_get_u(&r);
	if (r.bad || s.serial == 0)
		goto bad;
	if (base != 0 && base != pk->cur.serial) {
		xasprintf(cause, "snapshot %llu is coded against %llu, not "
		    "the current %llu", (unsigned long long)s.serial,
		    (unsigned long long)base,
		    (unsigned long long)pk->cur.serial);
		goto out;
	}
	prev = base == 0 ? &none : &pk->cur;
	hl = pack_get_u(&r);
	if (r.bad || hl > (uint64_t)(r.end - r.p) ||
	    pack_hdr_check(lim, r.p, hl, &s.ntypes) == -1)
		goto bad;
	s.hdr = xmalloc(hl + 1);
	memcpy(s.hdr, r.p, hl);
	s.hdrlen = hl;
	r.p += hl;
	nt = s.ntypes;
	if (pack_get_ids(&r, nst, &rm, &nrm) == -1 ||
	    pack_get_ids(&r, nst, &add, &nadd) == -1)
		goto bad;
	/*
	 * A writer read back at each put reads a segment's bodies from its
	 * key on, each a delta of a profile of mostly the same stacks and
	 * values: made afresh, each snapshot copied the last one's stacks
	 * and values one by one (for 65,536 stacks, 2 MB zeroed, then
	 * copied, 8 million instructions a body). Now a body that only
	 * adds stacks past the last one's is applied in place, writing the
	 * stacks that moved; any other, its runs of stacks copied whole.
	 */
	if (base != 0 && prev->ntypes == nt && nrm == 0 && (nadd == 0 ||
	    prev->n == 0 || add[0] > prev->stk[prev->n - 1])) {
		if (pack_snap_onto(&pk->cur, &s, &r, add, nadd) == -1)
			goto bad;
		rc = 0;
		goto out;
	}
	if (pack_snap_merge(&s, prev, rm, nrm, add, nadd) == -1 ||
	    pack_snap_vals(&r, s.val, s.n, nt) == -1)
		goto bad;
	pack_snap_clear(&pk->cur);
	pk->cur = s;
	memset(&s, 0, sizeof s);
	rc = 0;
	goto out;
bad:
	*cause = xstrdup("corrupt snapshot blob");
out:
	pack_snap_clear(&s);
	free(rm);
	free(add);
	free(raw.p);
	return rc;
}

/* The sizes of pk's tables, by kind. */
static void
pack_tab_sizes(const struct pack *pk, uint32_t *lim)
{
	int	k;

	for (k = 0; k < PACK_NKINDS; k++)
		lim[k] = pk->tab[k].n;
}

int
pack_load_snap(struct pack *pk, const void *data, size_t len, size_t max,
    char **cause)
{
	uint32_t	lim[PACK_NKINDS];

	pack_tab_sizes(pk, lim);
	return pack_load_snap_in(pk, lim, data, len, max, cause);
}

/* ---- coding by a profile's shape ---------------------------------------- */

/*
 * The digest is XXH3's 128 bits over what pack_view_intern() reads of a
 * profile but its values, time and duration, as 64-bit words (the fields
 * one by one where a struct has padding) and, for strings, their length
 * then their bytes. Two profiles of one digest intern to the same
 * entries and header and give their samples the same stacks; a profile
 * made to collide with its target's last one codes its own values under
 * that one's stacks, no worse than a target lying in its profile, and
 * the same trust the worker's fingerprint of a repeat (profile.c) puts
 * in these 128 bits.
 */
struct pack_digest {
	XXH3_state_t	 st;
	uint64_t	 w[256];
	size_t		 n;
};

static void
pack_digest_flush(struct pack_digest *d)
{
	(void)XXH3_128bits_update(&d->st, d->w, d->n * sizeof *d->w);
	d->n = 0;
}

static inline void
pack_digest_word(struct pack_digest *d, uint64_t v)
{
	if (d->n == sizeof d->w / sizeof *d->w)
		pack_digest_flush(d);
	d->w[d->n++] = v;
}

/* An array of n elements of size bytes, after its count. */
static void
pack_digest_bytes(struct pack_digest *d, const void *p, size_t n,
    size_t size)
{
	pack_digest_word(d, n);
	pack_digest_flush(d);
	if (n > 0)
		(void)XXH3_128bits_update(&d->st, p, n * size);
}

void
pack_view_digest(const struct profile_view *v, uint64_t digest[2])
{
	struct pack_digest		 d;
	const struct profile_mapping	*m;
	const struct profile_location	*pl;
	const struct profile_line	*ln;
	XXH128_hash_t			 h;
	size_t				 i, j;

	(void)XXH3_128bits_reset(&d.st);
	d.n = 0;
	pack_digest_word(&d, v->ntypes);
	for (i = 0; i < v->ntypes; i++) {
		pack_digest_word(&d, (uint64_t)v->types[i].type);
		pack_digest_word(&d, (uint64_t)v->types[i].unit);
	}
	pack_digest_word(&d, (uint64_t)v->default_type);
	pack_digest_word(&d, (uint64_t)v->period_type.type);
	pack_digest_word(&d, (uint64_t)v->period_type.unit);
	pack_digest_word(&d, (uint64_t)v->period);
	pack_digest_word(&d, (uint64_t)v->drop_frames);
	pack_digest_word(&d, (uint64_t)v->keep_frames);
	pack_digest_bytes(&d, v->comments, v->ncomments, sizeof *v->comments);
	pack_digest_word(&d, v->nstrs);
	for (i = 0; i < v->nstrs; i++)
		pack_digest_bytes(&d, v->strs[i].s, v->strs[i].len, 1);
	pack_digest_word(&d, v->nmaps);
	for (i = 0; i < v->nmaps; i++) {
		m = &v->maps[i];
		pack_digest_word(&d, m->start);
		pack_digest_word(&d, m->limit);
		pack_digest_word(&d, m->offset);
		pack_digest_word(&d, (uint64_t)m->file);
		pack_digest_word(&d, (uint64_t)m->build_id);
		pack_digest_word(&d, (uint64_t)m->has_functions |
		    (uint64_t)m->has_filenames << 1 |
		    (uint64_t)m->has_line_numbers << 2 |
		    (uint64_t)m->has_inline_frames << 3);
	}
	pack_digest_word(&d, v->nfuncs);
	for (i = 0; i < v->nfuncs; i++) {
		pack_digest_word(&d, (uint64_t)v->funcs[i].name);
		pack_digest_word(&d, (uint64_t)v->funcs[i].system_name);
		pack_digest_word(&d, (uint64_t)v->funcs[i].filename);
		pack_digest_word(&d, (uint64_t)v->funcs[i].start_line);
	}
	pack_digest_word(&d, v->nlocs);
	for (i = 0; i < v->nlocs; i++) {
		pl = &v->locs[i];
		pack_digest_word(&d, pl->mapping);
		pack_digest_word(&d, pl->address);
		pack_digest_word(&d, pl->folded);
		pack_digest_word(&d, pl->nlines);
		for (j = 0; j < pl->nlines; j++) {
			ln = &v->lines[pl->line0 + j];
			pack_digest_word(&d, ln->function);
			pack_digest_word(&d, (uint64_t)ln->line);
		}
	}
	pack_digest_word(&d, v->base);
	pack_digest_bytes(&d, v->byid, v->byid != NULL ? v->nbyid : 0,
	    sizeof *v->byid);
	pack_digest_word(&d, v->nsamples);
	if (v->nsamples > 0) {
		pack_digest_bytes(&d, v->stack_off, v->nsamples + 1,
		    sizeof *v->stack_off);
		pack_digest_bytes(&d, v->stacks, v->stack_off[v->nsamples],
		    sizeof *v->stacks);
		pack_digest_bytes(&d, v->label_off, v->nsamples + 1,
		    sizeof *v->label_off);
		pack_digest_bytes(&d, v->labels, v->label_off[v->nsamples],
		    sizeof *v->labels);
	}
	pack_digest_flush(&d);
	h = XXH3_128bits_digest(&d.st);
	digest[0] = h.low64;
	digest[1] = h.high64;
}

int
pack_shape_take(const struct pack *pk, const uint64_t digest[2],
    struct pack_shape *sh)
{
	size_t		 i, n = pk->norder, max = n / 4 + 16;
	uint32_t	*r = NULL;

	memset(sh, 0, sizeof *sh);
	if (pk->cur.serial == 0 || pk->order == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (sh->nruns > 0 && pk->order[i] == r[2 * (sh->nruns - 1)] +
		    r[2 * (sh->nruns - 1) + 1]) {
			r[2 * (sh->nruns - 1) + 1]++;
			continue;
		}
		if (sh->nruns == max) {
			free(r);
			sh->nruns = 0;
			return -1;
		}
		if (r == NULL)
			r = xreallocarray(NULL, 2 * max, sizeof *r);
		r[2 * sh->nruns] = pk->order[i];
		r[2 * sh->nruns + 1] = 1;
		sh->nruns++;
	}
	sh->runs = sh->nruns > 0 ? xreallocarray(r, 2 * sh->nruns,
	    sizeof *r) : (free(r), NULL);
	sh->nsamples = n;
	sh->digest[0] = digest[0];
	sh->digest[1] = digest[1];
	pack_tab_sizes(pk, sh->lim);
	return 0;
}

void
pack_shape_free(struct pack_shape *sh)
{
	free(sh->runs);
	memset(sh, 0, sizeof *sh);
}

size_t
pack_shape_held(const struct pack_shape *sh)
{
	return sh->nruns * 2 * sizeof *sh->runs;
}

/*
 * Make the current snapshot, serial and header aside, last's: a body
 * that repeats it (pack_put_same(): no stack removed or added, one run
 * of all of them unchanged) coded after it, its serial past the current
 * one's. Its header must be the current one's but for the times.
 */
static int
pack_snap_repeated(struct pack *pk, const uint32_t *lim, const void *last,
    size_t len, size_t max, char **cause)
{
	struct pack_buf	 raw = { 0 }, a = { 0 }, b = { 0 };
	struct pack_rd	 r;
	uint64_t	 serial, base, hl;
	uint32_t	 nt;
	const uint8_t	*hdr;
	int		 rc = -1;

	if (pack_unzstd(pk, PACK_BODY_TAG, last, len, max, &raw, cause) == -1)
		return -1;
	r.p = raw.p;
	r.end = raw.p + raw.len;
	r.bad = false;
	serial = pack_get_u(&r);
	base = pack_get_u(&r);
	hl = pack_get_u(&r);
	if (r.bad || hl > (uint64_t)(r.end - r.p) ||
	    pack_hdr_check(lim, r.p, hl, &nt) == -1)
		goto bad;
	hdr = r.p;
	r.p += hl;
	if (serial <= pk->cur.serial || base + 1 != serial ||
	    nt != pk->cur.ntypes || pack_get_u(&r) != 0 ||
	    pack_get_u(&r) != 0 || (pk->cur.n > 0 &&
	    pack_get_u(&r) != pk->cur.n) || r.bad || r.p != r.end)
		goto bad;
	if (pack_repeat_hdr(hdr, hl, 0, 0, &a) == -1 ||
	    pack_repeat_hdr(pk->cur.hdr, pk->cur.hdrlen, 0, 0, &b) == -1 ||
	    a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
		goto bad;
	free(pk->cur.hdr);
	pk->cur.hdr = xmalloc(hl + 1);
	memcpy(pk->cur.hdr, hdr, hl);
	pk->cur.hdrlen = hl;
	pk->cur.serial = serial;
	rc = 0;
	goto out;
bad:
	*cause = xstrdup("the newest snapshot is no repeat of the shape's");
out:
	free(raw.p);
	free(a.p);
	free(b.p);
	return rc;
}

int
pack_encode_shaped(const struct pack_shape *sh, const struct pack_blob *keyb,
    const void *last, size_t lastlen, size_t max, int level,
    const struct profile_view *v, bool key, struct pack_blob *body,
    struct pack_blob *next, uint64_t *serial, char **cause)
{
	struct pack	*pk;
	struct pack_blob dict = { 0 };
	struct pack_buf	 hb = { 0 };
	struct pack_snap s;
	struct pack_ref	*ref = NULL;
	size_t		 i, k, o;
	int		 rc = -1;

	memset(body, 0, sizeof *body);
	memset(next, 0, sizeof *next);
	/* A pack of no dictionary: its current snapshot and zstd's. */
	pk = pack_new(level);
	if (pack_load_snap_in(pk, sh->lim, keyb->data, keyb->len, max,
	    cause) == -1)
		goto out;
	if (last != NULL && pack_snap_repeated(pk, sh->lim, last, lastlen,
	    max, cause) == -1)
		goto out;
	if (v->nsamples != sh->nsamples || v->ntypes != pk->cur.ntypes) {
		*cause = xstrdup("not of the shape coded last");
		goto out;
	}
	if (pack_repeat_hdr(pk->cur.hdr, pk->cur.hdrlen, v->time_nanos,
	    v->duration_nanos, &hb) == -1) {
		*cause = xstrdup("corrupt snapshot header");
		goto out;
	}
	ref = xreallocarray(NULL, v->nsamples + 1, sizeof *ref);
	for (i = 0, o = 0; i < sh->nruns; i++)
		for (k = 0; k < sh->runs[2 * i + 1] && o < v->nsamples; k++) {
			ref[o].sample = (uint32_t)o;
			ref[o].stack = sh->runs[2 * i] + (uint32_t)k;
			if (ref[o++].stack >= sh->lim[PACK_STACK])
				goto corrupt;
		}
	if (o != v->nsamples)
		goto corrupt;
	pack_sort_refs(ref, o, sh->lim[PACK_STACK]);
	pack_snap_fill(&s, &hb, ref, o, v->values, v->ntypes);
	/* Nothing is added to a dictionary of none: no blob of it. */
	if (pack_commit(pk, &s, key, false, &dict, body, cause) == -1)
		goto out;
	if (key) {
		next->data = xmalloc(body->len);
		memcpy(next->data, body->data, body->len);
		next->len = body->len;
	} else if (pack_key_body(pk, next, cause) == -1) {
		free(body->data);
		memset(body, 0, sizeof *body);
		goto out;
	}
	*serial = pk->cur.serial;
	rc = 0;
	goto out;
corrupt:
	*cause = xstrdup("a shape's stacks past its dictionary");
out:
	free(hb.p);
	free(ref);
	pack_free(pk);
	return rc;
}

/* A field's key. */
static void
pack_pb_key(struct pack_buf *b, unsigned int num, unsigned int wt)
{
	pack_put_u(b, (uint64_t)num << 3 | wt);
}

/* A varint field, left out when 0 as proto3 does. */
static void
pack_pb_u(struct pack_buf *b, unsigned int num, uint64_t v)
{
	if (v == 0)
		return;
	pack_pb_key(b, num, 0);
	pack_put_u(b, v);
}

static void
pack_pb_bytes(struct pack_buf *b, unsigned int num, const void *p,
    size_t len)
{
	pack_pb_key(b, num, 2);
	pack_put_u(b, len);
	pack_put(b, p, len);
}

/*
 * The output ids of a snapshot's entries: 0 for one not used, else its
 * id in the profile written (for strings, its index).
 */
struct pack_out {
	uint32_t	*id[PACK_NKINDS];
	uint32_t	*list[PACK_NKINDS];	/* dictionary ids, in order */
	uint32_t	 n[PACK_NKINDS];
};

static uint32_t
pack_use(struct pack_out *o, int k, uint32_t id)
{
	if (o->id[k][id] == 0) {
		o->list[k][o->n[k]++] = id;
		o->id[k][id] = o->n[k] - (k == PACK_STR);
	}
	return o->id[k][id];
}

/* A string's index in the profile written; the empty string's is 0. */
static uint32_t
pack_use_str(struct pack_out *o, uint64_t id)
{
	if (o->id[PACK_STR][id] == UINT32_MAX)
		return 0;
	return pack_use(o, PACK_STR, (uint32_t)id);
}

/* Bytes of v as a varint. */
static size_t
pack_varint_len(uint64_t v)
{
	size_t	n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/*
 * The output id of location id as its varint, its bytes from the lowest
 * up and its length in the top byte, kept in ov[id]; 0 when it takes more
 * than 3 bytes (ids from 2,097,152), for the caller to write it.
 */
static uint32_t
pack_ov(struct pack_out *o, uint32_t *ov, uint32_t id)
{
	uint8_t		vb[5];
	uint32_t	x;
	size_t		n;

	n = (size_t)(pack_varint(vb, pack_use(o, PACK_LOC, id)) - vb);
	if (n > 3)
		return 0;
	x = (uint32_t)vb[0] | (n > 1 ? (uint32_t)vb[1] << 8 : 0) |
	    (n > 2 ? (uint32_t)vb[2] << 16 : 0) | (uint32_t)n << 24;
	ov[id] = x;
	return x;
}

int
pack_pprof(struct pack *pk, bool gz, void **out, size_t *len, char **cause)
{
	struct pack_out	 o;
	struct pack_buf	 b = { 0 }, m = { 0 }, l = { 0 }, l2 = { 0 };
	struct pack_rd	 r, e;
	const struct pack_snap *s = &pk->cur;
	const uint8_t	*p;
	uint8_t		 vb[16 * 10], *t;
	const uint8_t	*ep, *ee;
	uint32_t	*ov, x, nloc = pk->tab[PACK_LOC].n;
	size_t		 plen, i, j, c, cap, vlen, mlen;
	uint64_t	 v[8], nt, nl, q;
	int		 k;

	if (s->serial == 0) {
		*cause = xstrdup("no snapshot");
		return -1;
	}
	memset(&o, 0, sizeof o);
	/* At the last one's size: doubling to 3.6 MB copied 3.6 MB more. */
	if (pk->pprof_hint > 0) {
		b.cap = pk->pprof_hint + pk->pprof_hint / 8 + 4096;
		b.p = xmalloc(b.cap);
	}
	/* Stacks are written in the snapshot's order, not renumbered. */
	for (k = 0; k < PACK_NKINDS; k++) {
		if (k == PACK_STACK)
			continue;
		o.id[k] = xcalloc(pk->tab[k].n + 1, sizeof *o.id[k]);
		o.list[k] = xcalloc(pk->tab[k].n + 1, sizeof *o.list[k]);
	}
	/* The empty string first, as pprof wants it. */
	o.n[PACK_STR] = 1;
	for (i = 0; i < pk->tab[PACK_STR].n; i++) {
		p = pack_tab_get(&pk->tab[PACK_STR], (uint32_t)i, &plen);
		if (plen == 0) {
			o.id[PACK_STR][i] = UINT32_MAX;	/* index 0 */
			o.list[PACK_STR][0] = (uint32_t)i;
			break;
		}
	}
#define S(x)	pack_use_str(&o, (x))

	/* The header: sample types, and the mappings in their order. */
	r.p = s->hdr;
	r.end = s->hdr + s->hdrlen;
	r.bad = false;
	nt = pack_get_u(&r);
	for (i = 0; i < nt; i++) {
		m.len = 0;
		pack_pb_u(&m, 1, S(pack_get_u(&r)));
		pack_pb_u(&m, 2, S(pack_get_u(&r)));
		pack_pb_bytes(&b, 1, m.p, m.len);
	}
	for (i = 0; i < 8; i++)
		v[i] = pack_get_u(&r);
	c = pack_get_u(&r);
	for (i = 0; i < c; i++)		/* comments, packed below */
		pack_put_u(&l, S(pack_get_u(&r)));
	c = pack_get_u(&r);
	for (i = 0; i < c; i++)
		pack_use(&o, PACK_MAP, (uint32_t)pack_get_u(&r));

	/*
	 * Samples, and the locations they use as they come: each Sample
	 * written straight into b, its fields' bytes first made in l2 (the
	 * location ids, through ov) and vb, where writing each field into
	 * a message of its own and that into b, a call a varint, was two
	 * thirds of making the profile of 65,536 stacks.
	 */
	ov = xcalloc(pk->tab[PACK_LOC].n + 1, sizeof *ov);
	for (i = 0; i < s->n; i++) {
		pack_tab_rd(&pk->tab[PACK_STACK], s->stk[i], &e);
		c = pack_get_u(&e);
		l2.p = pack_grow(l2.p, &l2.cap, c * 5 + 1, 1);
		t = l2.p;
		/*
		 * The entry's bytes and the bounds in locals, which the
		 * bytes written cannot be taken to change: through e, each
		 * was loaded again for each frame.
		 */
		ep = e.p;
		ee = e.end;
		for (j = 0; j < c; j++) {
			if (ep < ee && ep[0] < 0x80)
				q = *ep++;
			else if (ee - ep >= 2 && ep[1] < 0x80) {
				q = (ep[0] & 0x7f) | (uint64_t)ep[1] << 7;
				ep += 2;
			} else {
				e.p = ep;
				q = pack_get_u(&e);
				ep = e.p;
				if (e.bad)
					break;
			}
			if (q >= nloc)
				break;
			if ((x = ov[q]) == 0 &&
			    (x = pack_ov(&o, ov, (uint32_t)q)) == 0) {
				t = pack_varint(t, pack_use(&o, PACK_LOC,
				    (uint32_t)q));
				continue;
			}
			t[0] = (uint8_t)x;
			t[1] = (uint8_t)(x >> 8);
			t[2] = (uint8_t)(x >> 16);
			t += x >> 24;
		}
		e.p = ep;
		l2.len = (size_t)(t - l2.p);
		for (t = vb, j = 0; j < nt; j++)
			t = pack_varint(t, (uint64_t)s->val[i * nt + j]);
		vlen = (size_t)(t - vb);
		m.len = 0;
		c = pack_get_u(&e);
		for (j = 0; j < c; j++) {
			/* A Label: 4 fields of at most 11 bytes. */
			m.p = pack_grow(m.p, &m.cap, m.len + 2 + 4 * 11, 1);
			t = m.p + m.len + 2;
			if ((q = S(pack_get_u(&e))) != 0)
				t = pack_varint(pack_varint(t, 1 << 3), q);
			if ((q = S(pack_get_u(&e))) != 0)
				t = pack_varint(pack_varint(t, 2 << 3), q);
			if ((q = (uint64_t)pack_get_s(&e)) != 0)
				t = pack_varint(pack_varint(t, 3 << 3), q);
			if ((q = S(pack_get_u(&e))) != 0)
				t = pack_varint(pack_varint(t, 4 << 3), q);
			m.p[m.len] = 3 << 3 | 2;
			m.p[m.len + 1] = (uint8_t)(t - m.p - m.len - 2);
			m.len = (size_t)(t - m.p);
		}
		mlen = (l2.len > 0 ? 1 + pack_varint_len(l2.len) + l2.len : 0) +
		    1 + pack_varint_len(vlen) + vlen + m.len;
		b.p = pack_grow(b.p, &b.cap, b.len + 11 + mlen, 1);
		t = b.p + b.len;
		*t++ = 2 << 3 | 2;
		t = pack_varint(t, mlen);
		if (l2.len > 0) {
			*t++ = 1 << 3 | 2;
			t = pack_varint(t, l2.len);
			memcpy(t, l2.p, l2.len);
			t += l2.len;
		}
		*t++ = 2 << 3 | 2;
		t = pack_varint(t, vlen);
		memcpy(t, vb, vlen);
		t += vlen;
		if (m.len > 0) {
			memcpy(t, m.p, m.len);
			t += m.len;
		}
		b.len = (size_t)(t - b.p);
	}
	free(ov);
	/* Locations, which add the functions and mappings they use. */
	for (i = 0; i < o.n[PACK_LOC]; i++) {
		pack_tab_rd(&pk->tab[PACK_LOC], o.list[PACK_LOC][i], &e);
		m.len = 0;
		pack_pb_u(&m, 1, i + 1);
		q = pack_get_u(&e);
		if (q != 0)
			pack_pb_u(&m, 2, pack_use(&o, PACK_MAP,
			    (uint32_t)(q - 1)));
		pack_pb_u(&m, 3, pack_get_u(&e));
		q = pack_get_u(&e);	/* folded */
		nl = pack_get_u(&e);
		for (j = 0; j < nl; j++) {
			l2.len = 0;
			pack_pb_u(&l2, 1, pack_use(&o, PACK_FUNC,
			    (uint32_t)pack_get_u(&e)));
			pack_pb_u(&l2, 2, (uint64_t)pack_get_s(&e));
			pack_pb_bytes(&m, 4, l2.p, l2.len);
		}
		pack_pb_u(&m, 5, q);
		pack_pb_bytes(&b, 4, m.p, m.len);
	}
	for (i = 0; i < o.n[PACK_FUNC]; i++) {
		pack_tab_rd(&pk->tab[PACK_FUNC], o.list[PACK_FUNC][i], &e);
		m.len = 0;
		pack_pb_u(&m, 1, i + 1);
		pack_pb_u(&m, 2, S(pack_get_u(&e)));
		pack_pb_u(&m, 3, S(pack_get_u(&e)));
		pack_pb_u(&m, 4, S(pack_get_u(&e)));
		pack_pb_u(&m, 5, (uint64_t)pack_get_s(&e));
		pack_pb_bytes(&b, 5, m.p, m.len);
	}
	for (i = 0; i < o.n[PACK_MAP]; i++) {
		pack_tab_rd(&pk->tab[PACK_MAP], o.list[PACK_MAP][i], &e);
		m.len = 0;
		pack_pb_u(&m, 1, i + 1);
		pack_pb_u(&m, 2, pack_get_u(&e));
		pack_pb_u(&m, 3, pack_get_u(&e));
		pack_pb_u(&m, 4, pack_get_u(&e));
		pack_pb_u(&m, 5, S(pack_get_u(&e)));
		pack_pb_u(&m, 6, S(pack_get_u(&e)));
		q = pack_get_u(&e);
		for (j = 0; j < 4; j++)
			pack_pb_u(&m, 7 + (unsigned int)j, (q >> j) & 1);
		pack_pb_bytes(&b, 3, m.p, m.len);
	}
	/* Header scalars, whose strings come before the table is written. */
	pack_pb_u(&b, 14, S(v[0]));
	m.len = 0;
	pack_pb_u(&m, 1, S(v[1]));
	pack_pb_u(&m, 2, S(v[2]));
	pack_pb_bytes(&b, 11, m.p, m.len);
	/* Period, time and duration, zigzag-coded in the header. */
	for (i = 0; i < 3; i++)
		pack_pb_u(&b, i == 0 ? 12 : 8 + (unsigned int)i,
		    (v[3 + i] >> 1) ^ -(v[3 + i] & 1));
	pack_pb_u(&b, 7, S(v[6]));
	pack_pb_u(&b, 8, S(v[7]));
	if (l.len > 0)
		pack_pb_bytes(&b, 13, l.p, l.len);
#undef S
	for (i = 0; i < o.n[PACK_STR]; i++) {
		if (i == 0) {
			pack_pb_bytes(&b, 6, "", 0);
			continue;
		}
		p = pack_tab_get(&pk->tab[PACK_STR], o.list[PACK_STR][i],
		    &plen);
		pack_pb_bytes(&b, 6, p, plen);
	}
	for (k = 0; k < PACK_NKINDS; k++) {
		free(o.id[k]);
		free(o.list[k]);
	}
	free(m.p);
	free(l.p);
	free(l2.p);
	pk->pprof_hint = b.len;
	if (!gz) {
		*out = b.p;
		*len = b.len;
		return 0;
	}
	if (pk->gz == NULL &&
	    (pk->gz = libdeflate_alloc_compressor(PACK_GZ_LEVEL)) == NULL) {
		free(b.p);
		*cause = xstrdup("cannot start gzip");
		return -1;
	}
	cap = libdeflate_gzip_compress_bound(pk->gz, b.len);
	*out = xmalloc(cap);
	*len = libdeflate_gzip_compress(pk->gz, b.p, b.len, *out, cap);
	free(b.p);
	if (*len == 0) {
		free(*out);
		*cause = xstrdup("gzip failed");
		return -1;
	}
	return 0;
}
