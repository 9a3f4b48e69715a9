/*
 * heapwatchd's write and read paths on its two store forms (a figure,
 * not a test):
 *
 *	packstore [-d] [-p] [-r [-f | -F]] ROOT FILE...
 *	packstore -m [-d] [-p] ROOT FILE...
 *
 * The FILEs, gzipped pprof profiles in the order scraped, are stored as
 * heapwatchd's decode worker stores them, store_put_retain() with the
 * default retention of 500 and the target's cache kept from one to the
 * next: once as received (storage.format: pprof) and once packed
 * (storage.format: pack), each in a store of its own under ROOT. With -p,
 * each profile is first decoded as the worker decodes it for a packed
 * store (profile_decode_parsed(), its CPU time printed apart), and the
 * packed put codes that parse rather than the body. Printed
 * per snapshot for each form: the CPU time (mean, and median, which the
 * first put of a fresh writer does not weigh on), the page faults
 * (memory the allocator maps afresh, which CPU time counts) and the wall
 * time of
 * storing one (fsync included; CPU of the process, so SQLite's and zstd's
 * work too), the disk the target's folder takes once its writer is closed,
 * the CPU time of serving one (store_read(): the file's bytes, or
 * gzipped pprof from the database), and the memory the target's writer
 * keeps from one write to the next (the pack's dictionary and newest
 * snapshot).
 * Serving is measured twice: the newest snapshot read after each write,
 * as the pages and the API mostly read, and every snapshot once, oldest
 * first, after the writes. With -r, each put is followed by a repeat of
 * its profile 30 s later (store_put.repeat, as heapwatchd stores a scrape
 * that gave the last profile again, between two GCs), its CPU time
 * printed apart: packed, the newest snapshot stored again with new
 * times; as received, the file written as any other. With -f, the
 * target's packed writer is shrunk to its newest snapshot before each
 * repeat, as the writers' budget shrinks it when many targets are stored
 * (store_cache_shrink()); with -F, before each put as well, as it does
 * for nearly all of 1,000 targets of a profile the size of many's.
 * With -d, the syncs are deferred to the store's syncer, once a second,
 * as heapwatchd defers them (store_defer_sync()): a file's put then syncs
 * nothing, a packed put's commit is not synced.
 * With -m, a month of one-minute scrapes, packed only: the FILEs stored
 * in turn, again and again, 43,200 puts a minute apart, under the
 * retention heapwatchd gives a packed store by default (3,000 snapshots,
 * 30 days, one per 10 minutes after a day, one an hour after a week), and
 * the median CPU time of the last 300 puts printed apart, a put with a
 * month of history kept (some 8 minutes for the leak fixture's).
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "profile.h"
#include "store.h"

#define MAXIN	((size_t)1 << 30)

static double
clock_us(clockid_t c)
{
	struct timespec	ts;

	clock_gettime(c, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void
fail(const char *what, const char *cause)
{
	fprintf(stderr, "packstore: %s: %s\n", what, cause);
	exit(1);
}

/* Bytes of the regular files directly in dir. */
static unsigned long long
folder_bytes(const char *dir)
{
	struct dirent		*de;
	struct stat		 sb;
	char			 path[4096];
	unsigned long long	 sum = 0;
	DIR			*d;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    strcmp(de->d_name, ".series") != 0)
			sum += (unsigned long long)sb.st_size;
	}
	closedir(d);
	return sum;
}

