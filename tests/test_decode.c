/*
 * The decoder of heapwatchd: bodies decoded by its worker come back to
 * the loop in order, with the profile or why not; a body slow to decode
 * delays the loop's timers by nothing; a job cancelled while queued,
 * while being decoded or once decoded is never handed back, and nothing
 * leaks (under AddressSanitizer).
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <zlib.h>

#include "decode.h"
#include "profile.h"
#include "tap.h"
#include "xmalloc.h"

#define MIB	(1024 * 1024)

struct got {
	int	 calls;
	int	 order;		/* of the call among all */
	bool	 profile;
	char	 cause[256];
	size_t	 len;
};

static int	 calls;

static void
done(const struct profile *p, const char *cause, const void *body,
    size_t len, void *arg)
{
	struct got	*g = arg;

	g->calls++;
	g->order = ++calls;
	g->profile = p != NULL;
	snprintf(g->cause, sizeof g->cause, "%s", cause != NULL ? cause : "");
	g->len = len;
	(void)body;
}

/* A copy of data, which a job takes. */
static void *
dup_body(const void *data, size_t len)
{
	void	*b = xmalloc(len == 0 ? 1 : len);

	memcpy(b, data, len);
	return b;
}

/*
 * A gzip body of n members, each a MiB: one protobuf field of a number
 * pprof does not know, holding zeros. It parses until the cap stops it.
 */
