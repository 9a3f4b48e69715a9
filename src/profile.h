/*
 * The profile engine's input side: pprof profiles (gzip-compressed or not)
 * decoded, checked and reduced to what analysis needs.
 *
 * A profile's functions, mappings and locations are interned in a symtab
 * (symtab.h), so that profiles decoded into one symtab share ids for the
 * same code and a diff matches their samples as `go tool pprof -base` does.
 *
 * Decoding runs in two steps so that the costly first one may run on several
 * threads: profile_parse() inflates and unpacks into an arena of its own;
 * profile_reduce() checks every reference and interns into a symtab.
 * profile_decode() and profile_load() do both.
 *
 * The structures below are read by report.c; other callers use them
 * read-only. A parse may also be kept beside the profile made of it
 * (profile_decode_parsed()) and read whole through a struct profile_view,
 * as pack.c codes a snapshot.
 */
#ifndef PROFILE_H
#define PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symtab.h"

#define PROFILE_MAX_INFLATED	((size_t)256 << 20)	/* default cap */

/* Where decoding a profile spent its time, for `heapwatch --times`. */
struct profile_stats {
	size_t		 bytes_in;	/* as read */
	size_t		 bytes_out;	/* decompressed */
	double		 inflate_ms;
	double		 parse_ms;	/* walking and decoding the fields */
	double		 reduce_ms;	/* checking and interning */
};

struct profile {
	struct symtab	*st;
	bool		 own_st;
	struct profile_stats stats;

	uint32_t	 ntypes;
	uint32_t	*type_name;	/* string ids, ntypes each */
	uint32_t	*type_unit;
	uint32_t	 default_type;	/* string id; 0 when unset */
	uint32_t	 period_type;
	uint32_t	 period_unit;
	int64_t		 period;
	int64_t		 time_nanos;
	int64_t		 duration_nanos;
	uint32_t	 drop_frames;
	uint32_t	 keep_frames;
	uint32_t	 main_mapping;	/* the first mapping, or SYM_NONE */
	uint32_t	 ncomments;
	uint32_t	*comments;

	size_t		 nsamples;
	int64_t		*values;	/* nsamples * ntypes */
	uint32_t	*stack_off;	/* nsamples + 1 offsets into stacks */
	uint32_t	*stacks;	/* location ids, leaf first */
	uint32_t	*labelset;	/* per sample; 0 is "no labels" */
};

struct profile_raw;

/*
 * A parsed profile's tables as received, every reference checked: string
 * indices into strs, and mappings, functions and locations named by their
 * local index, their place in their table.
 */
struct profile_vt {
	int64_t		 type;
	int64_t		 unit;
};

struct profile_str {
	const char	*s;		/* NUL after len bytes */
	uint32_t	 len;
};

struct profile_mapping {
	uint64_t	 id, start, limit, offset;
	int64_t		 file, build_id;
	bool		 has_functions, has_filenames, has_line_numbers;
	bool		 has_inline_frames;
};

/*
 * Read a Mapping message as profile_parse() reads it (protobuf-c's rules:
 * a bool is any set bit of its varint), for another reader of the same
 * protobuf that must agree with it. -1 when malformed.
 */
int		 profile_mapping_read(const void *, size_t,
		    struct profile_mapping *);

struct profile_function {
	uint64_t	 id;
	int64_t		 name, system_name, filename, start_line;
};

struct profile_location {
	uint64_t	 id, mapping_id, address;
	uint32_t	 line0, nlines;	/* in lines */
	uint32_t	 mapping;	/* local index, or SYM_NONE */
	bool		 folded;
};

struct profile_line {
	uint64_t	 function_id;
	int64_t		 line;
	uint32_t	 function;	/* local index */
};

struct pbwire_label;

/*
 * What a reader that codes a profile whole needs, rather than what
 * analysis keeps of it (the symtab merges mappings by their size rounded
 * to 4 KiB, drops their flags, makes addresses relative): pack.c's
 * writer. Everything is as profile_parse() read it, in the order
 * received; sample i has values[i * ntypes ...], the location references
 * stacks[stack_off[i] .. stack_off[i + 1]) and the labels
 * labels[label_off[i] .. label_off[i + 1]). A location reference r is the
 * location of local index byid[r] - 1 when byid is set, else r - base.
 */
struct profile_view {
	const struct profile_vt	*types;
	size_t			 ntypes;
	struct profile_vt	 period_type;
	int64_t			 drop_frames, keep_frames, time_nanos;
	int64_t			 duration_nanos, period, default_type;
	const int64_t		*comments;
	size_t			 ncomments;
	const struct profile_str *strs;
	size_t			 nstrs;
	const struct profile_mapping *maps;
	size_t			 nmaps;
	const struct profile_function *funcs;
	size_t			 nfuncs;
	const struct profile_location *locs;
	size_t			 nlocs;
	const struct profile_line *lines;
	size_t			 nlines;