/* The process's minor page faults so far. */
static long
faults(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static bool	parsed, repeats, shrink, shrink_all, deferred, month;

#define MONTH_PUTS	(30 * 24 * 60)
#define MONTH_LAST	300

static void
run(const char *root, enum store_format f, void **in, size_t *inlen,
    size_t n)
{
	struct profile		*prof = NULL;
	struct profile_raw	*raw = NULL;
	double			 tdec = 0, *dec;
	struct store_retention	 keep = { .snapshots = 500 };
	struct store_retention	 packed = { .snapshots = 3000,
				    .age_ms = 30 * 86400000ULL, .ntiers = 2,
				    .tiers = { { 86400000ULL, 600000 },
				    { 7 * 86400000ULL, 3600000 } } };
	struct store_put	 put = { .keep = month ? &packed : &keep };
	struct store_snapshot	*list;
	struct store		*st;
	char			 dir[4096], path[4096], *cause = NULL;
	void			*out;
	size_t			 i, len, nl;
	double			 t, w, tput = 0, wput = 0, tread = 0;
	double			 tnew = 0, *each, *wrote, *rep, trep = 0;
	double			 wrep = 0;
	long			 pf = 0, rpf = 0, f0;
	unsigned long long	 disk;
	size_t			 held;

	each = calloc(n, sizeof *each);
	wrote = calloc(n, sizeof *wrote);
	dec = calloc(n, sizeof *dec);
	rep = calloc(n, sizeof *rep);
	mkdir(root, 0750);
	snprintf(dir, sizeof dir, "%s/%s", root, f == STORE_PACK ? "pack" :
	    "pprof");
	if ((st = store_open(dir, &cause)) == NULL)
		fail(dir, cause);
	if (deferred && store_defer_sync(st, 1000, NULL, NULL) == -1)
		fail(dir, "cannot start the syncer");
	store_set_format(st, f);
	for (i = 0; i < n; i++) {
		if (parsed && f == STORE_PACK) {
			t = clock_us(CLOCK_PROCESS_CPUTIME_ID);
			if ((prof = profile_decode_parsed(in[i], inlen[i],
			    PROFILE_MAX_INFLATED, NULL, &raw, &cause)) == NULL)
				fail("profile_decode_parsed", cause);
			dec[i] = clock_us(CLOCK_PROCESS_CPUTIME_ID) - t;
			tdec += dec[i];
			put.parsed = raw;
		}
		if (shrink_all)
			store_cache_shrink(put.cache);
		f0 = faults();
		t = clock_us(CLOCK_PROCESS_CPUTIME_ID);
		w = clock_us(CLOCK_MONOTONIC);
		if (store_put_retain(st, "bench", 1700000000000LL +
		    (int64_t)i * 60000, in[i], inlen[i], &put, &cause) == -1)
			fail("store_put_retain", cause);
		wrote[i] = clock_us(CLOCK_PROCESS_CPUTIME_ID) - t;
		put.parsed = NULL;
		profile_raw_free(raw);
		profile_free(prof);
		raw = NULL;
		prof = NULL;
		tput += wrote[i];
		pf += faults() - f0;
		wput += clock_us(CLOCK_MONOTONIC) - w;
		if (repeats) {
			put.repeat = true;
			put.time_nanos = (1700000000000LL + (int64_t)i * 60000 +
			    30000) * 1000000;
			if (shrink)
				store_cache_shrink(put.cache);
			f0 = faults();
			t = clock_us(CLOCK_PROCESS_CPUTIME_ID);
			w = clock_us(CLOCK_MONOTONIC);
			if (store_put_retain(st, "bench", 1700000000000LL +
			    (int64_t)i * 60000 + 30000, in[i], inlen[i], &put,
			    &cause) == -1)
				fail("store_put_retain (repeat)", cause);
			rep[i] = clock_us(CLOCK_PROCESS_CPUTIME_ID) - t;
			trep += rep[i];
			rpf += faults() - f0;
			wrep += clock_us(CLOCK_MONOTONIC) - w;
			if (f == STORE_PACK && !put.repeated)
				fail("store_put_retain", "a repeat was coded "
				    "from its body");
			put.repeat = false;
		}
		t = clock_us(CLOCK_PROCESS_CPUTIME_ID);
		if (store_read(st, "bench", put.id, MAXIN, &out, &len,
		    &cause) == -1)
			fail("store_read", cause);
		each[i] = clock_us(CLOCK_PROCESS_CPUTIME_ID) - t;
		tnew += each[i];
		free(out);
	}
	/* What the target's writer keeps between scrapes, then freed. */
	held = mallinfo2().uordblks + mallinfo2().hblkhd;
	store_cache_free(put.cache);
	held -= mallinfo2().uordblks + mallinfo2().hblkhd;
	snprintf(path, sizeof path, "%s/bench", dir);
	disk = folder_bytes(path);
	if (store_list(st, "bench", &list, &nl, &cause) == -1)
		fail("store_list", cause);
	for (i = 0; i < nl; i++) {
		t = clock_us(CLOCK_PROCESS_CPUTIME_ID);
		if (store_read(st, "bench", list[i].id, MAXIN, &out, &len,
		    &cause) == -1)
			fail("store_read", cause);
		tread += clock_us(CLOCK_PROCESS_CPUTIME_ID) - t;
		free(out);
	}
	if (month && n > MONTH_LAST) {
		qsort(wrote + n - MONTH_LAST, MONTH_LAST, sizeof *wrote,
		    cmp_double);
		printf("%-5s store with a month kept (%zu snapshots): CPU "
		    "median %.0f us over the last %d puts\n", "pack", nl,
		    wrote[n - MONTH_LAST / 2], MONTH_LAST);
	}
	qsort(each, n, sizeof *each, cmp_double);
	qsort(wrote, n, sizeof *wrote, cmp_double);
	qsort(dec, n, sizeof *dec, cmp_double);
	qsort(rep, n, sizeof *rep, cmp_double);
	if (tdec > 0)
		printf("%-5s decoded first, as the worker does: CPU %.0f us "
		    "(median %.0f us) a snapshot, not counted below\n", "pack",
		    tdec / n, dec[n / 2]);
	printf("%-5s store: CPU %.0f us (median %.0f us; %.0f page faults), "
	    "wall %.1f ms a snapshot; disk %.0f "
	    "bytes a snapshot; serve: CPU %.0f us (store_read of the newest "
	    "after each write; median %.0f us), %.0f us (store_read of each); "
	    "kept between writes: %zu bytes\n",
	    f == STORE_PACK ? "pack" : "pprof", tput / n, wrote[n / 2],
	    (double)pf / n, wput / n / 1000,
	    (double)disk / n, tnew / n, each[n / 2], tread / (nl ? nl : 1),
	    held);
	if (repeats)
		printf("%-5s repeat: CPU %.0f us (median %.0f us; %.0f page "
		    "faults), wall %.1f ms a snapshot\n", f == STORE_PACK ?
		    "pack" : "pprof", trep / n, rep[n / 2], (double)rpf / n,
		    wrep / n / 1000);
	printf("csv,%s,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f\n", f == STORE_PACK ?
	    "pack" : "pprof", tput / n, (double)disk / n,
	    tread / (nl ? nl : 1), wput / n, wrote[n / 2], (double)pf / n);
	free(each);
	free(wrote);
	free(dec);
	free(rep);
	store_list_free(list);
	/* What the store keeps to read the target again, then freed. */
	held = mallinfo2().uordblks + mallinfo2().hblkhd;
	store_close(st);
	held -= mallinfo2().uordblks + mallinfo2().hblkhd;
	printf("%-5s kept for the next read: %zu bytes\n",
	    f == STORE_PACK ? "pack" : "pprof", held);
}

int
main(int argc, char **argv)
{
	void		**in;
	size_t		*inlen, n, i;
	char		*cause = NULL;
	unsigned long long gz = 0;

	for (; argc >= 2 && argv[1][0] == '-'; argc--, argv++) {
		if (strcmp(argv[1], "-d") == 0)
			deferred = true;
		else if (strcmp(argv[1], "-p") == 0)
			parsed = true;
		else if (strcmp(argv[1], "-r") == 0)
			repeats = true;
		else if (strcmp(argv[1], "-f") == 0)
			shrink = true;
		else if (strcmp(argv[1], "-F") == 0)
			shrink = shrink_all = true;
		else if (strcmp(argv[1], "-m") == 0)
			month = true;
		else
			break;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: packstore [-d] [-p] [-r [-f | -F]] "
		    "ROOT FILE...\n       packstore -m [-d] [-p] ROOT "
		    "FILE...\n");
		return 2;
	}
	n = (size_t)argc - 2;
	in = calloc(n, sizeof *in);
	inlen = calloc(n, sizeof *inlen);
	for (i = 0; i < n; i++) {
		if (profile_read_file(argv[i + 2], MAXIN, &in[i], &inlen[i],
		    &cause) == -1)
			fail(argv[i + 2], cause);
		gz += inlen[i];
	}
	printf("%zu snapshots, %.0f bytes a snapshot as received\n", n,
	    (double)gz / n);
	if (month) {
		/* The same profiles again and again: their pointers. */
		in = realloc(in, MONTH_PUTS * sizeof *in);
		inlen = realloc(inlen, MONTH_PUTS * sizeof *inlen);
		for (i = n; i < MONTH_PUTS; i++) {
			in[i] = in[i % n];
			inlen[i] = inlen[i % n];
		}
		run(argv[1], STORE_PACK, in, inlen, MONTH_PUTS);
	} else {
		run(argv[1], STORE_PPROF, in, inlen, n);
		run(argv[1], STORE_PACK, in, inlen, n);
	}
	for (i = 0; i < n; i++)
		free(in[i]);
	free(in);
	free(inlen);
	return 0;
}
