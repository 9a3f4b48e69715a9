#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <protobuf-c/protobuf-c.h>
#define XXH_STATIC_LINKING_ONLY		/* XXH3_state_t on the stack */
#include <xxhash.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define PROFILE_MAXUD		/* check_numbered() by SSE4.1's pmaxud */
#endif
#if defined(HAVE_XXH_X86DISPATCH_H) && defined(HAVE_XXH3_128BITS_UPDATE_DISPATCH)
#include <xxh_x86dispatch.h>		/* AVX2 where the CPU has it */
#endif

#include "arena.h"
#include "clock.h"
#include "hash.h"
#include "inflate.h"
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

/* ---- reading ------------------------------------------------------------ */

#define PROFILE_HUGE_FILE	((size_t)1 << 20)	/* half a huge page */

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
	/*
	 * The file is read whole into fresh memory: from 1 MiB, into whole
	 * huge pages, mapped in by one fault each, at the cost of less than
	 * 2 MiB more for as long as the file is parsed. In pages of 4 KiB,
	 * the two files of genprof's pair (3.9 MB each) took 1,100 of the
	 * 4,800 page faults getrusage() counts for `heapwatch diff`.
	 */
	cap = (size_t)sb.st_size + 1;
	if (cap >= PROFILE_HUGE_FILE)
		cap = (cap + PROFILE_HUGE_FILE * 2 - 1) &
		    ~(PROFILE_HUGE_FILE * 2 - 1);
	buf = xmalloc_huge(cap, 1);
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

struct profile_raw {
	struct profile_stats	 stats;
	bool			 lent;		/* values, stack_off: a profile's */
	size_t			 budget;	/* bytes the tables may take */
	bool			 over;		/* failed on a size limit */
	size_t			 nfields;
	struct arena		*scratch;	/* one message at a time */
	struct arena		*strings;	/* the string table's bytes */
	struct pbwire_location	 pl;

	struct profile_vt	*types;
	size_t			 ntypes, captypes;
	struct profile_vt	 period_type;
	int64_t			 drop_frames, keep_frames, time_nanos;
	int64_t			 duration_nanos, period, default_type;
	int64_t			*comments;
	size_t			 ncomments, capcomments;

	struct profile_str	*strs;
	size_t			 nstrs, capstrs;
	struct profile_mapping	*maps;
	size_t			 nmaps, capmaps;
	struct profile_function	*funcs;
	size_t			 nfuncs, capfuncs;
	struct profile_location	*locs;
	size_t			 nlocs, caplocs;
	struct profile_line	*lines;
	size_t			 nlines, caplines;

	size_t			 nsamples, capsamples;
	uint32_t		*stack_off;	/* nsamples + 1 */
	uint32_t		*label_off;	/* nsamples + 1 */
	/*
	 * Every sample's location ids (then indices), values and labels,
	 * decoded in place.
	 */
	struct pbwire_sample	 samples;
	/*
	 * How profile_reduce() takes the stacks' location ids to symtab
	 * ids, in one pass: as local indices (resolved), as ids 1..nlocs
	 * (numbered), or as ids that byid[] takes to local index + 1.
	 */
	bool			 resolved, numbered;
	uint32_t		*byid;
	size_t			 nbyid;
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
    struct profile_vt *vt, bool merge, char **cause)
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

static void
mapping_take(struct profile_mapping *rm,
    const Perftools__Profiles__Mapping *m)
{
	rm->id = m->id;
	rm->start = m->memory_start;
	rm->limit = m->memory_limit;
	rm->offset = m->file_offset;
	rm->file = m->filename;
	rm->build_id = m->build_id;
	rm->has_functions = m->has_functions;
	rm->has_filenames = m->has_filenames;
	rm->has_line_numbers = m->has_line_numbers;
	rm->has_inline_frames = m->has_inline_frames;
}

static int
parse_mapping(struct profile_raw *raw, const struct pbwire_field *f,
    char **cause)
{
	Perftools__Profiles__Mapping	*m;
	ProtobufCAllocator		 a;

	m = perftools__profiles__mapping__unpack(scratch_allocator(raw, &a),
	    f->len, f->p);
	if (m == NULL) {
		xasprintf(cause, "malformed mapping");
		return -1;
	}
	GROW(raw->maps, raw->nmaps, raw->capmaps);
	mapping_take(&raw->maps[raw->nmaps++], m);
	return 0;
}

int
profile_mapping_read(const void *data, size_t len,
    struct profile_mapping *rm)
{
	Perftools__Profiles__Mapping	*m;

