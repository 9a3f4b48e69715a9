/*
 * The alert notifier of heapwatchd: POSTs each alert state change to the
 * webhooks of alerting.webhooks, from the daemon's libevent loop with
 * libcurl's multi interface, never blocking the loop.
 *
 * notifier_send() copies the note and queues one delivery for every
 * receiver. Each receiver sends its queue in order, one POST at a time; a
 * 2xx answer delivers the note, anything else (another status, a refused
 * connection, the receiver's timeout) is retried after a backoff of 1 s
 * that doubles up to 5 min, each wait cut by a random part of at most a
 * quarter so that many heapwatchds do not retry in step. A success resets
 * the backoff. A queue holds at most NOTIFIER_QUEUE_MAX notes: when it is
 * full the oldest note not in flight is dropped, and counted.
 *
 * A note replaces the newest queued note of the same key that is not in
 * flight when that one is a repeat of it: the same status, or, for
 * format alertmanager, any status, as Alertmanager keeps only the latest
 * state of an alert. A state change for format json is an event of its own
 * and is queued behind.
 *
 * The body is rendered when each attempt starts, not when the note is
 * queued: a firing alert's endsAt then counts from the time Alertmanager
 * gets it, and a reload that changes a receiver's format or the external
 * URL applies to what is still queued.
 *
 * With a spool (notifier_spool(), a folder of the store), no note is lost
 * to a restart or a crash: each delivery is written to its own entry
 * (spool.h) before it is first POSTed, rewritten in place when a newer
 * note replaces it, and removed once delivered or dropped from a full
 * queue, or when its receiver is removed by a reconfigure. notifier_free()
 * leaves the entries. notifier_spool() queues them again, in the order in
 * which they were first queued, for the receiver of the same url and
 * format; entries of receivers no longer configured are logged and
 * removed, since the configuration says where notes go, as a reconfigure
 * does. A crash between a receiver's 2xx answer and the removal of the
 * entry sends that note again after the restart: delivery is at least
 * once. A spool that cannot be written is logged and counted, and the
 * note is delivered from memory all the same; an entry that cannot be
 * read back is moved to the spool's quarantine/ folder.
 *
 * Sending a firing alert again every repeat_interval is the caller's job
 * (the alert state machine, with notifier_send_to() for each receiver at
 * its own interval); the notifier sends what it is given, once.
 *
 * The bodies of both formats are webhook.h's; the spool entries,
 * entry.h's; a receiver's queue and backoff, receiver.h's.
 */
#ifndef NOTIFIER_H
#define NOTIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "note.h"
#include "receiver.h"

#define NOTIFIER_QUEUE_MAX	RECEIVER_QUEUE_MAX
#define NOTIFIER_SPOOL_ENTRY_MAX (1024 * 1024)	/* bytes of a spool entry */

struct buf;
struct event_base;
struct notifier;

/* external_url: how people reach heapwatchd, like http://127.0.0.1:9470. */
struct notifier	*notifier_new(struct event_base *,
		    const struct webhook_config *, size_t n,
		    const char *external_url);
/* Abandons what is queued or in flight; the spool keeps it. */
void		 notifier_free(struct notifier *);
/* Receivers whose url is unchanged keep their queue and counters. */
void		 notifier_reconfigure(struct notifier *,
		    const struct webhook_config *, size_t n);
void		 notifier_set_external_url(struct notifier *, const char *);
/*
 * Keep undelivered notes in folder name under root, and queue those left
 * there by the last run; before the first note is sent. Failures are
 * logged and counted: the notifier then keeps its notes in memory only.
 */
void		 notifier_spool(struct notifier *, const char *root,
		    const char *name);
/* Spool entries that could not be written, removed or read back. */
uint64_t	 notifier_spool_errors(const struct notifier *);
void		 notifier_send(struct notifier *, const struct alert_note *);
/* The same to receiver i alone: a repeat, at its own interval. */
void		 notifier_send_to(struct notifier *, size_t i,
		    const struct alert_note *);
uint64_t	 notifier_repeat_interval(const struct notifier *, size_t i);
/* Receiver i's URL: what names it across reloads. */
const char	*notifier_url(const struct notifier *, size_t i);

size_t		 notifier_receivers(const struct notifier *);
void		 notifier_stats(const struct notifier *, size_t i,
		    struct receiver_stats *);
/* The notifier's families of /metrics, by receiver; nf may be NULL. */
void		 notifier_metrics(const struct notifier *nf, struct buf *);
/* The note at place j (0: the head) of receiver i's queue, or NULL. */
const struct alert_note *notifier_queued(const struct notifier *, size_t i,
		    size_t j);

#endif
