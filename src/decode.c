#include "config.h"

#include <sys/queue.h>
#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "decode.h"
#include "log.h"
#include "profile.h"
#include "xmalloc.h"

#define DECODE_BATCH	8	/* jobs handed back at a time, see below */
#define DECODE_NICE	5	/* the workers' niceness, see decode_run() */
#define DECODE_LATER_PASSES 32	/* see decode_run() */

enum job_state { JOB_TODO, JOB_BUSY, JOB_FINISHED };

struct decode_job {
	struct decode		*d;
	void			*body;
	size_t			 len, max;
	decode_work_cb		 work;		/* on the worker, or NULL */
	bool			 parsed;	/* the work is given the parse */
	struct decode_print	*print;		/* the caller's, or NULL */
	decode_done_cb		 done;
	void			(*release)(void *);
	void			*arg;
	bool			 later;		/* in d->later */
	struct profile		*p;		/* the worker's result */
	char			*cause;
	enum job_state		 state;		/* under d->mtx */
	bool			 cancelled;	/* set by the loop, atomic */
	TAILQ_ENTRY(decode_job)	 entry;
};

TAILQ_HEAD(decode_jobs, decode_job);

struct decode {
	pthread_t		*threads;
	size_t			 nthreads;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	struct decode_jobs	 todo;		/* under mtx */
	struct decode_jobs	 later;		/* under mtx, after todo */
	unsigned int		 passed;	/* under mtx: later's head, by */
	struct decode_jobs	 finished;	/* under mtx */
	bool			 quit;		/* under mtx */
	size_t			 pending;	/* the loop's only */
	size_t			 pending_bytes;	/* their bodies, likewise */
	int			 wake[2];	/* a pipe: the worker writes */
	struct event		*ev;
	struct event		*more;		/* the rest of a batch */
	void			(*drained)(void *);
	void			*drained_arg;
};

static void
job_free(struct decode_job *j)
{
	j->d->pending--;
	j->d->pending_bytes -= j->len;
	if (j->release != NULL)
		j->release(j->arg);
	profile_free(j->p);
	free(j->cause);
	free(j->body);
	free(j);
}

/* The worker: decode each job in turn, and tell the loop. */
static void *
decode_run(void *arg)
{
	struct decode		*d = arg;
	struct decode_job	*j;
	struct profile_raw	*parsed;
	ssize_t			 n;
	bool			 first;

	/*
	 * The loop first: on a machine short of CPU (10,000 targets on 2
	 * cores, with other work), workers as nice as the loop took the
	 * CPU it needed to answer /metrics for a p99 of 0.3 to 1.1 s. At
	 * nice 5 the loop weighs three times a worker; what it leaves, the
	 * workers take, and the backlog's cap holds their bodies meanwhile.
	 * On Linux the niceness is the thread's own; refused, it stays.
	 */
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), DECODE_NICE);
	pthread_mutex_lock(&d->mtx);
	for (;;) {
		while (!d->quit && TAILQ_EMPTY(&d->todo) &&
		    TAILQ_EMPTY(&d->later))
			pthread_cond_wait(&d->cond, &d->mtx);
		if (d->quit)
			break;
		/*
		 * Later after the others, but not for ever: workers that
		 * are never idle would starve it. After a restart every
		 * target is new; four of 266 KB each every 500 ms kept two
		 * ASan workers busy, and a fifth's first body waited over a
		 * minute. Passed by DECODE_LATER_PASSES, it goes next: a
		 * target's bombs take a turn in that many at most.
		 */
		if ((j = TAILQ_FIRST(&d->later)) != NULL &&
		    (TAILQ_EMPTY(&d->todo) ||
		    d->passed >= DECODE_LATER_PASSES)) {
			TAILQ_REMOVE(&d->later, j, entry);
			d->passed = 0;
		} else {
			if (j != NULL)
				d->passed++;
			j = TAILQ_FIRST(&d->todo);
			TAILQ_REMOVE(&d->todo, j, entry);
		}
		j->state = JOB_BUSY;
		pthread_mutex_unlock(&d->mtx);

		if (j->work == NULL)
			j->p = profile_decode(j->body, j->len, j->max, NULL,
			    &j->cause);
		else {
			/*
			 * The profile ends with the work, freed here on the
			 * thread that made it, where the loop freed it after
			 * handing the job back; so does the parse it was
			 * made of, which a packed store codes.
			 */
			parsed = NULL;
			if (j->print != NULL)
				j->p = profile_decode_print(j->body, j->len,
				    j->max, NULL, j->parsed ? &parsed : NULL,
				    &j->print->prev, &j->print->print,
				    &j->print->repeat, &j->cause);
			else
				j->p = j->parsed ? profile_decode_parsed(
				    j->body, j->len, j->max, NULL, &parsed,
				    &j->cause) : profile_decode(j->body, j->len,
				    j->max, NULL, &j->cause);
			if (j->p == NULL && j->cause == NULL &&
			    (j->print == NULL || !j->print->repeat))
				j->cause = xstrdup("not decoded");
			/* A job cancelled meanwhile stores nothing for a
			 * target that may be recovering its folder. */
			if (!__atomic_load_n(&j->cancelled, __ATOMIC_ACQUIRE))
				j->work(j->p, j->body, j->len, parsed,
				    j->arg);
			profile_raw_free(parsed);
			profile_free(j->p);
			j->p = NULL;
		}

		/*
		 * The loop is told when the first job finishes of those it
		 * has not taken yet: it takes the ones after with it (see
		 * decode_ready()). Told outside the lock, the loop does not
		 * wait on the lock for a write: with the write inside it and
		 * for every job, strace counted 3.8 futex calls a profile
		 * (1,000 targets every 10 s), a write and two reads.
		 */
		pthread_mutex_lock(&d->mtx);
		j->state = JOB_FINISHED;
		first = TAILQ_EMPTY(&d->finished);
		TAILQ_INSERT_TAIL(&d->finished, j, entry);
		if (first) {
			pthread_mutex_unlock(&d->mtx);
			/* A full pipe already says there is something. */
			do
				n = write(d->wake[1], "", 1);
			while (n == -1 && errno == EINTR);
			pthread_mutex_lock(&d->mtx);
		}
	}
	pthread_mutex_unlock(&d->mtx);
	return NULL;
}