	if ((m = perftools__profiles__mapping__unpack(NULL, len,
	    data)) == NULL)
		return -1;
	mapping_take(rm, m);
	perftools__profiles__mapping__free_unpacked(m, NULL);
	return 0;
}

static int
parse_function(struct profile_raw *raw, const struct pbwire_field *f,
    char **cause)
{
	struct profile_function	*rf;
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
	struct profile_location	*rl;
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

/* The counts of a profile parsed, for sizing the next. */
struct parse_sizes {
	size_t		 loc, val, lab;		/* the samples' */
	size_t		 samples, locs, lines, funcs, strs;
	size_t		 bytes;			/* decompressed */
};

static __thread struct parse_sizes parse_last;

/* A count of a profile of len bytes, by one of a profile of bytes. */
static size_t
presize_guess(size_t count, size_t len, size_t bytes)
{
	return (size_t)((uint64_t)(count + count / 8) * len / bytes) + 16;
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
	size_t			 nmsg[7] = { 0, 0, 0, 0, 0, 0, 0 };
	size_t			 nlines = 0;
	const struct parse_sizes *last = &parse_last;

	/*
	 * A thread that parses profile after profile (a worker of
	 * heapwatchd's) sizes each by the last one of much its size, in
	 * proportion, and an eighth more: a target's next profile is much
	 * like its last, a daemon's targets are often alike, and the walk
	 * below took 7% of a worker's instructions for bench/scale.sh's
	 * profile of 300 KB. A profile larger than guessed grows its arrays
	 * as they fill. Capacities count against the budget, so a guess's
	 * room to spare could refuse a profile near it that the walk lets
	 * through: arrays guessed at more than an eighth of the budget are
	 * counted by the walk instead.
	 */
	if (last->samples > 0 && last->bytes / 2 <= len &&
	    len / 2 <= last->bytes &&
	    presize_guess(last->loc, len, last->bytes) * sizeof *ps->loc +
	    presize_guess(last->val, len, last->bytes) * sizeof *ps->val +
	    presize_guess(last->lab, len, last->bytes) * sizeof *ps->lab +
	    presize_guess(last->samples, len, last->bytes) * 2 *
	    sizeof *raw->stack_off <= raw->budget / 8) {
		n[0] = presize_guess(last->loc, len, last->bytes);
		n[1] = presize_guess(last->val, len, last->bytes);
		n[2] = presize_guess(last->lab, len, last->bytes);
		nsamples = presize_guess(last->samples, len, last->bytes);
		nmsg[4] = presize_guess(last->locs, len, last->bytes);
		nlines = presize_guess(last->lines, len, last->bytes);
		nmsg[5] = presize_guess(last->funcs, len, last->bytes);
		nmsg[6] = presize_guess(last->strs, len, last->bytes);
	} else
		while (pbwire_next(&p, end, &f) == 1)
			if (f.num == 2 && f.wt == 2) {
				pbwire_sample_count(f.p, f.len, end, n);
				nsamples++;
			} else if (f.num >= 4 && f.num <= 6 && f.wt == 2)
				nmsg[f.num]++;
	if (nsamples == 0 || ps->nloc != 0 || ps->nval != 0 || ps->nlab != 0 ||
	    raw->nlocs != 0 || raw->nfuncs != 0 || raw->nstrs != 0 ||
	    n[0] > UINT32_MAX || n[2] > UINT32_MAX ||
	    n[0] * sizeof *ps->loc + n[1] * sizeof *ps->val +
	    n[2] * sizeof *ps->lab + (nsamples + 2) * 2 *
	    sizeof *raw->stack_off + nmsg[4] * sizeof *raw->locs +
	    (nlines > nmsg[4] ? nlines : nmsg[4]) * sizeof *raw->lines +
	    nmsg[5] * sizeof *raw->funcs + nmsg[6] * sizeof *raw->strs >
	    raw->budget)
		return;
	/*
	 * The tables too: doubled as they grew, the locations, lines and
	 * strings of genprof's profile (39,000 locations) were copied by
	 * realloc over and over, an eighth of `heapwatch diff`'s page faults.
	 * A location has one line mostly, or as many as the last profile's
	 * had (3,185 lines for the 2,760 locations of bench/scale.sh's, where
	 * growing the table by realloc took 74,000 instructions a profile);
	 * more grow that table. Written whole, they are mapped in at once as
	 * the samples' arrays are: they took 1,350 of the 2,100 faults left
	 * to that diff.
	 */
	if (nmsg[4] > 0) {
		free(raw->locs);
		raw->locs = xmalloc_huge(nmsg[4], sizeof *raw->locs);
		raw->caplocs = nmsg[4];
		free(raw->lines);
		if (nlines < nmsg[4])
			nlines = nmsg[4];
		raw->lines = xmalloc_huge(nlines, sizeof *raw->lines);
		raw->caplines = nlines;
	}
	if (nmsg[5] > 0) {
		free(raw->funcs);
		raw->funcs = xmalloc_huge(nmsg[5], sizeof *raw->funcs);
		raw->capfuncs = nmsg[5];
	}
	if (nmsg[6] > 0) {
		free(raw->strs);
		raw->strs = xmalloc_huge(nmsg[6], sizeof *raw->strs);
		raw->capstrs = nmsg[6];
	}
	/* Sized before any sample is read: nothing to keep. */
	free(ps->loc);
	ps->loc = xmalloc_huge(n[0], sizeof *ps->loc);
	ps->caploc = n[0];
	free(ps->val);
	ps->val = xmalloc_huge(n[1], sizeof *ps->val);
	ps->capval = n[1];
	free(ps->lab);
	ps->lab = xmalloc_huge(n[2], sizeof *ps->lab);
	ps->caplab = n[2];
	if (nsamples + 2 > raw->capsamples) {
		/* Written whole, and faulted in 4 KiB at a time otherwise:
		 * 150 faults for 75,000 samples, 600 for 300,000. */
		raw->capsamples = nsamples + 2;
		free(raw->stack_off);
		raw->stack_off = xmalloc_huge(raw->capsamples,
		    sizeof *raw->stack_off);
		free(raw->label_off);
		raw->label_off = xmalloc_huge(raw->capsamples,
		    sizeof *raw->label_off);
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
	const uint8_t		*p = data, *end = data + len, *start, *lenp;
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
				xasprintf(cause, "decoded profile exceeds %s, "
				    "twice the size limit", units_fmt_size(
				    raw->budget));
				return -1;
			}
			continue;
		}
		if (rc == 0)
			return len;
		/*
		 * Malformed, or cut short by the end of the window? Only a
		 * key and a length as pbwire_next() reads them (five bytes
		 * each at most) may be cut: one spelt longer is malformed,
		 * and taking it for cut would inflate all that follows.
		 */
		p = start;
		if (final)
			goto malformed;
		if ((*p & 0xf8) != 0 && pbwire_varint(&p, end, &tag) == 0 &&
		    p - start <= 5 && (tag & 7) == 2 && (tag >> 3) != 0) {
			lenp = p;
			if (pbwire_varint(&p, end, &flen) == -1) {
				if (end - lenp < 5)
					return start - data;	/* length cut */
				goto malformed;
			}
			if (p - lenp > 5)
				goto malformed;
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
		/* A key of five bytes at most, a varint of ten. */
		if (end - start < 15)
			return start - data;		/* key or varint cut */
malformed:
		xasprintf(cause, "not a pprof profile: malformed or truncated "
		    "protobuf");
		return -1;
	}
}

