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
 * read-only.
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
 * profile_decode(), and *out the protobuf the gzip member data holds, as
 * inflated whole for the decoding (the caller's to free), or NULL when it
 * was not (a body not gzipped, or streamed): what another reader of the
 * same body need not inflate again.
 */
struct profile	*profile_decode_raw(const void *data, size_t len, size_t max,
		    struct symtab *st, void **out, size_t *outlen,
		    char **cause);
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
