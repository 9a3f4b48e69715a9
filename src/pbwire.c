#include "config.h"

#include <endian.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define PBWIRE_SHUFFLE		/* ids by a byte shuffle, where SSSE3 is */
#endif

#include "pbwire.h"
#include "xmalloc.h"

int
pbwire_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t	*p = *pp;
	uint64_t	 x = 0;
	int		 shift;

	for (shift = 0; shift < 70 && p < end; shift += 7) {
		if (shift < 64)
			x |= (uint64_t)(*p & 0x7f) << shift;
		if ((*p++ & 0x80) == 0) {
			*pp = p;
			*v = x;
			return 0;
		}
	}
	return -1;	/* truncated, or longer than ten bytes */
}

/*
 * The key of a field, read as protobuf-c reads it, since the rest of the
 * profile is unpacked by protobuf-c and the two must agree on what is
 * valid: at most five bytes, and a first byte whose field bits are not all
 * zero. A field number 0 spelt in more bytes is accepted and skipped as
 * unknown, as pprof's decoder and protobuf-c do.
 */
static int
pbwire_key(const uint8_t **pp, const uint8_t *end, uint64_t *tag)
{
	const uint8_t	*p = *pp;

	if ((*p & 0xf8) == 0 || pbwire_varint(&p, end, tag) == -1 ||
	    p - *pp > 5)
		return -1;
	*tag &= 0x7ffffffffULL;		/* a uint32 field number, wire type */
	*pp = p;
	return 0;
}

/* A length prefix, at most five bytes long as protobuf-c reads it. */
static int
pbwire_length(const uint8_t **pp, const uint8_t *end, uint64_t *len)
{
	const uint8_t	*p = *pp;

	if (pbwire_varint(&p, end, len) == -1 || p - *pp > 5)
		return -1;
	*pp = p;
	return 0;
}

int
pbwire_next_any(const uint8_t **pp, const uint8_t *end,
    struct pbwire_field *f)
{
	const uint8_t	*p = *pp;
	uint64_t	 tag;

	if (p == end)
		return 0;
	/*
	 * Keys of fields 1 to 15 take one byte, and so do most lengths and
	 * small varints: those skip the general reading.
	 */
	if (*p >= 0x08 && *p < 0x80)
		tag = *p++;
	else if (pbwire_key(&p, end, &tag) == -1)
		return -1;
	f->val = p;
	f->num = tag >> 3;
	f->wt = tag & 7;
	switch (f->wt) {
	case 0:
		if (p < end && *p < 0x80)
			f->v = *p++;
		else if (pbwire_varint(&p, end, &f->v) == -1)
			return -1;
		break;
	case 1:
	case 5:
		f->len = f->wt == 1 ? 8 : 4;
		if ((size_t)(end - p) < f->len)
			return -1;
		f->v = 0;
		memcpy(&f->v, p, f->len);
		p += f->len;
		break;
	case 2:
		if (p < end && *p < 0x80)
			f->v = *p++;
		else if (pbwire_length(&p, end, &f->v) == -1)
			return -1;
		if (f->v > (uint64_t)(end - p))
			return -1;
		f->p = p;
		f->len = f->v;
		p += f->len;
		break;
	default:
		return -1;	/* groups are not part of the format */
	}
	*pp = p;
	return 1;
}

/* The value of a varint of len <= 8 bytes held in the low bytes of w. */
static inline uint64_t
varint_bits(uint64_t w, int len)
{
	if (len < 8)
		w &= (1ULL << (8 * len)) - 1;
	return (w & 0x7fULL) | (w & 0x7f00ULL) >> 1 |
	    (w & 0x7f0000ULL) >> 2 | (w & 0x7f000000ULL) >> 3 |
	    (w & 0x7f00000000ULL) >> 4 | (w & 0x7f0000000000ULL) >> 5 |
	    (w & 0x7f000000000000ULL) >> 6 | (w & 0x7f00000000000000ULL) >> 7;
}