/* ---- fingerprints ------------------------------------------------------- */

/*
 * The walk is of the top-level fields only, tag and length, with nothing
 * decoded, and the hash is of a few long runs (with AVX2 where the
 * library dispatches to it): for bench/scale.sh's profile (genprof
 * -samples 3000 -functions 400, 305 KB inflated) both take 17 us of CPU
 * and 263,000 instructions (callgrind), 3% of decoding it (parsing and
 * interning, 570 us and 8.4 million); for genprof's default (6.3 MB) 314
 * us, 1.3%. Through pbwire_next() and the library's SSE2 code they took
 * 34 us and 600,000 instructions. Where the skipped fields were (as
 * offsets into what is hashed) is hashed after the rest, so that two
 * profiles alike but for where their times are differ; more than
 * PROFILE_PRINT_TIMES_MAX of them (Go writes one of each) make no
 * fingerprint, and the profile is decoded whole.
 */
int
profile_print_make(const void *data, size_t len, struct profile_print *fp)
{
	const uint8_t		*p = data, *end = p + len, *seg = p, *start;
	struct pbwire_field	 f;
	XXH3_state_t		 st;
	XXH128_hash_t		 h;
	uint64_t		 at[PROFILE_PRINT_TIMES_MAX + 1];
	size_t			 nat = 0, hashed = 0, n;
	int			 rc = -1;

	memset(fp, 0, sizeof *fp);
	if (XXH3_128bits_reset(&st) == XXH_ERROR)
		return -1;
	for (;;) {
		start = p;
		/*
		 * Most fields are messages of a one-byte key and a length of
		 * one or two bytes (samples, locations, strings): skipped
		 * here without decoding the rest, as pbwire_next() would.
		 * Fields 9 and 10 (keys 0x4a, 0x52 with that wire type) are
		 * left to the check below.
		 */
		if (end - p >= 3 && p[0] >= 0x08 && p[0] < 0x80 &&
		    (p[0] & 7) == 2 && p[0] != 0x4a && p[0] != 0x52) {
			if (p[1] < 0x80) {
				n = p[1];
				p += 2;
			} else if (p[2] < 0x80) {
				n = (p[1] & 0x7f) | (size_t)p[2] << 7;
				p += 3;
			} else
				goto any;
			if (n > (size_t)(end - p)) {
				rc = -1;
				break;
			}
			p += n;
			continue;
		}
any:
		p = start;
		if ((rc = pbwire_next(&p, end, &f)) != 1)
			break;
		if (f.num != 9 && f.num != 10)
			continue;
		/*
		 * Anything but a varint the parse refuses, and more times
		 * than at[] keeps: no print.
		 */
		if (f.wt != 0 || nat == PROFILE_PRINT_TIMES_MAX) {
			rc = -1;
			break;
		}
		if (f.num == 9)
			fp->time_nanos = (int64_t)f.v;
		else
			fp->duration_nanos = (int64_t)f.v;
		(void)XXH3_128bits_update(&st, seg, (size_t)(start - seg));
		hashed += (size_t)(start - seg);
		at[nat++] = (uint64_t)hashed << 1 | (f.num == 10);
		seg = p;
	}
	if (rc == -1) {
		fp->time_nanos = fp->duration_nanos = 0;
		return -1;
	}
	(void)XXH3_128bits_update(&st, seg, (size_t)(end - seg));
	at[nat] = nat;
	(void)XXH3_128bits_update(&st, at, (nat + 1) * sizeof *at);
	h = XXH3_128bits_digest(&st);
	fp->hash[0] = h.low64;
	fp->hash[1] = h.high64;
	fp->set = true;
	return 0;
}