	size_t			 nsamples;
	const int64_t		*values;
	const uint32_t		*stack_off;	/* nsamples + 1 */
	const uint32_t		*stacks;
	size_t			 nstacks;	/* stack_off[nsamples] */
	const uint32_t		*label_off;	/* nsamples + 1 */
	const struct pbwire_label *labels;
	const uint32_t		*byid;		/* nbyid, or NULL */
	size_t			 nbyid;
	uint32_t		 base;		/* 0 or 1 */
};

/* Read a whole file; a larger one than max is refused. */
int		 profile_read_file(const char *path, size_t max, void **data,
		    size_t *len, char **cause)
		    __attribute__((warn_unused_result));

/*
 * Parse a profile, gzip-compressed or not. max caps its decompressed size,
 * and the tables decoded from it may take at most twice that, so that
 * neither a gzip bomb nor a protobuf crafted to multiply into many tiny
 * records can take more.
 */
struct profile_raw *profile_parse(const void *data, size_t len, size_t max,
		    char **cause);
void		 profile_raw_free(struct profile_raw *);

/* Check and intern a parsed profile; st NULL gives the profile its own. */
struct profile	*profile_reduce(struct profile_raw *, struct symtab *st,
		    char **cause);
struct profile	*profile_decode(const void *data, size_t len, size_t max,
		    struct symtab *st, char **cause);
/*
 * profile_decode(), and *parsed the profile as parsed (the caller's to
 * free with profile_raw_free()), for a reader of its whole tables
 * through profile_raw_view(). It shares the sample values and offsets of
 * the profile made from it: it must not be used once the profile is
 * freed. NULL for both when the body does not decode.
 */
struct profile	*profile_decode_parsed(const void *data, size_t len,
		    size_t max, struct symtab *st, struct profile_raw **parsed,
		    char **cause);
/*
 * A profile's fingerprint: XXH3's 128 bits over its protobuf (inflated)
 * but for the fields time_nanos and duration_nanos, with their values.
 * A Go heap profile is as of the last GC: between two GCs, every request
 * gets the same protobuf but for those two fields, which Go writes afresh
 * each time, and the same fingerprint.
 */
struct profile_print {
	uint64_t	 hash[2];
	int64_t		 time_nanos;	/* read from the fields left out */
	int64_t		 duration_nanos;
	bool		 set;		/* false: no fingerprint */
};

/* More top-level time fields (9 and 10) than this make no fingerprint. */
#define PROFILE_PRINT_TIMES_MAX	8

/*
 * The fingerprint of a protobuf, not compressed: 0, or -1 and none when
 * its top-level fields are malformed or hold more than
 * PROFILE_PRINT_TIMES_MAX time fields (Go writes one of each).
 */
int		 profile_print_make(const void *, size_t,
		    struct profile_print *);
/* Whether two fingerprints are both set and the same. */
bool		 profile_print_same(const struct profile_print *,
		    const struct profile_print *);
/*
 * profile_decode_parsed(), parsed NULL or not, and the body's fingerprint
 * in *print: none when the body has none (its protobuf is malformed, or
 * it is gzip not inflated whole). When it is the same as prev's, nothing
 * is parsed: NULL, no cause, and *repeat set. The fingerprint costs a
 * walk of the top-level fields and a hash, some 3% of a decode.
 */
struct profile	*profile_decode_print(const void *data, size_t len,
		    size_t max, struct symtab *st, struct profile_raw **parsed,
		    const struct profile_print *prev,
		    struct profile_print *print, bool *repeat, char **cause);
/* The tables of a parsed profile, valid as long as it is. */
void		 profile_raw_view(const struct profile_raw *,
		    struct profile_view *);
struct profile	*profile_load(const char *path, size_t max,
		    struct symtab *st, char **cause);
void		 profile_free(struct profile *);
/*
 * Free what decoding keeps for the calling thread; other threads' is freed
 * as they end.
 */
void		 profile_thread_done(void);

/*
 * The index of a sample type as pprof's -sample_index takes it: NULL or ""
 * for the default (default_sample_type, else the last), a name (an
 * "inuse_" prefix may be left off), or a number. -1 with *cause otherwise.
 */
int		 profile_sample_index(const struct profile *, const char *name,
		    char **cause) __attribute__((warn_unused_result));
const char	*profile_type_name(const struct profile *, uint32_t index);
const char	*profile_type_unit(const struct profile *, uint32_t index);

#endif
