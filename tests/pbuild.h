/*
 * Building pprof profiles in tests: a few calls make the tables, and
 * pb_pack() encodes them with the generated protobuf-c code, so that every
 * test input is an exact, readable construction.
 */
#ifndef PBUILD_H
#define PBUILD_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "profile.h"
#include "profile.pb-c.h"

#define PB_MAX	256

struct pb {
	Perftools__Profiles__Profile	 p;
	ProtobufCBinaryData		 strs[PB_MAX];
	Perftools__Profiles__ValueType	 st[8], *stp[8], period;
	Perftools__Profiles__Mapping	 m[PB_MAX], *mp[PB_MAX];
	Perftools__Profiles__Function	 f[PB_MAX], *fp[PB_MAX];
	Perftools__Profiles__Location	 l[PB_MAX], *lp[PB_MAX];
	Perftools__Profiles__Line	 ln[PB_MAX], *lnp[PB_MAX];
	Perftools__Profiles__Sample	 s[PB_MAX], *sp[PB_MAX];
	Perftools__Profiles__Label	 lab[PB_MAX], *labp[PB_MAX];
	uint64_t			 ids[PB_MAX * 4];
	int64_t				 vals[PB_MAX * 4];
	size_t				 nln, nlab, nids, nvals;
};

/* The string table index of s, added when new. */
static __attribute__((unused)) int64_t
pb_str(struct pb *b, const char *s)
{
	size_t	i;

	for (i = 0; i < b->p.n_string_table; i++)
		if (b->strs[i].len == strlen(s) &&
		    memcmp(b->strs[i].data, s, b->strs[i].len) == 0)
			return i;
	b->strs[i].data = (uint8_t *)s;
	b->strs[i].len = strlen(s);
	b->p.n_string_table++;
	return i;
}

static __attribute__((unused)) struct pb *
pb_new(void)
{
	struct pb	*b = calloc(1, sizeof *b);

	perftools__profiles__profile__init(&b->p);
	b->p.string_table = b->strs;
	b->p.sample_type = b->stp;
	b->p.mapping = b->mp;
	b->p.function = b->fp;
	b->p.location = b->lp;
	b->p.sample = b->sp;
	pb_str(b, "");
	return b;
}

static __attribute__((unused)) void
pb_sample_type(struct pb *b, const char *type, const char *unit)
{
	size_t	i = b->p.n_sample_type++;

	perftools__profiles__value_type__init(&b->st[i]);
	b->st[i].type = pb_str(b, type);
	b->st[i].unit = pb_str(b, unit);
	b->stp[i] = &b->st[i];
}

/* A profile shaped like Go's heap profile: four sample types. */
static __attribute__((unused)) struct pb *
pb_heap(void)
{
	struct pb	*b = pb_new();

	pb_sample_type(b, "alloc_objects", "count");
	pb_sample_type(b, "alloc_space", "bytes");
	pb_sample_type(b, "inuse_objects", "count");
	pb_sample_type(b, "inuse_space", "bytes");
	perftools__profiles__value_type__init(&b->period);
	b->period.type = pb_str(b, "space");
	b->period.unit = pb_str(b, "bytes");
	b->p.period_type = &b->period;
	b->p.period = 524288;
	return b;
}

static __attribute__((unused)) uint64_t
pb_mapping(struct pb *b, uint64_t start, uint64_t limit, const char *file)
{
	size_t	i = b->p.n_mapping++;

	perftools__profiles__mapping__init(&b->m[i]);
	b->m[i].id = i + 1;
	b->m[i].memory_start = start;
	b->m[i].memory_limit = limit;
	b->m[i].filename = pb_str(b, file);
	b->m[i].has_functions = 1;
	b->mp[i] = &b->m[i];
	return i + 1;
}

static __attribute__((unused)) uint64_t
pb_func(struct pb *b, const char *name, const char *file)
{
	size_t	i = b->p.n_function++;

	perftools__profiles__function__init(&b->f[i]);
	b->f[i].id = i + 1;
	b->f[i].name = pb_str(b, name);
	b->f[i].system_name = b->f[i].name;
	b->f[i].filename = pb_str(b, file);
	b->fp[i] = &b->f[i];
	return i + 1;
}

/* A location with n lines given as (function id, line) pairs, innermost
 * first. */
static __attribute__((unused)) uint64_t
pb_loc(struct pb *b, uint64_t mapping, uint64_t addr, int n, ...)
{
	size_t	i = b->p.n_location++;
	va_list	ap;
	int	k;

	perftools__profiles__location__init(&b->l[i]);
	b->l[i].id = i + 1;
	b->l[i].mapping_id = mapping;
	b->l[i].address = addr;
	b->l[i].n_line = n;
	b->l[i].line = &b->lnp[b->nln];
	va_start(ap, n);
	for (k = 0; k < n; k++) {
		perftools__profiles__line__init(&b->ln[b->nln]);
		b->ln[b->nln].function_id = va_arg(ap, uint64_t);
		b->ln[b->nln].line = va_arg(ap, int64_t);
		b->lnp[b->nln] = &b->ln[b->nln];
		b->nln++;
	}
	va_end(ap);
	b->lp[i] = &b->l[i];
	return i + 1;
}

