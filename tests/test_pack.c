/* Unit tests for src/pack.c: the compact form of a target's snapshots. */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "pack.h"
#include "profile.h"
#include "tap.h"
#include "pbuild.h"

#define MAX	((size_t)64 << 20)

/*
 * Load a blob that should load. pack.h's calls take a cause NULL on
 * entry (a cause already set would be lost), so that a cause shared by
 * calls that may fail in turn is freed between them: each here its own.
 */
static bool
load_blob(int (*load)(struct pack *, const void *, size_t, size_t, char **),
    struct pack *pk, const void *data, size_t len)
{
	char	*cause = NULL;
	bool	 done;

	if (!(done = load(pk, data, len, MAX, &cause) == 0))
		printf("# load: %s\n", cause);
	free(cause);
	return done;
}

/* A sample as compared: its stack and labels by symtab id, its values. */
struct row {
	uint32_t	 loc[16];
	uint32_t	 nloc, labelset;
	int64_t		 v[4];
};

static int
row_cmp(const void *a, const void *b)
{
	const struct row	*x = a, *y = b;

	if (x->nloc != y->nloc)
		return x->nloc < y->nloc ? -1 : 1;
	if (x->labelset != y->labelset)
		return x->labelset < y->labelset ? -1 : 1;
	return memcmp(x->loc, y->loc, x->nloc * sizeof x->loc[0]);
}

/*
 * A profile's samples, sorted by stack and those of one stack added up,
 * as pprof sees them: the stacks are symtab ids, which two profiles
 * decoded into one symtab share for the same code.
 */
static struct row *
rows(const struct profile *p, size_t *n)
{
	struct row	*r = calloc(p->nsamples + 1, sizeof *r);
	size_t		 i, j, k;

	for (i = 0; i < p->nsamples; i++) {
		r[i].nloc = p->stack_off[i + 1] - p->stack_off[i];
		if (r[i].nloc > 16)
			r[i].nloc = 16;
		for (j = 0; j < r[i].nloc; j++)
			r[i].loc[j] = p->stacks[p->stack_off[i] + j];
		r[i].labelset = p->labelset[i];
		for (j = 0; j < p->ntypes && j < 4; j++)
			r[i].v[j] = p->values[i * p->ntypes + j];
	}
	qsort(r, p->nsamples, sizeof *r, row_cmp);
	for (i = 0, k = 0; i < p->nsamples; i++) {
		if (k > 0 && row_cmp(&r[k - 1], &r[i]) == 0) {
			for (j = 0; j < 4; j++)
				r[k - 1].v[j] += r[i].v[j];
			continue;
		}
		r[k++] = r[i];
	}
	*n = k;
	return r;
}

/* Whether two profiles show the same in pprof: every field it reads. */
static bool
same_profile(const void *a, size_t alen, const void *b, size_t blen,
    const char *what)
{
	struct symtab	*st = symtab_new();
	struct profile	*pa, *pb;
	struct row	*ra = NULL, *rb = NULL;
	size_t		 na = 0, nb = 0, i;
	char		*cause = NULL;
	bool		 same = false;

	pa = profile_decode(a, alen, MAX, st, &cause);
	if (pa == NULL) {
		printf("# %s: the input does not decode: %s\n", what, cause);
		goto out;
	}
	pb = profile_decode(b, blen, MAX, st, &cause);
	if (pb == NULL) {
		printf("# %s: the output does not decode: %s\n", what, cause);
		profile_free(pa);
		goto out;
	}
	same = pa->ntypes == pb->ntypes && pa->period == pb->period &&
	    pa->time_nanos == pb->time_nanos &&
	    pa->duration_nanos == pb->duration_nanos &&
	    pa->ncomments == pb->ncomments &&
	    strcmp(symtab_str(st, pa->period_type)->s,
	    symtab_str(st, pb->period_type)->s) == 0 &&
	    strcmp(symtab_str(st, pa->default_type)->s,
	    symtab_str(st, pb->default_type)->s) == 0 &&
	    (pa->main_mapping == SYM_NONE) == (pb->main_mapping == SYM_NONE);
	for (i = 0; same && i < pa->ntypes; i++)
		same = strcmp(profile_type_name(pa, i),
		    profile_type_name(pb, i)) == 0 &&
		    strcmp(profile_type_unit(pa, i),
		    profile_type_unit(pb, i)) == 0;
	for (i = 0; same && i < pa->ncomments; i++)
		same = strcmp(symtab_str(st, pa->comments[i])->s,
		    symtab_str(st, pb->comments[i])->s) == 0;
	if (same && pa->main_mapping != SYM_NONE)
		same = pa->main_mapping == pb->main_mapping;
	if (!same)
		printf("# %s: the headers differ\n", what);
	ra = rows(pa, &na);
	rb = rows(pb, &nb);
	if (same && (na != nb || memcmp(ra, rb, na * sizeof *ra) != 0)) {
		printf("# %s: the samples differ (%zu, %zu stacks)\n", what,
		    na, nb);
		same = false;
	}
	profile_free(pa);
	profile_free(pb);
out:
	free(ra);
	free(rb);
	free(cause);
	symtab_free(st);
	return same;
}

/*
 * The nth of a run of heap profiles of one process: stacks made of a
 * few functions, values that mostly stay, some that grow, a stack that
 * appears at n 3 and one that is gone from n 5, labels on some.
 */
static uint8_t *
gen(int n, size_t *len, bool gz)
{
	struct pb	*b = pb_heap();
	uint64_t	 m, f[12], l[24];
	char		 name[12][32];
	uint8_t		*raw, *out;
	size_t		 rawlen;
	int		 i, k;

	m = pb_mapping(b, 0x400000, 0x9ff000, "/usr/bin/svc");
	pb_mapping(b, 0x7f0000000000, 0x7f0000100000, "[vdso]");
	for (i = 0; i < 12; i++) {
		snprintf(name[i], sizeof name[i], "main.fn%d", i);
		f[i] = pb_func(b, name[i], "/src/main.go");
	}
	for (i = 0; i < 24; i++)
		l[i] = i % 7 == 3 ?
		    pb_loc(b, m, 0x401000 + 64 * i, 2, f[i % 12],
		    (int64_t)(10 + i), f[(i + 1) % 12], (int64_t)(20 + i)) :
		    pb_loc(b, m, 0x401000 + 64 * i, 1, f[i % 12],
		    (int64_t)(10 + i));
	for (i = 0; i < 60; i++) {
		int64_t	grow = i % 5 == 0 ? (int64_t)n * (i + 1) : 0;

		if (i == 7 && n < 3)
			continue;
		if (i == 9 && n >= 5)
			continue;
		k = i % 20;
		pb_sample(b, 3, l[k], l[(k + i / 20 + 1) % 24],
		    l[(k + 2 * (i / 20) + 5) % 24],
		    (int64_t)(100 + i + grow), (int64_t)(4096 * (i + 1) + grow),
		    (int64_t)(i + grow / 2), (int64_t)(512 * i + grow));
		if (i % 11 == 0)
			pb_label(b, "bytes", NULL, 512 * i, NULL);
		if (i % 13 == 0)
			pb_label(b, "pool", i % 2 ? "odd" : "even", 0, NULL);
	}
	/* Two samples of one stack, which pprof adds up. */
	pb_sample(b, 2, l[1], l[2], (int64_t)1, (int64_t)2, (int64_t)3,
	    (int64_t)-4);
	pb_sample(b, 2, l[1], l[2], (int64_t)5, (int64_t)6, (int64_t)7,
	    (int64_t)8);
	b->p.time_nanos = 1700000000000000000LL + (int64_t)n * 60000000000LL;
	b->p.duration_nanos = 0;
	b->p.default_sample_type = pb_str(b, "inuse_space");
	raw = pb_pack(b, &rawlen);
	free(b);
	if (!gz) {
		*len = rawlen;
		return raw;
	}
	out = pb_gzip(raw, rawlen, len);
	free(raw);
	return out;
}

/* A snapshot read back into a fresh pack, from the blobs stored. */
struct stored {
	struct pack_blob dict[64], body[64];
	size_t		 ndict, nbody;
};

