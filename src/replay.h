/*
 * Stored snapshots replayed, oldest first, into summaries: how the daemon
 * rebuilds a target's judgement at start-up and how "heapwatch judge"
 * answers offline, so that both conclude the same from the same files.
 */
#ifndef REPLAY_H
#define REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct names;
struct profile;
struct store;
struct store_snapshot;
struct summary;

/* What a replay asks of its caller, for each snapshot that decodes. */
struct replay_ops {
	/* The kind to summarise p as, and the names to intern it in. */
	const char	*(*kind)(void *arg, const struct profile *p,
			    struct names **names);
	/* A summary made of snapshot sn; the callee owns it. */
	void		 (*add)(void *arg, const struct store_snapshot *sn,
			    struct summary *s);
};

/*
 * Replay target's snapshots from time since_ms on (the newest always),
 * reading at most max_size inflated bytes each; snapshots that do not
 * decode are logged and passed over. A snapshot whose protobuf is the one
 * before's but for its times (a Go heap profile scraped again before the
 * next GC) is not parsed: its summary is the one before's with its own
 * times. Returns how many were added, and in *repeats (when not NULL)
 * how many of those were such repeats.
 */
size_t	replay_snapshots(struct store *, const char *target,
	    const struct store_snapshot *, size_t n, int64_t since_ms,
	    size_t max_size, const struct replay_ops *, void *arg,
	    size_t *repeats);

/*
 * Set, every snapshot is decoded whole, repeats too: what a test of the
 * shortcut compares it with.
 */
extern bool	replay_every;

#endif
