/*
 * A target's history: the total of each snapshot over its whole life, for
 * the chart of the status page and, at start-up, the slow horizon's seed.
 * HISTORY_MAX points at most: when full, every other point goes, so that
 * the history keeps its whole span at half the density.
 *
 * Kept as the differences from one point to the next, as varints, not as
 * 16-byte points: scrapes an interval apart and totals that move by
 * kilobytes to megabytes take 5 to 7 bytes a point, so a full history
 * costs some 7 KB where the points took 16 KB. Every value is kept
 * exactly: what is read back is what was added.
 */
#ifndef HISTORY_H
#define HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HISTORY_MAX	1024	/* points of a chart; older are thinned */

struct point;

struct history;

struct history	*history_new(void);
void		 history_free(struct history *);
/* Add a point, thinning the history to half when it is full. */
void		 history_add(struct history *, int64_t t_ms, int64_t v);
size_t		 history_count(const struct history *);
/* The last point; false when there is none. */
bool		 history_last(const struct history *, struct point *);
/*
 * The points, oldest first, into out (HISTORY_MAX of them at most);
 * the count.
 */
size_t		 history_read(const struct history *, struct point *out);
/* The bytes it holds, its struct included. */
size_t		 history_bytes(const struct history *);

#endif