static bool
roundtrip_run(void)
{
	struct pack	*w = pack_new(PACK_LEVEL_DEFAULT), *r;
	struct stored	 s;
	struct pack_blob dict, body;
	uint8_t		*in[40];
	size_t		 inlen[40], i, j, len;
	void		*out;
	char		*cause = NULL, what[32];
	bool		 all = true, key;
	uint64_t	 serial;
	int		 n;

	memset(&s, 0, sizeof s);
	for (n = 0; n < 40; n++) {
		in[n] = gen(n, &inlen[n], n % 2 == 0);
		if (pack_encode(w, in[n], inlen[n], MAX, n == 20, &dict,
		    &body, &cause) == -1) {
			printf("# encode %d: %s\n", n, cause);
			free(cause);
			return false;
		}
		if (dict.len > 0)
			s.dict[s.ndict++] = dict;
		s.body[s.nbody++] = body;
		/* The writer gives back what it took. */
		if (pack_pprof(w, true, &out, &len, &cause) == -1)
			return false;
		snprintf(what, sizeof what, "writer %d", n);
		all &= same_profile(in[n], inlen[n], out, len, what);
		free(out);
	}
	ok(all, "40 snapshots: each comes back from the writer as received");
	ok(s.ndict < 10, "the dictionary is added to when something is new, "
	    "not each time: %zu blobs for 40 snapshots", s.ndict);
	ok(s.body[30].len < s.body[0].len / 3,
	    "a delta body is small: %zu bytes, the first %zu",
	    s.body[30].len, s.body[0].len);
	ok(pack_body_info(s.body[20].data, s.body[20].len, &key, &serial) ==
	    0 && key && serial == 21, "body 20 is a key snapshot, serial 21");
	ok(pack_body_info(s.body[21].data, s.body[21].len, &key, &serial) ==
	    0 && !key && serial == 22, "body 21 is a delta, serial 22");

	/* Read back from the start, as a restarted store does. */
	r = pack_new(PACK_LEVEL_DEFAULT);
	for (i = 0; i < s.ndict; i++)
		if (pack_load_dict(r, s.dict[i].data, s.dict[i].len, MAX,
		    &cause) == -1) {
			printf("# load dict %zu: %s\n", i, cause);
			return false;
		}
	all = true;
	for (i = 0; i < s.nbody; i++) {
		if (pack_load_snap(r, s.body[i].data, s.body[i].len, MAX,
		    &cause) == -1) {
			printf("# load %zu: %s\n", i, cause);
			free(cause);
			cause = NULL;
			all = false;
			continue;
		}
		if (pack_pprof(r, i % 2 == 1, &out, &len, &cause) == -1)
			return false;
		snprintf(what, sizeof what, "reader %zu", i);
		all &= same_profile(in[i], inlen[i], out, len, what);
		free(out);
	}
	ok(all, "40 snapshots read back from the blobs equal those received");

	/* From the key snapshot on, without its predecessors. */
	pack_free(r);
	r = pack_new(PACK_LEVEL_DEFAULT);
	for (i = 0; i < s.ndict; i++)
		if (pack_load_dict(r, s.dict[i].data, s.dict[i].len, MAX,
		    &cause) == -1)
			return false;
	n = pack_load_snap(r, s.body[25].data, s.body[25].len, MAX, &cause);
	ok(n == -1 && cause != NULL,
	    "a delta without its predecessor is refused: %s", cause);
	free(cause);
	cause = NULL;
	all = true;
	for (i = 20; i < 30; i++) {
		all &= pack_load_snap(r, s.body[i].data, s.body[i].len, MAX,
		    &cause) == 0;
		if (pack_pprof(r, true, &out, &len, &cause) == -1)
			return false;
		all &= same_profile(in[i], inlen[i], out, len, "from key");
		free(out);
	}
	ok(all, "snapshots 20-29 read from the key snapshot on are exact");

	/* Continue writing on a pack loaded from the store. */
	ok(pack_encode(r, in[39], inlen[39], MAX, false, &dict, &body,
	    &cause) == 0 && dict.len == 0,
	    "a loaded pack writes on, its dictionary already whole");
	free(dict.data);
	free(body.data);

	/* Corruption: every byte flipped in turn, then truncation. */
	all = true;
	for (j = 0; j < s.body[31].len; j++) {
		uint8_t	*c = malloc(s.body[31].len);
		struct pack *t = pack_new(PACK_LEVEL_DEFAULT);

		memcpy(c, s.body[31].data, s.body[31].len);
		c[j] ^= 0x5a;
		for (i = 0; i < s.ndict; i++)
			(void)load_blob(pack_load_dict, t, s.dict[i].data,
			    s.dict[i].len);
		for (i = 20; i < 31; i++)
			(void)load_blob(pack_load_snap, t, s.body[i].data,
			    s.body[i].len);
		if (pack_load_snap(t, c, s.body[31].len, MAX, &cause) == 0)
			all = false;
		free(cause);
		cause = NULL;
		/* The pack stays on snapshot 30. */
		if (pack_pprof(t, false, &out, &len, &cause) == 0) {
			all &= same_profile(in[30], inlen[30], out, len,
			    "after corruption");
			free(out);
		} else
			all = false;
		free(c);
		pack_free(t);
	}
	ok(all, "each of the %zu bytes of a body flipped: refused, and the "
	    "pack stays as it was", s.body[31].len);
	all = true;
	for (j = 0; j < s.dict[0].len; j += 1 + s.dict[0].len / 300) {
		uint8_t	*c = malloc(s.dict[0].len);
		struct pack *t = pack_new(PACK_LEVEL_DEFAULT);
		struct pack_stats ps;

		memcpy(c, s.dict[0].data, s.dict[0].len);
		c[j] ^= 0x21;
		all &= pack_load_dict(t, c, s.dict[0].len, MAX, &cause) == -1;
		free(cause);
		cause = NULL;
		all &= pack_load_dict(t, c, j, MAX, &cause) == -1;
		free(cause);
		cause = NULL;
		pack_stats(t, &ps);
		all &= ps.strings == 0 && ps.stacks == 0;
		free(c);
		pack_free(t);
	}
	ok(all, "a dictionary blob flipped or cut is refused and adds nothing");
	n = pack_load_dict(r, s.dict[0].data, s.dict[0].len, 100, &cause);
	ok(n == -1 && cause != NULL, "a blob over the size cap is refused: %s",
	    cause);
	free(cause);
	cause = NULL;
	n = pack_load_dict(r, s.body[0].data, s.body[0].len, MAX, &cause);
	free(cause);
	cause = NULL;
	ok(n == -1 && pack_load_snap(r, s.dict[0].data, s.dict[0].len, MAX,
	    &cause) == -1, "a body is no dictionary, nor the reverse");
	free(cause);

	for (i = 0; i < s.ndict; i++)
		free(s.dict[i].data);
	for (i = 0; i < s.nbody; i++)
		free(s.body[i].data);
	for (n = 0; n < 40; n++)
		free(in[n]);
	pack_free(r);
	pack_free(w);
	return true;
}

/* Malformed profiles are refused and leave the pack as it was. */
static void
bad_input(void)
{
	struct pack	*w = pack_new(PACK_LEVEL_DEFAULT);
	struct pack_blob dict, body;
	struct pack_stats a, b;
	uint8_t		*in, *gz, *c;
	size_t		 len, gzlen, i;
	char		*cause = NULL;
	void		*out;
	size_t		 outlen;
	int		 refused = 0, tries = 0, rc;
	bool		 kept = true;

	in = gen(1, &len, false);
	ok(pack_encode(w, in, len, MAX, false, &dict, &body, &cause) == 0,
	    "a first snapshot");
	free(dict.data);
	free(body.data);
	pack_stats(w, &a);
	c = malloc(len);
	for (i = 0; i < len; i += 3) {
		memcpy(c, in, len);
		c[i] ^= 0xff;
		tries++;
		if (pack_encode(w, c, len, MAX, false, &dict, &body,
		    &cause) == -1) {
			refused++;
			free(cause);
			cause = NULL;
			pack_stats(w, &b);
			kept &= memcmp(&a, &b, sizeof a) == 0;
			continue;
		}
		/* Accepted: it must read back as itself. */
		free(dict.data);
		free(body.data);
		if (pack_pprof(w, false, &out, &outlen, &cause) == 0) {
			kept &= same_profile(c, len, out, outlen, "mangled");
			free(out);
		}
		pack_stats(w, &a);
	}
	ok(refused > 0 && kept, "%d of %d mangled profiles refused, each "
	    "leaving the pack as it was; the others read back as given",
	    refused, tries);
	rc = pack_encode(w, in, len / 2, MAX, false, &dict, &body, &cause);
	ok(rc == -1 && cause != NULL, "a truncated profile is refused: %s",
	    cause);
	free(cause);
	cause = NULL;
	gz = pb_gzip(in, len, &gzlen);
	rc = pack_encode(w, gz, gzlen - 9, MAX, false, &dict, &body, &cause);
	ok(rc == -1 && cause != NULL, "a truncated gzip stream is refused: %s",
	    cause);
	free(cause);
	cause = NULL;
	rc = pack_encode(w, gz, gzlen, len - 1, false, &dict, &body, &cause);
	ok(rc == -1 && cause != NULL,
	    "a profile inflating past the cap is refused: %s", cause);
	free(cause);
	cause = NULL;
	ok(pack_encode(w, gz, gzlen, MAX, false, &dict, &body, &cause) == 0,
	    "and the pack goes on with a good one");
	free(dict.data);
	free(body.data);
	free(gz);
	free(c);
	free(in);
	pack_free(w);
}

/* The small test profile and its labels, through pack and back. */
static void
small(void)
{
	struct pack	*w = pack_new(1);
	struct pb	*b = pb_small();
	struct pack_blob dict, body;
	uint8_t		*in;
	void		*out;
	size_t		 len, outlen;
	char		*cause = NULL;

	b->p.n_comment = 0;
	in = pb_pack(b, &len);
	ok(pack_encode(w, in, len, MAX, false, &dict, &body, &cause) == 0 &&
	    pack_pprof(w, true, &out, &outlen, &cause) == 0,
	    "the small profile packs");
	ok(same_profile(in, len, out, outlen, "small"),
	    "and comes back as given, labels and all");
	free(out);
	free(dict.data);
	free(body.data);
	free(in);
	free(b);
	pack_free(w);
}

/*
 * A profile of nstk new stacks over as many new functions and locations,
 * all after gen(0)'s; with bad, its last sample names a location that is
 * not there, found once everything else is in the tables.
 */
static uint8_t *
gen_wide(int nstk, bool bad, size_t *len)
{
	struct pb	*b = pb_heap();
	uint64_t	 m, f, l, prev = 0;
	uint8_t		*out;
	char		 name[32];
	int		 i;

	m = pb_mapping(b, 0x400000, 0x9ff000, "/usr/bin/wide");
	for (i = 0; i < nstk; i++) {
		snprintf(name, sizeof name, "main.wide%d", i);
		f = pb_func(b, name, "/src/wide.go");
		l = pb_loc(b, m, 0x500000 + 16 * (uint64_t)i, 1, f,
		    (int64_t)i + 1);
		pb_sample(b, 2, l, prev != 0 ? prev : l, (int64_t)i + 1,
		    (int64_t)i * 64, (int64_t)1, (int64_t)64);
		prev = l;
	}
	if (bad)
		pb_sample(b, 2, prev, (uint64_t)999999, (int64_t)1,
		    (int64_t)2, (int64_t)3, (int64_t)4);
	b->p.default_sample_type = pb_str(b, "inuse_space");
	out = pb_pack(b, len);
	free(b);
	return out;
}

/*
 * A sample found malformed once the profile's strings, functions,
 * locations and most of its stacks are interned (hundreds of new
 * entries, the tables and their indexes grown) takes all of them back.
 */