static inline uint64_t
load64(const uint8_t *p)
{
	uint64_t	w;

	memcpy(&w, p, 8);
	return le64toh(w);
}

static inline uint32_t
load32(const uint8_t *p)
{
	uint32_t	w;

	memcpy(&w, p, 4);
	return le32toh(w);
}

/*
 * A varint as pbwire_varint() reads it; one of eight bytes or less, with
 * eight bytes to read, from a single load.
 */
static inline int
short_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t	*p = *pp;
	uint64_t	 m;
	int		 l;

	if (end - p < 8 ||
	    (m = ~load64(p) & 0x8080808080808080ULL) == 0)
		return pbwire_varint(pp, end, v);
	l = (__builtin_ctzll(m) >> 3) + 1;
	*v = varint_bits(load64(p), l);
	*pp = p + l;
	return 0;
}

/*
 * Decode the packed varints of p[0..len) into out, returning how many or
 * -1. Decoding one varint after another makes each wait for the length of
 * the one before; here the ends of all varints in eight bytes are found at
 * once (the bytes below 0x80), so that their values can be extracted
 * independently of each other.
 */
static ssize_t
packed_varints(const uint8_t *p, size_t len, uint64_t *out)
{
	const uint8_t	*end = p + len, *start = p, *e;
	uint64_t	*o = out, m;
	size_t		 l;

	for (; end - p >= 16; p += 8) {
		m = ~load64(p) & 0x8080808080808080ULL;
		for (; m != 0; m &= m - 1) {
			e = p + (__builtin_ctzll(m) >> 3);
			l = e - start + 1;
			if (l <= 8)
				*o++ = varint_bits(load64(start), l);
			else if (pbwire_varint(&start, e + 1, o++) == -1)
				return -1;
			start = e + 1;
		}
	}
	/*
	 * The last bytes, and short fields such as a sample's values: counts
	 * of one byte and sizes of two to four, read here before a varint of
	 * any length. A field of fewer than eight bytes left short_varint()
	 * to read them a byte at a time: half of the cost of the values.
	 */
	while (start < end) {
		if (start[0] < 0x80) {
			*o++ = start[0];
			start++;
		} else if (end - start >= 2 && start[1] < 0x80) {
			*o++ = (start[0] & 0x7f) | (uint64_t)start[1] << 7;
			start += 2;
		} else if (end - start >= 3 && start[2] < 0x80) {
			*o++ = (start[0] & 0x7f) |
			    (uint64_t)(start[1] & 0x7f) << 7 |
			    (uint64_t)start[2] << 14;
			start += 3;
		} else if (end - start >= 4 && start[3] < 0x80) {
			/*
			 * Sizes up to 256 MiB: with fewer than eight bytes
			 * left, short_varint() read them a byte at a time.
			 */
			*o++ = (start[0] & 0x7f) |
			    (uint64_t)(start[1] & 0x7f) << 7 |
			    (uint64_t)(start[2] & 0x7f) << 14 |
			    (uint64_t)start[3] << 21;
			start += 4;
		} else if (short_varint(&start, end, o++) == -1)
			return -1;
	}
	return o - out;
}

/* Make room for n more elements of size sz. */
static void
reserve(void **arr, size_t n, size_t *cap, size_t more, size_t sz)
{
	if (*cap - n >= more)
		return;
	while (*cap - n < more)
		*cap = *cap == 0 ? 64 : *cap * 2;
	*arr = xreallocarray(*arr, *cap, sz);
}

int
pbwire_repeated(const struct pbwire_field *f, uint64_t **arr, size_t *n,
    size_t *cap)
{
	ssize_t	got;

	if (f->wt == 0) {
		reserve((void **)arr, *n, cap, 1, sizeof **arr);
		(*arr)[(*n)++] = f->v;
		return 0;
	}
	if (f->wt != 2)
		return -1;
	if (f->len == 0)
		return 0;
	/* Every varint takes a byte at least. */
	reserve((void **)arr, *n, cap, f->len, sizeof **arr);
	if ((got = packed_varints(f->p, f->len, *arr + *n)) == -1)
		return -1;
	*n += got;
	return 0;
}

