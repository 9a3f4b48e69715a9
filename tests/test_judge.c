/*
 * Unit tests for src/judge.c: the alert's states over synthetic
 * summaries, and a restart starting a new window.
 */
#include "config.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "judge.h"
#include "tap.h"

#define MiB	(1024 * 1024)

/* What the judge shows, as heapwatchd's pages and API read it. */
static struct judge_view
view(const struct judge *j)
{
	struct judge_view	v;

	judge_view(j, &v);
	return v;
}

/* A summary at second t of a heap of total bytes, `leak` of it in
 * main.leak, alloc bytes allocated since start. */
static struct summary *
sum(struct judge *j, int t, int64_t total, int64_t leak, int64_t alloc)
{
	struct summary	*s = calloc(1, sizeof *s);

	snprintf(s->id, sizeof s->id, "%d", 1000 + t);
	s->time_ms = (int64_t)t * 1000;
	s->profile_ns = (int64_t)t * 1000000000;
	s->total = total;
	s->alloc = alloc;
	s->names = judge_names(j);
	s->fns = summary_fns_make(2, false);
	s->fns->name[0] = summary_names_add(judge_names(j), "main.leak");
	s->fns->own[0] = leak;
	s->fns->name[1] = summary_names_add(judge_names(j), "main.steady");
	s->fns->own[1] = total - leak;
	return s;
}

/*
 * A leak of 1 MiB/s seen through heap profiles, which are as of the last
 * GC: scraped every second, a GC every gc_every seconds, so scrapes
 * between two GCs are the same profile. Over a 10 s window with `for` 5 s
 * and min_growth 2 MiB, it must fire and stay firing, with no flapping:
 * returns the number of state changes, and when it first fired in *fired.
 */
static int
gc_cadence(int gc_every, int *fired, bool *firing_at_end, int *wants,
    int *wrong_gc)
{
	struct judge_params	 p = { "heap", 10000, 5000, 2 * MiB, 0, 0 };
	struct judge		*j = judge_new(&p);
	enum alert_state	 from;
	int			 t, gc = 0, changes = 0;
	int64_t			 heap;

	*fired = -1;
	*wants = *wrong_gc = 0;
	for (t = 0; t <= 60; t++) {
		if (t % gc_every == 0)
			gc = t;
		heap = 3 * MiB + (int64_t)gc * MiB;
		if (judge_add(j, sum(j, t, heap, heap - 3 * MiB,
		    (int64_t)(gc + 1) * 10 * MiB), &from)) {
			changes++;
			if (view(j).state == ALERT_FIRING && *fired == -1)
				*fired = t;
		}
		/* A GC is asked for only to confirm a pending alert on a
		 * profile older than a quarter of the window. */
		if (judge_wants_gc(j, (int64_t)t * 1000) !=
		    (view(j).state == ALERT_PENDING && t - gc >= 3))
			*wrong_gc += 1;
		if (judge_wants_gc(j, (int64_t)t * 1000))
			*wants += 1;
	}
	*firing_at_end = view(j).state == ALERT_FIRING;
	judge_free(j);
	return changes;
}

/*
 * A flat heap seen the same way, its GCs every 7 s finding it half a MiB
 * higher or lower by turns: the spans without a GC make no rise, and it
 * never goes pending.
 */
static int
gc_cadence_flat(void)
{
	struct judge_params	 p = { "heap", 10000, 5000, 256 * 1024, 0, 0 };
	struct judge		*j = judge_new(&p);
	enum alert_state	 from;
	int			 t, gc = 0, n = 0, changes = 0;
	int64_t			 heap = 40 * MiB;

	for (t = 0; t <= 120; t++) {
		if (t % 7 == 0) {
			gc = t;
			heap = 40 * MiB + (n++ % 2 == 0 ? MiB / 2 : -MiB / 2);
		}
		if (judge_add(j, sum(j, t, heap, 0,
		    (int64_t)(gc + 1) * 10 * MiB), &from))
			changes++;
	}
	judge_free(j);
	return changes;
}

static void
test_gc_cadence(void)
{
	int	 every, changes, fired, wants, wrong;
	bool	 end;

	changes = gc_cadence_flat();
	ok(changes == 0, "a flat heap with a GC every 7 s never goes "
	    "pending (%d changes)", changes);

	for (every = 1; every <= 7; every += 3) {
		changes = gc_cadence(every, &fired, &end, &wants, &wrong);
		ok(wrong == 0 && (every < 4 || wants > 0), "a GC every %d s: "
		    "a GC asked for %d times, when pending on a stale profile",
		    every, wants);
		ok(fired != -1 && fired <= 30 && end,
		    "a GC every %d s: fires (at %d s) and stays firing",
		    every, fired);
		ok(changes == 2, "a GC every %d s: pending, firing, no "
		    "flapping (%d changes)", every, changes);
	}
}

/*
 * The live heap alone, as gctrace gives it: a GC every 250 ms for 100 s,
 * with a sawtooth of 0 to 40 MiB of garbage over 50 MiB, and from 10 s to
 * 60 s a leak of 0.5 MiB/s under it.
 */
