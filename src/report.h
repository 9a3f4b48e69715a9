/*
 * The profile engine's analysis: per-function flat and cum values of one
 * profile (`go tool pprof -top`) or of the difference between two
 * (`go tool pprof -top -base`), with pprof's numbers exactly.
 *
 * Granularity is the function, inlined frames count as frames, and cum
 * counts a sample once per function however often the function recurs in
 * its stack. A diff is current minus base. Its total is pprof's: the sum of
 * the absolute values of the samples after merging those with the same stack
 * and labels, which pprof divides by for percentages; net is the signed sum.
 *
 * Each function also carries its site, once report_sites() has found it:
 * the file and line within it through which most of its value passes (for
 * a leaf, the allocation itself).
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdint.h>

#include "profile.h"

enum report_order {
	REPORT_BY_FLAT,		/* pprof's default: |flat|, name, |cum| */
	REPORT_BY_CUM		/* pprof -cum: |cum|, name, |flat| */
};

enum report_inline {
	REPORT_NOT_INLINED,
	REPORT_INLINED,		/* every call to it was inlined */
	REPORT_PARTLY_INLINED	/* some calls were */
};

struct report_fn {
	uint32_t	 node;		/* symtab node id */
	const char	*name;
	enum report_inline inlined;	/* as pprof marks it */
	int64_t		 flat;
	int64_t		 cum;
	const char	*file;		/* site; NULL when unknown */
	int64_t		 line;
};

struct report {
	const struct profile	*profile;	/* the current one */
	/* The header of the profile, or of the two merged as pprof does. */
	int64_t			 time_nanos;	/* the earlier */
	int64_t			 duration_nanos; /* the sum */
	uint32_t		 main_mapping;	/* current's first, else base's */
	uint32_t		*comments;	/* both, once each */
	uint32_t		 ncomments;
	int			 sample_index;
	const char		*sample_type;
	const char		*unit;
	int64_t			 total;
	int64_t			 net;
	size_t			 nfns;
	struct report_fn	*fns;		/* in order */
	int64_t			*locv;		/* per location, until sites */
	uint32_t		 nlocs;
	struct report_stacks	*stacks;	/* a diff's merged samples */
};

struct report	*report_top(const struct profile *, int sample_index,
		    enum report_order, char **cause);
/*
 * report_top() by cum, with no sites nor inline marks: what a summary
 * needs, in about half the time. Not for printing: every function reads
 * as not inlined, and report_sites() finds no sites in it.
 */
struct report	*report_cum(const struct profile *, int sample_index,
		    char **cause);
struct report	*report_diff(const struct profile *base,
		    const struct profile *current, int sample_index,
		    enum report_order, char **cause);
void		 report_free(struct report *);
/*
 * The stack through which a function grew most: in the sample with the
 * largest positive value where the function is the innermost frame
 * outside the Go runtime, the function and up to max - 1 of its callers.
 * Returns how many names it put in frames.
 */
size_t		 report_stack(const struct report *, const char *name,
		    const char **frames, size_t max);

/*
 * The call tree of what changed: the samples with non-zero values (in a
 * diff, the merged samples), by call path from the root. A node's value is
 * the sum of the absolute values through it, its width in a graph, and its
 * delta the signed sum, what grew (positive) or shrank (negative) through
 * it. Node 0 is the root; children follow their parent, linked as
 * siblings, widest first. For icicle graphs.
 */
struct report_node {
	const char	*name;
	const char	*file;		/* of the largest sample through it */
	int64_t		 line;
	int64_t		 value;
	int64_t		 delta;
	int64_t		 best;		/* that sample's absolute value */
	uint32_t	 parent;
	uint32_t	 child;		/* first child, or 0 */
	uint32_t	 next;		/* next sibling, or 0 */
	uint32_t	 depth;
};
struct report_node *report_tree(const struct report *, size_t *n);

/* Fill in every function's file and line. */
void		 report_sites(struct report *);
/*
 * Mark inlined functions as pprof does when it shows only the first nmax:
 * calls between the functions shown, across those left out.
 */
void		 report_limit(struct report *, size_t nmax);

/* Whether two profiles can be diffed: same sample and period types. */
int		 report_comparable(const struct profile *,
		    const struct profile *, char **cause)
		    __attribute__((warn_unused_result));

#endif