static int
label(const uint8_t *p, size_t len, struct pbwire_label *l)
{
	const uint8_t		*end = p + len;
	struct pbwire_field	 f;
	uint64_t		 v;
	unsigned int		 k;
	int			 rc;

	memset(l, 0, sizeof *l);
	/*
	 * Go's labels, a key and a string or a number, are varint fields 1
	 * to 4 with keys 0x08 to 0x20; their values of one or two bytes are
	 * read here without pbwire_next().
	 */
	while (end - p >= 3 && (k = p[0] - 0x08) <= 0x18 && (k & 7) == 0 &&
	    (p[1] < 0x80 || p[2] < 0x80)) {
		if (p[1] < 0x80) {
			v = p[1];
			p += 2;
		} else {
			v = (p[1] & 0x7f) | (uint64_t)p[2] << 7;
			p += 3;
		}
		switch (k) {
		case 0x00: l->key = (int64_t)v; break;
		case 0x08: l->str = (int64_t)v; break;
		case 0x10: l->num = (int64_t)v; break;
		case 0x18: l->unit = (int64_t)v; break;
		}
	}
	while ((rc = pbwire_next(&p, end, &f)) == 1) {
		if (f.num == 0 || f.num > 4)
			continue;		/* unknown: skipped */
		if (f.wt != 0)
			return -1;
		switch (f.num) {
		case 1: l->key = (int64_t)f.v; break;
		case 2: l->str = (int64_t)f.v; break;
		case 3: l->num = (int64_t)f.v; break;
		case 4: l->unit = (int64_t)f.v; break;
		}
	}
	return rc;
}

/* How many varints p[0..len) holds: its bytes below 0x80 end one each. */
static size_t
count_varints(const uint8_t *p, size_t len)
{
	const uint8_t	*end = p + len;
	uint64_t	 m;
	size_t		 n = 0;

	for (; end - p >= 8; p += 8) {
		m = (~load64(p) & 0x8080808080808080ULL) >> 7;
		n += (m * 0x0101010101010101ULL) >> 56;	/* sum of bytes */
	}
	for (; p < end; p++)
		n += *p < 0x80;
	return n;
}

/*
 * Make room for the varints of a packed field as the arrays of a profile
 * grow: only as many as it holds, so that what the arrays take (which
 * bounds a profile's decoding) does not depend on how wide they are. The
 * field's length is a bound that spares counting them most of the time.
 * A field of len > 0 whose last varint is cut short is refused here: one
 * holding none whole would reserve nothing, and arrays not yet made are
 * NULL, which the decoders must not offset.
 */
static int
reserve_packed(void **arr, size_t n, size_t *cap, const uint8_t *p,
    size_t len, size_t sz)
{
	if (p[len - 1] >= 0x80)
		return -1;
	if (*cap - n < len)
		reserve(arr, n, cap, count_varints(p, len), sz);
	return 0;
}

/* A location id at position pos, as stored: cut to 32 bits if wide. */
static uint32_t
sample_id(struct pbwire_sample *s, size_t pos, uint64_t id)
{
	if (id > UINT32_MAX - 1) {
		reserve((void **)&s->wide, s->nwide, &s->capwide, 1,
		    sizeof *s->wide);
		s->wide[s->nwide].pos = pos;
		s->wide[s->nwide++].id = id;
	}
	return (uint32_t)id;
}

/* One bit for each of the eight bytes of w below 0x80, byte i at bit i. */
static inline uint64_t
ends8(uint64_t w)
{
	return ((~w & 0x8080808080808080ULL) >> 7) *
	    0x0102040810204080ULL >> 56;
}

