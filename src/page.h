/*
 * The pages people open: server-rendered HTML with inline SVG and a few
 * lines of CSS, no external assets. The overview lists every target,
 * firing first, with a sparkline of each one's window, and pages, filters
 * and sorts on the server; a target's page charts its history with the
 * alert's pending and firing times, and its alert's functions over the
 * window beside the total, names what its alert found and lists its
 * snapshots; the diff of two snapshots is a table and an icicle graph of
 * what grew (red) and shrank (blue), which a little inline script zooms
 * and searches; a function's line view lists its lines' growth and, with
 * the target's source_path, their text. Everything reads without script.
 */
#ifndef PAGE_H
#define PAGE_H

#include "buf.h"
#include "target.h"

struct profile;
struct store;
struct symtab;

#define PAGE_ROWS	100	/* targets on a page of the overview */

void	page_overview(struct buf *, const struct targets *, size_t ntargets,
	    const char *query, const char *sort, int page);
void	page_target(struct buf *, struct store *, struct target *);
/*
 * The two snapshots of a diff, decoded into st: base and current as given,
 * or for one not given (NULL or empty), current the newest and base the
 * one before current, as `go tool pprof -base` would be pointed. Their ids
 * go to base_id and cur_id (STORE_ID_MAX bytes each). 0, or -1 with
 * *cause naming the parameter at fault and the HTTP status in *status:
 * 400 for a malformed id, 404 for a snapshot not stored (or none before
 * current), 500 for one that does not read or decode.
 */
int	page_load_pair(struct store *, const struct target_config *,
	    const char *base, const char *current, struct symtab *,
	    struct profile **pb, struct profile **pc, char *base_id,
	    char *cur_id, int *status, char **cause)
	    __attribute__((warn_unused_result));

/*
 * The diff of base and current, chosen as page_load_pair() does. 0, or -1
 * with *cause and the HTTP status to answer with in *status: 400 for a
 * request that names no snapshot or sample type it may, 404 for a
 * snapshot that is not stored, 500 for one that does not read or decode.
 */
int	page_diff(struct buf *, struct store *, struct target *,
	    const char *base, const char *current, const char *sample_index,
	    int *status, char **cause) __attribute__((warn_unused_result));

/*
 * The line view of a function: its source lines with their growth from the
 * diff of base to current (by default, the window's first and last
 * snapshots, whence the alert's functions come) and their text when the
 * target's source_path has the file. 0, or -1 with *cause and *status as
 * page_diff()'s (404 too while the window has not two snapshots).
 */
int	page_list(struct buf *, struct store *, struct target *,
	    const char *fn, const char *base, const char *current,
	    const char *sample_index, int *status, char **cause)
	    __attribute__((warn_unused_result));

#endif