/* A sample: nloc location ids (leaf first), then one value per type. */
static __attribute__((unused)) Perftools__Profiles__Sample *
pb_sample(struct pb *b, int nloc, ...)
{
	size_t	i = b->p.n_sample++, k;
	va_list	ap;

	perftools__profiles__sample__init(&b->s[i]);
	va_start(ap, nloc);
	b->s[i].location_id = &b->ids[b->nids];
	b->s[i].n_location_id = nloc;
	for (k = 0; k < (size_t)nloc; k++)
		b->ids[b->nids++] = va_arg(ap, uint64_t);
	b->s[i].value = &b->vals[b->nvals];
	b->s[i].n_value = b->p.n_sample_type;
	for (k = 0; k < b->p.n_sample_type; k++)
		b->vals[b->nvals++] = va_arg(ap, int64_t);
	va_end(ap);
	b->sp[i] = &b->s[i];
	return &b->s[i];
}

/* Add a label to the last sample: str for a string label, else num. */
static __attribute__((unused)) void
pb_label(struct pb *b, const char *key, const char *str, int64_t num,
    const char *unit)
{
	Perftools__Profiles__Sample	*s = &b->s[b->p.n_sample - 1];
	size_t				 i = b->nlab++;

	perftools__profiles__label__init(&b->lab[i]);
	b->lab[i].key = pb_str(b, key);
	if (str != NULL)
		b->lab[i].str = pb_str(b, str);
	b->lab[i].num = num;
	if (unit != NULL)
		b->lab[i].num_unit = pb_str(b, unit);
	b->labp[i] = &b->lab[i];
	if (s->n_label == 0)
		s->label = &b->labp[i];
	s->n_label++;
}

static __attribute__((unused)) uint8_t *
pb_pack(struct pb *b, size_t *len)
{
	uint8_t	*buf;

	*len = perftools__profiles__profile__get_packed_size(&b->p);
	buf = malloc(*len + 1);
	perftools__profiles__profile__pack(&b->p, buf);
	return buf;
}

/*
 * A small valid heap profile: main.leak allocates under main.main, in a
 * sample with a "bytes" label; main.main has one of its own.
 */
static __attribute__((unused)) struct pb *
pb_small(void)
{
	struct pb	*b = pb_heap();
	uint64_t	 m, fmain, fleak, l1, l2;

	m = pb_mapping(b, 0x400000, 0x800000, "/usr/bin/svc");
	fmain = pb_func(b, "main.main", "/src/main.go");
	fleak = pb_func(b, "main.leak", "/src/leak.go");
	l1 = pb_loc(b, m, 0x401000, 1, fleak, (int64_t)12);
	l2 = pb_loc(b, m, 0x402000, 1, fmain, (int64_t)30);
	pb_sample(b, 2, l1, l2, (int64_t)10, (int64_t)10240, (int64_t)4,
	    (int64_t)4096);
	pb_label(b, "bytes", NULL, 1024, NULL);
	pb_sample(b, 1, l2, (int64_t)1, (int64_t)64, (int64_t)1, (int64_t)64);
	return b;
}

/* Decode b into st (NULL: a symtab of its own); NULL, said, on failure. */
static __attribute__((unused)) struct profile *
pb_decode(struct pb *b, struct symtab *st)
{
	struct profile	*p;
	uint8_t		*data;
	size_t		 len;
	char		*cause = NULL;

	data = pb_pack(b, &len);
	p = profile_decode(data, len, PROFILE_MAX_INFLATED, st, &cause);
	if (p == NULL) {
		printf("# decode: %s\n", cause);
		free(cause);
	}
	free(data);
	return p;
}

/* Compress as gzip. */
static __attribute__((unused)) uint8_t *
pb_gzip(const uint8_t *data, size_t len, size_t *outlen)
{
	z_stream	 zs;
	uint8_t		*out;
	size_t		 cap = len + len / 2 + 1024;

	memset(&zs, 0, sizeof zs);
	deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	out = malloc(cap);
	zs.next_in = (uint8_t *)data;
	zs.avail_in = len;
	zs.next_out = out;
	zs.avail_out = cap;
	deflate(&zs, Z_FINISH);
	*outlen = cap - zs.avail_out;
	deflateEnd(&zs);
	return out;
}

/* Read a varint at *p, below end, past it; -1 when it overruns. */
static __attribute__((unused)) int
pb_rd_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	int	shift;

	*v = 0;
	for (shift = 0; *p < end && shift < 64; shift += 7) {
		*v |= (uint64_t)(**p & 0x7f) << shift;
		if ((*(*p)++ & 0x80) == 0)
			return 0;
	}
	return -1;
}

