/*
 * What storing a snapshot costs heapwatchd's store, retention included,
 * against how many snapshots a target keeps (a figure, not a test):
 *
 *	store [-d] ROOT SIZE KEEP...
 *
 * For each KEEP, a target of ROOT is filled with KEEP snapshots of SIZE
 * bytes; then 300 more are stored as heapwatchd stores them (a spare file
 * taken over, retention keeping KEEP, the folder known from the write
 * before), and the CPU time of each is printed: the mean, and what listing
 * the folder alone takes, which retention did at every write before it
 * kept what the folder holds.
 *
 * With -d, as heapwatchd stores: the syncs deferred to the store's syncer
 * (every 10 ms here), and the snapshot each write drops deleted by the
 * store's tick once synced, before the next write, as at an interval
 * longer than the sync's; the CPU time of this thread alone is counted
 * (the write and the ticks), not the syncer's.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define WRITES	300

static bool	deferred;

static void
fail(const char *what, char *cause)
{
	fprintf(stderr, "store: %s: %s\n", what, cause);
	exit(1);
}

static double
cpu_us(void)
{
	struct timespec	ts;

	clock_gettime(deferred ? CLOCK_THREAD_CPUTIME_ID :
	    CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/*
 * Tick the store every 2 ms until the snapshot ms of target is deleted;
 * the CPU time of the ticks.
 */
static double
tick_until_gone(struct store *st, const char *root, const char *target,
    int64_t ms)
{
	struct timespec	 nap = { 0, 2000000 };
	char		 path[512], *cause = NULL;
	double		 t, spent = 0;

	snprintf(path, sizeof path, "%s/%s/%lld%s", root, target,
	    (long long)ms, STORE_SUFFIX);
	while (access(path, F_OK) == 0) {
		nanosleep(&nap, NULL);
		t = cpu_us();
		if (store_tick(st, &cause) == -1)
			fail("tick", cause);
		spent += cpu_us() - t;
	}
	return spent;
}


int
main(int argc, char **argv)
{
	struct store		*st;
	struct store_retention	 keep = { 0, 0, 0 }, all = { 0, 0, 0 };
	struct store_put	 put;
	char			 target[32], id[STORE_ID_MAX], *data, *cause;
	size_t			 size, removed;
	double			 t0, t1, t2, puts, ticks;
	int64_t			 ms;
	int			 a, i, n;

	if (argc > 1 && strcmp(argv[1], "-d") == 0) {
		deferred = true;
		argc--;
		argv++;
	}
	if (argc < 4) {
		fprintf(stderr, "usage: store [-d] ROOT SIZE KEEP...\n");
		return 2;
	}
	cause = NULL;
	if ((st = store_open(argv[1], &cause)) == NULL)
		fail(argv[1], cause);
	if (deferred && store_defer_sync(st, 10, NULL, NULL) == -1)
		fail("defer", "no thread");
	size = strtoul(argv[2], NULL, 10);
	if ((data = calloc(1, size)) == NULL)
		return 1;
	for (a = 3; a < argc; a++) {
		n = atoi(argv[a]);
		snprintf(target, sizeof target, "keep-%d", n);
		ms = 1000;
		for (i = 0; i < n; i++, ms += 10000)
			if (store_put(st, target, ms, data, size, id,
			    &cause) == -1)
				fail("put", cause);
		keep.snapshots = n;
		memset(&put, 0, sizeof put);
		put.keep = &keep;
		puts = ticks = 0;
		for (i = 0; i < WRITES; i++, ms += 10000) {
			t0 = cpu_us();
			if (store_put_retain(st, target, ms, data, size, &put,
			    &cause) == -1)
				fail("put", cause);
			puts += cpu_us() - t0;
			if (put.retain_cause != NULL)
				fail("retention", put.retain_cause);
			if (deferred)
				ticks += tick_until_gone(st, argv[1], target,
				    ms - (int64_t)n * 10000);
		}
		t1 = cpu_us();
		/* Retention that removes nothing: the listing alone. */
		all.snapshots = n + 1;
		for (i = 0; i < WRITES; i++)
			if (store_retain(st, target, &all, ms, &removed,
			    &cause) == -1)
				fail("retain", cause);
		t2 = cpu_us();
		store_cache_free(put.cache);
		printf("keep %5d: %6.0f us a snapshot stored", n,
		    puts / WRITES);
		if (deferred)
			printf(" (deferred), %4.0f us of ticks", ticks / WRITES);
		printf("; listing the folder %6.0f us\n", (t2 - t1) / WRITES);
	}
	store_close(st);
	free(data);
	return 0;
}