static void
test_live(void)
{
	struct judge_params	 p = { "heap", 20000, 10000, 4 * MiB, 0, 0 };
	struct judge		*j = judge_new(&p);
	enum alert_state	 from;
	int			 i, firing = -1, resolved = -1, repeats = 0;
	int64_t			 t, leak, live, v;
	size_t			 n;
	uint64_t		 gc = 1;

	for (i = 0; i < 400; i++) {
		t = (int64_t)i * 250;
		leak = t < 10000 ? 0 : (t < 60000 ? t - 10000 : 50000) *
		    (MiB / 2) / 1000;
		live = 50 * MiB + leak + (int64_t)(i % 16) * 40 * MiB / 16;
		if (judge_add_gc(j, t, gc, (double)t / 1000, live, &from)) {
			if (view(j).state == ALERT_FIRING && firing == -1)
				firing = i / 4;
			if (view(j).state == ALERT_INACTIVE &&
			    from == ALERT_FIRING)
				resolved = i / 4;
		}
		/* gctrace=2 prints each GC twice: the repeat is ignored. */
		n = view(j).ngc;
		v = view(j).gc[n - 1].v;
		if (judge_add_gc(j, t + 1, gc, (double)t / 1000, 1,
		    &from) || view(j).ngc != n || view(j).gc[n - 1].v != v)
			repeats++;
		gc++;
		if (i == 200) {
			ok(view(j).state == ALERT_FIRING,
			    "the live heap alone fires while it leaks");
			ok(strcmp(judge_signals(j), "live heap") == 0,
			    "signals: %s", judge_signals(j));
			ok(view(j).growth >= 8 * MiB &&
			    view(j).growth <= 12 * MiB,
			    "growth over the window: %lld",
			    (long long)view(j).growth);
			ok(view(j).ngc <= JUDGE_GC_BUCKETS + 1,
			    "%zu live heap points kept", view(j).ngc);
		}
	}
	is_int(repeats, 0, "a GC's repeat (gctrace=2) changes nothing");
	ok(firing >= 30 && firing <= 42, "firing %d s after the leak began",
	    firing - 10);
	ok(resolved > 60 && resolved <= 80, "resolved after it stopped (%d s)",
	    resolved);

	/* The service restarts: GC numbers start again. */
	judge_add_gc(j, 100000, 1, 0.1, 10 * MiB, &from);
	is_int(view(j).gc_restarts, 1, "a GC number going back is a restart");
	is_int(view(j).ngc, 1, "and the live heap starts again");
	judge_free(j);

	/*
	 * A profile that said it grows counts for its window only: when
	 * scrapes stop and the live heap stays flat, the alert resolves.
	 */
	j = judge_new(&p);
	for (i = 0; i < 50; i++)
		judge_add(j, sum(j, i, 50 * MiB + (int64_t)i * MiB, 0,
		    100 * MiB + (int64_t)i * MiB), &from);
	ok(view(j).state == ALERT_FIRING, "the profiles fire");
	for (i = 0, gc = 1; i < 400; i++, gc++)
		judge_add_gc(j, 50000 + (int64_t)i * 250, gc,
		    (double)i / 4, 60 * MiB, &from);
	ok(view(j).state == ALERT_INACTIVE && !view(j).total_growing,
	    "scrapes gone and the live heap flat, it resolves");
	judge_free(j);

	/* Churn: the same sawtooth with no leak never fires. */
	j = judge_new(&p);
	for (i = 0, gc = 1; i < 400; i++, gc++) {
		t = (int64_t)i * 250;
		judge_add_gc(j, t, gc, (double)t / 1000, 50 * MiB +
		    (int64_t)(i % 16) * 40 * MiB / 16, &from);
		if (view(j).state != ALERT_INACTIVE)
			break;
	}
	is_int(i, 400, "a sawtooth without a leak never goes pending");
	judge_free(j);
}

/*
 * A goroutine target restarts: its profiles cannot tell (nothing counted
 * since the start, stamped with the time taken), its gctrace lines can.
 * Steady at 200 goroutines for 300 s, then from 50 again, warming up to
 * 200 (a time constant of 60 s): as the rise of a target seen for long it
 * fires; with gctrace's GC numbers starting again, the window starts again
 * and the warm-up is young, and it never fires (the restart is counted
 * once the numbers have stayed back for a quarter of the window).
 */