static void *
field_bomb(size_t n, size_t *len)
{
	uint8_t		*chunk, *member, *out;
	z_stream	 zs;
	size_t		 mlen, i;

	chunk = xcalloc(1, MIB);
	/* Field 15, wire type 2; length 1 MiB - 4, as a varint. */
	memcpy(chunk, "\x7a\xfc\xff\x3f", 4);
	member = xmalloc(MIB);
	memset(&zs, 0, sizeof zs);
	deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
	zs.next_in = chunk;
	zs.avail_in = MIB;
	zs.next_out = member;
	zs.avail_out = MIB;
	deflate(&zs, Z_FINISH);
	mlen = MIB - zs.avail_out;
	deflateEnd(&zs);
	out = xreallocarray(NULL, n, mlen);
	for (i = 0; i < n; i++)
		memcpy(out + i * mlen, member, mlen);
	free(member);
	free(chunk);
	*len = n * mlen;
	return out;
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run the loop until nothing is pending, or seconds pass. */
static void
run(struct event_base *base, struct decode *d, double seconds)
{
	double	end = now_s() + seconds;

	while (decode_pending(d) > 0 && now_s() < end) {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

/* What the work on the worker was given. */
struct worked {
	int	 calls;
	bool	 profile, parsed;
	size_t	 nsamples;
	int64_t	 value;
};

static void
work(const struct profile *p, const void *body, size_t len,
    const struct profile_raw *parsed, void *arg)
{
	struct worked		*w = arg;
	struct profile_view	 v;

	w->calls++;
	w->profile = p != NULL;
	w->parsed = parsed != NULL;
	if (parsed != NULL) {
		profile_raw_view(parsed, &v);
		w->nsamples = v.nsamples;
		w->value = v.nsamples > 0 ? v.values[0] : -1;
	}
}

static void
worked_done(const struct profile *p, const char *cause, const void *body,
    size_t len, void *arg)
{
	((struct worked *)arg)->calls += 100;
}

static int	 ticks;
static bool	 timed_out;

static void
time_out(evutil_socket_t fd, short what, void *arg)
{
	timed_out = true;
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	ticks++;
}

int
main(void)
{
	struct event_base	*base;
	struct event		*timer;
	struct decode		*d;
	struct decode_job	*j;
	struct got		 g1, g2, g3, many[40], *lots;
	int			 i, after, round, once;
	struct timeval		 ms10 = { 0, 10000 }, s60 = { 60, 0 };
	const char		 junk[] = "\x08\x01";
	void			*bomb;
	size_t			 blen;
	double			 t0;

	base = event_base_new();
	d = decode_new(base, 1);
	bomb = field_bomb(512, &blen);

	/*
	 * A profile's work is given the parse when started with parsed
	 * set only: one sample of one location, value 5.
	 */
	{
		static const char prof[] = "\x32\x00\x32\x01t\x32\x01u"
		    "\x0a\x04\x08\x01\x10\x02\x22\x02\x08\x01"
		    "\x12\x04\x08\x01\x10\x05";
		struct worked	 w1, w2;

		memset(&w1, 0, sizeof w1);
		memset(&w2, 0, sizeof w2);
		decode_start_work(d, dup_body(prof, sizeof prof - 1),
		    sizeof prof - 1, 100, false, work, true, NULL, worked_done,
		    NULL, &w1);
		decode_start_work(d, dup_body(prof, sizeof prof - 1),
		    sizeof prof - 1, 100, false, work, false, NULL, worked_done,
		    NULL, &w2);
		run(base, d, 5);
		/* Worked once, then handed back once (100). */
		ok(w1.calls == 101 && w1.profile && w1.parsed &&
		    w1.nsamples == 1 && w1.value == 5,
		    "started with parsed: the work reads the parse too");
		ok(w2.calls == 101 && w2.profile && !w2.parsed,
		    "started without: the profile alone");
	}

	/* A body that is no profile comes back with why. */
	memset(&g1, 0, sizeof g1);
	decode_start(d, dup_body(junk, 2), 2, 100, false, done, &g1);
	run(base, d, 5);
	is_int(g1.calls, 1, "a job is handed back once");
	ok(!g1.profile && strstr(g1.cause, "not a pprof profile") != NULL &&
	    g1.len == 2, "with no profile, why, and its body: %s", g1.cause);

	/* The loop's timers keep their pace while a bomb is decoded. */
	memset(&g1, 0, sizeof g1);
	timer = event_new(base, -1, EV_PERSIST, tick, NULL);
	event_add(timer, &ms10);
	t0 = now_s();
	decode_start(d, dup_body(bomb, blen), blen, 256 * MIB, false, done,
	    &g1);
	run(base, d, 30);
	t0 = now_s() - t0;
	event_free(timer);
	ok(g1.calls == 1 && strstr(g1.cause, "256 MiB limit") != NULL,
	    "a gzip bomb is refused at the cap: %s", g1.cause);
	/* Blocked, it would fire once; a busy machine delays each a little. */
	ok(ticks >= (int)(t0 * 100 / 8), "a 10 ms timer fired %d times in "
	    "%.2f s meanwhile", ticks, t0);

	/* Later bodies wait for the others: the good one comes back first. */
	memset(&g1, 0, sizeof g1);
	memset(&g2, 0, sizeof g2);
	memset(&g3, 0, sizeof g3);
	decode_start(d, dup_body(bomb, blen), blen, 256 * MIB, false, done,
	    &g1);
	usleep(20000);		/* the worker has taken it */
	decode_start(d, dup_body(junk, 2), 2, 100, true, done, &g2);
	decode_start(d, dup_body(junk, 2), 2, 100, false, done, &g3);
	ok(decode_pending(d) == 3 && decode_pending_bytes(d) == blen + 4,
	    "three bodies wait, %zu bytes of them",
	    decode_pending_bytes(d));
	run(base, d, 30);
	ok(decode_pending(d) == 0 && decode_pending_bytes(d) == 0,
	    "none once handed back");
	ok(g1.calls == 1 && g2.calls == 1 && g3.calls == 1 &&
	    g1.order < g3.order && g3.order < g2.order,
	    "a later body waits behind one started after it");

	/*
	 * But not for ever: behind 40 others queued after it, while the
	 * worker is busy, it goes after 32 of them at most.
	 */
	memset(&g1, 0, sizeof g1);
	memset(&g2, 0, sizeof g2);
	memset(many, 0, sizeof many);
	decode_start(d, dup_body(bomb, blen), blen, 256 * MIB, false, done,
	    &g1);
	usleep(20000);
	decode_start(d, dup_body(junk, 2), 2, 100, true, done, &g2);
	for (i = 0; i < 40; i++)
		decode_start(d, dup_body(junk, 2), 2, 100, false, done,
		    &many[i]);
	run(base, d, 30);
	for (i = 0, after = 0; i < 40; i++)
		after += many[i].calls == 1 && many[i].order > g2.order;
	ok(g2.calls == 1 && after >= 40 - 32 && after < 40,
	    "a later body is passed by 32 at most (%d of 40 came after)",
	    after);

	/* Cancelled while decoded, while queued, once decoded. */
	memset(&g1, 0, sizeof g1);
	memset(&g2, 0, sizeof g2);
	memset(&g3, 0, sizeof g3);
	j = decode_start(d, dup_body(bomb, blen), blen, 256 * MIB, false,
	    done, &g1);
	usleep(20000);
	decode_cancel(j);
	j = decode_start(d, dup_body(junk, 2), 2, 100, true, done, &g2);
	decode_cancel(j);
	run(base, d, 30);
	j = decode_start(d, dup_body(junk, 2), 2, 100, false, done, &g3);
	usleep(100000);		/* decoded, not yet handed back */
	decode_cancel(j);
	run(base, d, 5);
	ok(g1.calls == 0 && g2.calls == 0 && g3.calls == 0 &&
	    decode_pending(d) == 0,
	    "a job cancelled in any state is never handed back");

	/* Freed with a bomb being decoded and another queued. */
	decode_start(d, dup_body(bomb, blen), blen, 256 * MIB, false, done,
	    &g1);
	decode_start(d, dup_body(bomb, blen), blen, 256 * MIB, true, done,
	    &g1);
	usleep(20000);
	decode_free(d);
	ok(g1.calls == 0, "decode_free waits for the worker, drops the rest");

	/*
	 * Two workers finishing bodies together, told to the loop only when
	 * the first of those it has not taken finishes: the loop blocks
	 * until it hears, so a wake-up lost leaves bodies never handed back
	 * (the 60 s bound only a hang's).
	 */
	d = decode_new(base, 2);
	lots = xcalloc(1000, sizeof *lots);
	timer = evtimer_new(base, time_out, NULL);
	evtimer_add(timer, &s60);
	for (round = 0; round < 10 && !timed_out; round++) {
		for (i = round * 100; i < round * 100 + 100; i++)
			decode_start(d, dup_body(junk, 2), 2, 100, i % 7 == 0,
			    done, &lots[i]);
		while (decode_pending(d) > 0 && !timed_out)
			event_base_loop(base, EVLOOP_ONCE);
	}
	for (i = 0, once = 0; i < 1000; i++)
		once += lots[i].calls == 1;
	ok(!timed_out && once == 1000 && decode_pending(d) == 0,
	    "1,000 bodies on two workers all come back, once each (%d)",
	    once);
	event_free(timer);
	decode_free(d);
	free(lots);

	free(bomb);
	event_base_free(base);
	return tap_done();
}
