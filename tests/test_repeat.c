/*
 * Repeats: a scrape that brings the profile of the last snapshot stored
 * again, but for its time (no GC since), is stored and judged without
 * being parsed, from a copy of the judge's latest summary. The judge must
 * see exactly what decoding it would have given: a target scrapes a
 * sequence of bodies served on 127.0.0.1 (repeats, new GCs, a profile
 * whose bytes change but not its summary, an HTML page between, a
 * restart). After each, a second target over the same store, which
 * replays the stored snapshots at start-up as heapwatchd does, each
 * decoded whole (replay_every), must hold the same window, summary by
 * summary, and the same judgement. Then the store is replayed with the
 * replay's own shortcut for repeats, against every snapshot decoded whole.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <zlib.h>

#include "conf.h"
#include "daemon.h"
#include "judge.h"
#include "pbuild.h"
#include "replay.h"
#include "server.h"
#include "store.h"
#include "summary.h"
#include "target.h"
#include "tap.h"
#include "xmalloc.h"

/* A profile's GC: the first, a second with more in use, the second with
 * a new allocation site of no value yet (other bytes, the same sums). */
enum gc { GC_A, GC_B, GC_B_NEWSITE, HTML };

static const struct step {
	enum gc		 gc;
	int64_t		 time_s;	/* the profile's time_nanos, in s */
	bool		 gzip;
	bool		 repeat;	/* of the last snapshot stored */
} steps[] = {
	{ GC_A, 1000, true, false },
	{ GC_A, 1010, true, true },
	{ GC_A, 1020, true, true },
	{ GC_B, 1030, true, false },
	{ GC_B, 1040, false, true },	/* the same, not compressed */
	{ GC_B_NEWSITE, 1050, true, false },
	{ GC_B_NEWSITE, 1060, true, true },
	{ HTML, 0, false, false },	/* not stored: forgets the last */
	{ GC_B_NEWSITE, 1070, true, false },
	{ GC_B_NEWSITE, 1080, true, true },
	{ GC_A, 500, true, false },	/* the service restarted */
	{ GC_A, 510, true, true },
};
#define NSTEPS	(sizeof steps / sizeof *steps)

static uint8_t	*bodies[NSTEPS];
static size_t	 lens[NSTEPS];
static size_t	 served;

/* The body of a step: pb_small()'s profile, changed as its GC says. */
static uint8_t *
make_body(const struct step *st, size_t *len)
{
	struct pb	*b = pb_small();
	uint8_t		*pb, *gz;
	size_t		 plen;

	if (st->gc != GC_A) {
		/* main.leak's sample: more in use, more allocated. */
		b->s[0].value[0] = 20;
		b->s[0].value[1] = 20480;
		b->s[0].value[2] = 8;
		b->s[0].value[3] = 8192;
	}
	if (st->gc == GC_B_NEWSITE)
		pb_sample(b, 1, (uint64_t)1, (int64_t)0, (int64_t)0,
		    (int64_t)0, (int64_t)0);
	b->p.time_nanos = st->time_s * 1000000000;
	pb = pb_pack(b, &plen);
	free(b);
	if (!st->gzip) {
		*len = plen;
		return pb;
	}
	gz = pb_gzip(pb, plen, len);
	free(pb);
	return gz;
}


struct watch {
	struct daemon		*d;
	struct target		*t;
	struct event_base	*base;
	struct event		*timeout;
	uint64_t		*repeats, last;
	bool			 repeated[NSTEPS];	/* as counted */
	size_t			 nwin[NSTEPS];		/* the live window's */
	size_t			 wrong[NSTEPS];		/* its summaries not as
							   decoded whole */
	bool			 judged[NSTEPS];	/* the same judgement */
	size_t			 taken;
};

/* Whether two summaries say the same, their functions by name. */
static bool
same_summary(const struct summary *a, const struct names *an,
    const struct summary *b, const struct names *bn)
{
	uint32_t	i;

	if (strcmp(a->id, b->id) != 0 || a->time_ms != b->time_ms ||
	    a->profile_ns != b->profile_ns || a->total != b->total ||
	    a->objects != b->objects || a->alloc != b->alloc ||
	    a->fns->n != b->fns->n ||
	    (a->fns->cum == NULL) != (b->fns->cum == NULL))
		return false;
	for (i = 0; i < a->fns->n; i++)
		if (a->fns->own[i] != b->fns->own[i] ||
		    (a->fns->cum != NULL && a->fns->cum[i] != b->fns->cum[i]) ||
		    strcmp(summary_names_get(an, a->fns->name[i]),
		    summary_names_get(bn, b->fns->name[i])) != 0)
			return false;
	return true;
}