static void
test_goroutine_restart(void)
{
	struct judge_params	 p = { "goroutine", 20000, 10000, 20, 0, 0 };
	struct judge		*j;
	enum alert_state	 from;
	int			 t, gctrace, firing;
	uint64_t		 gc;
	int64_t			 w, v;

	for (gctrace = 0; gctrace < 2; gctrace++) {
		j = judge_new(&p);
		for (t = 0, firing = 0, gc = 1; t < 600; t++, gc++) {
			if (t == 300)
				gc = 1;
			w = t < 300 ? 150 : (int64_t)(150 * (1 - exp(-(t -
			    300) / 60.0)));
			if (gctrace)
				judge_add_gc(j, (int64_t)t * 1000, gc,
				    t < 300 ? t : t - 300, 10 * MiB, &from);
			judge_add(j, sum(j, t, 50 + w, w, 0), &from);
			firing += view(j).state == ALERT_FIRING;
		}
		if (!gctrace)
			ok(firing > 0 && view(j).restarts == 0, "the "
			    "control: a goroutine target's restart unseen "
			    "without gctrace, its warm-up fires (%d s)",
			    firing);
		else
			ok(firing == 0 && view(j).restarts == 1 &&
			    view(j).gc_restarts == 1, "seen by gctrace: a "
			    "restart (%u), and the warm-up never fires (%d s)",
			    view(j).restarts, firing);
		judge_free(j);
	}

	/*
	 * A source read again from the start (kubectl logs -f run again)
	 * replays its 300 lines at once, then goes on: no restart, and the
	 * leak, a goroutine a second, keeps firing. A restart whose new
	 * process passes the old one's GC count within seconds is one; so
	 * is one whose lines stop after the first.
	 */
	j = judge_new(&p);
	for (t = 0, firing = 0, gc = 1; t < 400; t++, gc++) {
		if (t == 300)
			for (w = 0; w < 300; w++)
				judge_add_gc(j, (int64_t)t * 1000,
				    (uint64_t)w + 1, (double)w, 10 * MiB,
				    &from);
		judge_add_gc(j, (int64_t)t * 1000, gc, t, 10 * MiB, &from);
		judge_add(j, sum(j, t, 50 + t, t, 0), &from);
		if (t > 100)
			firing += view(j).state == ALERT_FIRING;
	}
	ok(firing == 299 && view(j).restarts == 0, "GC lines replayed from "
	    "the first: no restart (%u), firing throughout (%d s of 299)",
	    view(j).restarts, firing);
	judge_free(j);

	/*
	 * A log that keeps earlier lives (docker logs -f run again) replays
	 * a first life (two GCs a second, 400 of them, more than the second
	 * has), then the second (a GC a second since t = 200, leaking a
	 * goroutine a second) up to its last line: one restart in all, and
	 * the second life's alert stays firing through the replay.
	 */
	j = judge_new(&p);
	for (t = 0, firing = 0, w = 0; t < 450; t++) {
		int	changes = 0;

		if (t == 350) {
			for (gc = 1; gc <= 400; gc++)
				changes += judge_add_gc(j, (int64_t)t * 1000,
				    gc, (double)(gc - 1) / 2, 10 * MiB, &from);
			for (gc = 1; gc <= 150; gc++)
				changes += judge_add_gc(j, (int64_t)t * 1000,
				    gc, (double)(gc - 1), 10 * MiB, &from);
		}
		if (t < 200)
			for (gc = 1; gc <= 2; gc++)
				changes += judge_add_gc(j, (int64_t)t * 1000,
				    (uint64_t)t * 2 + gc, t + (gc - 1) / 2.0,
				    10 * MiB, &from);
		else
			changes += judge_add_gc(j, (int64_t)t * 1000,
			    (uint64_t)(t - 199), t - 200, 10 * MiB, &from);
		v = t < 200 ? 0 : t - 200;
		changes += judge_add(j, sum(j, t, 50 + v, v, 0), &from);
		if (t >= 340)
			w += changes;
		firing += t >= 340 && view(j).state == ALERT_FIRING;
	}
	ok(view(j).restarts == 1 && firing == 110 && w == 0, "a log of two "
	    "lives read again: one restart (%u), firing throughout the "
	    "replay (%d s of 110, %lld changes)", view(j).restarts, firing,
	    (long long)w);
	judge_free(j);

	for (int stop = 0; stop < 2; stop++) {
		j = judge_new(&p);
		for (t = 0, firing = 0; t < 600; t++) {
			/* Old: a GC every 30 s; new: 4 a second, or one. */
			if (t < 300 && t % 30 == 0)
				judge_add_gc(j, (int64_t)t * 1000, t / 30 + 1,
				    t, 10 * MiB, &from);
			else if (t >= 300 && (!stop || t == 300))
				for (w = 0; w < 4; w++)
					judge_add_gc(j, (int64_t)t * 1000,
					    (uint64_t)(t - 300) * 4 + w + 1,
					    t - 300 + w / 4.0, 10 * MiB,
					    &from);
			v = t < 300 ? 150 : (int64_t)(150 * (1 - exp(-(t -
			    300) / 60.0)));
			judge_add(j, sum(j, t, 50 + v, v, 0), &from);
			firing += view(j).state == ALERT_FIRING;
		}
		ok(view(j).restarts == 1 && firing == 0, "a restart %s: "
		    "counted (%u), its warm-up never fires (%d s)", stop ?
		    "whose GC lines stop after the first" : "that passes the "
		    "old GC count at once", view(j).restarts, firing);
		judge_free(j);
	}
}

/*
 * Time to limit: a leak of 1 MiB/s from 50 MiB, a GC at every scrape,
 * reaches 190 MiB 100 s after it is at 90 MiB; the severity follows from
 * page_within. A flat heap, or no limit, has no time to limit.
 */