static void
late_error(void)
{
	struct pack	*w = pack_new(PACK_LEVEL_DEFAULT);
	struct pack_blob dict, body;
	struct pack_stats a, b;
	uint8_t		*in, *bad, *good;
	size_t		 len, badlen, goodlen, outlen;
	char		*cause = NULL;
	void		*out;
	int		 rc;

	in = gen(0, &len, false);
	ok(pack_encode(w, in, len, MAX, false, &dict, &body, &cause) == 0,
	    "a first snapshot of a few stacks");
	free(dict.data);
	free(body.data);
	pack_stats(w, &a);
	bad = gen_wide(200, true, &badlen);
	rc = pack_encode(w, bad, badlen, MAX, false, &dict, &body, &cause);
	pack_stats(w, &b);
	ok(rc == -1 && cause != NULL && strstr(cause, "missing id") != NULL,
	    "200 new stacks then a sample of a missing location: %s",
	    cause);
	ok(memcmp(&a, &b, sizeof a) == 0 && b.stacks == a.stacks &&
	    b.strings == a.strings, "the tables are as they were: %u "
	    "stacks, %u strings, %zu bytes held", b.stacks, b.strings,
	    b.held);
	free(cause);
	cause = NULL;
	good = gen_wide(200, false, &goodlen);
	rc = pack_encode(w, good, goodlen, MAX, false, &dict, &body, &cause);
	if (rc == 0) {
		free(dict.data);
		free(body.data);
	}
	ok(rc == 0 && pack_pprof(w, false, &out, &outlen, &cause) == 0 &&
	    same_profile(good, goodlen, out, outlen, "wide"),
	    "the same without the bad sample packs and reads back");
	if (rc == 0)
		free(out);
	pack_stats(w, &b);
	ok(b.stacks == a.stacks + 200, "with its 200 stacks once: %u",
	    b.stacks);
	free(in);
	free(bad);
	free(good);
	pack_free(w);
}

/*
 * A profile of the three stacks {a b}, {b c} and {c a} over locations
 * made in the order given by perm (a permutation of 0 1 2, then a fourth
 * location d), so that the same ids in a sample mean other code in
 * another profile; with twist, the second sample's stack is {b d} and
 * the third has a label.
 */
static uint8_t *
gen_perm(const int *perm, bool twist, size_t *len)
{
	struct pb	*b = pb_heap();
	uint64_t	 m, f[4], l[4];
	uint8_t		*out;
	char		 name[32];
	int		 i;

	m = pb_mapping(b, 0x400000, 0x9ff000, "/usr/bin/perm");
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof name, "main.perm%d", i);
		f[i] = pb_func(b, name, "/src/perm.go");
	}
	for (i = 0; i < 3; i++)
		l[perm[i]] = pb_loc(b, m, 0x401000 + 64 * (uint64_t)perm[i],
		    1, f[perm[i]], (int64_t)perm[i] + 1);
	l[3] = pb_loc(b, m, 0x402000, 1, f[3], (int64_t)40);
	pb_sample(b, 2, l[0], l[1], (int64_t)1, (int64_t)10, (int64_t)1,
	    (int64_t)10);
	pb_sample(b, 2, l[1], twist ? l[3] : l[2], (int64_t)2, (int64_t)20,
	    (int64_t)2, (int64_t)20);
	pb_sample(b, 2, l[2], l[0], (int64_t)3, (int64_t)30, (int64_t)3,
	    (int64_t)30);
	if (twist)
		pb_label(b, "pool", "odd", 0, NULL);
	b->p.default_sample_type = pb_str(b, "inuse_space");
	out = pb_pack(b, len);
	free(b);
	return out;
}

/*
 * Whether a reader given the dictionary's nd blobs (empty ones passed
 * by), then the bodies from..to-1, makes each of those profiles as
 * received (in, inlen).
 */
static bool
reader_gives(const struct pack_blob *dict, size_t nd,
    const struct pack_blob *body, size_t from, size_t to, uint8_t *const *in,
    const size_t *inlen)
{
	struct pack	*r = pack_new(PACK_LEVEL_DEFAULT);
	void		*out;
	size_t		 i, len;
	char		*cause = NULL, what[32];
	bool		 all = true;

	for (i = 0; i < nd && all; i++)
		all = dict[i].len == 0 || pack_load_dict(r, dict[i].data,
		    dict[i].len, MAX, &cause) == 0;
	for (i = from; i < to && all; i++) {
		if (pack_load_snap(r, body[i].data, body[i].len, MAX,
		    &cause) == -1 || pack_pprof(r, true, &out, &len,
		    &cause) == -1) {
			all = false;
			break;
		}
		snprintf(what, sizeof what, "reader %zu", i);
		all = same_profile(in[i], inlen[i], out, len, what);
		free(out);
	}
	if (cause != NULL)
		printf("# %s\n", cause);
	free(cause);
	pack_free(r);
	return all;
}

/*
 * A sample's stack is first compared with the one the last profile had
 * at the same place: one that changed there, or whose ids mean other
 * locations, or that gained a label, must be told apart, by the writer
 * and by a reader of the blobs.
 */
static void
same_place(void)
{
	static const int perm[][3] = {
		{ 0, 1, 2 }, { 0, 1, 2 }, { 1, 0, 2 }, { 2, 0, 1 },
		{ 0, 1, 2 }, { 0, 1, 2 }
	};
	static const bool twist[] = { false, true, false, true, false,
	    false };
	struct pack	*w = pack_new(PACK_LEVEL_DEFAULT);
	struct pack_blob dict[6], body[6];
	uint8_t		*in[6];
	size_t		 inlen[6], len, i, nd = 0;
	void		*out;
	char		*cause = NULL, what[32];
	bool		 all = true;

	for (i = 0; i < 6; i++) {
		in[i] = gen_perm(perm[i], twist[i], &inlen[i]);
		if (pack_encode(w, in[i], inlen[i], MAX, false, &dict[nd],
		    &body[i], &cause) == -1 ||
		    pack_pprof(w, false, &out, &len, &cause) == -1) {
			printf("# %zu: %s\n", i, cause);
			free(cause);
			pack_free(w);
			ok(false, "six profiles of stacks that move pack");
			return;
		}
		if (dict[nd].len > 0)
			nd++;
		snprintf(what, sizeof what, "writer %zu", i);
		all &= same_profile(in[i], inlen[i], out, len, what);
		free(out);
	}
	ok(all, "stacks changed in place, renumbered or labelled come back "
	    "from the writer as received");
	ok(reader_gives(dict, nd, body, 0, 6, in, inlen),
	    "and from the blobs");
	for (i = 0; i < nd; i++)
		free(dict[i].data);
	for (i = 0; i < 6; i++) {
		free(body[i].data);
		free(in[i]);
	}
	free(cause);
	pack_free(w);
}

/*
 * The nth of a run of profiles of 200 new locations each, whose ids in a
 * sample take one, two and three bytes (1 to 100, 200 and up by 37,
 * 26,480 and up), so that after 82 of them the dictionary's location ids
 * take three bytes too.
 */
static uint8_t *
gen_ids(int n, size_t *len)
{
	struct pb	*b = pb_heap();
	uint64_t	 m, f[40], l[200];
	uint8_t		*out;
	char		 name[32];
	int		 i;

	m = pb_mapping(b, 0x400000, 0x9ff000, "/usr/bin/ids");
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof name, "main.ids%d", i);
		f[i] = pb_func(b, name, "/src/ids.go");
	}
	for (i = 0; i < 200; i++) {
		pb_loc(b, m, 0x500000 + 16 * (uint64_t)(n * 200 + i), 1,
		    f[i % 40], (int64_t)i + 1);
		l[i] = i < 100 ? (uint64_t)i + 1 : i < 180 ?
		    200 + 37 * (uint64_t)i : 20000 + 32 * (uint64_t)i;
		b->l[i].id = l[i];
	}
	for (i = 0; i < 200; i++)
		pb_sample(b, 3, l[i], l[(i * 7 + 3) % 200],
		    l[(i * 13 + 5) % 200], (int64_t)i + 1, (int64_t)n * i,
		    (int64_t)1, (int64_t)64);
	b->p.default_sample_type = pb_str(b, "inuse_space");
	out = pb_pack(b, len);
	free(b);
	return out;
}

/* The varint of v at p; its length. */
static size_t
put_varint(uint8_t *p, uint64_t v)
{
	size_t	n = 0;

	for (; v >= 0x80; v >>= 7)
		p[n++] = (uint8_t)(v | 0x80);
	p[n++] = (uint8_t)v;
	return n;
}

/*
 * gen_ids(n) and nextra samples more of 6 frames over its locations,
 * appended as Sample messages (a repeated field may come after the
 * others), so that its samples take some 200 KB, as a large profile's.
 */
static uint8_t	*gen_ids_from(int, int, int, bool, size_t *);

static uint8_t *
gen_ids_big(int n, int nextra, size_t *len)
{
	return gen_ids_from(n, 0, nextra, false, len);
}

/*
 * gen_ids_big()'s samples from the from-th on, each 7th twice when dup
 * is set (two samples of a stack new to the pack).
 */
static uint8_t *
gen_ids_from(int n, int from, int nextra, bool dup, size_t *len)
{
	uint8_t		*base, *out;
	uint64_t	 ids[6], vals[4];
	size_t		 baselen, at;
	int		 k, j, i, twice;

	base = gen_ids(n, &baselen);
	out = malloc(baselen + (size_t)nextra * 2 * 160);
	memcpy(out, base, baselen);
	at = baselen;
	for (k = from; k < from + nextra; k++)
	    for (twice = 0; twice < (dup && k % 7 == 0 ? 2 : 1); twice++) {
		for (j = 0; j < 6; j++) {
			i = (k * (2 * j + 3) + j + k / 200) % 200;
			ids[j] = i < 100 ? (uint64_t)i + 1 : i < 180 ?
			    200 + 37 * (uint64_t)i : 20000 + 32 * (uint64_t)i;
		}
		vals[0] = (uint64_t)k + 1;
		vals[1] = (uint64_t)k * 3 + n;
		vals[2] = 1;
		vals[3] = 64;
		at += pb_wr_sample(out + at, ids, 6, vals, 4);
	}
	free(base);
	*len = at;
	return out;
}

