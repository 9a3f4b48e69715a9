#include "config.h"

#include <stdbool.h>
#include <stdlib.h>

#include "log.h"
#include "profile.h"
#include "replay.h"
#include "store.h"
#include "summary.h"

bool	replay_every;

size_t
replay_snapshots(struct store *store, const char *target,
    const struct store_snapshot *snaps, size_t n, int64_t since_ms,
    size_t max_size, const struct replay_ops *ops, void *arg,
    size_t *repeats)
{
	struct profile_print	 prev = { 0 }, print;
	struct profile		*p;
	struct summary		*s, *last = NULL;
	struct names		*names;
	const char		*kind;
	char			*cause = NULL;
	size_t			 i, added = 0;
	bool			 repeat;

	if (repeats != NULL)
		*repeats = 0;
	store_hold(store, target);
	for (i = 0; i < n; i++) {
		if (snaps[i].time_ms < since_ms && i + 1 < n)
			continue;
		/*
		 * Loaded, not opened by path: a packed one has no file. A
		 * snapshot of the same GC's profile as the one before, but
		 * for its times, is not parsed: its summary is a copy of the
		 * last, with its own times, as heapwatchd made it when it
		 * scraped it (see target.c). One such is missed, never
		 * misread: a packed target's newest snapshot, in a process
		 * whose store holds it as received (one that stored it),
		 * comes as scraped: its fingerprint is of Go's protobuf
		 * (or none, gzip not inflated whole), the one before's of
		 * the protobuf rebuilt from the pack, so that it is parsed.
		 * Rebuilding it for its fingerprint would cost about what
		 * the parse it spares does (for 65,536 stacks, some 10 ms
		 * of pack_pprof() against as many decoding), once a replay.
		 */
		p = store_load_print(store, target, snaps[i].id, max_size,
		    last != NULL && !replay_every ? &prev : NULL, &print,
		    &repeat, &cause);
		if (repeat) {
			s = summary_again(last, snaps[i].id, snaps[i].time_ms,
			    print.time_nanos);
			ops->add(arg, &snaps[i], s);
			added++;
			if (repeats != NULL)
				(*repeats)++;
			continue;
		}
		summary_free(last);
		last = NULL;
		if (p == NULL) {
			log_warnx("%s: snapshot %s: %s", target, snaps[i].id,
			    cause);
			free(cause);
			cause = NULL;
			continue;
		}
		kind = ops->kind(arg, p, &names);
		s = summary_make(p, kind, snaps[i].id, snaps[i].time_ms, names,
		    &cause);
		profile_free(p);
		if (s == NULL) {
			log_warnx("%s: snapshot %s: %s", target, snaps[i].id,
			    cause);
			free(cause);
			cause = NULL;
			continue;
		}
		last = summary_copy(s);
		prev = print;
		ops->add(arg, &snaps[i], s);
		added++;
	}
	summary_free(last);
	store_release(store, target);
	return added;
}