/* Write v as a varint at p; its length. */
static __attribute__((unused)) size_t
pb_wr_varint(uint8_t *p, uint64_t v)
{
	size_t	n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/*
 * Write at out a Profile's field 2, a Sample of nids location ids and
 * nvals values (at most 12 of each), packed; its length. For profiles of
 * more samples than struct pb holds: the messages appended to one that
 * pb_pack() made, a repeated field may come after the others.
 */
static __attribute__((unused)) size_t
pb_wr_sample(uint8_t *out, const uint64_t *ids, size_t nids,
    const uint64_t *vals, size_t nvals)
{
	uint8_t	 msg[2 * (2 + 12 * 10)];
	size_t	 n = 0, i, at;

	msg[n++] = 0x0a;		/* location_id, packed */
	at = n++;
	for (i = 0; i < nids; i++)
		n += pb_wr_varint(msg + n, ids[i]);
	msg[at] = (uint8_t)(n - at - 1);
	msg[n++] = 0x12;		/* value, packed */
	at = n++;
	for (i = 0; i < nvals; i++)
		n += pb_wr_varint(msg + n, vals[i]);
	msg[at] = (uint8_t)(n - at - 1);
	out[0] = 0x12;			/* Profile.sample */
	at = 1 + pb_wr_varint(out + 1, n);
	memcpy(out + at, msg, n);
	return at + n;
}

/*
 * The profile gz (gzipped, or not) with its top-level fields 9
 * (time_nanos) and 10 (duration_nanos) set to tn and dn: each rewritten
 * where it lies, added at the end when missing; every other byte as it
 * was, gzipped again when it was. NULL when gz is no protobuf.
 */
static __attribute__((unused)) uint8_t *
pb_retime(const uint8_t *gz, size_t gzlen, int64_t tn, int64_t dn,
    size_t *outlen)
{
	z_stream	 zs;
	uint8_t		*raw = NULL, *out = NULL, *gzout = NULL;
	const uint8_t	*p, *end, *f;
	size_t		 cap = gzlen * 8 + 4096, rawlen, n = 0;
	uint64_t	 key, v;
	bool		 seen[2] = { false, false }, gzip = true;
	int		 zr, i;

	memset(&zs, 0, sizeof zs);
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return NULL;
	zs.next_in = (uint8_t *)gz;
	zs.avail_in = gzlen;
	if (gzlen < 2 || gz[0] != 0x1f || gz[1] != 0x8b) {
		/* Not gzipped: taken, and given back, as it is. */
		raw = malloc(gzlen + 1);
		memcpy(raw, gz, gzlen);
		zs.total_out = gzlen;
		gzip = false;
	}
	for (; gzip;) {
		raw = realloc(raw, cap);
		zs.next_out = raw + zs.total_out;
		zs.avail_out = cap - zs.total_out;
		zr = inflate(&zs, Z_NO_FLUSH);
		if (zr == Z_STREAM_END)
			break;
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			goto out;
		if (zs.avail_out > 0 && zs.avail_in == 0)
			goto out;
		cap *= 2;
	}
	rawlen = zs.total_out;
	out = malloc(rawlen + 32);
	for (p = raw, end = raw + rawlen; p < end;) {
		f = p;
		if (pb_rd_varint(&p, end, &key) == -1)
			goto out;
		switch (key & 7) {
		case 0:
			if (pb_rd_varint(&p, end, &v) == -1)
				goto out;
			break;
		case 2:
			if (pb_rd_varint(&p, end, &v) == -1 ||
			    v > (uint64_t)(end - p))
				goto out;
			p += v;
			break;
		case 1:
		case 5:
			if ((key & 7) == 1 ? end - p < 8 : end - p < 4)
				goto out;
			p += (key & 7) == 1 ? 8 : 4;
			break;
		default:
			goto out;
		}
		if (key == (9 << 3 | 0) || key == (10 << 3 | 0)) {
			i = key >> 3 == 9 ? 0 : 1;
			if (seen[i])
				continue;	/* one is enough */
			seen[i] = true;
			n += pb_wr_varint(out + n, key);
			n += pb_wr_varint(out + n, (uint64_t)(i == 0 ? tn :
			    dn));
			continue;
		}
		memcpy(out + n, f, (size_t)(p - f));
		n += (size_t)(p - f);
	}
	for (i = 0; i < 2; i++)
		if (!seen[i]) {
			n += pb_wr_varint(out + n, (uint64_t)(9 + i) << 3);
			n += pb_wr_varint(out + n, (uint64_t)(i == 0 ? tn :
			    dn));
		}
	if (gzip)
		gzout = pb_gzip(out, n, outlen);
	else {
		gzout = out;
		out = NULL;
		*outlen = n;
	}
out:
	inflateEnd(&zs);
	free(raw);
	free(out);
	return gzout;
}

#endif
