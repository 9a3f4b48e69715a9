/* Unit tests for src/profile.c: decoding, checking and interning. */
#include "config.h"

#include <sys/wait.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pbwire.h"
#include "profile.h"
#include "profile.pb-c.h"
#include "tap.h"
#include "pbuild.h"
#include "xmalloc.h"

#define U(x)	((uint64_t)(x))
#define V(x)	((int64_t)(x))

/* Decode b (optionally gzipped) and return the cause of failure, or NULL. */
static char *
decode_cause(struct pb *b, int gzip, size_t max)
{
	struct profile	*p;
	uint8_t		*data, *gz;
	size_t		 len, gzlen;
	char		*cause = NULL;

	data = pb_pack(b, &len);
	if (gzip) {
		gz = pb_gzip(data, len, &gzlen);
		free(data);
		data = gz;
		len = gzlen;
	}
	p = profile_decode(data, len, max, NULL, &cause);
	free(data);
	if (p != NULL) {
		profile_free(p);
		return NULL;
	}
	return cause;
}

static void
expect_error(struct pb *b, const char *want, const char *what)
{
	char	*cause = decode_cause(b, 0, PROFILE_MAX_INFLATED);

	ok(cause != NULL && strstr(cause, want) != NULL,
	    "%s: refused with \"%s\"", what, want);
	if (cause == NULL || strstr(cause, want) == NULL)
		printf("#   cause: %s\n", cause ? cause : "(accepted)");
	free(cause);
	free(b);
}

static void
test_decode(void)
{
	struct pb	*b = pb_small();
	struct profile	*p, *q;
	uint8_t		*data, *gz;
	size_t		 len, gzlen;
	char		*cause = NULL;
	const struct sym_loc *loc;

	data = pb_pack(b, &len);
	p = profile_decode(data, len, PROFILE_MAX_INFLATED, NULL, &cause);
	ok(p != NULL, "plain profile decodes");
	is_int(p->ntypes, 4, "four sample types");
	is_int(p->nsamples, 2, "two samples");
	is_int(p->stack_off[1] - p->stack_off[0], 2, "first stack depth");
	is_int(p->values[3], 4096, "inuse_space of the first sample");
	ok(p->labelset[0] != 0 && p->labelset[1] == 0,
	    "labelled and unlabelled samples");
	loc = symtab_loc(p->st, p->stacks[0]);
	is_int(loc->addr, 0x1000, "location address is mapping-relative");
	is_str(symtab_node(p->st, symtab_line(p->st, loc->line0)->node)->label,
	    "main.leak", "leaf node name");

	gz = pb_gzip(data, len, &gzlen);
	q = profile_decode(gz, gzlen, PROFILE_MAX_INFLATED, NULL, &cause);
	ok(q != NULL && q->nsamples == 2, "gzip profile decodes");
	profile_free(q);

	/* Two gzip members back to back inflate as one stream. */
	{
		uint8_t *g1, *g2, *cat;
		size_t	 l1, l2;

		g1 = pb_gzip(data, len / 2, &l1);
		g2 = pb_gzip(data + len / 2, len - len / 2, &l2);
		cat = malloc(l1 + l2);
		memcpy(cat, g1, l1);
		memcpy(cat + l1, g2, l2);
		q = profile_decode(cat, l1 + l2, PROFILE_MAX_INFLATED, NULL,
		    &cause);
		ok(q != NULL && q->nsamples == 2,
		    "concatenated gzip members decode");
		profile_free(q);
		free(g1);
		free(g2);
		free(cat);
	}

	/* The decompression cap is honoured. */
	free(cause);
	cause = NULL;
	q = profile_decode(gz, gzlen, len - 1, NULL, &cause);
	ok(q == NULL && cause != NULL && strstr(cause, "limit") != NULL,
	    "decompressed size over the cap is refused");
	free(cause);
	cause = NULL;
	q = profile_decode(gz, gzlen, len, NULL, &cause);
	ok(q != NULL, "decompressed size equal to the cap is accepted");
	profile_free(q);

	/* Truncated gzip, at several points. */
	{
		size_t	cut;
		int	all = 1;

		for (cut = 1; cut < gzlen; cut++) {
			q = profile_decode(gz, cut, PROFILE_MAX_INFLATED, NULL,
			    &cause);
			if (q != NULL || cause == NULL)
				all = 0;
			profile_free(q);
			free(cause);
			cause = NULL;
		}
		ok(all, "every truncation of a gzip profile is refused");
	}
	/* Truncated protobuf: every prefix that cuts a field is refused or
	 * decodes cleanly; none crashes. */
	{
		size_t	cut, refused = 0;

		for (cut = 0; cut < len; cut++) {
			q = profile_decode(data, cut, PROFILE_MAX_INFLATED,
			    NULL, &cause);
			if (q == NULL)
				refused++;
			profile_free(q);
			free(cause);
			cause = NULL;
		}
		ok(refused > len / 2, "truncated protobuf refused (%zu of %zu "
		    "prefixes)", refused, len);
	}
	free(gz);
	free(data);
	profile_free(p);
	free(b);
}

