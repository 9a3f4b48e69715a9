/*
 * One webhook of the notifier: its queue of notes, sent in order, one POST
 * at a time, on the notifier's curl multi handle. A 2xx answer delivers the
 * head; anything else (another status, a refused connection, the
 * receiver's timeout) is retried after a backoff of 1 s that doubles up to
 * 5 min, each wait cut by a random part of at most a quarter so that many
 * heapwatchds do not retry in step; a success resets it. The queue holds at
 * most RECEIVER_QUEUE_MAX notes and drops its oldest not in flight. Each
 * delivery has its spool entry (entry.h) from before its first POST until
 * it is delivered or dropped.
 */
#ifndef RECEIVER_H
#define RECEIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "conf.h"
#include "note.h"

#define RECEIVER_QUEUE_MAX	1000	/* notes per receiver */
#define RECEIVER_BACKOFF_MIN_MS	1000		/* after one failure */
#define RECEIVER_BACKOFF_MAX_MS	(5 * 60000)	/* it stops doubling */

struct event_base;
struct receiver;
struct spool;

/* What the receivers of one notifier share; the notifier owns it. */
struct receiver_env {
	struct event_base	*base;
	CURLM			*multi;		/* of every POST */
	const char		*external_url;	/* without a trailing slash */
	struct spool		*spool;		/* NULL: memory only */
	uint64_t		 nextseq;	/* of the next spool entry */
	uint64_t		 spool_errors;	/* counted by the receivers */
};

/* The counters of one receiver, for /metrics. */
struct receiver_stats {
	const char	*url;		/* lives until the next reconfigure */
	uint64_t	 sent;		/* notes delivered */
	uint64_t	 failed;	/* attempts that failed */
	uint64_t	 dropped;	/* notes dropped from a full queue */
	uint64_t	 replaced;	/* queued notes replaced by a newer */
	uint64_t	 restored;	/* notes queued again from the spool */
	uint64_t	 queued;	/* waiting, and the one in flight */
};

struct receiver	*receiver_new(struct receiver_env *,
		    const struct webhook_config *);
/* Let a receiver go; unspool also removes what it has in the spool. */
void		 receiver_free(struct receiver *, bool unspool);
/* Take new settings; the url stays the one it was made with. */
void		 receiver_configure(struct receiver *,
		    const struct webhook_config *);
const struct webhook_config *receiver_config(const struct receiver *);
/*
 * Queue a note: replace the newest queued repeat of it not in flight (the
 * same status, or any status for format alertmanager), drop the oldest
 * when the queue is full, spool it and start it if the receiver is idle.
 */
void		 receiver_enqueue(struct receiver *, struct note *);
/* Queue again a note read from spool entry seq; receiver_post() starts. */
void		 receiver_restore(struct receiver *, struct note *,
		    uint64_t seq, int64_t queued);
/* Start POSTing the head of the queue, unless one is in flight or the
 * receiver is backing off. */
void		 receiver_post(struct receiver *);
/*
 * How long to wait after the nth failure in a row: 1 s doubling up to
 * 5 min, less a random part of at most a quarter.
 */
uint64_t	 receiver_backoff_ms(unsigned int failures);
/* The curlev callback of the notifier's multi handle. */
void		 receiver_curl_done(CURL *, CURLcode, void *);
void		 receiver_stats(const struct receiver *,
		    struct receiver_stats *);
/* The note at place j (0: the head) of the queue, or NULL. */
const struct alert_note *receiver_queued(const struct receiver *, size_t j);

#endif
