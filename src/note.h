/*
 * The alert note of heapwatchd: what an alert state change says to the
 * webhooks (struct alert_note, filled by the alert state machine), and the
 * copy of it that the notifier's queues share (struct note), all of it in
 * one arena that the last queue to let go of it frees.
 */
#ifndef NOTE_H
#define NOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define NOTE_FRAMES		5	/* stack frames per function, at most */


enum note_status {
	NOTE_FIRING,
	NOTE_RESOLVED
};

enum note_kind {
	NOTE_HEAP,
	NOTE_GOROUTINE
};

/* One of the functions that grew the most. */
struct note_function {
	const char	*function;
	int64_t		 growth;	/* bytes or goroutines */
	const char	*file;		/* NULL: unknown */
	int64_t		 line;		/* 0: unknown */
	const char	*stack[NOTE_FRAMES];	/* innermost first */
	size_t		 nstack;
};

/* One alert state change; notifier_send() copies what it needs. */
struct alert_note {
	enum note_status	 status;
	const char		*key;		/* identity; NULL: target */
	const char		*target;
	const struct config_pair *labels;	/* the target's */
	size_t			 nlabels;
	enum note_kind		 kind;
	int64_t			 since;		/* unix ms, the alert began */
	int64_t			 ends;		/* unix ms, resolved at */
	int64_t			 growth;	/* over the window */
	uint64_t		 window_seconds;
	const char		*summary;	/* one sentence */
	const char		*signals;	/* that agree it grows, as
						   "total, function, live heap";
						   NULL: not said */
	const char		*horizon;	/* "fast" or "slow", that says
						   it grows; NULL: not said */
	const struct note_function *top;	/* largest growth first */
	size_t			 ntop;
	const char		*base_snapshot;		/* ids, or NULL */
	const char		*current_snapshot;
	const char		*severity;	/* "warning" or "critical";
						   NULL: warning */
	const char		*ended_severity;	/* the severity
						   it was sent with until now,
						   when it changed (a resolve
						   only by replacing a queued
						   change); else NULL */
	bool			 limited;	/* the target has a limit */
	int64_t			 time_to_limit;	/* then seconds to reach it,
						   -1 while not growing */
	const char		*evidence;	/* id of what was taken when
						   it went pending, or NULL */
};

/* A copy of a note, shared by the queues of every receiver. */
struct note {
	unsigned int		 refs;
	struct arena		*arena;
	struct alert_note	 a;		/* pointing into arena */
};

/* A copy with no reference yet: whoever queues it counts one. */
struct note	*note_copy(const struct alert_note *);
/*
 * A note that replaces a queued one, old, never sent: itself, or when old
 * was to end the alert of a severity that nt neither has nor ends, a copy
 * of nt that ends it in old's stead (Alertmanager would otherwise keep
 * that alert until it expires). A copy has no reference yet; nt stays the
 * caller's, shared with other queues.
 */
struct note	*note_carry_ended(struct note *nt, const struct note *old);
/* A queue lets go of a note; the last one frees it. NULL is fine. */
void		 note_release(struct note *);
/* "firing" or "resolved". */
const char	*note_status_name(enum note_status);
/* "heap" or "goroutine". */
const char	*note_kind_name(enum note_kind);

#endif