/*
 * The target's window and judgement against those of the snapshots
 * stored so far, each decoded whole: a new target of the same name
 * replays them.
 */
static void
compare(struct watch *w, size_t step)
{
	struct target		*full;
	struct judge_view	 a, b;
	size_t			 i;

	full = target_new(&w->d->deps, &w->d->conf->targets[0]);
	judge_view(target_status(w->t)->judge, &a);
	judge_view(target_status(full)->judge, &b);
	w->nwin[step] = a.nwin;
	w->wrong[step] = a.nwin != b.nwin;
	for (i = 0; i < a.nwin && i < b.nwin; i++)
		if (!same_summary(a.win[i], a.names, b.win[i], b.names)) {
			printf("# after body %zu: summary %zu (%s) differs\n",
			    step, i, a.win[i]->id);
			w->wrong[step]++;
		}
	w->judged[step] = a.state == b.state && a.restarts == b.restarts &&
	    a.total_growing == b.total_growing && a.growth == b.growth &&
	    a.ntop == b.ntop;
	target_free(full);
}

/* The summaries a replay makes, in order. */
struct replayed {
	struct names	*names;
	struct summary	*s[NSTEPS];
	size_t		 n;
};

static const char *
replayed_kind(void *arg, const struct profile *p, struct names **names)
{
	struct replayed	*r = arg;

	(void)p;
	*names = r->names;
	return "heap";
}

static void
replayed_add(void *arg, const struct store_snapshot *sn, struct summary *s)
{
	struct replayed	*r = arg;

	(void)sn;
	if (r->n < NSTEPS)
		r->s[r->n++] = s;
	else
		summary_free(s);
}

/*
 * The stored snapshots replayed as at start-up and by "heapwatch judge":
 * the stored repeats not parsed, each summary the same as decoding it
 * whole gives. The store holds more repeats than the daemon took: the
 * one after the HTML page, which the daemon decoded as it had forgotten
 * the last, repeats the snapshot before it all the same.
 */
static void
test_replay(struct store *store)
{
	static const struct replay_ops ops = { replayed_kind, replayed_add };
	struct store_snapshot	*snaps;
	struct replayed		 whole = { 0 }, quick = { 0 };
	size_t			 i, n, reps = 0, want = 0, wrong = 0, last = 0;
	bool			 seen = false;

	for (i = 0; i < NSTEPS; i++) {
		if (steps[i].gc == HTML)
			continue;
		want += seen && steps[i].gc == steps[last].gc;
		seen = true;
		last = i;
	}
	if (store_list(store, "svc", &snaps, &n, NULL) == -1)
		abort();
	whole.names = summary_names_new();
	quick.names = summary_names_new();
	replay_every = true;
	(void)replay_snapshots(store, "svc", snaps, n, INT64_MIN,
	    PROFILE_MAX_INFLATED, &ops, &whole, &reps);
	is_int(reps, 0, "a replay that decodes every snapshot whole repeats "
	    "none");
	replay_every = false;
	(void)replay_snapshots(store, "svc", snaps, n, INT64_MIN,
	    PROFILE_MAX_INFLATED, &ops, &quick, &reps);
	is_int(reps, want, "a replay does not parse the %zu stored repeats",
	    want);
	for (i = 0; i < whole.n && i < quick.n; i++)
		wrong += !same_summary(whole.s[i], whole.names, quick.s[i],
		    quick.names);
	ok(whole.n == n && quick.n == n && wrong == 0, "... and each of "
	    "its %zu summaries is what decoding it whole gives", n);
	for (i = 0; i < whole.n; i++)
		summary_free(whole.s[i]);
	for (i = 0; i < quick.n; i++)
		summary_free(quick.s[i]);
	summary_names_free(whole.names);
	summary_names_free(quick.names);
	store_list_free(snaps);
}

/*
 * Note how the last body was taken in, as the next is asked for: a
 * target's next scrape is armed only once its last body is decoded,
 * stored and judged, so that each is seen on its own, however slow the
 * machine.
 */
static void
take_in(struct watch *w)
{
	const struct target_status	*ts = target_status(w->t);
	uint64_t			 n = 0;
	int				 o;

	for (o = 0; o < SCRAPE_NOUTCOMES; o++)
		if (o != SCRAPE_SKIPPED)
			n += ts->scrapes[o];
	if (n <= w->taken || w->taken >= NSTEPS)
		return;
	w->repeated[w->taken] = *w->repeats > w->last;
	w->last = *w->repeats;
	compare(w, w->taken);
	/* A scrape that failed took its body with it, unrecorded. */
	w->taken = n;
	if (w->taken >= NSTEPS)
		event_base_loopexit(w->base, NULL);
}