static void
test_errors(void)
{
	struct pb			*b;
	Perftools__Profiles__Sample	*s;
	char				*cause;
	size_t				 i, bad;

	b = pb_small();
	b->strs[0].data = (uint8_t *)"x";
	b->strs[0].len = 1;
	expect_error(b, "string table must start", "first string not empty");

	b = pb_small();
	b->f[0].name = 999;
	expect_error(b, "string index 999 out of range", "function name index");

	b = pb_small();
	b->m[0].id = 0;
	expect_error(b, "reserved id 0", "mapping id 0");

	b = pb_small();
	b->l[1].id = 1;
	expect_error(b, "locations with the same id 1", "duplicate location id");

	b = pb_small();
	b->l[0].mapping_id = 7;
	expect_error(b, "mapping id 7 not found", "unknown mapping");

	b = pb_small();
	b->ln[0].function_id = 0;
	expect_error(b, "line with no function", "line without a function");

	b = pb_small();
	b->ln[0].function_id = 42;
	expect_error(b, "unknown function id 42", "unknown function");

	b = pb_small();
	b->ids[0] = 77;
	expect_error(b, "location id 77", "unknown location");

	/* Locations numbered 1..n take another path: 0 and n + 1 are out. */
	b = pb_small();
	b->ids[2] = 0;
	expect_error(b, "location id 0 of a sample", "location id 0");

	b = pb_small();
	b->ids[1] = b->p.n_location + 1;
	expect_error(b, "not found", "location id n + 1");

	/* In a longer stack, ids are checked four at a time: each place. */
	for (i = 0, bad = 0; i < 9; i++) {
		b = pb_small();
		s = pb_sample(b, 9, (uint64_t)1, (uint64_t)2, (uint64_t)1,
		    (uint64_t)2, (uint64_t)1, (uint64_t)2, (uint64_t)1,
		    (uint64_t)2, (uint64_t)1, (int64_t)1, (int64_t)8,
		    (int64_t)1, (int64_t)8);
		s->location_id[i] = i % 2 == 0 ? 0 : b->p.n_location + 1;
		cause = decode_cause(b, 0, PROFILE_MAX_INFLATED);
		if (cause == NULL || strstr(cause, "of a sample not found") ==
		    NULL)
			bad++;
		free(cause);
		free(b);
	}
	ok(bad == 0, "a bad location id at each of 9 places of a stack is "
	    "refused (%zu accepted)", bad);

	b = pb_small();
	b->s[0].n_value = 3;
	expect_error(b, "has 3 values for 4 sample types", "value count");

	b = pb_small();
	b->p.n_sample_type = 0;
	b->s[0].n_value = b->s[1].n_value = 0;
	expect_error(b, "no sample types", "samples without sample types");

	b = pb_small();
	b->lab[0].key = -1;
	expect_error(b, "label key: string index -1", "negative string index");

	b = pb_small();
	b->p.default_sample_type = 1000;
	expect_error(b, "default sample type", "default sample type index");

	cause = NULL;
	ok(profile_decode("", 0, 100, NULL, &cause) == NULL &&
	    strstr(cause, "empty") != NULL, "empty input refused");
	free(cause);
	cause = NULL;
	ok(profile_decode("\x1f\x8b\x08\x00garbage!", 12, 100, NULL,
	    &cause) == NULL && cause != NULL, "corrupt gzip refused");
	free(cause);
	cause = NULL;
	ok(profile_decode("<html>hello</html>", 18, 100, NULL,
	    &cause) == NULL && strstr(cause, "not a pprof profile") != NULL,
	    "HTML refused as not a profile");
	free(cause);
	/* Random bytes fail in many ways, each saying what they are. */
	cause = NULL;
	ok(profile_decode("\x08\x01", 2, 100, NULL, &cause) == NULL &&
	    strcmp(cause, "not a pprof profile: neither gzip nor a valid "
	    "protobuf message (field 1 has wire type 0)") == 0,
	    "a field of the wrong wire type is not a profile, and says why");
	free(cause);
	cause = NULL;
	ok(profile_decode("\x0a\x01\x08", 3, 100, NULL, &cause) == NULL &&
	    strcmp(cause, "not a pprof profile: neither gzip nor a valid "
	    "protobuf message (malformed value type)") == 0,
	    "a malformed message inside is not a profile, and says why");
	free(cause);
	/* A Function whose name comes as bytes, a Location whose id does. */
	cause = NULL;
	ok(profile_decode("\x2a\x02\x12\x00", 4, 100, NULL, &cause) == NULL &&
	    strcmp(cause, "not a pprof profile: neither gzip nor a valid "
	    "protobuf message (malformed function)") == 0,
	    "a malformed function is refused, and says so");
	free(cause);
	cause = NULL;
	ok(profile_decode("\x22\x02\x0a\x00", 4, 100, NULL, &cause) == NULL &&
	    strcmp(cause, "not a pprof profile: neither gzip nor a valid "
	    "protobuf message (malformed location)") == 0,
	    "a malformed location is refused, and says so");
	free(cause);
}

static void
test_sample_index(void)
{
	struct pb	*b = pb_small();
	struct profile	*p;
	uint8_t		*data;
	size_t		 len;
	char		*cause = NULL;

	data = pb_pack(b, &len);
	p = profile_decode(data, len, PROFILE_MAX_INFLATED, NULL, &cause);
	is_int(profile_sample_index(p, NULL, &cause), 3,
	    "default is the last sample type");
	is_int(profile_sample_index(p, "alloc_space", &cause), 1,
	    "by name");
	is_int(profile_sample_index(p, "2", &cause), 2, "by number");
	is_int(profile_sample_index(p, "inuse_alloc_space", &cause), 1,
	    "inuse_ prefix may be left off");
	is_int(profile_sample_index(p, "4", &cause), -1,
	    "number out of range");
	free(cause);
	cause = NULL;
	is_int(profile_sample_index(p, "cpu", &cause), -1, "unknown name");
	free(cause);
	cause = NULL;
	profile_free(p);
	free(data);

	b->p.default_sample_type = pb_str(b, "alloc_objects");
	data = pb_pack(b, &len);
	p = profile_decode(data, len, PROFILE_MAX_INFLATED, NULL, &cause);
	is_int(profile_sample_index(p, "", &cause), 0,
	    "default_sample_type is honoured");
	profile_free(p);
	free(data);
	free(b);
}

