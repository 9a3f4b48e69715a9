/*
 * The pages people open: server-rendered HTML with inline SVG and a few
 * lines of CSS, no external assets and no script. The overview lists every
 * target, firing first, and pages, filters and sorts on the server; a
 * target's page charts its history, names what its alert found and lists
 * its snapshots; the diff of two snapshots is a table and an icicle graph
 * of what grew.
 */
#ifndef PAGE_H
#define PAGE_H

#include "buf.h"
#include "target.h"

struct store;

#define PAGE_ROWS	100	/* targets on a page of the overview */

void	page_overview(struct buf *, const struct targets *, size_t ntargets,
	    const char *query, const char *sort, int page);
void	page_target(struct buf *, struct store *, struct target *);
/* 0, or -1 with *cause (a bad id, a snapshot that does not decode). */
int	page_diff(struct buf *, struct store *, struct target *,
	    const char *base, const char *current, const char *sample_index,
	    char **cause) __attribute__((warn_unused_result));

#endif