bool
profile_print_same(const struct profile_print *a,
    const struct profile_print *b)
{
	return a->set && b->set && a->hash[0] == b->hash[0] &&
	    a->hash[1] == b->hash[1];
}

/* What the parse is asked of a fingerprint: NULL, nothing. */
struct print_check {
	const struct profile_print *prev;	/* may be unset */
	struct profile_print	*print;		/* the body's, found */
};

/*
 * Take the fingerprint of the protobuf data[0..len), and say whether it
 * is prev's: then the parse stops there.
 */
static bool
print_check(struct print_check *pc, const uint8_t *data, size_t len)
{
	if (pc == NULL)
		return false;
	if (profile_print_make(data, len, pc->print) == -1)
		return false;
	return pc->prev != NULL && profile_print_same(pc->prev, pc->print);
}

/*
 * Parse a gzip member inflated whole, when inflate_whole() applies: 1 when
 * it does not, for parse_gzip() to stream it instead; else what parsing it
 * gave.
 */
static int
parse_whole(struct profile_raw *raw, const uint8_t *in, size_t len,
    size_t max, struct print_check *pc, char **cause)
{
	uint8_t		*out;
	size_t		 got;
	int		 rc;

	if (inflate_whole(in, len, max, &out, &got,
	    &raw->stats.inflate_ms) == 1)
		return 1;
	raw->stats.bytes_out = got;
	if (print_check(pc, out, got)) {
		free(out);
		return 2;
	}
	presize_samples(raw, out, got);
	rc = parse_fields(raw, out, got, true, cause) == -1 ? -1 : 0;
	free(out);
	return rc;
}

/* parse_fields() as the sink of inflate_stream(). */
static ssize_t
parse_window(void *arg, const uint8_t *win, size_t have, bool final,
    char **cause)
{
	return parse_fields(arg, win, have, final, cause);
}

/* Parse gzip members as they are inflated, a window at a time. */
static int
parse_gzip(struct profile_raw *raw, const uint8_t *in, size_t len,
    size_t max, char **cause)
{
	size_t	total;

	if (inflate_stream(in, len, max, parse_window, raw, &total,
	    &raw->stats.inflate_ms, cause) == -1)
		return -1;
	raw->stats.bytes_out = total;
	return 0;
}