static void
test_limit(void)
{
	struct judge_params	 p = { "heap", 20000, 10000, 4 * MiB, 0, 0 };
	struct judge		*j = judge_new(&p);
	enum alert_state	 from;
	double			 ttl;
	int			 t;
	uint64_t		 gc;

	for (t = 0; t <= 50; t++)
		judge_add(j, sum(j, t, 40 * MiB + (int64_t)t * MiB,
		    (int64_t)t * MiB, 100 * MiB + (int64_t)t * 10 * MiB), &from);
	ttl = judge_time_to_limit(j, 190 * MiB);
	ok(ttl > 99 && ttl < 101, "1 MiB/s at 90 MiB: 190 MiB in %.1f s",
	    ttl);
	ok(strcmp(judge_severity(j, 190 * MiB, 60000), "warning") == 0,
	    "100 s away, paged within 60 s: warning");
	ok(strcmp(judge_severity(j, 190 * MiB, 120000), "critical") == 0,
	    "100 s away, paged within 120 s: critical");
	ok(judge_time_to_limit(j, 80 * MiB) == 0 &&
	    strcmp(judge_severity(j, 80 * MiB, 1), "critical") == 0,
	    "over the limit already: 0 s, critical");
	ok(judge_time_to_limit(j, 0) == -1 &&
	    strcmp(judge_severity(j, 0, 120000), "warning") == 0,
	    "no limit: no time to limit, warning");
	ok(!judge_repeats(j), "a new GC at every scrape: not stale");
	judge_add(j, sum(j, 51, 90 * MiB, 50 * MiB, 600 * MiB), &from);
	ok(judge_repeats(j), "the same GC scraped again: stale");
	/*
	 * A judgement that misses (the heap 10 MiB lower for a few scrapes, as
	 * between two GCs on a busy host) does not resolve a firing alert
	 * at once, and while it holds, so does its time to limit, from the
	 * window's slope.
	 */
	for (t = 52; t <= 54; t++)
		judge_add(j, sum(j, t, 80 * MiB, 40 * MiB,
		    100 * MiB + (int64_t)t * 10 * MiB), &from);
	ttl = judge_time_to_limit(j, 190 * MiB);
	ok(judge_state(j) == ALERT_FIRING && !view(j).total_growing &&
	    ttl > 50 && ttl < 150, "a miss: still firing (%s, %s), %.1f s "
	    "to the limit", judge_state_name(judge_state(j)),
	    view(j).total_growing ? "growing" : "not growing", ttl);
	judge_free(j);

	/* Flat: nothing grows, whatever the limit. */
	j = judge_new(&p);
	for (t = 0; t <= 40; t++)
		judge_add(j, sum(j, t, 50 * MiB + (t % 2) * MiB / 4, 0,
		    100 * MiB + (int64_t)t * 10 * MiB), &from);
	ok(judge_time_to_limit(j, 60 * MiB) == -1 &&
	    strcmp(judge_severity(j, 60 * MiB, 3600000), "warning") == 0,
	    "a flat heap has no time to limit");
	judge_free(j);

	/* The live heap alone: 0.5 MiB/s from 50 MiB, a GC every 250 ms. */
	j = judge_new(&p);
	for (t = 0, gc = 1; t <= 160; t++, gc++)
		judge_add_gc(j, (int64_t)t * 250, gc, (double)t / 4,
		    50 * MiB + (int64_t)t * MiB / 8, &from);
	ttl = judge_time_to_limit(j, 90 * MiB);
	ok(ttl > 37 && ttl < 43, "live heap at 70 MiB, 0.5 MiB/s: 90 MiB "
	    "in %.1f s", ttl);
	judge_free(j);
}

/*
 * A leak that slows but goes on: 0.5 MiB/s for 60 s, then 0.3 MiB/s for
 * ever (load moved elsewhere). Over the last windows its later half rises
 * slower than its earlier half, as a cache filling does, but an alert
 * that fired must not resolve while the window still rises past
 * min_growth: a cache's own window goes flat, and only that resolves it.
 */
static void
test_slowing_leak(void)
{
	struct judge_params	 p = { "heap", 20000, 10000, 4 * MiB, 0, 0 };
	struct judge		*j = judge_new(&p);
	enum alert_state	 from;
	int			 t, fired = -1, resolved = -1;
	int64_t			 leak;

	for (t = 0; t < 300; t++) {
		leak = t < 60 ? (int64_t)t * MiB / 2 :
		    30 * MiB + (int64_t)(t - 60) * 3 * MiB / 10;
		judge_add(j, sum(j, t, 40 * MiB + leak, leak,
		    (int64_t)(t + 1) * 8 * MiB), &from);
		if (view(j).state == ALERT_FIRING && fired == -1)
			fired = t;
		if (fired != -1 && view(j).state != ALERT_FIRING &&
		    resolved == -1)
			resolved = t;
	}
	ok(fired != -1 && fired < 60, "a leak fires (at %d s)", fired);
	ok(resolved == -1, "and stays firing when it slows but goes on "
	    "(resolved at %d s)", resolved);
	judge_free(j);
}

