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
 * Each function also carries its site: the file and line within it through
 * which most of its value passes (for a leaf, the allocation itself).
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdint.h>

#include "profile.h"

enum report_order {
	REPORT_BY_FLAT,		/* pprof's default: |flat|, name, |cum| */
	REPORT_BY_CUM		/* pprof -cum: |cum|, name, |flat| */
};

struct report_fn {
	uint32_t	 node;		/* symtab node id */
	const char	*name;
	int64_t		 flat;
	int64_t		 cum;
	const char	*file;		/* site; NULL when unknown */
	int64_t		 line;
};

struct report {
	const struct profile	*profile;	/* the current one */
	int			 sample_index;
	const char		*sample_type;
	const char		*unit;
	int64_t			 total;
	int64_t			 net;
	size_t			 nfns;
	struct report_fn	*fns;		/* in order */
};

struct report	*report_top(const struct profile *, int sample_index,
		    enum report_order, char **cause);
struct report	*report_diff(const struct profile *base,
		    const struct profile *current, int sample_index,
		    enum report_order, char **cause);
void		 report_free(struct report *);

/* Whether two profiles can be diffed: same sample and period types. */
int		 report_comparable(const struct profile *,
		    const struct profile *, char **cause)
		    __attribute__((warn_unused_result));

#endif