/*
 * Location ids of every length a varint of a sample takes, to entries of
 * every length the dictionary gives them, read back as received.
 */
static void
wide_ids(void)
{
	struct pack	*w = pack_new(PACK_LEVEL_DEFAULT);
	struct pack_blob dict[90], body[90];
	struct pack_stats st;
	uint8_t		*in[90];
	size_t		 inlen[90], len, i;
	void		*out;
	char		*cause = NULL, what[32];
	bool		 all = true;

	for (i = 0; i < 90; i++) {
		in[i] = gen_ids((int)i, &inlen[i]);
		if (pack_encode(w, in[i], inlen[i], MAX, i % 30 == 0,
		    &dict[i], &body[i], &cause) == -1 ||
		    pack_pprof(w, false, &out, &len, &cause) == -1) {
			printf("# %zu: %s\n", i, cause);
			free(cause);
			pack_free(w);
			ok(false, "90 profiles of 200 new locations pack");
			return;
		}
		snprintf(what, sizeof what, "writer %zu", i);
		all &= same_profile(in[i], inlen[i], out, len, what);
		free(out);
	}
	pack_stats(w, &st);
	ok(all && st.locations == 18000, "ids of 1, 2 and 3 bytes come back "
	    "from the writer as received, %u locations", st.locations);
	ok(reader_gives(dict, 90, body, 60, 90, in, inlen),
	    "and from the blobs");
	for (i = 0; i < 90; i++) {
		free(dict[i].data);
		free(body[i].data);
		free(in[i]);
	}

	/* The same for samples of 200 KB. */
	all = true;
	for (i = 0; i < 6; i++) {
		in[0] = gen_ids_big(90 + (int)i, 9000, &inlen[0]);
		if (pack_encode(w, in[0], inlen[0], MAX, false, &dict[0],
		    &body[0], &cause) == -1 ||
		    pack_pprof(w, false, &out, &len, &cause) == -1) {
			printf("# big %zu: %s\n", i, cause);
			free(in[0]);
			all = false;
			break;
		}
		snprintf(what, sizeof what, "big %zu", i);
		all &= same_profile(in[0], inlen[0], out, len, what);
		free(out);
		free(dict[0].data);
		free(body[0].data);
		free(in[0]);
	}
	ok(all, "and so do those of samples of 200 KB");
	free(cause);
	pack_free(w);
}

/*
 * Two packs fed the same profiles, one coding each from its protobuf
 * (pack_encode()), the other from profile.c's parse of it, as heapwatchd's
 * worker hands it over (profile_decode_parsed(), pack_encode_parsed()):
 * they must give the same blobs, byte for byte, or both refuse the
 * profile and stay as they were.
 */
struct twin {
	struct pack	*a, *b;
	int		 coded, refused, differ;
	int		 unparsed;	/* profile.c refused it: not stored */
	bool		 trim;		/* pack_trim() both before each */
};

static void
twin_init(struct twin *tw)
{
	memset(tw, 0, sizeof *tw);
	tw->a = pack_new(PACK_LEVEL_DEFAULT);
	tw->b = pack_new(PACK_LEVEL_DEFAULT);
}

static bool
blob_same(const struct pack_blob *x, const struct pack_blob *y)
{
	return x->len == y->len && (x->len == 0 ||
	    memcmp(x->data, y->data, x->len) == 0);
}

static void
twin_code(struct twin *tw, const void *data, size_t len, bool key,
    const char *what)
{
	struct pack_blob	 da, ba, db, bb;
	struct pack_stats	 sa0, sb0, sa, sb;
	struct profile_raw	*raw = NULL;
	struct profile_view	 v;
	struct profile		*p;
	char			*ca = NULL, *cb = NULL;
	int			 ra, rb;

	p = profile_decode_parsed(data, len, MAX, NULL, &raw, &cb);
	if (p == NULL) {
		tw->unparsed++;
		free(cb);
		return;
	}
	if (tw->trim) {
		pack_trim(tw->a);
		pack_trim(tw->b);
	}
	pack_stats(tw->a, &sa0);
	pack_stats(tw->b, &sb0);
	ra = pack_encode(tw->a, data, len, MAX, key, &da, &ba, &ca);
	profile_raw_view(raw, &v);
	rb = pack_encode_parsed(tw->b, &v, key, &db, &bb, &cb);
	pack_stats(tw->a, &sa);
	pack_stats(tw->b, &sb);
	if (ra == 0 && rb == 0 && blob_same(&da, &db) && blob_same(&ba, &bb))
		tw->coded++;
	else if (ra == -1 && rb == -1 && strcmp(ca, cb) == 0 &&
	    memcmp(&sa0, &sa, sizeof sa) == 0 &&
	    memcmp(&sb0, &sb, sizeof sb) == 0)
		tw->refused++;
	else {
		if (tw->differ++ < 5)
			printf("# %s: from the protobuf %s (%zu + %zu bytes), "
			    "parsed %s (%zu + %zu bytes)\n", what,
			    ra == 0 ? "coded" : ca, da.len, ba.len,
			    rb == 0 ? "coded" : cb, db.len, bb.len);
	}
	if (ra == 0) {
		free(da.data);
		free(ba.data);
	}
	if (rb == 0) {
		free(db.data);
		free(bb.data);
	}
	free(ca);
	free(cb);
	profile_raw_free(raw);
	profile_free(p);
}

static void
twin_free(struct twin *tw)
{
	pack_free(tw->a);
	pack_free(tw->b);
}

/*
 * The nth of a run of profiles with all that a pack keeps and Go's heap
 * profiles mostly leave out: mappings with a build id, an offset and
 * flags that change from one profile to the next; a location without a
 * mapping, folded ones, inlined lines; functions with a start line;
 * labels with a number and its unit, a negative number, neither string
 * nor number; comments, drop and keep frames, a duration; two samples of
 * one stack and labels. Location ids are 1, 2, 3... for n % 3 == 0,
 * shuffled for 1, over 32 bits for 2. With n == 4, the period type
 * comes twice.
 */
static uint8_t *
gen_edge(int n, size_t *len)
{
	struct pb	*b = pb_heap();
	uint64_t	 m[3], f[6], l[8];
	int64_t		 comments[2];
	uint8_t		*raw, *out;
	size_t		 rawlen, i;
	char		 name[6][32];

	m[0] = pb_mapping(b, 0x400000, 0x9ff000, "/usr/bin/edge");
	m[1] = pb_mapping(b, 0x7f0000000000, 0x7f0000100000, "libc.so.6");
	m[2] = pb_mapping(b, 0x7f0000200000, 0x7f0000201000, "[vdso]");
	b->m[0].build_id = pb_str(b, "0123abcd");
	b->m[0].has_filenames = 1;
	b->m[0].has_line_numbers = n % 2;
	b->m[1].file_offset = 0x1000 * (uint64_t)(n % 4);
	b->m[1].has_functions = 0;
	b->m[1].has_inline_frames = n % 3 == 1;
	b->m[2].has_filenames = n >= 3;
	for (i = 0; i < 6; i++) {
		snprintf(name[i], sizeof name[i], "edge.fn%zu", i);
		f[i] = pb_func(b, name[i], i % 2 ? "/src/a.go" : "/src/b.go");
		b->f[i].start_line = (int64_t)(10 * i) - 5;
	}
	b->f[5].system_name = pb_str(b, "edge_fn5_sys");
	for (i = 0; i < 8; i++)
		l[i] = pb_loc(b, i == 7 ? 0 : m[i % 3],
		    0x401000 + 0x40 * (uint64_t)i + (uint64_t)n, 2,
		    f[i % 6], (int64_t)i + 1, f[(i + 1) % 6], (int64_t)-1);
	b->l[3].is_folded = 1;
	b->l[5].is_folded = n % 2 == 0;
	for (i = 0; i < 8; i++) {
		if (n % 3 == 1)
			l[i] = 8 - i;
		else if (n % 3 == 2)
			l[i] = ((uint64_t)1 << 33) + 3 * i;
		b->l[i].id = l[i];
	}
	for (i = 0; i < 12; i++) {
		pb_sample(b, 3, l[i % 8], l[(i + 3) % 8], l[(i * 5 + 1) % 8],
		    (int64_t)i, (int64_t)(n + 1) * 4096, (int64_t)-1,
		    (int64_t)(i * n));
		switch (i % 4) {
		case 0:
			pb_label(b, "bytes", NULL, 1024 * (int64_t)i, "bytes");
			break;
		case 1:
			pb_label(b, "delta", NULL, -7 - n, NULL);
			pb_label(b, "pool", "hot", 0, NULL);
			break;
		case 2:
			pb_label(b, "empty", NULL, 0, NULL);
			pb_label(b, "unit", NULL, 0, "seconds");
			break;
		}
	}
	/* The same stack and labels twice, then with other labels. */
	pb_sample(b, 2, l[1], l[2], (int64_t)1, (int64_t)2, (int64_t)3,
	    (int64_t)4);
	pb_label(b, "pool", "cold", 0, NULL);
	pb_sample(b, 2, l[1], l[2], (int64_t)5, (int64_t)6, (int64_t)7,
	    (int64_t)8);
	pb_label(b, "pool", "cold", 0, NULL);
	pb_sample(b, 2, l[1], l[2], (int64_t)9, (int64_t)9, (int64_t)9,
	    (int64_t)9);
	comments[0] = pb_str(b, "edge comment");
	comments[1] = pb_str(b, n % 2 ? "odd" : "even");
	b->p.comment = comments;
	b->p.n_comment = 2;
	b->p.drop_frames = pb_str(b, "runtime\\..*");
	b->p.keep_frames = pb_str(b, n >= 2 ? "edge\\.fn1" : "");
	b->p.time_nanos = 1700000000000000000LL + (int64_t)n;
	b->p.duration_nanos = 1000000000LL * (n + 1);
	b->p.default_sample_type = pb_str(b, n % 2 ? "inuse_space" :
	    "alloc_space");
	raw = pb_pack(b, &rawlen);
	free(b);
	if (n != 4) {
		*len = rawlen;
		return raw;
	}
	/* Profile.period_type again, setting its type only. */
	out = malloc(rawlen + 4);
	memcpy(out, raw, rawlen);
	out[rawlen] = 0x5a;
	out[rawlen + 1] = 2;
	out[rawlen + 2] = 0x08;
	out[rawlen + 3] = 1;
	free(raw);
	*len = rawlen + 4;
	return out;
}