/*
 * A leak too slow for the window (8 MiB an hour, against min_growth 16
 * MiB over 30 minutes) that the slow horizon finds, on a target whose
 * gctrace gives a GC every 10 s between its scrapes every minute: each
 * GC line, whose live heap alone says no, must not undo the slow
 * horizon's yes. It fires and stays firing, with no flapping. Returns
 * the state changes; *fired when it first fired (-1: never).
 */
static int
slow_leak(bool gctrace, int *fired, bool *firing_at_end)
{
	struct judge_params	 p = { "heap", 30 * 60000, 15 * 60000,
				    16 * MiB, 24 * 3600000ULL, 64 * MiB };
	struct judge		*j = judge_new(&p);
	enum alert_state	 from;
	int			 t, changes = 0;
	uint64_t		 gc = 0;
	int64_t			 leak, live;

	*fired = -1;
	for (t = 0; t <= 24 * 3600; t += 10) {
		leak = (int64_t)t * 8 * MiB / 3600;
		live = 200 * MiB + leak;
		gc++;
		if (gctrace && judge_add_gc(j, (int64_t)t * 1000, gc, t, live,
		    &from))
			changes++;
		if (t % 60 == 0 && judge_add(j, sum(j, t, live, leak,
		    1000 * (int64_t)MiB + (int64_t)gc * MiB), &from))
			changes++;
		if (*fired == -1 && view(j).state == ALERT_FIRING)
			*fired = t;
	}
	*firing_at_end = view(j).state == ALERT_FIRING;
	judge_free(j);
	return changes;
}

/*
 * The live heap from gctrace alone, a leak of 1 MiB/s and a GC every
 * 250 ms, firing; then heapwatchd's clock set back 100 s: the series of
 * GCs starts again, points added as before, rather than every line
 * folded into the last point until the clock caught up.
 */
static void
test_live_clock_back(void)
{
	struct judge_params	 p = { "heap", 20000, 10000, 4 * MiB, 0, 0 };
	struct judge		*j = judge_new(&p);
	enum alert_state	 from;
	int			 i;
	int64_t			 t;
	size_t			 before = 0, least = SIZE_MAX;
	bool			 firing = false, firing_after = true;

	for (i = 0; i < 400; i++) {
		t = (int64_t)i * 250;
		(void)judge_add_gc(j, i < 200 ? t : t - 100000,
		    (uint64_t)i + 1, (double)t / 1000, 50 * MiB +
		    t * (MiB / 1000), &from);
		if (i == 199) {
			firing = view(j).state == ALERT_FIRING;
			before = view(j).ngc;
		}
		if (i >= 200 && view(j).state != ALERT_FIRING)
			firing_after = false;
		if (i >= 200 && view(j).ngc < least)
			least = view(j).ngc;
	}
	ok(firing && before > 2, "the live heap fires (%zu points)", before);
	ok(least <= 1 && view(j).ngc > 2 && firing_after, "and, the clock set "
	    "back 100 s, its series starts again (%zu points, then %zu) and "
	    "it fires on", least, view(j).ngc);
	judge_free(j);
}

static void
test_slow_gctrace(void)
{
	int	changes, fired, fired_gc;
	bool	end, end_gc;

	changes = slow_leak(false, &fired, &end);
	ok(fired != -1 && end && changes == 2, "a slow leak fires on the slow "
	    "horizon (at %d s), once (%d changes)", fired, changes);
	changes = slow_leak(true, &fired_gc, &end_gc);
	ok(fired_gc != -1 && end_gc && changes == 2, "and so it does with "
	    "gctrace's GCs between the scrapes (at %d s, %d changes)",
	    fired_gc, changes);
}

/*
 * heapwatchd's clock set back an hour while a leak of 120 MiB an hour
 * fires (scrapes a minute apart; the service's own clock, its profiles'
 * times, goes on): the window's times no longer compare, and it starts
 * again rather than keep entries from before the step among those after
 * it. The alert fires on, with no change of state: the service kept its
 * heap, and nothing resolved.
 */
static void
test_clock_back(void)
{
	struct judge_params	 p = { "heap", 30 * 60000, 15 * 60000,
				    16 * MiB, 24 * 3600000ULL, 64 * MiB };
	struct judge		*j = judge_new(&p);
	struct summary		*s;
	enum alert_state	 from;
	int			 t, changes = 0, fired = -1;
	int64_t			 leak;
	bool			 firing_after = true;

	for (t = 0; t <= 8 * 3600; t += 60) {
		leak = (int64_t)t * 120 * MiB / 3600;
		s = sum(j, t, 200 * MiB + leak, leak,
		    1000 * (int64_t)MiB + (int64_t)t * 10 * MiB);
		if (t >= 4 * 3600)
			s->time_ms -= 3600 * 1000;	/* the daemon's clock */
		if (judge_add(j, s, &from))
			changes++;
		if (fired == -1 && view(j).state == ALERT_FIRING)
			fired = t;
		if (t >= 4 * 3600 && view(j).state != ALERT_FIRING)
			firing_after = false;
	}
	ok(fired != -1 && fired < 4 * 3600, "a leak fires (at %d s)", fired);
	ok(firing_after && changes == 2 && view(j).restarts == 0,
	    "and fires on when heapwatchd's clock goes back an hour (%d "
	    "changes)", changes);
	judge_free(j);
}