/*
 * Hand the finished jobs back, one at a time, so that a callback may
 * cancel any other job; DECODE_BATCH at a time, the rest after the loop
 * has looked at its other events. Taking a profile in costs the loop
 * about 2.5 ms (with 10,000 targets, 250 a second), and the workers may
 * finish dozens while it is busy: handed back at once, they held every
 * /metrics request for 100 ms and more.
 */
static void
decode_ready(evutil_socket_t fd, short what, void *arg)
{
	static const struct timeval zero = { 0, 0 };
	struct decode		*d = arg;
	struct decode_job	*j;
	char			 buf[256];
	int			 n;

	/* A byte a wake-up, few: what is left wakes the loop once more. */
	if (fd != -1)
		while (read(fd, buf, sizeof buf) == (ssize_t)sizeof buf)
			continue;
	for (n = 0; n < DECODE_BATCH; n++) {
		pthread_mutex_lock(&d->mtx);
		if ((j = TAILQ_FIRST(&d->finished)) != NULL)
			TAILQ_REMOVE(&d->finished, j, entry);
		pthread_mutex_unlock(&d->mtx);
		if (j == NULL)
			break;
		if (!j->cancelled)
			j->done(j->p, j->cause, j->body, j->len, j->arg);
		job_free(j);
	}
	if (n == DECODE_BATCH)
		evtimer_add(d->more, &zero);
	if (d->drained != NULL)
		d->drained(d->drained_arg);
}

void
decode_set_drained(struct decode *d, void (*drained)(void *), void *arg)
{
	d->drained = drained;
	d->drained_arg = arg;
}