/*
 * Every profile these tests code, coded again both ways in the same
 * sequences, keys included: the parsed path must give the very blobs of
 * the protobuf path.
 */
static void
parsed_same(void)
{
	static const int perm[][3] = {
		{ 0, 1, 2 }, { 0, 1, 2 }, { 1, 0, 2 }, { 2, 0, 1 },
		{ 0, 1, 2 }, { 0, 1, 2 }
	};
	static const bool twist[] = { false, true, false, true, false,
	    false };
	struct twin	 tw;
	struct pb	*b;
	uint8_t		*in, *c;
	size_t		 len, i;
	char		 what[32];
	int		 n;

	twin_init(&tw);
	for (n = 0; n < 40; n++) {
		in = gen(n, &len, n % 2 == 0);
		snprintf(what, sizeof what, "run %d", n);
		twin_code(&tw, in, len, n == 20, what);
		free(in);
	}
	for (i = 0; i < 6; i++) {
		in = gen_perm(perm[i], twist[i], &len);
		twin_code(&tw, in, len, false, "moved stacks");
		free(in);
	}
	ok(tw.coded == 46 && tw.differ == 0 && tw.unparsed == 0,
	    "a run of heap profiles and one of stacks moved: %d of 46 coded "
	    "the same from the parsed profile", tw.coded);
	twin_free(&tw);

	twin_init(&tw);
	for (n = 0; n < 90; n++) {
		in = gen_ids(n, &len);
		twin_code(&tw, in, len, n % 30 == 0, "ids");
		free(in);
	}
	for (n = 0; n < 3; n++) {
		in = gen_ids_big(90 + n, 9000, &len);
		twin_code(&tw, in, len, false, "ids big");
		free(in);
	}
	in = gen_wide(200, false, &len);
	twin_code(&tw, in, len, false, "wide");
	free(in);
	b = pb_small();
	in = pb_pack(b, &len);
	free(b);
	twin_code(&tw, in, len, false, "small");
	free(in);
	ok(tw.coded == 95 && tw.differ == 0,
	    "ids of 1 to 3 bytes, sparse, samples of 200 KB, 200 new "
	    "stacks, the small profile: %d of 95 the same", tw.coded);
	twin_free(&tw);

	twin_init(&tw);
	for (n = 0; n < 12; n++) {
		in = gen_edge(n, &len);
		snprintf(what, sizeof what, "edge %d", n);
		twin_code(&tw, in, len, n == 8, what);
		free(in);
	}
	/* Profiles without samples that profile.c takes and a pack not. */
	{
		uint8_t	 none[] = { 0x32, 0x00 }, many[5 + 17 * 6];

		twin_code(&tw, none, sizeof none, false, "no sample types");
		memcpy(many, "\x32\x00\x32\x01", 4);
		many[4] = 't';
		for (i = 0; i < 17; i++)
			memcpy(many + 5 + 6 * i,
			    "\x0a\x04\x08\x01\x10\x01", 6);
		twin_code(&tw, many, sizeof many, false, "17 sample types");
	}
	ok(tw.coded == 12 && tw.refused == 2 && tw.differ == 0,
	    "mapping flags, build ids and offsets, labels with units, "
	    "comments, frames, folded and unmapped locations, shuffled and "
	    "64-bit ids, a period type given twice: %d of 12 the same; no "
	    "sample types and 17 refused both ways", tw.coded);

	/*
	 * A mapping whose has_functions comes in encodings no Go writes:
	 * a varint of 10 bytes with only bits past 63 set, one with bit 63
	 * alone, fixed32, fixed64, length-delimited. Both paths must read
	 * it as profile.c does.
	 */
	{
		static const struct {
			uint8_t	 len, b[14];
		} odd[] = {
			{ 13, { 0x08, 0x63, 0x38, 0x80, 0x80, 0x80, 0x80, 0x80,
			    0x80, 0x80, 0x80, 0x80, 0x02 } },
			{ 13, { 0x08, 0x63, 0x38, 0x80, 0x80, 0x80, 0x80, 0x80,
			    0x80, 0x80, 0x80, 0x80, 0x01 } },
			{ 7, { 0x08, 0x63, 0x3d, 0x80, 0x00, 0x00, 0x00 } },
			{ 11, { 0x08, 0x63, 0x39, 0x01, 0x00, 0x00, 0x00, 0x00,
			    0x00, 0x00, 0x00 } },
			{ 5, { 0x08, 0x63, 0x3a, 0x01, 0x00 } },
		};
		struct twin	 to;
		uint8_t		*e;
		size_t		 elen;

		for (i = 0; i < sizeof odd / sizeof odd[0]; i++) {
			twin_init(&to);
			e = gen_edge(0, &elen);
			e = realloc(e, elen + 2 + odd[i].len);
			e[elen] = 0x1a;
			e[elen + 1] = odd[i].len;
			memcpy(e + elen + 2, odd[i].b, odd[i].len);
			snprintf(what, sizeof what, "odd flag %zu", i);
			twin_code(&to, e, elen + 2 + odd[i].len, false, what);
			free(e);
			ok(to.differ == 0 && to.coded + to.refused +
			    to.unparsed == 1, "a mapping flag in odd encoding "
			    "%zu: %s", i, to.differ ? "read otherwise by the "
			    "two paths" : to.coded ? "coded the same both ways" :
			    to.refused ? "refused both ways" : "not taken");
			twin_free(&to);
		}
	}

	/* Profiles mangled byte by byte that profile.c still takes. */
	in = gen(1, &len, false);
	c = malloc(len);
	for (i = 0; i < len; i += 2) {
		memcpy(c, in, len);
		c[i] ^= i % 4 == 0 ? 0xff : 0x01;
		snprintf(what, sizeof what, "mangled at %zu", i);
		twin_code(&tw, c, len, false, what);
	}
	ok(tw.differ == 0 && tw.coded > 12 + 50,
	    "%d mangled profiles that profile.c takes coded the same both "
	    "ways, %d refused both ways (%d not parsed)", tw.coded - 12,
	    tw.refused - 2, tw.unparsed);
	free(c);
	free(in);
	twin_free(&tw);
}

/*
 * The same with both packs trimmed before each profile, as a writer is
 * between two scrapes: its stack index gone, the parsed path looks the
 * stacks that do not follow the last profile's up together, and over
 * 4,096 of them makes the index. New stacks come first, go, come back,
 * come twice in one profile; known ones come out of their order.
 */
static void
parsed_trimmed(void)
{
	struct twin	 tw;
	uint8_t		*in;
	size_t		 len;
	char		 what[32];
	int		 n;

	twin_init(&tw);
	tw.trim = true;
	for (n = 0; n < 30; n++) {
		in = gen(n, &len, false);
		snprintf(what, sizeof what, "trimmed run %d", n);
		twin_code(&tw, in, len, n == 20, what);
		free(in);
	}
	/* 3,000 stacks new, each 7th twice; 2,000 of them, 1,000 new. */
	in = gen_ids_from(90, 0, 3000, true, &len);
	twin_code(&tw, in, len, false, "trimmed 3,000 new");
	free(in);
	in = gen_ids_from(91, 1000, 3000, true, &len);
	twin_code(&tw, in, len, false, "trimmed 1,000 new");
	free(in);
	/* 9,000, 5,000 of them new: the index made; then all as before. */
	for (n = 0; n < 2; n++) {
		in = gen_ids_big(92 + n, 9000, &len);
		twin_code(&tw, in, len, false, "trimmed ids big");
		free(in);
	}
	for (n = 3; n < 6; n++) {
		in = gen(n, &len, false);
		twin_code(&tw, in, len, false, "trimmed run again");
		free(in);
	}
	ok(tw.coded == 37 && tw.differ == 0 && tw.unparsed == 0,
	    "packs trimmed before each profile: %d of 37 coded the same from "
	    "the parsed profile", tw.coded);
	twin_free(&tw);
}

/*
 * pack_encode_repeat() of the current snapshot gives the blobs that
 * pack_encode() of its profile with the new times gives, as a delta and
 * as a key, for a profile with comments, drop and keep frames and
 * mappings in its header after the times (gen_edge()) and for gen()'s;
 * refused, the pack as it was, with no current snapshot.
 */
