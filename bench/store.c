/*
 * What storing a snapshot costs heapwatchd's store, retention included,
 * against how many snapshots a target keeps (a figure, not a test):
 *
 *	store ROOT SIZE KEEP...
 *
 * For each KEEP, a target of ROOT is filled with KEEP snapshots of SIZE
 * bytes; then 300 more are stored as heapwatchd stores them (a spare file
 * taken over, retention keeping KEEP, the folder known from the write
 * before), and the CPU time of each is printed: the mean, and what listing
 * the folder alone takes, which retention did at every write before it
 * kept what the folder holds.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

#define WRITES	300

static double
cpu_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void
fail(const char *what, char *cause)
{
	fprintf(stderr, "store: %s: %s\n", what, cause);
	exit(1);
}

int
main(int argc, char **argv)
{
	struct store		*st;
	struct store_retention	 keep = { 0, 0, 0 }, all = { 0, 0, 0 };
	struct store_put	 put;
	char			 target[32], id[STORE_ID_MAX], *data, *cause;
	size_t			 size, removed;
	double			 t0, t1, t2;
	int64_t			 ms;
	int			 a, i, n;

	if (argc < 4) {
		fprintf(stderr, "usage: store ROOT SIZE KEEP...\n");
		return 2;
	}
	cause = NULL;
	if ((st = store_open(argv[1], &cause)) == NULL)
		fail(argv[1], cause);
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
		t0 = cpu_us();
		for (i = 0; i < WRITES; i++, ms += 10000) {
			if (store_put_retain(st, target, ms, data, size, &put,
			    &cause) == -1)
				fail("put", cause);
			if (put.retain_cause != NULL)
				fail("retention", put.retain_cause);
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
		printf("keep %5d: %6.0f us a snapshot stored; listing the "
		    "folder %6.0f us\n", n, (t1 - t0) / WRITES,
		    (t2 - t1) / WRITES);
	}
	store_close(st);
	free(data);
	return 0;
}
