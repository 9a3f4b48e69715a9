/*
 * What the daemon keeps of each snapshot in a target's window: totals and
 * the largest functions, a few kilobytes instead of the whole profile, so
 * that memory does not grow with history. Leak detection judges growth
 * from these; the profiles themselves stay on disk.
 */
#ifndef SUMMARY_H
#define SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define SUMMARY_BY_OWN	64	/* functions kept by their own value */
#define SUMMARY_BY_CUM	32	/* and by their cum, when not among those */

struct profile;
struct names;

/*
 * The functions of a snapshot, largest own value first, then the largest
 * cums not among those, in one allocation. A function's own value is
 * pprof's flat, except that a sample whose innermost frames are the Go
 * runtime's (runtime.gopark under a parked goroutine, runtime.malg making
 * one) is counted to the first frame outside the runtime: the code a
 * person can fix, such as the function a leaked goroutine runs.
 *
 * Shared by the summaries that show the same functions: a scrape between
 * two GCs repeats the profile before it (summary_share()), and the slow
 * horizon's anchors are copies of window summaries (summary_copy()).
 */
struct summary_fns {
	uint32_t	 refs;		/* the summaries that hold them */
	uint32_t	 n;
	int64_t		*own;
	int64_t		*cum;		/* goroutine profiles only, else NULL */
	uint32_t	*name;		/* in the summary's names, a reference
					   each */
};

/* Whether a function belongs to the Go runtime, for attribution. */
int	summary_is_runtime(const char *name);

struct summary {
	char		 id[STORE_ID_MAX];
	int64_t		 time_ms;	/* when it was scraped, unix ms */
	int64_t		 profile_ns;	/* the profile's own time */
	int64_t		 total;		/* in-use bytes, or goroutines */
	int64_t		 objects;	/* in-use objects; heap only */
	int64_t		 alloc;		/* bytes allocated since start; heap */
	struct names	*names;		/* of fns' names */
	struct summary_fns *fns;	/* never NULL */
};

/*
 * Function names, each kept once while something holds it: the summaries
 * of every target and their judgements share one table in heapwatchd.
 * summary_names_add() gives a name's id and takes a reference to it;
 * summary_names_drop() gives one back, and the last frees the name, whose
 * id is then reused. Of the thread that made the table only.
 */
struct names	*summary_names_new(void);
void		 summary_names_free(struct names *);
uint32_t	 summary_names_add(struct names *, const char *);
void		 summary_names_hold(struct names *, uint32_t);
void		 summary_names_drop(struct names *, uint32_t);
const char	*summary_names_get(const struct names *, uint32_t);
/* Names held, and how many hold one (0: not there). */
size_t		 summary_names_count(const struct names *);
uint32_t	 summary_names_refs(const struct names *, const char *);
/* Move a summary's names, and its references, to another table. */
void		 summary_rename(struct summary *, struct names *to);

/* Room for n functions, zeroed, with cum or without; one holder. */
struct summary_fns *summary_fns_make(uint32_t n, bool cum);
/*
 * Take the functions of prev, when its are the same (same names, values
 * and order), and let go of its own; false when they differ.
 */
bool		 summary_share(struct summary *, const struct summary *prev);
/* A copy of a summary that shares its functions. */
struct summary	*summary_copy(const struct summary *);
/*
 * The summary of a profile that is s's again but for its times (a Go heap
 * profile between two GCs): a copy with id, time_ms and profile_ns.
 */
struct summary	*summary_again(const struct summary *s, const char *id,
		    int64_t time_ms, int64_t profile_ns);

/*
 * Summarise a profile of kind "heap" (its inuse_space and inuse_objects)
 * or "goroutine"; NULL with *cause when the profile has not those types.
 */
struct summary	*summary_make(const struct profile *, const char *kind,
		    const char *id, int64_t time_ms, struct names *,
		    char **cause);
/* Free it, and give back the references of its names. */
void		 summary_free(struct summary *);

#endif