/*
 * The shapes of growth that is no leak, and the slow horizon, over a 20 s
 * window with `for` 10 s, a GC and a scrape every second.
 */
static void
test_shapes(void)
{
	struct judge_params	 p = { "heap", 20000, 10000, 4 * MiB,
				    960000, 16 * MiB };
	struct judge		*j;
	enum alert_state	 from;
	size_t			 per_target;
	double			 ttl;
	int			 t, firings = 0, pending = 0, fired = -1;
	int64_t			 v, alloc;

	/*
	 * A cache filling 600 MiB, half its room every 55 s: a straight rise
	 * over one window, bending to 0.69 over three. It may be pending
	 * while young, and never fires.
	 */
	j = judge_new(&p);
	for (t = 0; t < 400; t++) {
		v = 40 * MiB + (int64_t)(600.0 * MiB * (1 - exp(-t / 80.0)));
		judge_add(j, sum(j, t, v, v - 40 * MiB, (int64_t)(t + 1) * MiB),
		    &from);
		firings += view(j).state == ALERT_FIRING;
		pending += view(j).state == ALERT_PENDING;
	}
	ok(firings == 0 && pending > 0, "a cache warming up: pending while "
	    "young (%d s), never firing (%d s)", pending, firings);
	judge_free(j);

	/*
	 * The same cache under a batch job's sawtooth (main.steady fills
	 * 300 MiB in 12 s and drops it, with a GC every second): the floors
	 * of the total do not rise across a window, those of main.leak
	 * alone do. Its own rise's shape is judged as the total's would be,
	 * and it never fires; a leak in its place, a straight line, fires.
	 */
	for (int leak = 0; leak < 2; leak++) {
		int	at = -1;

		j = judge_new(&p);
		for (t = 0, firings = 0; t < 400; t++) {
			int64_t	 fn = leak ? (int64_t)t * MiB / 2 :
			    (int64_t)(600.0 * MiB * (1 - exp(-t / 80.0)));

			v = 40 * MiB + (int64_t)300 * MiB * (t % 13) / 12 +
			    fn;
			judge_add(j, sum(j, t, v, fn, (int64_t)(t + 1) * MiB),
			    &from);
			if (view(j).state == ALERT_FIRING && at == -1)
				at = t;
			firings += view(j).state == ALERT_FIRING;
		}
		if (!leak)
			ok(firings == 0, "a cache warming up under a sawtooth "
			    "never fires (%d s)", firings);
		else
			ok(at > 0 && at <= 60 && view(j).state ==
			    ALERT_FIRING && !view(j).total_growing,
			    "a leak under a sawtooth fires by its function "
			    "alone (at %d s) and stays firing", at);
		judge_free(j);
	}

	/*
	 * A leak that kills the service every 35 s (its allocations since
	 * start going back each time), under 2 windows: each life is young.
	 * The first one goes pending; each one after restarted pending or
	 * firing, and fires on its straight rise without waiting 2 windows.
	 */
	{
		int	life, fired_lives = 0, restarts = 0;

		j = judge_new(&p);
		for (life = 0; life < 6; life++) {
			bool	hit = false;

			for (t = 0; t < 35; t++) {
				int	at = life * 35 + t;

				v = 40 * MiB + (int64_t)t * MiB;
				if (judge_add(j, sum(j, at, v, v - 40 * MiB,
				    (int64_t)(t + 1) * MiB), &from) &&
				    view(j).state == ALERT_FIRING)
					hit = true;
			}
			fired_lives += hit;
		}
		restarts = (int)view(j).restarts;
		ok(restarts == 5 && fired_lives == 5, "a leak that kills the "
		    "service every 35 s: %d restarts, %d lives of 6 fire "
		    "(all but the first)", restarts, fired_lives);
		judge_free(j);
	}

	/*
	 * A pool that follows the traffic: the allocation rate doubles and
	 * the in-use bytes with it. It never goes pending; a leak already
	 * firing when the traffic rises stays firing.
	 */
	j = judge_new(&p);
	for (t = 0, alloc = 0, firings = 0; t < 200; t++) {
		double	tr = t < 100 ? 1 : t < 140 ? 1 + (t - 100) / 40.0 : 2;

		alloc += (int64_t)(10 * MiB * tr);
		v = 40 * MiB + (int64_t)(60 * MiB * tr);
		judge_add(j, sum(j, t, v, 0, alloc), &from);
		firings += view(j).state != ALERT_INACTIVE;
	}
	ok(firings == 0, "a pool following the traffic never goes pending "
	    "(%d s)", firings);
	ok(view(j).traffic || view(j).state == ALERT_INACTIVE,
	    "... it follows the traffic");
	judge_free(j);

	j = judge_new(&p);
	for (t = 0, alloc = 0; t < 150; t++) {
		double	tr = t < 60 ? 1 : t < 140 ? 1 + (t - 60) / 20.0 : 5;

		alloc += (int64_t)(10 * MiB * tr);
		/* 0.5 MiB/s of leak, and a pool of 60 MiB a unit of traffic. */
		v = 40 * MiB + (int64_t)(60 * MiB * tr) + (int64_t)t * MiB / 2;
		judge_add(j, sum(j, t, v, (int64_t)t * MiB / 2, alloc), &from);
		if (t == 59)
			ok(view(j).state == ALERT_FIRING,
			    "a leak from the start: firing before the "
			    "traffic rises (%s)",
			    judge_state_name(view(j).state));
		if (t == 120)
			ok(view(j).state == ALERT_FIRING && view(j).traffic,
			    "... and still while the traffic rises (%s, %s)",
			    judge_state_name(view(j).state), view(j).traffic ?
			    "follows the traffic" : "grows");
	}
	judge_free(j);

	/*
	 * A slow leak: 3 MiB a minute is 1 MiB a window, under min_growth,
	 * and 48 MiB over the slow horizon of 16 minutes. The slow horizon
	 * fires once it covers a quarter of its span, and says so.
	 */
	j = judge_new(&p);
	for (t = 0; t < 900; t++) {
		v = 40 * MiB + (int64_t)t * MiB / 20;
		if (judge_add(j, sum(j, t, v, v - 40 * MiB,
		    (int64_t)(t + 1) * MiB), &from) &&
		    view(j).state == ALERT_FIRING && fired == -1)
			fired = t;
	}
	ok(fired >= 240 && fired <= 300 && view(j).state == ALERT_FIRING,
	    "a slow leak fires by the slow horizon (at %d s)", fired);
	ok(strcmp(judge_horizon(j), "slow") == 0 &&
	    judge_horizon_ms(j) == 960000, "... which the alert names (%s)",
	    judge_horizon(j));
	ok(view(j).growth >= 40 * MiB && view(j).growth <= 56 * MiB,
	    "... with the growth over it: %lld", (long long)view(j).growth);
	ok(view(j).ntop >= 1 && strcmp(summary_names_get(view(j).names,
	    view(j).top[0].name), "main.leak") == 0,
	    "... naming the leaking function first");
	/*
	 * Its time to limit is the slow horizon's rate: 0.05 MiB/s from
	 * about 85 MiB reaches 185 MiB in 2,000 s. The fast window, which
	 * does not see it grow, would say it never does.
	 */
	v = 40 * MiB + 899 * MiB / 20;
	ttl = judge_time_to_limit(j, v + 100 * MiB);
	ok(ttl > 1800 && ttl < 2200, "... and reaches a limit 100 MiB away "
	    "at its own rate, in %.0f s", ttl);
	judge_free(j);

	/*
	 * What the slow horizon costs a target: two bucketed series, and
	 * the anchors (summaries with at most SUMMARY_BY_OWN + SUMMARY_BY_CUM
	 * functions, a name and an own value each, when they no longer
	 * share them with the window's); at most, the series of
	 * JUDGE_SUSPECTS functions growing alone too. 1,000 targets must fit
	 * in 32 MiB.
	 */
	per_target = (2 + JUDGE_SUSPECTS) * (sizeof(struct floors) +
	    DETECT_BUCKETS * sizeof(struct bucket)) + JUDGE_ANCHORS *
	    (sizeof(struct summary) + sizeof(struct summary_fns) +
	    (SUMMARY_BY_OWN + SUMMARY_BY_CUM) * (sizeof(uint32_t) +
	    sizeof(int64_t)));
	ok(per_target * 1000 <= 32 * MiB, "the horizons of 1,000 targets: "
	    "%zu KiB (%zu bytes a target)", per_target * 1000 / 1024,
	    per_target);
}