static void
repeats(void)
{
	struct pack		*a, *b;
	struct pack_blob	 da, ba, db, bb;
	struct pack_stats	 st0, st;
	uint8_t			*p, *q;
	void			*oa, *ob;
	size_t			 plen, qlen, la, lb;
	char			*cause = NULL;
	int			 which, step, differ = 0, rc;
	bool			 key;

	b = pack_new(PACK_LEVEL_DEFAULT);
	pack_stats(b, &st0);
	rc = pack_encode_repeat(b, 1, 2, false, &db, &bb, &cause);
	pack_stats(b, &st);
	ok(rc == -1 && cause != NULL && memcmp(&st0, &st, sizeof st) == 0,
	    "a repeat with no current snapshot is refused: %s", cause);
	free(cause);
	cause = NULL;
	pack_free(b);
	for (which = 0; which < 2; which++) {
		p = which == 0 ? gen_edge(2, &plen) : gen(4, &plen, true);
		a = pack_new(PACK_LEVEL_DEFAULT);
		b = pack_new(PACK_LEVEL_DEFAULT);
		if (pack_encode(a, p, plen, MAX, true, &da, &ba,
		    &cause) == -1 || pack_encode(b, p, plen, MAX, true, &db,
		    &bb, &cause) == -1) {
			ok(0, "repeats: the first coded: %s", cause);
			free(cause);
			free(p);
			pack_free(a);
			pack_free(b);
			return;
		}
		free(da.data);
		free(ba.data);
		free(db.data);
		free(bb.data);
		/* Deltas, a key, and a delta on the key. */
		for (step = 1; step <= 3; step++) {
			key = step == 2;
			q = pb_retime(p, plen, 1800000000000000000LL + step,
			    step == 3 ? 0 : 1000 * step, &qlen);
			if (q == NULL || pack_encode(a, q, qlen, MAX, key, &da,
			    &ba, &cause) == -1 || pack_encode_repeat(b,
			    1800000000000000000LL + step, step == 3 ? 0 :
			    1000 * step, key, &db, &bb, &cause) == -1) {
				printf("# %s\n", cause);
				free(cause);
				cause = NULL;
				differ++;
				free(q);
				continue;
			}
			if (!blob_same(&da, &db) || !blob_same(&ba, &bb)) {
				printf("# %s, step %d: %zu + %zu bytes, not "
				    "%zu + %zu\n", which == 0 ? "edge" : "gen",
				    step, db.len, bb.len, da.len, ba.len);
				differ++;
			}
			free(da.data);
			free(ba.data);
			free(db.data);
			free(bb.data);
			free(q);
		}
		if (pack_pprof(a, false, &oa, &la, &cause) == 0 &&
		    pack_pprof(b, false, &ob, &lb, &cause) == 0) {
			if (la != lb || memcmp(oa, ob, la) != 0)
				differ++;
			free(oa);
			free(ob);
		} else {
			free(cause);
			cause = NULL;
			differ++;
		}
		free(p);
		pack_free(a);
		pack_free(b);
	}
	ok(differ == 0, "repeats give the blobs, and the pprof, of the profile "
	    "coded again with the new times (%d differ)", differ);
}

/*
 * pack_encode_repeat_body() of the current snapshot's body as stored
 * gives what pack_encode_repeat() of a pack holding it gives, for a key,
 * deltas that add, remove and change stacks (gen()'s run) and a repeat's
 * own body; and refuses a body that does not read.
 */
static void
repeat_bodies(void)
{
	struct pack		*a;
	struct pack_blob	 da, ba, bb, last;
	uint8_t			*p;
	size_t			 plen;
	uint64_t		 serial;
	char			*cause = NULL;
	int			 n, i, r, differ = 0, rc;

	for (n = 1; n <= 6; n++) {
		a = pack_new(PACK_LEVEL_DEFAULT);
		memset(&last, 0, sizeof last);
		for (i = 1; i <= n; i++) {
			p = gen(i, &plen, true);
			rc = pack_encode(a, p, plen, MAX, i == 1, &da, &ba,
			    &cause);
			free(p);
			free(da.data);
			free(last.data);
			last = ba;
			if (rc == -1)
				break;
		}
		for (r = 0; r < 2 && rc == 0; r++) {
			if (pack_encode_repeat_body(last.data, last.len, MAX,
			    PACK_LEVEL_DEFAULT, 1800000000000000000LL + r,
			    r == 1 ? 0 : 1000, &bb, &serial, &cause) == -1 ||
			    pack_encode_repeat(a, 1800000000000000000LL + r,
			    r == 1 ? 0 : 1000, false, &da, &ba, &cause) == -1) {
				rc = -1;
				free(bb.data);
				break;
			}
			if (!blob_same(&ba, &bb) || da.len != 0 ||
			    serial != (uint64_t)n + 1 + r) {
				printf("# %d snapshots, repeat %d: %zu bytes, "
				    "not %zu; serial %llu\n", n, r, bb.len,
				    ba.len, (unsigned long long)serial);
				differ++;
			}
			free(da.data);
			free(bb.data);
			free(last.data);
			last = ba;
		}
		if (rc == -1) {
			printf("# %d snapshots: %s\n", n, cause);
			free(cause);
			cause = NULL;
			differ++;
		}
		if (n == 6 && last.len > 4) {
			/* A bit flipped in its zstd frame: refused. */
			last.data[last.len / 2] ^= 0x10;
			rc = pack_encode_repeat_body(last.data, last.len, MAX,
			    PACK_LEVEL_DEFAULT, 1, 2, &bb, &serial, &cause);
			ok(rc == -1 && cause != NULL && bb.data == NULL,
			    "a repeat of a corrupt body is refused: %s", cause);
			free(cause);
			cause = NULL;
		}
		free(last.data);
		pack_free(a);
	}
	ok(differ == 0, "repeats coded from the stored body alone give the "
	    "blobs of a pack holding it (%d differ)", differ);
}

/*
 * The nth of a run of profiles listed as Go lists a heap profile, its
 * newest stack first: 150 stacks and 3 more at each, stack 3n + 1 left
 * out of the nth (it comes back in the next), every third's values
 * growing.
 */
static uint8_t *
gen_newest(int n, size_t *len)
{
	struct pb	*b = pb_heap();
	uint64_t	 m, f[16], l[48];
	uint8_t		*out;
	char		 name[16][32];
	int		 i, nstk = 150 + 3 * n;
	int64_t		 grow;

	m = pb_mapping(b, 0x400000, 0x9ff000, "/usr/bin/newest");
	for (i = 0; i < 16; i++) {
		snprintf(name[i], sizeof name[i], "main.new%d", i);
		f[i] = pb_func(b, name[i], "/src/new.go");
	}
	for (i = 0; i < 48; i++)
		l[i] = pb_loc(b, m, 0x401000 + 64 * (uint64_t)i, 1, f[i % 16],
		    (int64_t)(10 + i));
	for (i = nstk - 1; i >= 0; i--) {
		if (n > 0 && i == 3 * n + 1)
			continue;
		grow = i % 3 == 0 ? (int64_t)n * (i + 1) : 0;
		pb_sample(b, 3, l[i % 40], l[40 + i / 40], l[(i * 7) % 40],
		    (int64_t)(i + 1 + grow), (int64_t)(4096 * (i + 1) + grow),
		    (int64_t)(i + grow / 2), (int64_t)(2048 * i + grow));
	}
	b->p.time_nanos = 1700000000000000000LL + (int64_t)n * 60000000000LL;
	b->p.default_sample_type = pb_str(b, "inuse_space");
	out = pb_pack(b, len);
	free(b);
	return out;
}

/* Read back into a writer the dictionary blobs and the bodies from key. */
static struct pack *
writer_back(const struct pack_blob *dict, size_t nd, const struct pack_blob
    *body, size_t key, size_t nb, int *loaded)
{
	struct pack	*b = pack_new(PACK_LEVEL_DEFAULT);
	size_t		 i;

	pack_will_code(b);
	for (i = 0; i < nd; i++)
		*loaded += load_blob(pack_load_dict, b, dict[i].data,
		    dict[i].len);
	for (i = key; i < nb; i++)
		*loaded += load_blob(pack_load_snap, b, body[i].data,
		    body[i].len);
	return b;
}

/*
 * A writer read back before each profile, as a store's writer is when
 * the writers' budget forgets it between two scrapes (pack_will_code(),
 * the dictionary blobs, the bodies from the last key on), codes it into
 * the very blobs of a writer kept all along; and follows the profile in
 * Go's order, newest stack first, rather than looking each stack up.
 */
static void
read_back(void)
{
	struct pack		*w, *b;
	struct pack_blob	 dict[64], body[64], d, bd;
	struct pack_stats	 st;
	struct profile_raw	*raw;
	struct profile_view	 v;
	struct profile		*p;
	uint8_t			*in;
	size_t			 len, nd, i, key, looked;
	char			*cause = NULL;
	int			 n, run, same, loaded;
	bool			 k;

	for (run = 0; run < 2; run++) {
		w = pack_new(PACK_LEVEL_DEFAULT);
		nd = key = 0;
		same = loaded = 0;
		looked = 0;
		for (n = 0; n < 30; n++) {
			in = run == 0 ? gen(n, &len, false) :
			    gen_newest(n, &len);
			raw = NULL;
			p = profile_decode_parsed(in, len, MAX, NULL, &raw,
			    &cause);
			free(in);
			if (p == NULL)
				break;
			profile_raw_view(raw, &v);
			k = n == 20;
			b = writer_back(dict, nd, body, key, (size_t)n,
			    &loaded);
			if (pack_encode_parsed(w, &v, k, &dict[nd], &body[n],
			    &cause) == -1 || pack_encode_parsed(b, &v, k, &d,
			    &bd, &cause) == -1) {
				profile_raw_free(raw);
				profile_free(p);
				pack_free(b);
				break;
			}
			pack_stats(b, &st);
			if (n > 0 && st.looked > looked)
				looked = st.looked;
			same += blob_same(&dict[nd], &d) &&
			    blob_same(&body[n], &bd);
			if (dict[nd].len > 0)
				nd++;
			if (k)
				key = (size_t)n;
			free(d.data);
			free(bd.data);
			pack_free(b);
			profile_raw_free(raw);
			profile_free(p);
		}
		if (run == 0)
			ok(same == 30 && loaded > 30 * 4,
			    "a writer read back before each of 30 profiles "
			    "codes the blobs of one kept: %d the same", same);
		else
			ok(same == 30 && looked <= 8,
			    "and of 30 listed newest first: %d the same, at "
			    "most %zu of some 150-240 stacks looked up, the "
			    "rest followed", same, looked);
		if (cause != NULL)
			printf("# %s\n", cause);
		free(cause);
		cause = NULL;
		for (i = 0; i < nd; i++)
			free(dict[i].data);
		for (i = 0; i < (size_t)n; i++)
			free(body[i].data);
		pack_free(w);
	}
}

/*
 * A writer read back whose first snapshot is a repeat of the last, then
 * trimmed (as a store's is after each put), follows the next profile in
 * Go's order as one that coded a profile first does: pack_trim() drops
 * what its order is seeded from, so that the repeat seeds it. The blobs
 * are those of a writer kept all along.
 */