/*
 * The ids of one to four bytes (below 2^28: a profile numbers its
 * locations from 1, mostly) that end among the k bytes at q,
 * 8 <= k <= 64, written at *op; the three bytes before q are read too,
 * and must be there when the first id ends at q[0] or q[1]. Their varint
 * ends are read into a mask first, so that the ids are then taken one per
 * bit, with no branch on where each ends or how long it is. Returns how
 * many bytes they take, 0 when one of them is longer or none ends there.
 */
static size_t
short_ids(const uint8_t *q, size_t k, uint32_t **op)
{
	uint64_t		 m = 0, cont, x;
	uint32_t		*o = *op, w, two;
	size_t			 i, used;
	int			 e, s, prev = -1;

	for (i = 0; i + 8 <= k; i += 8)
		m |= ends8(load64(q + i)) << i;
	if (i < k)	/* the last bytes, read with the seven before them */
		m |= ends8(load64(q + k - 8)) >> (8 - (k - i)) << i;
	if (m == 0)
		return 0;
	used = 64 - __builtin_clzll(m);
	cont = ~m & (used == 64 ? ~0ULL : (1ULL << used) - 1);
	if ((cont & cont >> 1 & cont >> 2 & cont >> 3) != 0)
		return 0;		/* an id of five bytes or more */
	/*
	 * Which length comes next is data: a branch on it was mispredicted
	 * often enough to take a fifth of decoding the samples of ids of one
	 * or two bytes, and the ids of genprof's profile, of three bytes
	 * mostly, took 37 instructions each in the loop that read them
	 * eight bytes at a time. Ids of one or two bytes, as a profile of a
	 * few thousand locations has, are read with the byte before each,
	 * and both cases taken from that load; longer ones from a load of
	 * the four bytes that end with each, those before its start shifted
	 * off (29 instructions an id, against 17 for the short case).
	 */
	if ((cont & cont >> 1) == 0) {
		for (; m != 0; m &= m - 1) {
			/*
			 * Eight ids of one byte, or four of two, in the next
			 * eight bytes, as most stacks of a profile of a few
			 * hundred locations go: taken from one load, some
			 * three instructions an id rather than twenty. The
			 * fixture's many profile has four ids in five so, and
			 * its parse takes 27 instructions a byte, not 32.5;
			 * the deep bench profile, three in five: 24.8, not
			 * 26.5.
			 */
			s = prev + 1;
			if ((m >> s & 0xff) == 0xff) {
				x = load64(q + s);
				o[0] = (uint8_t)x;
				o[1] = (uint8_t)(x >> 8);
				o[2] = (uint8_t)(x >> 16);
				o[3] = (uint8_t)(x >> 24);
				o[4] = (uint8_t)(x >> 32);
				o[5] = (uint8_t)(x >> 40);
				o[6] = (uint8_t)(x >> 48);
				o[7] = (uint8_t)(x >> 56);
				o += 8;
				prev = s + 7;
				m &= ~(0x7fULL << s);	/* and its last below */
				continue;
			}
			if ((m >> s & 0xff) == 0xaa) {
				x = load64(q + s);
				x = (x & 0x007f007f007f007fULL) |
				    (x >> 1 & 0x3f803f803f803f80ULL);
				o[0] = (uint16_t)x;
				o[1] = (uint16_t)(x >> 16);
				o[2] = (uint16_t)(x >> 32);
				o[3] = (uint16_t)(x >> 48);
				o += 4;
				prev = s + 7;
				m &= ~(0x2aULL << s);	/* and its last below */
				continue;
			}
			e = __builtin_ctzll(m);
			w = (uint32_t)q[e - 1] | (uint32_t)q[e] << 8;
			two = -(uint32_t)(e - prev - 1); /* ~0: two bytes */
			*o++ = (w >> 8) << (7 & two) | (w & 0x7f & two);
			prev = e;
		}
	} else {
		for (; m != 0; m &= m - 1) {
			e = __builtin_ctzll(m);
			w = load32(q + e - 3) >> (32 - 8 * (e - prev));
			*o++ = (w & 0x7f) | (w >> 1 & 0x3f80) |
			    (w >> 2 & 0x1fc000) | (w >> 3 & 0xfe00000);
			prev = e;
		}
	}
	*op = o;
	return used;
}