struct decode *
decode_new(struct event_base *base, size_t nthreads)
{
	struct decode	*d;
	sigset_t	 all, old;
	long		 cpus;
	size_t		 i;
	int		 rc;

	d = xcalloc(1, sizeof *d);
	TAILQ_INIT(&d->todo);
	TAILQ_INIT(&d->later);
	TAILQ_INIT(&d->finished);
	if (pipe2(d->wake, O_NONBLOCK | O_CLOEXEC) == -1)
		fatal("pipe2");
	if ((d->ev = event_new(base, d->wake[0], EV_READ | EV_PERSIST,
	    decode_ready, d)) == NULL)
		fatalx("event_new failed");
	event_add(d->ev, NULL);
	if ((d->more = evtimer_new(base, decode_ready, d)) == NULL)
		fatalx("evtimer_new failed");
	pthread_mutex_init(&d->mtx, NULL);
	pthread_cond_init(&d->cond, NULL);
	/* A worker a CPU, up to DECODE_THREADS_MAX: one target has one
	 * body at a time, so two workers never hold the same target's. */
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (nthreads == 0)
		nthreads = cpus < 1 ? 1 : (size_t)cpus;
	d->nthreads = nthreads > DECODE_THREADS_MAX ? DECODE_THREADS_MAX :
	    nthreads;
	d->threads = xcalloc(d->nthreads, sizeof *d->threads);
	/* Signals are the loop's: the workers take none. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < d->nthreads; i++)
		if ((rc = pthread_create(&d->threads[i], NULL, decode_run,
		    d)) != 0) {
			errno = rc;
			fatal("pthread_create");
		}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return d;
}

void
decode_free(struct decode *d)
{
	struct decode_job	*j;
	size_t			 i;

	if (d == NULL)
		return;
	pthread_mutex_lock(&d->mtx);
	d->quit = true;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->mtx);
	for (i = 0; i < d->nthreads; i++)
		pthread_join(d->threads[i], NULL);
	free(d->threads);
	while ((j = TAILQ_FIRST(&d->todo)) != NULL) {
		TAILQ_REMOVE(&d->todo, j, entry);
		job_free(j);
	}
	while ((j = TAILQ_FIRST(&d->later)) != NULL) {
		TAILQ_REMOVE(&d->later, j, entry);
		job_free(j);
	}
	while ((j = TAILQ_FIRST(&d->finished)) != NULL) {
		TAILQ_REMOVE(&d->finished, j, entry);
		job_free(j);
	}
	event_free(d->ev);
	event_free(d->more);
	close(d->wake[0]);
	close(d->wake[1]);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->mtx);
	free(d);
}

struct decode_job *
decode_start(struct decode *d, void *body, size_t len, size_t max,
    bool later, decode_done_cb done, void *arg)
{
	return decode_start_work(d, body, len, max, later, NULL, false, NULL,
	    done, NULL, arg);
}

struct decode_job *
decode_start_work(struct decode *d, void *body, size_t len, size_t max,
    bool later, decode_work_cb work, bool parsed, struct decode_print *print,
    decode_done_cb done, void (*release)(void *), void *arg)
{
	struct decode_job	*j;

	/*
	 * A body was received into room for some growth (an eighth and 4
	 * KiB more than the last one); it may wait here behind thousands of
	 * others when the workers fall behind, and the room would wait with
	 * it: 22 KB of 168 KB a target's profile. Giving it back splits the
	 * block, without a copy.
	 */
	if (len > 0)
		body = xreallocarray(body, len, 1);
	j = xcalloc(1, sizeof *j);
	j->d = d;
	j->body = body;
	j->len = len;
	j->max = max;
	j->work = work;
	j->parsed = parsed;
	j->print = work != NULL ? print : NULL;
	j->done = done;
	j->release = release;
	j->arg = arg;
	j->later = later;
	j->state = JOB_TODO;
	d->pending++;
	d->pending_bytes += len;
	pthread_mutex_lock(&d->mtx);
	if (later && TAILQ_EMPTY(&d->later))
		d->passed = 0;
	TAILQ_INSERT_TAIL(later ? &d->later : &d->todo, j, entry);
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->mtx);
	return j;
}

void
decode_cancel(struct decode_job *j)
{
	static const struct timeval zero = { 0, 0 };
	struct decode	*d;
	bool		 busy;

	if (j == NULL)
		return;
	d = j->d;
	pthread_mutex_lock(&d->mtx);
	busy = j->state == JOB_BUSY;
	if (j->state == JOB_TODO)
		TAILQ_REMOVE(j->later ? &d->later : &d->todo, j, entry);
	else if (j->state == JOB_FINISHED)
		TAILQ_REMOVE(&d->finished, j, entry);
	pthread_mutex_unlock(&d->mtx);
	if (busy) {	/* freed when the worker is done */
		__atomic_store_n(&j->cancelled, true, __ATOMIC_RELEASE);
		return;
	}
	job_free(j);
	/* Its body's room given back: drained is told, from the loop. */
	evtimer_add(d->more, &zero);
}

size_t
decode_pending(const struct decode *d)
{
	return d->pending;
}

size_t
decode_pending_bytes(const struct decode *d)
{
	return d->pending_bytes;
}