/*
 * Two judgements sharing one table of names, as heapwatchd's targets do:
 * the names the alert cites outlive the summaries they came from (a
 * restart drops them all), and a judgement freed gives its names back.
 */
static void
test_shared_names(void)
{
	struct judge_params	 p = { "heap", 10000, 0, 2 * MiB, 0, 0, NULL };
	struct names		*nm = summary_names_new(), *tmp;
	struct judge		*a, *b;
	struct summary		*s;
	enum alert_state	 from;
	int			 t;

	p.names = nm;
	a = judge_new(&p);
	b = judge_new(&p);
	ok(judge_names(a) == nm && judge_names(b) == nm,
	    "both judgements name functions in the shared table");
	for (t = 0; t <= 22; t++) {
		judge_add(a, sum(a, t, 50 * MiB + (int64_t)t * MiB,
		    (int64_t)t * MiB, 100 * MiB + (int64_t)t * MiB), &from);
		judge_add(b, sum(b, t, 50 * MiB, 0, 100 * MiB +
		    (int64_t)t * MiB), &from);
	}
	ok(view(a).state == ALERT_FIRING && view(a).ntop >= 1,
	    "the leaking one fires and names functions");
	is_int(summary_names_count(nm), 2, "the two of both, kept once");
	/* A restart: its profile's time goes back, the window starts anew
	 * with a summary that names another function. */
	s = sum(a, 1, 50 * MiB, 0, 1);
	tmp = summary_names_new();
	summary_rename(s, tmp);
	summary_names_drop(s->names, s->fns->name[0]);
	s->fns->name[0] = summary_names_add(s->names, "main.other");
	judge_add(a, s, &from);
	summary_names_free(tmp);
	ok(strcmp(summary_names_get(nm, view(a).top[0].name),
	    "main.leak") == 0, "the name it cited outlives its summaries");
	is_int(summary_names_count(nm), 3, "a summary of another table "
	    "brings its new name in");
	judge_free(a);
	ok(summary_names_refs(nm, "main.other") == 0 &&
	    summary_names_refs(nm, "main.leak") > 0 &&
	    summary_names_count(nm) == 2, "freed, a judgement gives back "
	    "the names only it held");
	judge_free(b);
	is_int(summary_names_count(nm), 0, "both freed: none is left");
	summary_names_free(nm);
}

