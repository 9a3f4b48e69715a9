/*
 * The symbol table that profiles are decoded into: strings, functions,
 * mappings, locations with their lines, report nodes and label sets, each
 * interned, keyed the way pprof keys them when it merges profiles (a
 * function by name, system name, file and start line; a mapping by its
 * size rounded to 4 KiB, file offset and build id or file; a location by
 * mapping, mapping-relative address, folding and lines). Profiles decoded
 * into one symtab therefore share ids for the same code, and a diff can
 * match their samples exactly as `go tool pprof -base` does. A symtab also
 * interns the report's nodes: at function granularity, a node is a
 * function name.
 */
#ifndef SYMTAB_H
#define SYMTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
void		 symtab_reserve(struct symtab *, size_t nstrs, size_t nfuncs,
		    size_t nmaps, size_t nlocs, size_t nlines);
const struct sym_str	*symtab_str(const struct symtab *, uint32_t);
const struct sym_func	*symtab_func(const struct symtab *, uint32_t);
const struct sym_loc	*symtab_loc(const struct symtab *, uint32_t);
const struct sym_line	*symtab_line(const struct symtab *, uint32_t);
const struct sym_node	*symtab_node(const struct symtab *, uint32_t);
const struct sym_mapping *symtab_mapping(const struct symtab *, uint32_t);
uint32_t	 symtab_nnodes(const struct symtab *);
uint32_t	 symtab_nlocs(const struct symtab *);
/*
 * The tables themselves, for loops that visit every frame: NULL while a
 * table is empty and was never sized (a shared table is not sized ahead).
 */
const struct sym_loc	*symtab_locs(const struct symtab *);
const struct sym_line	*symtab_lines(const struct symtab *);
const struct sym_node	*symtab_nodes(const struct symtab *);
uint32_t	 symtab_nlines(const struct symtab *);

/*
 * Interning: each returns the id of an equal entry if there is one, else
 * adds a copy. A location's lines come apart from it (loc->line0 is set
 * here); a label set is a canonical sequence of words.
 */
uint32_t	 symtab_intern_str(struct symtab *, const char *, size_t);
uint32_t	 symtab_intern_func(struct symtab *, const struct sym_func *);
uint32_t	 symtab_intern_mapping(struct symtab *,
		    const struct sym_mapping *);
uint32_t	 symtab_intern_loc(struct symtab *, const struct sym_loc *,
		    const struct sym_line *lines);
uint32_t	 symtab_intern_labelset(struct symtab *, const uint64_t *,
		    size_t);

#endif
