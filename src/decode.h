/*
 * Decoding scraped profiles off the event loop. A worker thread a CPU (at
 * most DECODE_THREADS_MAX) decodes the bodies handed to it, in the order
 * given, and the loop hears of each
 * result through a pipe: a body that takes long to decompress and parse
 * (a gzip bomb, the profile of a huge heap) delays no transfer and no
 * timer of the loop, only the decoding of the bodies queued behind it.
 * Bodies started "later" (of targets whose last body was no profile) wait
 * until no other is queued, so that broken targets do not hold up the
 * others.
 */
#ifndef DECODE_H
#define DECODE_H

#include <stdbool.h>
#include <stddef.h>

#include "profile.h"

#define DECODE_THREADS_MAX	4

/*
 * The bodies being fetched and waiting for the workers, in bytes, beyond
 * which the daemon's scrapes wait to start. 16 MiB is 115 profiles of
 * 146 KB, a fifth of a second of work for two workers at 3.4 ms a
 * profile, where one body a target waiting would take 1.5 GB at 10,000
 * targets. A longer queue keeps the workers no busier: it fills only
 * when the machine cannot keep up, and is then memory held for nothing,
 * which glibc keeps once freed. At 48 MiB, 1,000 packed targets under
 * wrk's load on /metrics took the daemon from 80 to 130 MiB; at 16, to 88
 * (bench/scale.sh, README). A transfer counts its body's room and curl's
 * buffer from its start (336 KB for 146 KB), so this also bounds the
 * transfers under way, to some 50: enough for 10,000 targets every 30 s
 * that answer within 150 ms.
 */
#define DECODE_BACKLOG_BYTES	(16 << 20)

struct event_base;
struct decode;
struct decode_job;

/*
 * Called once per job not cancelled, from the event loop, with the
 * profile, or NULL and why not. The profile, the cause and the body are
 * the job's: they live for the call only. A job with work has its profile
 * freed on the worker once the work is done: its callback gets NULL for
 * it, and a NULL cause when the body decoded. The callback must not cancel
 * its own job.
 */
typedef void (*decode_done_cb)(const struct profile *, const char *cause,
		    const void *body, size_t len, void *arg);

/*
 * More work for the worker once a body is decoded, given the profile or
 * NULL: what the loop need not wait for, such as storing the body. It runs
 * on the worker thread and must touch nothing the loop touches but arg;
 * the profile lives for the call only, and so does parsed, the body as
 * parsed before the profile was made of it (profile_raw_view()) when the
 * job was started with parsed set, else NULL.
 */
typedef void (*decode_work_cb)(const struct profile *, const void *body,
		    size_t len, const struct profile_raw *parsed, void *arg);

/*
 * A job's fingerprints (profile_print): given the last body's, prev, the
 * worker finds the body's and says whether it is a repeat of that one.
 * A repeat is not parsed: the work and the callback get no profile and
 * no cause. The caller's, untouched by the loop until the job is over.
 */
struct decode_print {
	struct profile_print	 prev;		/* unset: none */
	struct profile_print	 print;		/* the body's, or none */
	bool			 repeat;
};

/* With nthreads workers, or 0 for one a CPU. */
struct decode	*decode_new(struct event_base *, size_t nthreads);
/* Wait for the body being decoded, if any; drop the others. */
void		 decode_free(struct decode *);
/* Decode body (of len bytes, decompressed to at most max), which the job
 * takes and frees; after every other body, when later. */
struct decode_job *decode_start(struct decode *, void *body, size_t len,
		    size_t max, bool later, decode_done_cb, void *arg);
/*
 * The same, with work done on the worker after decoding, and release
 * called with arg once the job is over: after done, or cancelled. With
 * parsed, the work is given the parse too: keeping it costs the profile a
 * copy of its stacks (5 MB for 1.3 million frames), which a packed store's
 * put saves many times over, and a file's does not need. With print and
 * work, the body's fingerprint is taken (see struct decode_print).
 */
struct decode_job *decode_start_work(struct decode *, void *body, size_t len,
		    size_t max, bool later, decode_work_cb work, bool parsed,
		    struct decode_print *print, decode_done_cb done,
		    void (*release)(void *), void *arg);
/* Abandon a job: its callback is not called. */
void		 decode_cancel(struct decode_job *);
/*
 * Call drained with arg on the loop each time finished jobs have been
 * handed back, their bodies freed: the time to let more bodies in.
 */
void		 decode_set_drained(struct decode *, void (*drained)(void *),
		    void *arg);
/* Jobs started and not yet handed back. */
size_t		 decode_pending(const struct decode *);
/* The bytes of their bodies, as received. */
size_t		 decode_pending_bytes(const struct decode *);

#endif