void
profile_thread_done(void)
{
	inflate_thread_done();
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
	if (rc == 0 && hash_map_build(m, ids, n, &dup) == -1) {
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

#ifdef PROFILE_MAXUD
/*
 * The largest of loc[0..*n) less one, for the ids of whole steps of eight;
 * *n is set to the ids taken. The compiler's own vector code for the loop
 * in check_numbered() has no unsigned maximum without SSE4.1 and takes
 * five instructions where pmaxud takes one: that loop was a tenth of a
 * worker's CPU on a profile of 65,536 stacks.
 */
__attribute__((target("sse4.1")))
static uint32_t
max_id_sse41(const uint32_t *loc, size_t *n)
{
	__m128i	one = _mm_set1_epi32(1), m0, m1;
	size_t	i;

	m0 = m1 = _mm_setzero_si128();
	for (i = 0; i + 8 <= *n; i += 8) {
		m0 = _mm_max_epu32(m0, _mm_sub_epi32(_mm_loadu_si128(
		    (const __m128i *)(const void *)(loc + i)), one));
		m1 = _mm_max_epu32(m1, _mm_sub_epi32(_mm_loadu_si128(
		    (const __m128i *)(const void *)(loc + i + 4)), one));
	}
	m0 = _mm_max_epu32(m0, m1);
	m0 = _mm_max_epu32(m0, _mm_shuffle_epi32(m0, _MM_SHUFFLE(1, 0, 3, 2)));
	m0 = _mm_max_epu32(m0, _mm_shuffle_epi32(m0, _MM_SHUFFLE(2, 3, 0, 1)));
	*n = i;
	return (uint32_t)_mm_cvtsi128_si32(m0);
}
#endif

/*
 * Whether the stacks' location ids are all in 1..n, when the locations are
 * numbered 1..n in table order, as Go's writer numbers them, and no id is
 * over 32 bits: an id's index is then the id less one. All are checked at
 * once, with no lookup, no branch and no store on each; profile_reduce()
 * takes them to symtab ids in the pass that it makes anyway. Resolving
 * them here in place took that pass twice.
 */
static bool
check_numbered(const struct pbwire_sample *ps, size_t nlocs)
{
	const uint32_t	*loc = ps->loc;
	uint32_t	 m0 = 0, m1 = 0, m2 = 0, m3 = 0;
	size_t		 i = 0, n = ps->nloc;

	if (ps->nwide > 0 || nlocs >= UINT32_MAX)
		return false;
#ifdef PROFILE_MAXUD
	/* A look at what libgcc's constructor found: no set-up here. */
	if (__builtin_cpu_supports("sse4.1")) {
		i = n;
		m0 = max_id_sse41(loc, &i);
	}
#endif
	/*
	 * The largest id less one (id 0 wraps over any n), in four running
	 * maxima so that the loads and compares of four ids overlap: five
	 * instructions an id, from nine.
	 */
	for (; i + 4 <= n; i += 4) {
		m0 = loc[i] - 1 > m0 ? loc[i] - 1 : m0;
		m1 = loc[i + 1] - 1 > m1 ? loc[i + 1] - 1 : m1;
		m2 = loc[i + 2] - 1 > m2 ? loc[i + 2] - 1 : m2;
		m3 = loc[i + 3] - 1 > m3 ? loc[i + 3] - 1 : m3;
	}
	for (; i < n; i++)
		m0 = loc[i] - 1 > m0 ? loc[i] - 1 : m0;
	m0 = m0 > m1 ? m0 : m1;
	m2 = m2 > m3 ? m2 : m3;
	return (m0 > m2 ? m0 : m2) < nlocs;
}

/*
 * Whether the stacks' location ids are all in the dense id map of the
 * locations.
 */
static bool
check_dense(const struct pbwire_sample *ps, const struct idmap *locidx)
{
	const uint32_t	*loc = ps->loc, *dense = locidx->dense;
	uint32_t	 id, n = locidx->ndense;
	size_t		 i;

	if (ps->nwide > 0 || dense == NULL || locidx->ndense >= UINT32_MAX)
		return false;
	for (i = 0; i < ps->nloc; i++) {
		id = loc[i];
		if (id >= n || dense[id] == 0)
			return false;
	}
	return true;
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

	/*
	 * With no wide id and a dense map, a lookup is a load: taken out of
	 * hash_map_get() and the check for wide ids, looking up the 1.2 million
	 * ids of genprof's deep profile takes half the instructions.
	 */
	if (ps->nwide == 0 && locidx->dense != NULL) {
		for (i = 0; i < n; i++) {
			id = loc[i];
			if (id >= locidx->ndense ||
			    (pos = locidx->dense[id]) == 0)
				goto missing;
			loc[i] = pos - 1;
		}
		return 0;
	}
	for (i = 0; i < n; i++) {
		id = loc[i];
		if (i == next) {
			id = wide[w++].id;
			next = w < ps->nwide ? wide[w].pos : n;
		}
		if ((pos = hash_map_get(locidx, id)) == HASH_NONE)
			goto missing;
		loc[i] = pos;
	}
	return 0;
missing:
	xasprintf(cause, "location id %llu of a sample not found",
	    (unsigned long long)id);
	return -1;
}

/*
 * With the whole profile read: check every string index and value count,
 * and resolve ids to local indices, in the tables and in the stacks.
 */
static int
parse_finish(struct profile_raw *raw, char **cause)
{
	struct idmap		 mapidx, funcidx, locidx;
	struct profile_location	*rl;
	struct profile_line	*ln;
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
		if (rl->mapping_id != 0 && (rl->mapping = hash_map_get(&mapidx,
		    rl->mapping_id)) == HASH_NONE) {
			xasprintf(cause, "location %llu: mapping id %llu not "
			    "found", (unsigned long long)rl->id,
			    (unsigned long long)rl->mapping_id);
			goto out;
		}
		for (j = rl->line0; j < rl->line0 + rl->nlines; j++) {
			ln = &raw->lines[j];
			ln->function = ln->function_id == 0 ? HASH_NONE :
			    hash_map_get(&funcidx, ln->function_id);
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
	for (i = 0; i < raw->nlocs && raw->locs[i].id == i + 1; i++)
		;
	rc = 0;
	if (i == raw->nlocs && check_numbered(&raw->samples, raw->nlocs))
		raw->numbered = true;
	else if (check_dense(&raw->samples, &locidx)) {
		/* Kept for profile_reduce(). */
		raw->byid = locidx.dense;
		raw->nbyid = locidx.ndense;
		locidx.dense = NULL;
	} else {
		/* Wide or sparse ids, or one not found: said here. */
		rc = resolve_stacks(&raw->samples, &locidx, cause);
		raw->resolved = true;
	}
out:
	hash_map_free(&mapidx);
	hash_map_free(&funcidx);
	hash_map_free(&locidx);
	return rc;
}

/*
 * profile_parse(), and with pc the body's fingerprint: 2 when it is the
 * one before, and nothing is parsed.
 */
static int
parse_print(const void *data, size_t len, size_t max, struct print_check *pc,
    struct profile_raw **out, char **cause)
{
	struct profile_raw	*raw;
	double			 t0 = clock_mono_us() / 1e3;
	char			*why;
	bool			 plain;
	int			 rc;

	*out = NULL;
	if (pc != NULL)
		memset(pc->print, 0, sizeof *pc->print);
	raw = xcalloc(1, sizeof *raw);
	raw->stats.bytes_in = raw->stats.bytes_out = len;
	raw->budget = max > SIZE_MAX / 2 ? SIZE_MAX : max * 2;
	raw->scratch = arena_new(16384);
	raw->strings = arena_new(65536);
	if (inflate_is_gzip(data, len)) {
		/* Streamed, a body is never whole: no fingerprint. */
		if ((rc = parse_whole(raw, data, len, max, pc, cause)) == 1)
			rc = parse_gzip(raw, data, len, max, cause);
	}
	else if (len == 0) {
		xasprintf(cause, "empty profile");
		rc = -1;
	} else if (len > max) {
		xasprintf(cause, "profile exceeds the %s limit",
		    units_fmt_size(max));
		rc = -1;
	} else if (print_check(pc, data, len))
		rc = 2;
	else {
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
	if (rc != 0) {
		profile_raw_free(raw);
		return rc;
	}
	arena_free(raw->scratch);
	raw->scratch = NULL;
	pbwire_location_free(&raw->pl);
	parse_last.loc = raw->samples.nloc;
	parse_last.val = raw->samples.nval;
	parse_last.lab = raw->samples.nlab;
	parse_last.samples = raw->nsamples;
	parse_last.locs = raw->nlocs;
	parse_last.lines = raw->nlines;
	parse_last.funcs = raw->nfuncs;
	parse_last.strs = raw->nstrs;
	parse_last.bytes = raw->stats.bytes_out;
	raw->stats.parse_ms = clock_mono_us() / 1e3 - t0 - raw->stats.inflate_ms;
	*out = raw;
	return 0;
}

struct profile_raw *
profile_parse(const void *data, size_t len, size_t max, char **cause)
{
	struct profile_raw	*raw;

	(void)parse_print(data, len, max, NULL, &raw, cause);
	return raw;
}

void
profile_raw_free(struct profile_raw *raw)
{
	if (raw == NULL)
		return;
	arena_free(raw->scratch);
	arena_free(raw->strings);
	if (raw->lent) {
		raw->samples.val = NULL;
		raw->stack_off = NULL;
	}
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
	free(raw->byid);
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
	id = symtab_intern_labelset(st, w, nw);
	if (memo != NULL) {
		memo->kind_key = e[0].kind_key;
		memo->value = e[0].value;
		memo->unit = e[0].unit;
		memo->id = id;
	}
	return id;
}

/*
 * Intern the tables; returns the location map, local index + 1 to symtab
 * id.
 */
static uint32_t *
intern_tables(struct profile_raw *raw, struct symtab *st,
    const uint32_t *strmap, struct profile *p)
{
	struct sym_mapping	 m;
	struct sym_func		 f;
	struct sym_loc		 loc;
	struct sym_line		*lines = NULL;
	uint32_t		*msym, *fsym, *lsym;
	size_t			 i, j, caplines = 0;

	msym = xreallocarray(NULL, raw->nmaps + 1, sizeof *msym);
	for (i = 0; i < raw->nmaps; i++) {
		const struct profile_mapping *rm = &raw->maps[i];

		memset(&m, 0, sizeof m);
		m.file = strmap[rm->file];
		m.build_id = strmap[rm->build_id];
		/* pprof's key: size rounded up to 4 KiB, offset, identity. */
		m.size = rm->limit - rm->start + 0xfff;
		m.size -= m.size % 0x1000;
		m.offset = rm->offset;
		m.key = m.build_id != 0 ? m.build_id : m.file;
		m.start = rm->start;
		msym[i] = symtab_intern_mapping(st, &m);
	}
	p->main_mapping = raw->nmaps > 0 ? msym[0] : SYM_NONE;

	fsym = xreallocarray(NULL, raw->nfuncs + 1, sizeof *fsym);
	for (i = 0; i < raw->nfuncs; i++) {
		f.name = strmap[raw->funcs[i].name];
		f.system_name = strmap[raw->funcs[i].system_name];
		f.filename = strmap[raw->funcs[i].filename];
		f.start_line = raw->funcs[i].start_line;
		fsym[i] = symtab_intern_func(st, &f);
	}

	lsym = xreallocarray(NULL, raw->nlocs + 1, sizeof *lsym);
	lsym[0] = SYM_NONE;
	for (i = 0; i < raw->nlocs; i++) {
		const struct profile_location *rl = &raw->locs[i];

		memset(&loc, 0, sizeof loc);
		loc.addr = rl->address;
		loc.mapping = SYM_NONE;
		if (rl->mapping != SYM_NONE) {
			loc.mapping = msym[rl->mapping];
			loc.addr -= raw->maps[rl->mapping].start;
		}
		loc.folded = rl->folded;
		loc.nlines = rl->nlines;
		if (rl->nlines > caplines) {
			caplines = rl->nlines;
			lines = xreallocarray(lines, caplines, sizeof *lines);
		}
		for (j = 0; j < rl->nlines; j++) {
			lines[j].func = fsym[raw->lines[rl->line0 + j].function];
			lines[j].line = raw->lines[rl->line0 + j].line;
			lines[j].node = 0;
		}
		lsym[i + 1] = symtab_intern_loc(st, &loc, lines);
	}
	free(lines);
	free(msym);
	free(fsym);
	return lsym;
}

/*
 * profile_reduce(); with keep, the parsed profile stays as read, for the
 * caller, and lends the profile its values and sample offsets.
 */
static struct profile *
reduce(struct profile_raw *raw, struct symtab *st, bool keep)
{
	struct profile		*p;
	struct label_buf	 lb;
	uint32_t		*strmap, *lsym, *stacks, *map;
	size_t			 i;
	double			 t0;

	p = xcalloc(1, sizeof *p);
	p->stats = raw->stats;
	t0 = clock_mono_us() / 1e3;
	if (st == NULL) {
		/* The profile's own tables: sized for it at once. */
		st = symtab_new();
		symtab_reserve(st, raw->nstrs, raw->nfuncs, raw->nmaps,
		    raw->nlocs, raw->nlines);
		p->own_st = true;
	}
	p->st = st;

	strmap = xreallocarray(NULL, raw->nstrs, sizeof *strmap);
	for (i = 0; i < raw->nstrs; i++)
		strmap[i] = symtab_intern_str(st, raw->strs[i].s,
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

	/*
	 * The sample arrays change hands; stacks are renumbered in place,
	 * or, for a parsed profile kept, into an array of the profile's own
	 * (5 MB for 1.3 million frames, the one copy that keeping it costs).
	 */
	p->nsamples = raw->nsamples;
	p->values = raw->samples.val;
	p->stack_off = raw->stack_off;
	stacks = raw->samples.loc;
	if (keep) {
		raw->lent = true;
		p->stacks = xmalloc_huge(raw->samples.nloc + 1,
		    sizeof *p->stacks);
	} else {
		p->stacks = stacks;
		raw->samples.val = NULL;
		raw->stack_off = NULL;
		raw->samples.loc = NULL;
	}
	if (raw->numbered)
		for (i = 0; i < raw->samples.nloc; i++)
			p->stacks[i] = lsym[stacks[i]];
	else if (raw->resolved)
		for (i = 0; i < raw->samples.nloc; i++)
			p->stacks[i] = lsym[stacks[i] + 1];
	else {
		/* byid[id] is local index + 1, checked: now the symtab id. */
		map = keep ? xreallocarray(NULL, raw->nbyid + 1, sizeof *map) :
		    raw->byid;
		for (i = 0; i < raw->nbyid; i++)
			map[i] = lsym[raw->byid[i]];
		for (i = 0; i < raw->samples.nloc; i++)
			p->stacks[i] = map[stacks[i]];
		if (keep)
			free(map);
	}
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
	if (!keep)
		profile_raw_free(raw);
	p->stats.reduce_ms = clock_mono_us() / 1e3 - t0;
	return p;
}

struct profile *
profile_reduce(struct profile_raw *raw, struct symtab *st, char **cause)
{
	return reduce(raw, st, false);
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
profile_decode_parsed(const void *data, size_t len, size_t max,
    struct symtab *st, struct profile_raw **parsed, char **cause)
{
	return profile_decode_print(data, len, max, st, parsed, NULL, NULL,
	    NULL, cause);
}

struct profile *
profile_decode_print(const void *data, size_t len, size_t max,
    struct symtab *st, struct profile_raw **parsed,
    const struct profile_print *prev, struct profile_print *print,
    bool *repeat, char **cause)
{
	struct profile_raw	*raw;
	struct print_check	 pc = { prev, print };
	int			 rc;

	if (parsed != NULL)
		*parsed = NULL;
	if (repeat != NULL)
		*repeat = false;
	rc = parse_print(data, len, max, print != NULL ? &pc : NULL, &raw,
	    cause);
	if (rc == 2 && repeat != NULL)
		*repeat = true;
	if (raw == NULL)
		return NULL;
	if (parsed == NULL)
		return profile_reduce(raw, st, cause);
	*parsed = raw;
	return reduce(raw, st, true);
}

void
profile_raw_view(const struct profile_raw *raw, struct profile_view *v)
{
	memset(v, 0, sizeof *v);
	v->types = raw->types;
	v->ntypes = raw->ntypes;
	v->period_type = raw->period_type;
	v->drop_frames = raw->drop_frames;
	v->keep_frames = raw->keep_frames;
	v->time_nanos = raw->time_nanos;
	v->duration_nanos = raw->duration_nanos;
	v->period = raw->period;
	v->default_type = raw->default_type;
	v->comments = raw->comments;
	v->ncomments = raw->ncomments;
	v->strs = raw->strs;
	v->nstrs = raw->nstrs;
	v->maps = raw->maps;
	v->nmaps = raw->nmaps;
	v->funcs = raw->funcs;
	v->nfuncs = raw->nfuncs;
	v->locs = raw->locs;
	v->nlocs = raw->nlocs;
	v->lines = raw->lines;
	v->nlines = raw->nlines;
	v->nsamples = raw->nsamples;
	v->values = raw->samples.val;
	v->stack_off = raw->stack_off;
	v->stacks = raw->samples.loc;
	v->nstacks = raw->samples.nloc;
	v->label_off = raw->label_off;
	v->labels = raw->samples.lab;
	if (!raw->numbered && !raw->resolved) {
		v->byid = raw->byid;
		v->nbyid = raw->nbyid;
	}
	v->base = raw->numbered ? 1 : 0;
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
	return symtab_str(p->st, p->type_name[i])->s;
}

const char *
profile_type_unit(const struct profile *p, uint32_t i)
{
	return symtab_str(p->st, p->type_unit[i])->s;
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