static void
test_interning(void)
{
	struct pb	*b = pb_small(), *c;
	struct symtab	*st = symtab_new();
	struct profile	*p, *q;
	uint8_t		*data;
	size_t		 len;
	char		*cause = NULL;

	data = pb_pack(b, &len);
	p = profile_decode(data, len, PROFILE_MAX_INFLATED, st, &cause);
	free(data);

	/* The same code in another process: mapped elsewhere, other ids. */
	c = pb_heap();
	{
		uint64_t m, fleak, fmain, l1, l2;

		m = pb_mapping(c, 0x7000000, 0x7400000, "/usr/bin/svc");
		fleak = pb_func(c, "main.leak", "/src/leak.go");
		fmain = pb_func(c, "main.main", "/src/main.go");
		l2 = pb_loc(c, m, 0x7002000, 1, U(fmain), V(30));
		l1 = pb_loc(c, m, 0x7001000, 1, U(fleak), V(12));
		pb_sample(c, 2, l1, l2, V(1), V(1), V(1), V(1));
	}
	data = pb_pack(c, &len);
	q = profile_decode(data, len, PROFILE_MAX_INFLATED, st, &cause);
	free(data);
	ok(q != NULL, "second profile decodes into the shared symtab");
	ok(q->stacks[0] == p->stacks[0] && q->stacks[1] == p->stacks[1],
	    "relocated locations intern to the same ids");
	profile_free(q);
	profile_free(p);
	symtab_free(st);
	free(b);
	free(c);
}

static void
test_sparse_ids(void)
{
	struct pb	*b = pb_small();
	struct profile	*p;
	uint8_t		*data;
	size_t		 len;
	char		*cause = NULL;

	/* Ids far apart force the hashed id map. */
	b->l[0].id = 1000000007;
	b->l[1].id = 99;
	b->ids[0] = 1000000007;
	b->ids[1] = 99;
	b->ids[2] = 99;
	data = pb_pack(b, &len);
	p = profile_decode(data, len, PROFILE_MAX_INFLATED, NULL, &cause);
	ok(p != NULL && p->nsamples == 2, "sparse location ids resolve");
	ok(p != NULL && p->stacks[1] == p->stacks[2],
	    "the same id resolves to the same location");
	profile_free(p);
	free(data);
	free(b);
}

/* Ids of a larger program's table: a dense map with gaps. */
static void
test_gapped_ids(void)
{
	/* No location's: 0, a gap, the first past the last, over 2^31. */
	static const uint64_t	 missing[] = { 0, 3999, 4001, 0x90000000 };
	static uint64_t		 stack[17];
	struct pb		*b = pb_small();
	struct profile		*p;
	uint8_t			*data;
	size_t			 i, len, bad;
	char			*cause = NULL;

	b->l[0].id = 4000;
	b->l[1].id = 7;
	b->ids[0] = 4000;
	b->ids[1] = 7;
	b->ids[2] = 7;
	data = pb_pack(b, &len);
	p = profile_decode(data, len, PROFILE_MAX_INFLATED, NULL, &cause);
	ok(p != NULL && p->nsamples == 2 && p->stacks[1] == p->stacks[2] &&
	    p->stacks[0] != p->stacks[1], "gapped location ids resolve");
	profile_free(p);
	free(data);
	b->ids[2] = 3999;	/* in the map's range, but no location */
	data = pb_pack(b, &len);
	p = profile_decode(data, len, PROFILE_MAX_INFLATED, NULL, &cause);
	ok(p == NULL && cause != NULL &&
	    strstr(cause, "location id 3999") != NULL,
	    "a missing id among gapped ones is refused: %s",
	    cause != NULL ? cause : "decoded");
	free(cause);
	free(data);

	/*
	 * In a longer stack, gapped ids may be checked eight at a time: a
	 * bad one at each place, in the map's range or out of it, is found.
	 */
	b->ids[2] = 7;
	b->s[1].location_id = stack;
	b->s[1].n_location_id = sizeof stack / sizeof stack[0];
	for (i = 0; i < sizeof stack / sizeof stack[0]; i++)
		stack[i] = i % 2 == 0 ? 4000 : 7;
	data = pb_pack(b, &len);
	p = profile_decode(data, len, PROFILE_MAX_INFLATED, NULL, &cause);
	ok(p != NULL && p->stack_off[2] - p->stack_off[1] == 17 &&
	    p->stacks[p->stack_off[1]] == p->stacks[0] &&
	    p->stacks[p->stack_off[2] - 1] == p->stacks[p->stack_off[1]],
	    "a stack of 17 gapped ids resolves");
	profile_free(p);
	free(data);
	for (i = 0, bad = 0; i < sizeof stack / sizeof stack[0]; i++) {
		stack[i] = missing[i % (sizeof missing / sizeof missing[0])];
		data = pb_pack(b, &len);
		p = profile_decode(data, len, PROFILE_MAX_INFLATED, NULL,
		    &cause);
		if (p != NULL || cause == NULL ||
		    strstr(cause, "of a sample not found") == NULL) {
			printf("#   place %zu, id %llu: %s\n", i,
			    (unsigned long long)stack[i],
			    cause != NULL ? cause : "decoded");
			bad++;
		}
		profile_free(p);
		free(cause);
		cause = NULL;
		free(data);
		stack[i] = i % 2 == 0 ? 4000 : 7;
	}
	ok(bad == 0, "a missing gapped id at each of 17 places of a stack is "
	    "refused (%zu accepted)", bad);
	free(b);
}

/*
 * Location ids need not fit 32 bits: one wider than UINT32_MAX - 1 is kept
 * whole, and an id equal to its low 32 bits is another location.
 */
static void
test_wide_ids(void)
{
	static const uint64_t	 wide[] = { UINT32_MAX, (1ULL << 32) + 99 };
	struct pb		*b;
	struct profile		*p;
	uint8_t			*data;
	size_t			 i, len;
	char			*cause = NULL;

	for (i = 0; i < sizeof wide / sizeof wide[0]; i++) {
		b = pb_small();
		b->l[0].id = wide[i];
		b->l[1].id = 99;
		b->ids[0] = wide[i];
		b->ids[1] = 99;
		b->ids[2] = wide[i];
		data = pb_pack(b, &len);
		p = profile_decode(data, len, PROFILE_MAX_INFLATED, NULL,
		    &cause);
		ok(p != NULL && p->stacks[0] == p->stacks[2] &&
		    p->stacks[0] != p->stacks[1],
		    "location id %llu resolves whole",
		    (unsigned long long)wide[i]);
		profile_free(p);
		free(data);
		free(b);
	}
}

/* Found by the fuzzer: field number 0 is skipped, as pprof and protobuf-c
 * skip it, not refused. */