static void
read_back_repeat(void)
{
	struct pack		*w, *b;
	struct pack_blob	 dict[64], body[64], d, bd;
	struct pack_stats	 st;
	struct profile_raw	*raw;
	struct profile_view	 v;
	struct profile		*p;
	uint8_t			*in;
	size_t			 len, nd = 0, nb = 0, i, looked = 0;
	int64_t			 t;
	char			*cause = NULL;
	int			 n, same = 0, loaded = 0, m = 16;
	bool			 fail = false;

	w = pack_new(PACK_LEVEL_DEFAULT);
	for (n = 0; n < m && !fail; n++) {
		in = gen_newest(n, &len);
		raw = NULL;
		p = profile_decode_parsed(in, len, MAX, NULL, &raw, &cause);
		free(in);
		if (p == NULL)
			break;
		profile_raw_view(raw, &v);
		b = NULL;
		if (n > 0) {
			/* The last profile again 30 s on, then trimmed. */
			b = writer_back(dict, nd, body, 0, nb, &loaded);
			t = 1700000000000000000LL + (int64_t)(n - 1) *
			    60000000000LL + 30000000000LL;
			if (pack_encode_repeat(w, t, 0, false, &dict[nd],
			    &body[nb], &cause) == -1 ||
			    pack_encode_repeat(b, t, 0, false, &d, &bd,
			    &cause) == -1)
				fail = true;
			else {
				same += blob_same(&dict[nd], &d) &&
				    blob_same(&body[nb], &bd);
				if (dict[nd].len > 0)
					nd++;
				nb++;
				free(d.data);
				free(bd.data);
				pack_trim(b);
			}
		}
		if (!fail && (pack_encode_parsed(w, &v, n == 0, &dict[nd],
		    &body[nb], &cause) == -1 || (b != NULL &&
		    pack_encode_parsed(b, &v, false, &d, &bd, &cause) == -1)))
			fail = true;
		else if (!fail && b != NULL) {
			pack_stats(b, &st);
			if (st.looked > looked)
				looked = st.looked;
			same += blob_same(&dict[nd], &d) &&
			    blob_same(&body[nb], &bd);
			free(d.data);
			free(bd.data);
		}
		if (!fail) {
			if (dict[nd].len > 0)
				nd++;
			nb++;
		}
		pack_free(b);
		profile_raw_free(raw);
		profile_free(p);
	}
	ok(same == 2 * (m - 1) && loaded > 0 && looked <= 8,
	    "a writer read back, its first snapshot a repeat, then trimmed, "
	    "follows the next profile: %d of %d the same, at most %zu "
	    "stacks looked up", same, 2 * (m - 1), looked);
	if (cause != NULL)
		printf("# %s\n", cause);
	free(cause);
	for (i = 0; i < nd; i++)
		free(dict[i].data);
	for (i = 0; i < nb; i++)
		free(body[i].data);
	pack_free(w);
}

/*
 * A body whose frame is whole but whose values do not read (a byte past
 * them), on a snapshot it would change in place (nothing added, nothing
 * removed), is refused with the pack as it was.
 */
static void
body_values_bad(void)
{
	struct pack	*w = pack_new(PACK_LEVEL_DEFAULT), *r;
	struct pack_blob dict[8], body[3];
	ZSTD_CCtx	*cc;
	uint8_t		*in[3], *raw, *bad;
	size_t		 inlen[3], nd = 0, rawlen, badlen, len;
	void		*out;
	char		*cause = NULL;
	bool		 refused, kept = false;
	int		 n;

	for (n = 0; n < 3; n++) {
		in[n] = gen(30 + n, &inlen[n], false);
		if (pack_encode(w, in[n], inlen[n], MAX, n == 0, &dict[nd],
		    &body[n], &cause) == -1)
			return;
		if (dict[nd].len > 0)
			nd++;
	}
	/* The last body, inflated, a byte added, deflated again. */
	rawlen = ZSTD_getFrameContentSize(body[2].data + 2, body[2].len - 2);
	raw = malloc(rawlen + 1);
	(void)ZSTD_decompress(raw, rawlen, body[2].data + 2, body[2].len - 2);
	raw[rawlen++] = 0;
	bad = malloc(ZSTD_compressBound(rawlen) + 2);
	memcpy(bad, body[2].data, 2);
	cc = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
	badlen = ZSTD_compress2(cc, bad + 2, ZSTD_compressBound(rawlen), raw,
	    rawlen) + 2;
	ZSTD_freeCCtx(cc);

	r = pack_new(PACK_LEVEL_DEFAULT);
	for (n = 0; n < (int)nd; n++)
		(void)load_blob(pack_load_dict, r, dict[n].data, dict[n].len);
	for (n = 0; n < 2; n++)
		(void)load_blob(pack_load_snap, r, body[n].data, body[n].len);
	refused = pack_load_snap(r, bad, badlen, MAX, &cause) == -1;
	if (pack_pprof(r, false, &out, &len, &cause) == 0) {
		kept = same_profile(in[1], inlen[1], out, len, "bad values");
		free(out);
	}
	ok(refused && kept, "a body whose values do not read is refused, "
	    "the snapshot it would change as it was: %s", cause);
	free(cause);
	free(raw);
	free(bad);
	for (n = 0; n < (int)nd; n++)
		free(dict[n].data);
	for (n = 0; n < 3; n++) {
		free(body[n].data);
		free(in[n]);
	}
	pack_free(r);
	pack_free(w);
}

/*
 * A blob tagged and versioned as like is, holding raw[0..len) in a whole
 * zstd frame with its checksum: what it says is wrong, not its bytes.
 */
static struct pack_blob
blob_like(const struct pack_blob *like, const uint8_t *raw, size_t len)
{
	struct pack_blob b;
	ZSTD_CCtx	*cc = ZSTD_createCCtx();
	size_t		 cap = ZSTD_compressBound(len) + 2;

	b.data = malloc(cap);
	memcpy(b.data, like->data, 2);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
	b.len = ZSTD_compress2(cc, b.data + 2, cap - 2, raw, len) + 2;
	ZSTD_freeCCtx(cc);
	return b;
}

/* The varint at *p, before end; *p past it. */
static uint64_t
get_varint(const uint8_t **p, const uint8_t *end)
{
	uint64_t	v = 0;
	unsigned int	sh;

	for (sh = 0; *p < end && sh < 64; sh += 7) {
		v |= (uint64_t)(**p & 0x7f) << sh;
		if ((*(*p)++ & 0x80) == 0)
			break;
	}
	return v;
}

/* Whether a pack's current snapshot is the profile in[0..len). */
static bool
pack_gives(struct pack *pk, const uint8_t *in, size_t len, const char *what)
{
	void	*out;
	size_t	 outlen;
	char	*cause = NULL;
	bool	 same = false;

	if (pack_pprof(pk, false, &out, &outlen, &cause) == 0) {
		same = same_profile(in, len, out, outlen, what);
		free(out);
	} else
		printf("# %s: %s\n", what, cause);
	free(cause);
	return same;
}

static uint8_t *
gen_plain(int n, size_t *len)
{
	return gen(n, len, false);
}

/*
 * A dictionary blob adding one stack, of the single location id (in a
 * varint of as many bytes as it takes), and no labels: nothing else.
 */
static struct pack_blob
dict_one_stack(const struct pack_blob *like, uint32_t id, size_t *idlen)
{
	uint8_t	 raw[32];
	size_t	 n = 0;

	raw[n++] = 0;		/* strings */
	raw[n++] = 0;		/* mappings */
	raw[n++] = 0;		/* functions */
	raw[n++] = 0;		/* locations */
	raw[n++] = 1;		/* stacks */
	*idlen = put_varint(raw + n + 2, id);
	raw[n++] = (uint8_t)(*idlen + 2);	/* the entry's length */
	raw[n++] = 1;		/* its location ids */
	n += *idlen;
	raw[n++] = 0;		/* its labels */
	return blob_like(like, raw, n);
}

/*
 * A dictionary blob whose frame is whole but whose one stack refers to
 * the first location id the pack does not have, its varint of idbytes
 * bytes, is refused with the pack as it was (it reads the same profile,
 * then loads the next blobs and reads theirs); the same stack of the
 * last location id is taken. m profiles of make, a key each keyevery.
 */
static void
dict_id_past(const char *what, uint8_t *(*make)(int, size_t *), int m,
    int keyevery, size_t idbytes)
{
	struct pack	*w = pack_new(PACK_LEVEL_DEFAULT), *r;
	struct pack_blob dict[90], body[90], bad, good;
	struct pack_stats st;
	uint8_t		*in[90];
	size_t		 inlen[90], idlen = 0, goodlen = 0;
	char		*cause = NULL, *why = NULL;
	bool		 refused = false, kept = false, taken = false;
	uint32_t	 lim = 0;
	int		 n, key = 0, made;

	for (made = 0; made < m; made++) {
		in[made] = make(made, &inlen[made]);
		if (pack_encode(w, in[made], inlen[made], MAX,
		    made % keyevery == 0, &dict[made], &body[made],
		    &cause) == -1) {
			free(in[made]);
			break;
		}
		if (made % keyevery == 0 && made < m - 1)
			key = made;
	}
	r = pack_new(PACK_LEVEL_DEFAULT);
	if (made == m) {
		for (n = 0; n < m - 1; n++)
			if (dict[n].len > 0)
				(void)load_blob(pack_load_dict, r, dict[n].data,
				    dict[n].len);
		for (n = key; n < m - 1; n++)
			(void)load_blob(pack_load_snap, r, body[n].data,
			    body[n].len);
		pack_stats(r, &st);
		lim = st.locations;
		bad = dict_one_stack(&dict[0], lim, &idlen);
		refused = pack_load_dict(r, bad.data, bad.len, MAX,
		    &why) == -1;
		free(bad.data);
		kept = pack_gives(r, in[m - 2], inlen[m - 2], what);
		if (dict[m - 1].len > 0)
			(void)load_blob(pack_load_dict, r, dict[m - 1].data,
			    dict[m - 1].len);
		(void)load_blob(pack_load_snap, r, body[m - 1].data,
		    body[m - 1].len);
		kept &= pack_gives(r, in[m - 1], inlen[m - 1], what);
		pack_stats(r, &st);
		good = dict_one_stack(&dict[0], st.locations - 1, &goodlen);
		taken = pack_load_dict(r, good.data, good.len, MAX,
		    &cause) == 0;
		free(good.data);
	}
	ok(refused && kept && taken && idlen == idbytes,
	    "a dictionary's stack of location id %u (of %zu bytes), the "
	    "first missing, is refused, the pack as it was; one of the last "
	    "taken: %s: %s", lim, idlen, what,
	    why != NULL ? why : "taken");
	free(why);
	free(cause);
	for (n = 0; n < made; n++) {
		free(dict[n].data);
		free(body[n].data);
		free(in[n]);
	}
	pack_free(r);
	pack_free(w);
}