static void
route(const struct http_request *req, struct http_reply *reply, void *arg)
{
	size_t	i = served < NSTEPS ? served : NSTEPS - 1;

	(void)req;
	take_in(arg);
	served++;
	if (steps[i].gc == HTML) {
		server_reply_text(reply, 200, "text/html",
		    "<html><body>Sign in</body></html>\n");
		return;
	}
	reply->status = 200;
	reply->content_type = "application/octet-stream";
	reply->body = xmalloc(lens[i]);
	memcpy(reply->body, bodies[i], lens[i]);
	reply->len = lens[i];
}

/* Two minutes at most: a busy machine is slow, not wrong. */
static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct watch	*w = arg;

	(void)fd;
	(void)what;
	event_base_loopexit(w->base, NULL);
}

int
main(void)
{
	struct timeval		 tv = { 120, 0 };
	struct daemon		 d;
	struct watch		 w;
	struct server		*srv;
	struct store_snapshot	*snaps;
	char			 listen[64], *cause = NULL;
	uint64_t		 repeats = 0;
	size_t			 i, nsnaps = 0, want = 0, stored = 0;
	size_t			 wrong = 0, most = 0;
	bool			 judged = true;
	int			 port;
	bool			 all = true;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (i = 0; i < NSTEPS; i++) {
		if (steps[i].gc != HTML)
			bodies[i] = make_body(&steps[i], &lens[i]);
		want += steps[i].repeat;
		stored += steps[i].gc != HTML;
	}
	port = daemon_free_port();
	memset(&w, 0, sizeof w);
	w.base = event_base_new();
	w.repeats = &repeats;
	w.d = &d;
	snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
	if ((srv = server_new(w.base, listen, NULL, NULL, route, &w,
	    &cause)) == NULL || daemon_open(&d, "test_repeat", w.base, &cause,
	    "listen: 127.0.0.1:%d\n"
	    "defaults:\n  interval: 1s\n  timeout: 900ms\n  window: 1h\n"
	    "  for: 30m\n"
	    "targets:\n"
	    "  - name: svc\n    url: http://127.0.0.1:%d/debug/pprof/heap\n",
	    port, port) == -1) {
		ok(0, "the server, the configuration and the store start: %s",
		    cause);
		return tap_done();
	}
	daemon_scrapes(&d);
	/* The second target, below, decodes every snapshot whole. */
	replay_every = true;
	d.keep.snapshots = 100;
	d.deps.repeats = &repeats;
	w.t = target_new(&d.deps, &d.conf->targets[0]);
	target_start(w.t, false);
	w.timeout = evtimer_new(w.base, on_timeout, &w);
	evtimer_add(w.timeout, &tv);
	event_base_dispatch(w.base);

	is_int(w.taken, NSTEPS, "every body was scraped and taken in");
	for (i = 0; i < NSTEPS; i++)
		if (w.repeated[i] != steps[i].repeat) {
			printf("# body %zu: %s, want %s\n", i,
			    w.repeated[i] ? "a repeat" : "decoded",
			    steps[i].repeat ? "a repeat" : "decoded");
			all = false;
		}
	ok(all, "the repeats, and only they, were not decoded");
	is_int(repeats, want, "%zu repeats counted", want);
	is_int(target_status(w.t)->snapshots, stored,
	    "every profile was stored, repeats too");
	if (store_list(d.deps.store, "svc", &snaps, &nsnaps, &cause) == -1)
		abort();
	store_list_free(snaps);
	is_int(nsnaps, stored, "... in the store");

	for (i = 0; i < w.taken; i++) {
		wrong += w.wrong[i];
		judged = judged && w.judged[i];
		most = w.nwin[i] > most ? w.nwin[i] : most;
	}
	is_int(wrong, 0, "after each body, the window is what the snapshots "
	    "decoded whole give, summary by summary (%zu at most)", most);
	ok(judged, "... and so is the judgement");
	ok(w.taken == NSTEPS && w.nwin[NSTEPS - 3] == 9 &&
	    w.nwin[NSTEPS - 1] == 2, "the window grew to 9 summaries, and "
	    "the restart cleared it");
	ok(target_latest(w.t)->profile_ns == 510LL * 1000000000 &&
	    target_latest(w.t)->time_ms == target_status(w.t)->last_scrape,
	    "the latest is the last repeat, with its own times");

	test_replay(d.deps.store);

	target_free(w.t);
	event_free(w.timeout);
	server_free(srv);
	if (daemon_close(&d) == -1)
		ok(0, "the scratch folder is removed");
	event_base_free(w.base);
	for (i = 0; i < NSTEPS; i++)
		free(bodies[i]);
	return tap_done();
}