static void
test_field_zero(void)
{
	static const uint8_t	 msg[] = { 0x50, 0x1c, 0x80, 0x00, 0x0a };
	struct pbwire_sample	 s;

	memset(&s, 0, sizeof s);
	is_int(pbwire_sample(msg, sizeof msg, &s), 0,
	    "a sample with a field number 0 decodes, as with protobuf-c");
	pbwire_sample_free(&s);
}

/*
 * protobuf-c reads a field key in at most five bytes and refuses one whose
 * first byte holds field number 0; the Sample decoder must agree with it.
 */
static void
test_key_limits(void)
{
	static const uint8_t	 zero[] = { 0x00, 0x00 };
	static const uint8_t	 longkey[] = { 0x88, 0x80, 0x80, 0x80, 0x80,
	    0x00, 0x00 };
	static const uint8_t	 bigfield[] = { 0x88, 0x80, 0x80, 0x80, 0x70,
	    0x00, 0x08, 0x01 };
	static const uint8_t	 longlen[] = { 0x7a, 0x80, 0x80, 0x80, 0x80,
	    0x80, 0x00 };
	struct pbwire_sample	 s;

	memset(&s, 0, sizeof s);
	is_int(pbwire_sample(zero, sizeof zero, &s), -1,
	    "a one-byte key with field number 0 is refused");
	is_int(pbwire_sample(longkey, sizeof longkey, &s), -1,
	    "a key longer than five bytes is refused");
	is_int(pbwire_sample(bigfield, sizeof bigfield, &s), 0,
	    "a 32-bit field number is skipped as unknown");
	is_int((int)s.nloc, 1, "and the fields after it are kept");
	is_int(pbwire_sample(longlen, sizeof longlen, &s), -1,
	    "a length prefix longer than five bytes is refused");
	pbwire_sample_free(&s);
}

/*
 * A packed field of locations or values that holds no whole varint (its
 * bytes all continue one) is refused, into arrays not yet made: nothing
 * to reserve, nothing read into them.
 */
static void
test_packed_cut(void)
{
	static const uint8_t	 locs[] = { 0x0a, 0x02, 0x80, 0x80 };
	static const uint8_t	 vals[] = { 0x12, 0x01, 0xff };
	struct pbwire_sample	 s;

	memset(&s, 0, sizeof s);
	is_int(pbwire_sample(locs, sizeof locs, &s), -1,
	    "packed location ids of no whole varint are refused");
	pbwire_sample_free(&s);
	memset(&s, 0, sizeof s);
	is_int(pbwire_sample(vals, sizeof vals, &s), -1,
	    "and so are packed values");
	pbwire_sample_free(&s);
}

static size_t
put_varint(uint8_t *out, uint64_t v)
{
	size_t	n = 0;

	do {
		out[n++] = (uint8_t)(v & 0x7f) | (v > 0x7f ? 0x80 : 0);
		v >>= 7;
	} while (v != 0);
	return n;
}

/* Sample field 1, packed: the varints of field[0..flen). */
static size_t
packed_sample(uint8_t *msg, const uint8_t *field, size_t flen)
{
	size_t	len = 0;

	msg[len++] = 0x0a;
	len += put_varint(msg + len, flen);
	memcpy(msg + len, field, flen);
	return len + flen;
}

/*
 * Ids are read with the bytes before them; a field at the very start of
 * the message must be read from its own bytes only. Each message here is
 * copied to a block of its exact size, so that the sanitizers see a read
 * before it, for every short field that starts with an id of one byte
 * and holds a longer one.
 */
static void
test_ids_at_start(void)
{
	struct pbwire_sample	 s;
	uint64_t		 ids[12];
	uint8_t			 msg[64], field[48], *copy;
	size_t			 n, i, k, flen, len, bad = 0;

	memset(&s, 0, sizeof s);
	for (n = 2; n <= 12; n++)
		for (k = 1; k < n; k++) {
			for (i = 0, flen = 0; i < n; i++) {
				ids[i] = i == k ? 100000 + i : 1 + i;
				flen += put_varint(field + flen, ids[i]);
			}
			len = packed_sample(msg, field, flen);
			copy = malloc(len);
			memcpy(copy, msg, len);
			pbwire_sample_free(&s);
			if (pbwire_sample(copy, len, &s) != 0 || s.nloc != n)
				bad++;
			else
				for (i = 0; i < n; i++)
					if (s.loc[i] != ids[i]) {
						bad++;
						break;
					}
			free(copy);
		}
	ok(bad == 0, "fields of 2 to 12 ids, a one-byte first and a three-"
	    "byte one, read from their own bytes (%zu wrong)", bad);
	pbwire_sample_free(&s);
}

/*
 * Packed location ids are read 64 bytes at a time while all take one or
 * two bytes: every length of field, every mix of widths and every place of
 * a longer id must read as the ids written, and a cut or overlong last id
 * must be refused.
 */