static bool	ids_shuffle = true;

void
pbwire_shuffle(bool on)
{
	ids_shuffle = on;
}

#ifdef PBWIRE_SHUFFLE
/*
 * The ids of one or two bytes (locations numbered below 16,384: most
 * profiles') taken eight bytes at a time by a byte shuffle. The bytes that
 * end a varint in eight, a mask of eight bits, say where each id of those
 * that end there starts and how long it is; ids_shuf[mask] moves its bytes
 * into a 16-bit lane each, where the varint is decoded in all lanes at
 * once. ids_used[mask] is the bytes those ids take (up to the last that
 * ends there), 0 when one of them is longer than two bytes;
 * ids_count[mask] how many. Eight instructions an id of bench/scale.sh's
 * profile (83,000 ids, of two bytes mostly), where short_ids(), an id at
 * a time, took sixteen: 6% of a worker's instructions for that profile,
 * 8% for the deep bench profile's.
 */
static uint8_t		ids_shuf[256][16] __attribute__((aligned(16)));
static uint8_t		ids_used[256];
static uint8_t		ids_count[256];
static bool		ids_have_ssse3;
static bool		ids_ready;
static pthread_once_t	ids_once = PTHREAD_ONCE_INIT;

static void
ids_init(void)
{
	unsigned int	m, i, n, len;
	int		prev;

	for (m = 0; m < 256; m++) {
		memset(ids_shuf[m], 0x80, sizeof ids_shuf[m]);	/* zero */
		prev = -1;
		n = 0;
		for (i = 0; i < 8; i++) {
			if ((m & 1U << i) == 0)
				continue;
			if ((len = i - prev) > 2)
				break;
			ids_shuf[m][2 * n] = prev + 1;
			if (len == 2)
				ids_shuf[m][2 * n + 1] = prev + 2;
			n++;
			prev = i;
		}
		ids_used[m] = i < 8 ? 0 : prev + 1;	/* 0: none, or longer */
		ids_count[m] = n;
	}
	__builtin_cpu_init();
	ids_have_ssse3 = __builtin_cpu_supports("ssse3");
	__atomic_store_n(&ids_ready, true, __ATOMIC_RELEASE);
}

/*
 * The ids of one or two bytes from q on, while eight bytes are left before
 * end and eight more fit at *op below olim; returns the bytes they took.
 * Each step stores eight lanes, its ids and whatever follows.
 */
__attribute__((target("ssse3")))
static size_t
ids_shuffled(const uint8_t *q, const uint8_t *end, uint32_t **op,
    const uint32_t *olim)
{
	const uint8_t	*start = q;
	uint32_t	*o = *op;
	__m128i		 x, v, lo7 = _mm_set1_epi16(0x7f);
	__m128i		 hi7 = _mm_set1_epi16(0x3f80), zero = _mm_setzero_si128();
	unsigned int	 m, used;

	while (end - q >= 8 && olim - o >= 8) {
		x = _mm_loadl_epi64((const __m128i *)(const void *)q);
		m = ~_mm_movemask_epi8(x) & 0xff;
		if ((used = ids_used[m]) == 0)
			break;
		v = _mm_shuffle_epi8(x,
		    _mm_load_si128((const __m128i *)(const void *)ids_shuf[m]));
		v = _mm_or_si128(_mm_and_si128(v, lo7),
		    _mm_and_si128(_mm_srli_epi16(v, 1), hi7));
		_mm_storeu_si128((__m128i *)(void *)o,
		    _mm_unpacklo_epi16(v, zero));
		_mm_storeu_si128((__m128i *)(void *)(o + 4),
		    _mm_unpackhi_epi16(v, zero));
		o += ids_count[m];
		q += used;
	}
	*op = o;
	return q - start;
}
#endif

/*
 * Append the packed location ids of p[0..len), reserved, as
 * packed_varints() does: by short_ids() while they take four bytes or
 * less, then, from the first longer one, eight bytes at a time; ids of four
 * bytes or less, 28 bits, need no check.
 */
