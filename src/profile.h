/*
 * The profile engine's input side: pprof profiles (gzip-compressed or not)
 * decoded, checked and reduced to what analysis needs.
 *
 * A profile's functions, mappings and locations are interned in a symtab,
 * keyed the way pprof keys them when it merges profiles (a function by name,
 * system name, file and start line; a mapping by its size rounded to 4 KiB,
 * file offset and build id or file; a location by mapping, mapping-relative
 * address, folding and lines). Profiles decoded into one symtab therefore
 * share ids for the same code, and a diff can match their samples exactly as
 * `go tool pprof -base` does. A symtab also interns the report's nodes: at
 * function granularity, a node is a function name.
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

#define PROFILE_MAX_INFLATED	((size_t)256 << 20)	/* default cap */
#define SYM_NONE		UINT32_MAX

struct sym_str {
	const char	*s;		/* NUL-terminated copy */
	uint32_t	 len;
};

struct sym_func {
	uint32_t	 name;		/* string ids */
	uint32_t	 system_name;
	uint32_t	 filename;
	int64_t		 start_line;
};

struct sym_mapping {
	uint64_t	 size;		/* rounded up to 4 KiB, as pprof keys */
	uint64_t	 offset;
	uint32_t	 key;		/* build id, else file, else "" */
	uint32_t	 file;
	uint32_t	 build_id;
	uint64_t	 start;		/* of the first mapping seen */
};

struct sym_line {
	uint32_t	 func;		/* SYM_NONE: a location without lines */
	uint32_t	 node;
	int64_t		 line;
};

struct sym_loc {
	uint32_t	 mapping;	/* SYM_NONE: none */
	uint32_t	 line0;		/* first of its lines in symtab.lines */
	uint32_t	 nlines;	/* as in the profile; one line is stored
					   even when this is 0 */
	bool		 folded;
	uint64_t	 addr;		/* relative to the mapping's start */
};

struct sym_node {
	uint32_t	 name;		/* function name, or "" */
	uint32_t	 objfile;	/* for nameless functions */
	int64_t		 start_line;	/* for nameless functions */
	const char	*label;		/* the name pprof prints */
	bool		 inlined;	/* in some location, inlined into
					   the next line's function */
};

struct symtab;

struct symtab	*symtab_new(void);
void		 symtab_free(struct symtab *);
const struct sym_str	*symtab_str(const struct symtab *, uint32_t);
const struct sym_func	*symtab_func(const struct symtab *, uint32_t);
const struct sym_loc	*symtab_loc(const struct symtab *, uint32_t);
const struct sym_line	*symtab_line(const struct symtab *, uint32_t);
const struct sym_node	*symtab_node(const struct symtab *, uint32_t);
const struct sym_mapping *symtab_mapping(const struct symtab *, uint32_t);
uint32_t	 symtab_nnodes(const struct symtab *);
uint32_t	 symtab_nlocs(const struct symtab *);
/* The tables themselves, for loops that visit every frame. */
const struct sym_loc	*symtab_locs(const struct symtab *);
const struct sym_line	*symtab_lines(const struct symtab *);
uint32_t	 symtab_nlines(const struct symtab *);

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