static void
test_packed_ids(bool shuffle)
{
	static const uint64_t	 widths[] = { 128, 16383, 16384,
	    (1ULL << 28) - 1, 1ULL << 28, UINT32_MAX - 1, UINT32_MAX,
	    UINT64_MAX };
	struct pbwire_sample	 s;
	uint64_t		 ids[200], got;
	uint8_t			 msg[2100], field[2048];
	size_t			 n, len, flen, i, w, bad = 0, tries = 0;
	uint32_t		 seed = 7, r;
	int			 mix;

	pbwire_shuffle(shuffle);
	memset(&s, 0, sizeof s);
	for (mix = 0; mix < 5; mix++)
		for (n = 0; n < 200; n++, tries++) {
			flen = 0;
			for (i = 0; i < n; i++) {
				seed = seed * 1103515245 + 12345;
				r = seed >> 8;
				/*
				 * 0: 1 and 2 bytes; 1: a few of 3; 2: any;
				 * 3: 1 to 4 bytes in any order; 4: 1 byte
				 * mostly, and some runs of 2
				 */
				if (mix == 0 || (mix == 1 && r % 16 != 0))
					ids[i] = 1 + r % 16383;
				else if (mix == 4)
					ids[i] = i / 8 % 3 != 2 && r % 16 != 0 ?
					    1 + r % 127 : 128 + r % 16256;
				else if (mix == 3)
					ids[i] = 1 + (r & ((1u << (1 + r % 24)) -
					    1));
				else
					ids[i] = widths[r % 8] - r / 8 % 4;
				flen += put_varint(field + flen, ids[i]);
			}
			len = packed_sample(msg, field, flen);
			pbwire_sample_free(&s);
			if (pbwire_sample(msg, len, &s) != 0 || s.nloc != n) {
				bad++;
				continue;
			}
			for (i = 0, w = 0; i < n; i++) {
				got = s.loc[i];
				if (w < s.nwide && s.wide[w].pos == i)
					got = s.wide[w++].id;
				if (got != ids[i]) {
					bad++;
					break;
				}
			}
			/* The last id cut short, then an eleven-byte one. */
			if (n > 0 && ids[n - 1] > 127) {
				len = packed_sample(msg, field, flen - 1);
				if (pbwire_sample(msg, len, &s) != -1)
					bad++;
			}
			memset(field + flen, 0x80, 10);
			field[flen + 10] = 0x01;
			len = packed_sample(msg, field, flen + 11);
			if (pbwire_sample(msg, len, &s) != -1)
				bad++;
		}
	ok(bad == 0, "%zu packed fields of up to 199 ids read back, and "
	    "refused cut or overlong (%zu wrong)%s", tries, bad,
	    shuffle ? "" : ", without the byte shuffle");
	pbwire_sample_free(&s);
}

/*
 * A profile large enough that its arrays are mapped in at once by
 * xmalloc_populate() (some hundreds of KB each) decodes to the same
 * numbers with it as without: the pages are mapped in, never changed.
 * pb_small() and 20,000 more samples, fields that may come in any order,
 * each of an 8-deep stack and four values of one to three bytes.
 */
static void
test_fresh_memory(void)
{
	struct pb	*b = pb_small();
	struct profile	*p[4];
	uint8_t		*small, *data, *gz, field[64], msg[128], *o;
	size_t		 slen, len, gzlen, flen, mlen, i, k, bad = 0;
	char		*cause = NULL;
	int		 j;

	small = pb_pack(b, &slen);
	data = xmalloc(slen + 20000 * sizeof msg);
	memcpy(data, small, slen);
	o = data + slen;
	for (i = 0; i < 20000; i++) {
		for (flen = 0, k = 0; k < 8; k++)
			flen += put_varint(field + flen, 1 + (i + k) % 2);
		mlen = packed_sample(msg, field, flen);
		msg[mlen++] = 0x12;		/* field 2, packed values */
		msg[mlen++] = 0;
		for (k = 0, flen = 0; k < 4; k++)
			flen += put_varint(msg + mlen + flen, i * 13 + k);
		msg[mlen - 1] = (uint8_t)flen;
		mlen += flen;
		*o++ = 0x12;			/* Profile field 2, a Sample */
		o += put_varint(o, mlen);
		memcpy(o, msg, mlen);
		o += mlen;
	}
	len = o - data;
	gz = pb_gzip(data, len, &gzlen);
	for (j = 0; j < 4; j++) {
		if (j == 2)
			xmalloc_fresh();
		p[j] = profile_decode(j % 2 ? gz : data, j % 2 ? gzlen : len,
		    PROFILE_MAX_INFLATED, NULL, &cause);
		if (p[j] == NULL) {
			printf("# decode: %s\n", cause);
			free(cause);
			cause = NULL;
		}
	}
	ok(p[0] != NULL && p[0]->nsamples == 20002 &&
	    p[0]->stack_off[20002] == 2 + 1 + 20000 * 8,
	    "20,002 samples and their 160,003 frames decode");
	for (j = 1; j < 4 && p[0] != NULL; j++) {
		if (p[j] == NULL || p[j]->nsamples != p[0]->nsamples) {
			bad++;
			continue;
		}
		if (memcmp(p[j]->values, p[0]->values, p[0]->nsamples *
		    p[0]->ntypes * sizeof *p[0]->values) != 0 ||
		    memcmp(p[j]->stack_off, p[0]->stack_off,
		    (p[0]->nsamples + 1) * sizeof *p[0]->stack_off) != 0)
			bad++;
		for (i = 0; i < p[0]->stack_off[p[0]->nsamples]; i++)
			if (symtab_loc(p[j]->st, p[j]->stacks[i])->addr !=
			    symtab_loc(p[0]->st, p[0]->stacks[i])->addr)
				bad++;
	}
	ok(bad == 0 && p[0] != NULL && p[0]->values[2 * 4 + 3] == 3 &&
	    p[0]->values[20001 * 4 + 3] == 19999 * 13 + 3,
	    "the same numbers, plain and gzipped, with memory mapped in at "
	    "once or not (%zu differ)", bad);
	for (j = 0; j < 4; j++)
		profile_free(p[j]);
	free(gz);
	free(data);
	free(small);
	free(b);
}

/* Whether pbwire_location() reads data as protobuf-c unpacks it. */
static bool
location_agrees(const uint8_t *data, size_t size)
{
	Perftools__Profiles__Location	*m;
	struct pbwire_location		 l;
	size_t				 i;
	bool				 same;
	int				 rc;

	memset(&l, 0, sizeof l);
	rc = pbwire_location(data, size, &l);
	m = perftools__profiles__location__unpack(NULL, size, data);
	same = (m == NULL) == (rc == -1);
	if (same && m != NULL) {
		same = m->id == l.id && m->mapping_id == l.mapping_id &&
		    m->address == l.address &&
		    (m->is_folded != 0) == (l.is_folded != 0) &&
		    m->n_line == l.nlines;
		for (i = 0; same && i < l.nlines; i++)
			same = m->line[i]->function_id ==
			    l.lines[i].function_id &&
			    m->line[i]->line == l.lines[i].line;
	}
	if (m != NULL)
		perftools__profiles__location__free_unpacked(m, NULL);
	pbwire_location_free(&l);
	return same;
}

/*
 * Locations as Go writes them are read by a short path, and any other by
 * the general reader from the start: each as protobuf-c reads it.
 */