static int
packed_ids(const uint8_t *p, size_t len, struct pbwire_sample *s)
{
	const uint8_t	*end = p + len, *start = p, *e;
	uint32_t	*o = s->loc + s->nloc;
	uint64_t	 m, w, v;
	size_t		 l, used;

	/*
	 * The key and the length of the field, two bytes at least, come
	 * before it: short_ids() may read three bytes back from any id but
	 * a first that ends at p[0], taken here (len > 0).
	 */
	if (p[0] < 0x80)
		*o++ = *start++;
#ifdef PBWIRE_SHUFFLE
	if (!__atomic_load_n(&ids_ready, __ATOMIC_ACQUIRE))
		(void)pthread_once(&ids_once, ids_init);
	/* None reserved: none to read. */
	if (ids_have_ssse3 && ids_shuffle && s->loc != NULL)
		start += ids_shuffled(start, end, &o, s->loc + s->caploc);
#endif
	while (end - start >= 8 && (used = short_ids(start,
	    end - start < 64 ? (size_t)(end - start) : 64, &o)) > 0)
		start += used;
	p = start;
	for (; end - p >= 16; p += 8) {
		m = ~load64(p) & 0x8080808080808080ULL;
		for (; m != 0; m &= m - 1) {
			e = p + (__builtin_ctzll(m) >> 3);
			l = e - start + 1;
			if (l <= 4) {
				w = load64(start) & ((1ULL << (8 * l)) - 1);
				*o++ = (w & 0x7f) | (w & 0x7f00) >> 1 |
				    (w & 0x7f0000) >> 2 | (w & 0x7f000000) >> 3;
			} else if (pbwire_varint(&start, e + 1, &v) == -1)
				return -1;
			else {
				*o = sample_id(s, o - s->loc, v);
				o++;
			}
			start = e + 1;
		}
	}
	/* The last bytes, a varint at a time: most ids take one or two. */
	while (start < end) {
		if (start[0] < 0x80) {
			*o++ = start[0];
			start++;
		} else if (end - start >= 2 && start[1] < 0x80) {
			*o++ = (start[0] & 0x7f) | start[1] << 7;
			start += 2;
		} else if (pbwire_varint(&start, end, &v) == -1)
			return -1;
		else {
			*o = sample_id(s, o - s->loc, v);
			o++;
		}
	}
	s->nloc = o - s->loc;
	return 0;
}

int
pbwire_sample(const uint8_t *p, size_t len, struct pbwire_sample *s)
{
	const uint8_t		*end = p + len;
	struct pbwire_field	 f;
	ssize_t			 got;
	int			 rc;

	while ((rc = pbwire_next(&p, end, &f)) == 1) {
		switch (f.num) {
		case 1:
			if (f.wt == 0) {
				reserve((void **)&s->loc, s->nloc, &s->caploc,
				    1, sizeof *s->loc);
				s->loc[s->nloc] = sample_id(s, s->nloc, f.v);
				s->nloc++;
				break;
			}
			if (f.wt != 2)
				return -1;
			if (f.len == 0)
				break;
			if (reserve_packed((void **)&s->loc, s->nloc,
			    &s->caploc, f.p, f.len, sizeof *s->loc) == -1 ||
			    packed_ids(f.p, f.len, s) == -1)
				return -1;
			break;
		case 2:
			/* int64 travels as the varint of its two's complement */
			if (f.wt == 0) {
				reserve((void **)&s->val, s->nval, &s->capval,
				    1, sizeof *s->val);
				s->val[s->nval++] = (int64_t)f.v;
				break;
			}
			if (f.wt != 2)
				return -1;
			if (f.len == 0)
				break;
			if (reserve_packed((void **)&s->val, s->nval,
			    &s->capval, f.p, f.len, sizeof *s->val) == -1)
				return -1;
			if ((got = packed_varints(f.p, f.len,
			    (uint64_t *)s->val + s->nval)) == -1)
				return -1;
			s->nval += got;
			break;
		case 3:
			if (f.wt != 2)
				return -1;
			reserve((void **)&s->lab, s->nlab, &s->caplab, 1,
			    sizeof *s->lab);
			if (label(f.p, f.len, &s->lab[s->nlab]) == -1)
				return -1;
			s->nlab++;
			break;
		default:
			break;			/* unknown: skipped */
		}
	}
	return rc;
}

