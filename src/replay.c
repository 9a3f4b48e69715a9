#include "config.h"

#include <stdlib.h>

#include "log.h"
#include "profile.h"
#include "replay.h"
#include "store.h"
#include "summary.h"

size_t
replay_snapshots(struct store *store, const char *target,
    const struct store_snapshot *snaps, size_t n, int64_t since_ms,
    size_t max_size, const struct replay_ops *ops, void *arg)
{
	struct profile	*p;
	struct summary	*s;
	struct names	*names;
	const char	*kind;
	char		*cause = NULL;
	size_t		 i, added = 0;

	store_hold(store, target);
	for (i = 0; i < n; i++) {
		if (snaps[i].time_ms < since_ms && i + 1 < n)
			continue;
		/* Loaded, not opened by path: a packed one has no file. */
		p = store_load(store, target, snaps[i].id, max_size, NULL,
		    &cause);
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
		ops->add(arg, &snaps[i], s);
		added++;
	}
	store_release(store, target);
	return added;
}