static void
test_location_paths(void)
{
	/* Go's: id, mapping, address, a line; then two lines, a column. */
	static const uint8_t	 go[] = { 0x08, 0xb9, 0x17, 0x10, 0x01,
	    0x18, 0xc1, 0xd2, 0x8a, 0x02, 0x22, 0x05, 0x08, 0x2a, 0x10,
	    0xd3, 0x01 };
	static const uint8_t	 two[] = { 0x22, 0x04, 0x08, 0x07, 0x10,
	    0x09, 0x08, 0x05, 0x22, 0x06, 0x08, 0x03, 0x10, 0x04, 0x18,
	    0x02, 0x08, 0x06 };
	/* An address of ten bytes, the most a varint takes. */
	static const uint8_t	 ten[] = { 0x08, 0x01, 0x18, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	static const uint8_t	 eleven[] = { 0x08, 0x01, 0x18, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	/* A varint cut by the line's end, then by the message's. */
	static const uint8_t	 cutline[] = { 0x22, 0x02, 0x08, 0x80, 0x08,
	    0x01 };
	static const uint8_t	 cutaddr[] = { 0x08, 0x01, 0x18, 0x80 };
	static const uint8_t	 cutlen[] = { 0x08, 0x01, 0x22, 0x05, 0x08 };
	/* An unknown field, in the location and in a line. */
	static const uint8_t	 unknown[] = { 0x08, 0x01, 0x30, 0x05, 0x22,
	    0x04, 0x08, 0x02, 0x38, 0x01 };
	/* A field of the location with another wire type. */
	static const uint8_t	 wiretype[] = { 0x08, 0x01, 0x1a, 0x01, 0x00 };
	uint8_t			 big[135];
	size_t			 i;

	ok(location_agrees(go, sizeof go), "a location as Go writes it");
	ok(location_agrees(two, sizeof two), "two lines, a column, an id "
	    "given twice");
	ok(location_agrees(ten, sizeof ten), "an address of ten bytes");
	ok(location_agrees(eleven, sizeof eleven), "one of eleven: refused");
	ok(location_agrees(cutline, sizeof cutline), "a varint cut by the "
	    "end of its line");
	ok(location_agrees(cutaddr, sizeof cutaddr), "a varint cut by the "
	    "end of the message");
	ok(location_agrees(cutlen, sizeof cutlen), "a line longer than the "
	    "message");
	ok(location_agrees(unknown, sizeof unknown), "unknown fields");
	ok(location_agrees(wiretype, sizeof wiretype), "a wrong wire type");
	/* A line of 130 bytes: its length takes two bytes. */
	big[0] = 0x08;
	big[1] = 0x04;
	big[2] = 0x22;
	big[3] = 0x82;
	big[4] = 0x01;
	for (i = 5; i < 135; i += 2) {
		big[i] = 0x10;
		big[i + 1] = (uint8_t)(i & 0x7f);
	}
	ok(location_agrees(big, sizeof big), "a line of 130 bytes");
	for (i = 1; i < sizeof go; i++)
		if (!location_agrees(go, i))
			break;
	ok(i == sizeof go, "Go's location cut anywhere");
}

/*
 * protobuf-c reads a bool whatever its wire type, and skips field number 0
 * of any wire type; so must Location and Line.
 */
static void
test_folded_bool(void)
{
	static const uint8_t	 packed[] = { 0x2a, 0x01, 0x80 };
	static const uint8_t	 fixed[] = { 0x2d, 0x80, 0x00, 0x00, 0x00 };
	static const uint8_t	 zero[] = { 0x82, 0x00, 0x00 };
	static const uint8_t	 linezero[] = { 0x22, 0x03, 0x82, 0x00, 0x00 };
	struct pbwire_location	 l;

	memset(&l, 0, sizeof l);
	is_int(pbwire_location(packed, sizeof packed, &l), 0,
	    "is_folded with a length prefix decodes");
	is_int(l.is_folded, 1, "and is true from its prefix, as in protobuf-c");
	is_int(pbwire_location(fixed, sizeof fixed, &l), 0,
	    "is_folded as a fixed32 decodes");
	is_int(l.is_folded, 0, "and is false, its byte 0x80 has no low bit");
	is_int(pbwire_location(zero, sizeof zero, &l), 0,
	    "a Location field number 0 with a length is skipped");
	is_int(pbwire_location(linezero, sizeof linezero, &l), 0,
	    "so is one in a Line");
	is_int((int)l.nlines, 1, "and the line is kept");
	pbwire_location_free(&l);
}

/*
 * Whether the mapping that holds p is advised huge pages: its VmFlags in
 * /proc/self/smaps list "hg".
 */
static bool
advised_huge(const void *p)
{
	FILE		*f;
	char		 line[512];
	unsigned long	 lo, hi, a = (unsigned long)p;
	bool		 in = false, hg = false;

	if ((f = fopen("/proc/self/smaps", "r")) == NULL)
		return false;
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			in = a >= lo && a < hi;
		else if (in && strncmp(line, "VmFlags:", 8) == 0)
			hg = strstr(line, " hg") != NULL;
	}
	fclose(f);
	return hg;
}

/*
 * After xmalloc_fresh(), as the command calls it at its start, the blocks
 * of malloc's heap are on huge pages, small ones too, and so are those of
 * a heap grown past the first 64 MiB it takes; a block of 4 MiB from
 * xmalloc_huge() is so whatever the allocator (a sanitizer's has no such
 * heap). In a child, forked before the other tests leave free blocks
 * below the heap's first huge page.
 */
static void
test_fresh_heap(void)
{
	void	*small, *big, *later, *filler[72];
	size_t	 i;
	pid_t	 pid;
	int	 status, bits = 0;

	fflush(stdout);
	if ((pid = fork()) == 0) {
		xmalloc_fresh();
		small = xmalloc_populate(xmalloc(256 << 10), 256 << 10);
		big = xmalloc_huge(1 << 20, 4);
		memset(big, 1, (size_t)4 << 20);
		/* Untouched, the fillers take address space, not memory. */
		for (i = 0; i < 72; i++)
			filler[i] = xmalloc(1 << 20);
		later = xmalloc_huge(1 << 20, 3);
		bits = advised_huge(big) | advised_huge(small) << 1 |
		    advised_huge(later) << 2;
		for (i = 0; i < 72; i++)
			free(filler[i]);
		_exit(bits);
	}
	if (pid == -1 || waitpid(pid, &status, 0) == -1 || !WIFEXITED(status))
		bits = -1;
	else
		bits = WEXITSTATUS(status);
	ok(bits != -1 && (bits & 1), "a block of 4 MiB from xmalloc_huge() is "
	    "on huge pages");
#ifdef __SANITIZE_ADDRESS__
	ok(bits != -1 && (bits & 2) == 0, "under a sanitizer, malloc's blocks "
	    "are its own");
#else
	ok(bits != -1 && (bits & 2), "a block of 256 KiB from the heap is on "
	    "huge pages");
	ok(bits != -1 && (bits & 4), "and one from the heap past its first "
	    "64 MiB");
#endif
}

/*
 * profile_decode_parsed() gives the profile profile_decode() gives, and
 * keeps the parse as it was read, whichever way its stacks name their
 * locations: ids 1, 2, 3... (numbered), gapped (a map by id), sparse and
 * over 32 bits (resolved to indices). The view's tables are the parse's,
 * its mapping flags included.
 */
static void
test_decode_parsed(void)
{
	static const uint64_t	 ids[][2] = {
		{ 1, 2 }, { 4000, 7 }, { 1000000007, 99 },
		{ (1ULL << 32) + 99, 5 }
	};
	struct pb		*b;
	struct profile		*p, *q;
	struct profile_raw	*raw, *fresh;
	struct profile_view	 v, w;
	uint8_t			*data, *gz;
	size_t			 i, j, len, gzlen;
	char			*cause = NULL;
	bool			 same = true, kept = true, view = true;

	for (i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		b = pb_small();
		b->m[0].has_inline_frames = 1;
		b->m[0].build_id = pb_str(b, "b1d");
		b->l[0].id = ids[i][0];
		b->l[1].id = ids[i][1];
		b->ids[0] = ids[i][0];
		b->ids[1] = ids[i][1];
		b->ids[2] = ids[i][1];
		data = pb_pack(b, &len);
		gz = pb_gzip(data, len, &gzlen);
		p = profile_decode(data, len, PROFILE_MAX_INFLATED, NULL,
		    &cause);
		q = profile_decode_parsed(gz, gzlen, PROFILE_MAX_INFLATED,
		    NULL, &raw, &cause);
		fresh = profile_parse(data, len, PROFILE_MAX_INFLATED, &cause);
		if (p == NULL || q == NULL || raw == NULL || fresh == NULL) {
			printf("# %zu: %s\n", i, cause);
			same = kept = view = false;
			break;
		}
		same &= p->nsamples == q->nsamples && memcmp(p->stack_off,
		    q->stack_off, (p->nsamples + 1) * sizeof *p->stack_off) ==
		    0 && memcmp(p->stacks, q->stacks, p->stack_off[p->nsamples] *
		    sizeof *p->stacks) == 0 && memcmp(p->values, q->values,
		    p->nsamples * p->ntypes * sizeof *p->values) == 0 &&
		    memcmp(p->labelset, q->labelset, p->nsamples *
		    sizeof *p->labelset) == 0;
		profile_raw_view(raw, &v);
		profile_raw_view(fresh, &w);
		kept &= v.nstacks == w.nstacks && v.base == w.base &&
		    v.nbyid == w.nbyid && (v.byid == NULL) == (w.byid == NULL) &&
		    memcmp(v.stacks, w.stacks, v.nstacks * sizeof *v.stacks) ==
		    0 && v.values == q->values && v.stack_off == q->stack_off;
		for (j = 0; j < v.nstacks; j++) {
			uint32_t r = v.stacks[j];
			uint32_t at = v.byid != NULL ? v.byid[r] - 1 :
			    r - v.base;

			view &= at < v.nlocs && v.locs[at].id == b->ids[j];
		}
		view &= v.nmaps == 1 && v.maps[0].has_functions &&
		    v.maps[0].has_inline_frames && !v.maps[0].has_filenames &&
		    v.maps[0].start == 0x400000 && v.maps[0].limit == 0x800000 &&
		    strcmp(v.strs[v.maps[0].build_id].s, "b1d") == 0 &&
		    v.label_off[1] - v.label_off[0] == 1 &&
		    v.labels[0].num == 1024;
		profile_raw_free(raw);
		profile_free(q);
		profile_raw_free(fresh);
		profile_free(p);
		free(data);
		free(gz);
		free(b);
	}
	ok(same, "profile_decode_parsed() gives profile_decode()'s profile");
	ok(kept, "and keeps the stacks as parsed, numbered, by id or resolved, "
	    "its values and offsets lent to the profile");
	ok(view, "the view's references name the locations of the ids given, "
	    "and its mapping its flags and build id");
	q = profile_decode_parsed("not a profile", 13, PROFILE_MAX_INFLATED,
	    NULL, &raw, &cause);
	ok(q == NULL && raw == NULL && cause != NULL,
	    "a body that does not decode keeps nothing: %s", cause);
	free(cause);
}

/* Append the bytes of a varint field to b at *n. */
static void
put_varint_field(uint8_t *b, size_t *n, unsigned int num, uint64_t v)
{
	b[(*n)++] = (uint8_t)(num << 3);
	do {
		b[(*n)++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v != 0);
}

/*
 * Fingerprints: the same but for time_nanos and duration_nanos, wherever
 * they are and however long their varints, and their values read; any
 * other change, or the times moved, is another; malformed, none; and a
 * body whose fingerprint is the one given is a repeat, not parsed.
 */
static void
test_print(void)
{
	struct pb		*b = pb_small();
	struct profile_print	 a, c, d, e;
	struct profile		*p;
	uint8_t			*pb, *gz, buf[4096], cut[4096];
	size_t			 len, glen, n, m, i, t;
	char			*cause = NULL;
	bool			 repeat;

	pb = pb_pack(b, &len);
	/* The times first, then last, as two writers might put them. */
	n = 0;
	put_varint_field(buf, &n, 9, 1700000000000000000ULL);
	memcpy(buf + n, pb, len);
	n += len;
	put_varint_field(buf, &n, 10, 5);
	ok(profile_print_make(buf, n, &a) == 0 && a.set &&
	    a.time_nanos == 1700000000000000000LL && a.duration_nanos == 5,
	    "a fingerprint reads time_nanos and duration_nanos");
	n = 0;
	put_varint_field(buf, &n, 9, 3);
	memcpy(buf + n, pb, len);
	n += len;
	put_varint_field(buf, &n, 10, 1ULL << 40);
	ok(profile_print_make(buf, n, &c) == 0 &&
	    profile_print_same(&a, &c) && c.time_nanos == 3,
	    "other times, of other lengths: the same fingerprint");
	n = 0;
	memcpy(buf + n, pb, len);
	n += len;
	put_varint_field(buf, &n, 9, 3);
	put_varint_field(buf, &n, 10, 1ULL << 40);
	ok(profile_print_make(buf, n, &d) == 0 && !profile_print_same(&a, &d),
	    "the time moved: another");
	b->s[0].value[3]++;
	free(pb);
	pb = pb_pack(b, &len);
	n = 0;
	put_varint_field(buf, &n, 9, 3);
	memcpy(buf + n, pb, len);
	n += len;
	put_varint_field(buf, &n, 10, 1ULL << 40);
	ok(profile_print_make(buf, n, &d) == 0 && !profile_print_same(&a, &d),
	    "a value changed: another");
	/*
	 * Fields 9 and 10 of a nested message are its own (a Mapping's
	 * has_line_numbers and has_inlined_frames), hashed with it: a
	 * mapping that says it has line numbers, then one that does not.
	 */
	for (i = 0; i < 2; i++) {
		n = 0;
		put_varint_field(buf, &n, 9, 3);
		memcpy(buf + n, pb, len);
		n += len;
		buf[n++] = 0x1a;	/* field 3, a Mapping */
		buf[n++] = 6;
		put_varint_field(buf, &n, 1, 9);
		put_varint_field(buf, &n, 9, !i);
		put_varint_field(buf, &n, 10, !i);
		if (profile_print_make(buf, n, i == 0 ? &c : &d) == -1)
			break;
	}
	ok(i == 2 && c.set && d.set && !profile_print_same(&c, &d) &&
	    d.time_nanos == 3 && d.duration_nanos == 0,
	    "a nested message's fields 9 and 10 changed: another");
	/* A cut: malformed, or fields fewer, another fingerprint. */
	(void)profile_print_make(buf, n, &c);
	for (i = 0, repeat = true; i < n; i++) {
		memcpy(cut, buf, i);
		if (profile_print_make(cut, i, &d) == -1 ? d.set :
		    !d.set || profile_print_same(&c, &d))
			repeat = false;
	}
	buf[0] = 0x49;		/* field 9 as a fixed64 */
	ok(repeat && profile_print_make(buf, n, &d) == -1 && !d.set &&
	    !profile_print_same(&d, &d),
	    "cut, malformed, or time_nanos not a varint: no fingerprint");
	buf[0] = 0x48;
	/*
	 * As many time fields as a fingerprint keeps apart, then one more:
	 * no fingerprint and no times, and the protobuf still decodes.
	 */
	memcpy(cut, pb, len);
	m = len;
	for (t = 0; t < PROFILE_PRINT_TIMES_MAX; t++)
		put_varint_field(cut, &m, 9, 7);
	(void)profile_print_make(cut, m, &e);
	put_varint_field(cut, &m, 9, 7);
	(void)profile_print_make(cut, m, &d);
	p = profile_decode(cut, m, PROFILE_MAX_INFLATED, NULL, &cause);
	ok(e.set && e.time_nanos == 7 && !d.set && d.time_nanos == 0 &&
	    p != NULL && p->time_nanos == 7,
	    "%d time fields: a fingerprint; one more: none, and decoded",
	    PROFILE_PRINT_TIMES_MAX);
	profile_free(p);
	/* Decoding: a repeat of the fingerprint given is not parsed. */
	gz = pb_gzip(buf, n, &glen);
	p = profile_decode_print(gz, glen, PROFILE_MAX_INFLATED, NULL, NULL,
	    NULL, &c, &repeat, &cause);
	ok(p != NULL && !repeat && c.set && c.time_nanos == p->time_nanos &&
	    c.duration_nanos == p->duration_nanos,
	    "gzip decoded, with its fingerprint");
	profile_free(p);
	p = profile_decode_print(gz, glen, PROFILE_MAX_INFLATED, NULL, NULL,
	    &c, &d, &repeat, &cause);
	ok(p == NULL && repeat && cause == NULL && profile_print_same(&c, &d),
	    "the same body after it: a repeat, not parsed, no error");
	c.hash[1]++;
	p = profile_decode_print(gz, glen, PROFILE_MAX_INFLATED, NULL, NULL,
	    &c, &d, &repeat, &cause);
	ok(p != NULL && !repeat, "after another: decoded");
	profile_free(p);
	p = profile_decode_print("\x0a\xff", 2, PROFILE_MAX_INFLATED, NULL,
	    NULL, &c, &d, &repeat, &cause);
	ok(p == NULL && !repeat && !d.set && cause != NULL,
	    "malformed: no fingerprint, and the parse says why: %s", cause);
	free(cause);
	free(gz);
	free(pb);
	free(b);
}

int
main(void)
{
	test_fresh_heap();
	test_field_zero();
	test_key_limits();
	test_packed_cut();
	test_packed_ids(false);
	test_packed_ids(true);
	test_ids_at_start();
	test_folded_bool();
	test_location_paths();
	test_decode();
	test_errors();
	test_sample_index();
	test_interning();
	test_sparse_ids();
	test_gapped_ids();
	test_wide_ids();
	test_decode_parsed();
	test_fresh_memory();
	test_print();
	return tap_done();
}