/*
 * count_varints() of a field in a buffer that goes on to bufend: its last
 * bytes are read with those after them, masked off, where the buffer has
 * eight from there, rather than a byte at a time, which was a tenth of
 * sizing the arrays of a profile (a sample's values take some ten bytes).
 */
static size_t
count_varints_in(const uint8_t *p, size_t len, const uint8_t *bufend)
{
	const uint8_t	*end = p + len;
	uint64_t	 m;
	size_t		 n = 0, left;

	for (; end - p >= 8; p += 8) {
		m = (~load64(p) & 0x8080808080808080ULL) >> 7;
		n += (m * 0x0101010101010101ULL) >> 56;
	}
	if ((left = end - p) == 0)
		return n;
	if (bufend - p >= 8) {
		m = (~load64(p) & 0x8080808080808080ULL) >> 7;
		m &= (1ULL << (8 * left)) - 1;		/* left < 8 */
		return n + ((m * 0x0101010101010101ULL) >> 56);
	}
	for (; p < end; p++)
		n += *p < 0x80;
	return n;
}

void
pbwire_sample_count(const uint8_t *p, size_t len, const uint8_t *bufend,
    size_t n[3])
{
	const uint8_t		*end = p + len;
	struct pbwire_field	 f;
	size_t			 l;
	unsigned int		 k;

	/*
	 * The fields as Go writes them, keys 0x0a, 0x12 and 0x1a of fields 1
	 * to 3 with a length of one byte, are stepped over here without
	 * pbwire_next(), whose general result took half of the counting;
	 * any other field goes through it.
	 */
	while (end - p >= 2 && (k = p[0] - 0x0a) <= 0x10 && (k & 7) == 0 &&
	    (l = p[1]) < 0x80 && l <= (size_t)(end - p - 2)) {
		if (k == 0x10)
			n[2]++;
		else
			n[k >> 3] += count_varints_in(p + 2, l, bufend);
		p += 2 + l;
	}
	while (pbwire_next(&p, end, &f) == 1) {
		if (f.num < 1 || f.num > 3)
			continue;
		if (f.num == 3 || f.wt != 2)
			n[f.num - 1]++;
		else
			n[f.num - 1] += count_varints_in(f.p, f.len, bufend);
	}
}

void
pbwire_sample_free(struct pbwire_sample *s)
{
	free(s->loc);
	free(s->wide);
	free(s->val);
	free(s->lab);
	memset(s, 0, sizeof *s);
}

int
pbwire_scalars(const uint8_t *p, size_t len, uint64_t *v, unsigned int n)
{
	const uint8_t		*end = p + len;
	struct pbwire_field	 f;
	int			 rc;

	memset(v, 0, n * sizeof *v);
	while ((rc = pbwire_next(&p, end, &f)) == 1) {
		if (f.num == 0 || f.num > n)
			continue;		/* unknown: skipped */
		if (f.wt != 0)
			return -1;
		v[f.num - 1] = f.v;
	}
	return rc;
}

static int
line(const uint8_t *p, size_t len, struct pbwire_line *l)
{
	uint64_t	v[3];		/* the column, third, is not used */

	if (pbwire_scalars(p, len, v, 3) == -1)
		return -1;
	l->function_id = v[0];
	l->line = (int64_t)v[1];
	return 0;
}

/*
 * A bool as protobuf-c reads it, whatever its wire type: true when a byte
 * of the encoded value, a length prefix included, has a low bit set.
 */