int
main(void)
{
	struct judge_params	 p = { "heap", 20000, 10000, 4 * MiB, 0, 0 };
	struct judge		*j = judge_new(&p);
	enum alert_state	 from, seen[200];
	int			 t, pending = -1, firing = -1, resolved = -1;
	int64_t			 leak;

	/* 0-59 s: a leak of 0.5 MiB/s; then it stops. */
	for (t = 0; t < 100; t++) {
		leak = (int64_t)(t < 60 ? t : 60) * MiB / 2;
		if (judge_add(j, sum(j, t, 50 * MiB + leak, leak,
		    100 * MiB + (int64_t)t * MiB), &from)) {
			if (view(j).state == ALERT_PENDING && pending == -1)
				pending = t;
			if (view(j).state == ALERT_FIRING && firing == -1)
				firing = t;
			if (view(j).state == ALERT_INACTIVE &&
			    from == ALERT_FIRING)
				resolved = t;
		}
		seen[t] = view(j).state;
		if (t == 50) {
			ok(view(j).state == ALERT_FIRING,
			    "firing while it leaks");
			ok(view(j).ntop >= 1 &&
			    strcmp(summary_names_get(view(j).names,
			    view(j).top[0].name), "main.leak") == 0,
			    "the leaking function is named first");
			ok(view(j).top[0].growing,
			    "... and its own test says it grows");
			ok(strcmp(judge_signals(j), "total, function") == 0,
			    "signals: %s", judge_signals(j));
			ok(view(j).growth >= 9 * MiB &&
			    view(j).growth <= 11 * MiB,
			    "growth over the window: %lld",
			    (long long)view(j).growth);
			ok(view(j).per_second > 0.45 * MiB &&
			    view(j).per_second < 0.55 * MiB,
			    "slope %.0f per second", view(j).per_second);
		}
	}
	ok(pending >= 18 && pending <= 21, "pending once the window is "
	    "covered (%d s)", pending);
	ok(firing >= 40 && firing <= 42 && firing >= pending + 10,
	    "firing once the line is 2 windows long, `for` behind it "
	    "(%d s)", firing);
	/*
	 * The last two spans must be flat for the floors to stop rising,
	 * then it must stay so for half of `for`.
	 */
	ok(resolved > 60 && resolved <= 76, "resolved within half a window "
	    "and half of for of the growth stopping (%d s)", resolved);
	ok(seen[99] == ALERT_INACTIVE, "inactive after");
	ok(view(j).nwin <= 22, "the window keeps %zu summaries", view(j).nwin);

	/* A restart: allocations since start shrink; the window restarts. */
	judge_add(j, sum(j, 100, 10 * MiB, 0, MiB), &from);
	is_int(view(j).restarts, 1, "a restart is seen");
	ok(view(j).state == ALERT_INACTIVE,
	    "and nothing stays pending or firing");
	is_int(view(j).nwin, 1, "and the window starts again");
	/* Profiles going back in time too. */
	{
		struct summary *s = sum(j, 101, 10 * MiB, 0, 2 * MiB);

		s->profile_ns = 1;
		judge_add(j, s, &from);
	}
	is_int(view(j).restarts, 2, "a profile back in time is a restart");
	judge_free(j);

	/* for 0 fires at once. */
	p.for_ms = 0;
	j = judge_new(&p);
	for (t = 0; t < 45; t++)
		judge_add(j, sum(j, t, 50 * MiB + (int64_t)t * MiB, 0,
		    100 * MiB + (int64_t)t * MiB), &from);
	ok(view(j).state == ALERT_FIRING,
	    "with for 0 it fires as soon as it may");
	judge_free(j);

	test_live();
	test_goroutine_restart();
	test_limit();
	test_gc_cadence();
	test_shapes();
	test_slowing_leak();
	test_slow_gctrace();
	test_clock_back();
	test_live_clock_back();
	test_shared_names();
	return tap_done();
}