static void
dict_ids_bad(void)
{
	dict_id_past("24 locations", gen_plain, 3, 100, 1);
	/* 82 profiles of 200 locations: 16,400, past 2^14. */
	dict_id_past("16,400 locations", gen_ids, 83, 30, 3);
}

/* A body as pack_put_body() writes it, inflated and read. */
struct body {
	uint8_t		*raw;
	size_t		 len;
	uint64_t	 serial, base;
	const uint8_t	*hdr;
	size_t		 hdrlen;
	uint32_t	*ids[2];	/* removed, added */
	size_t		 nids[2];
};

static void
body_read(const struct pack_blob *b, struct body *o)
{
	const uint8_t	*p, *e;
	uint64_t	 last;
	size_t		 i;
	int		 k;

	o->len = ZSTD_getFrameContentSize(b->data + 2, b->len - 2);
	o->raw = malloc(o->len + 1);
	(void)ZSTD_decompress(o->raw, o->len, b->data + 2, b->len - 2);
	p = o->raw;
	e = o->raw + o->len;
	o->serial = get_varint(&p, e);
	o->base = get_varint(&p, e);
	o->hdrlen = get_varint(&p, e);
	o->hdr = p;
	p += o->hdrlen;
	for (k = 0; k < 2; k++) {
		o->nids[k] = get_varint(&p, e);
		o->ids[k] = calloc(o->nids[k] + 1, sizeof *o->ids[k]);
		for (i = 0, last = 0; i < o->nids[k]; i++) {
			o->ids[k][i] = (uint32_t)(last + get_varint(&p, e));
			last = (uint64_t)o->ids[k][i] + 1;
		}
	}
}

static void
body_done(struct body *o)
{
	free(o->raw);
	free(o->ids[0]);
	free(o->ids[1]);
}

/*
 * A body of serial, coded against base, with the header hdr, removing
 * the stack rm and adding add (UINT32_MAX: none), and values that are
 * a run of z stacks unchanged, then, when one is set, the nt deltas of
 * one stack, each 0: a pack that took a run past its last stack would
 * then write past its values without changing a byte, so that the test
 * says so rather than the heap breaking.
 */
static struct pack_blob
body_make(const struct pack_blob *like, uint64_t serial, uint64_t base,
    const uint8_t *hdr, size_t hdrlen, uint32_t rm, uint32_t add,
    uint64_t z, bool one, size_t nt)
{
	struct pack_blob b;
	uint8_t		*raw = malloc(hdrlen + 80 + nt);
	size_t		 n = 0, t;

	n += put_varint(raw + n, serial);
	n += put_varint(raw + n, base);
	n += put_varint(raw + n, hdrlen);
	memcpy(raw + n, hdr, hdrlen);
	n += hdrlen;
	raw[n++] = rm != UINT32_MAX;
	if (rm != UINT32_MAX)
		n += put_varint(raw + n, rm);
	raw[n++] = add != UINT32_MAX;
	if (add != UINT32_MAX)
		n += put_varint(raw + n, add);
	if (z > 0)
		n += put_varint(raw + n, z);
	for (t = 0; one && t < nt; t++)
		raw[n++] = 0;
	b = blob_like(like, raw, n);
	free(raw);
	return b;
}

/*
 * Bodies whose frames are whole but whose stacks or runs do not fit the
 * snapshot they are coded against (of gen(5), after gen(3) and gen(4),
 * which lacks a stack of theirs): a run one past the last stack, in place
 * and merged; the removal of a stack it does not have; the addition of
 * one it has. Each is refused with the pack as it was: it reads gen(5),
 * then takes gen(6)'s body. A stack both removed and added keeps its
 * values, as pack_snap_merge() has it.
 */
static void
body_stacks_bad(void)
{
	struct pack	*w = pack_new(PACK_LEVEL_DEFAULT), *r;
	struct pack_blob dict[4], body[4], bad;
	struct pack_stats st;
	struct body	 bd[4];
	uint8_t		*in[4];
	size_t		 inlen[4], nd[4], i, k, n, ncur = 0, nt;
	bool		*cur = NULL, refused, kept, sane;
	uint32_t	 absent = UINT32_MAX, present = UINT32_MAX, nst, last;
	char		*cause = NULL, *why = NULL;
	const char	*what;
	int		 c, done = 0;

	for (n = 0, k = 0; n < 4; n++) {
		in[n] = gen(3 + (int)n, &inlen[n], false);
		if (pack_encode(w, in[n], inlen[n], MAX, n == 0, &dict[k],
		    &body[n], &cause) == -1) {
			printf("# %s\n", cause);
			ok(false, "the bodies for bad stacks are coded");
			return;
		}
		if (dict[k].len > 0)
			k++;
		nd[n] = k;
		body_read(&body[n], &bd[n]);
	}
	/* The stacks of gen(5)'s snapshot, from the bodies. */
	pack_stats(w, &st);
	nst = st.stacks;
	cur = calloc(nst + 1, sizeof *cur);
	for (n = 0; n < 3; n++)
		for (k = 0; k < 2; k++)
			for (i = 0; i < bd[n].nids[k]; i++)
				if (bd[n].ids[k][i] < nst)
					cur[bd[n].ids[k][i]] = k == 1;
	for (i = 0, last = 0; i < nst; i++)
		if (cur[i]) {
			ncur++;
			last = (uint32_t)i;
		}
	for (i = 0; i < last; i++) {
		if (!cur[i] && absent == UINT32_MAX)
			absent = (uint32_t)i;
		if (cur[i] && present == UINT32_MAX && ncur / 2 <= i)
			present = (uint32_t)i;
	}
	nt = bd[2].hdr[0];	/* the header's first varint, at most 16 */
	sane = absent != UINT32_MAX && present != UINT32_MAX && nt == 4;

	for (c = 0; sane && c < 5; c++) {
		switch (c) {
		case 0:
			what = "a run one past the end, in place";
			bad = body_make(&body[3], bd[3].serial, bd[3].base,
			    bd[3].hdr, bd[3].hdrlen, UINT32_MAX, UINT32_MAX,
			    ncur + 1, true, nt);
			break;
		case 1:
			what = "a run one past the end, merged";
			bad = body_make(&body[3], bd[3].serial, bd[3].base,
			    bd[3].hdr, bd[3].hdrlen, present, present,
			    ncur + 1, true, nt);
			break;
		case 2:
			what = "the removal of a stack not there";
			bad = body_make(&body[3], bd[3].serial, bd[3].base,
			    bd[3].hdr, bd[3].hdrlen, absent, UINT32_MAX,
			    ncur - 1, false, nt);
			break;
		case 3:
			what = "the addition of a stack there";
			bad = body_make(&body[3], bd[3].serial, bd[3].base,
			    bd[3].hdr, bd[3].hdrlen, UINT32_MAX, present,
			    ncur + 1, false, nt);
			break;
		default:
			/* gen(5)'s header again: nothing else moves. */
			what = "a stack removed and added";
			bad = body_make(&body[3], bd[3].serial, bd[3].base,
			    bd[2].hdr, bd[2].hdrlen, present, present,
			    ncur, false, nt);
			break;
		}
		r = pack_new(PACK_LEVEL_DEFAULT);
		for (i = 0; i < nd[2]; i++)
			(void)load_blob(pack_load_dict, r, dict[i].data,
			    dict[i].len);
		for (n = 0; n < 3; n++)
			(void)load_blob(pack_load_snap, r, body[n].data,
			    body[n].len);
		pack_stats(r, &st);
		sane &= st.nsamples == ncur;
		refused = pack_load_snap(r, bad.data, bad.len, MAX,
		    &why) == -1;
		free(bad.data);
		kept = pack_gives(r, in[2], inlen[2], what);
		if (c < 4) {
			for (i = nd[2]; i < nd[3]; i++)
				(void)load_blob(pack_load_dict, r, dict[i].data,
				    dict[i].len);
			kept &= pack_load_snap(r, body[3].data, body[3].len,
			    MAX, &cause) == 0 &&
			    pack_gives(r, in[3], inlen[3], what);
			ok(refused && kept, "a body of %s is refused, the "
			    "pack as it was: %s", what,
			    why != NULL ? why : "taken");
		} else
			ok(!refused && kept, "a body of a stack removed and "
			    "added is taken, the stack's values kept");
		free(why);
		why = NULL;
		pack_free(r);
		done++;
	}
	ok(sane && done == 5, "the bodies for bad stacks are made: stack %u "
	    "not there, %u there, of %zu (%zu sample types)", absent, present,
	    ncur, nt);
	free(cause);
	free(cur);
	for (n = 0; n < 4; n++) {
		body_done(&bd[n]);
		free(body[n].data);
		free(in[n]);
	}
	for (i = 0; i < nd[3]; i++)
		free(dict[i].data);
	pack_free(w);
}

int
main(void)
{
	small();
	ok(roundtrip_run(), "the run of snapshots went through");
	same_place();
	wide_ids();
	bad_input();
	late_error();
	parsed_same();
	parsed_trimmed();
	repeats();
	repeat_bodies();
	read_back();
	read_back_repeat();
	body_values_bad();
	dict_ids_bad();
	body_stacks_bad();
	return tap_done();
}