static int
encoded_bool(const uint8_t *p, const uint8_t *end)
{
	for (; p < end; p++)
		if (*p & 0x7f)
			return 1;
	return 0;
}

/*
 * short_varint() for the varints of a small message, of one or two bytes
 * mostly, where fewer than eight bytes are left to load at once.
 */
static inline int
small_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t	*p = *pp;

	if (p < end && p[0] < 0x80) {
		*v = p[0];
		*pp = p + 1;
		return 0;
	}
	if (end - p >= 2 && p[1] < 0x80) {
		*v = (p[0] & 0x7f) | (uint64_t)p[1] << 7;
		*pp = p + 2;
		return 0;
	}
	return short_varint(pp, end, v);
}

/*
 * pbwire_location() for a location as Go writes it: keys of one byte for
 * the fields 1 to 4 only, each line shorter than 128 bytes with the fields
 * 1 to 3 only. Taken field by field through pbwire_next() and
 * pbwire_scalars(), the 2,760 locations of bench/scale.sh's profile (one
 * or two lines each) cost 490 instructions each, a tenth of a worker's
 * parse; here 265. false when the message is any other, for the general
 * reader to read from the start: it alone says what is malformed.
 */
static bool
location_short(const uint8_t *p, const uint8_t *end,
    struct pbwire_location *loc)
{
	const uint8_t		*lend;
	struct pbwire_line	*l;
	uint64_t		 lv[3];
	unsigned int		 k;

	while (p < end) {
		switch (*p++) {
		case 0x08:
			if (small_varint(&p, end, &loc->id) == -1)
				return false;
			break;
		case 0x10:
			if (small_varint(&p, end, &loc->mapping_id) == -1)
				return false;
			break;
		case 0x18:
			if (small_varint(&p, end, &loc->address) == -1)
				return false;
			break;
		case 0x22:
			if (p == end || *p >= 0x80 || *p > end - p - 1)
				return false;
			lend = p + 1 + *p;
			p++;
			lv[0] = lv[1] = lv[2] = 0;
			while (p < lend) {
				k = *p++;
				if ((k != 0x08 && k != 0x10 && k != 0x18) ||
				    small_varint(&p, lend, &lv[(k >> 3) - 1]) == -1)
					return false;
			}
			reserve((void **)&loc->lines, loc->nlines,
			    &loc->caplines, 1, sizeof *loc->lines);
			l = &loc->lines[loc->nlines++];
			l->function_id = lv[0];
			l->line = (int64_t)lv[1];
			break;
		default:
			return false;
		}
	}
	return true;
}

int
pbwire_location(const uint8_t *p, size_t len, struct pbwire_location *loc)
{
	const uint8_t		*end = p + len;
	struct pbwire_field	 f;
	int			 rc;

	loc->id = loc->mapping_id = loc->address = 0;
	loc->is_folded = 0;
	loc->nlines = 0;
	if (location_short(p, end, loc))
		return 0;
	loc->id = loc->mapping_id = loc->address = 0;
	loc->nlines = 0;
	while ((rc = pbwire_next(&p, end, &f)) == 1) {
		if (f.num == 0 || f.num > 5)
			continue;		/* unknown: skipped */
		if (f.num == 4) {
			if (f.wt != 2)
				return -1;
			reserve((void **)&loc->lines, loc->nlines,
			    &loc->caplines, 1, sizeof *loc->lines);
			if (line(f.p, f.len, &loc->lines[loc->nlines]) == -1)
				return -1;
			loc->nlines++;
			continue;
		}
		if (f.num == 5) {
			loc->is_folded = encoded_bool(f.val, p);
			continue;
		}
		if (f.wt != 0)
			return -1;
		switch (f.num) {
		case 1: loc->id = f.v; break;
		case 2: loc->mapping_id = f.v; break;
		case 3: loc->address = f.v; break;
		}
	}
	return rc;
}

void
pbwire_location_free(struct pbwire_location *loc)
{
	free(loc->lines);
	memset(loc, 0, sizeof *loc);
}
