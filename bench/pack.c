/*
 * What the compact form of src/pack.c costs and saves on a run of
 * consecutive snapshots of one target (a figure, not a test):
 *
 *	pack ROOT KEY STEP FILE...
 *
 * The FILEs, gzipped pprof profiles in the order scraped, are packed with a
 * key snapshot every KEY and every STEPth file only (STEP 10 of a run
 * scraped every minute is the ten-minute tier). Printed, per snapshot:
 * bytes as received against bytes packed (body and dictionary, the keys
 * included), the CPU time of writing one (pack_encode()) against storing
 * the file as received in today's store under ROOT (store_put(), fsync
 * and all) and against decoding it (profile_decode(), which heapwatchd
 * does to every snapshot anyway), and the CPU time of serving one as
 * gzipped pprof from the pack (from the snapshot before it, and from its
 * key snapshot) against reading the file as received (store_read()).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pack.h"
#include "profile.h"
#include "store.h"

#define MAXIN	((size_t)1 << 30)
#define REPS	3

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
	fprintf(stderr, "pack: %s: %s\n", what, cause);
	exit(1);
}

int
main(int argc, char **argv)
{
	struct pack	*pk, *rd;
	struct pack_blob *dict, *body;
	struct pack_stats ps;
	struct store	*st;
	struct profile	*p;
	char		 id[STORE_ID_MAX], *cause = NULL;
	void		**in, *out;
	size_t		*inlen, n, i, j, k, key, step, len, ndict = 0;
	size_t		 gzsum = 0, bodysum = 0, dictsum = 0, keysum = 0;
	size_t		 nkey = 0, outsum = 0;
	double		 t, tenc = 0, tput = 0, tdec = 0, tread = 0;
	double		 tnext = 0, tkey = 0;

	if (argc < 5) {
		fprintf(stderr, "usage: pack ROOT KEY STEP FILE...\n");
		return 2;
	}
	key = strtoul(argv[2], NULL, 10);
	step = strtoul(argv[3], NULL, 10);
	if (key == 0 || step == 0)
		return 2;
	if ((st = store_open(argv[1], &cause)) == NULL)
		fail(argv[1], cause);
	n = 0;
	in = calloc(argc, sizeof *in);
	inlen = calloc(argc, sizeof *inlen);
	for (i = 4; i < (size_t)argc; i += step) {
		if (profile_read_file(argv[i], MAXIN, &in[n], &inlen[n],
		    &cause) == -1)
			fail(argv[i], cause);
		gzsum += inlen[n++];
	}
	dict = calloc(n, sizeof *dict);
	body = calloc(n, sizeof *body);

	/* Writing: packing against storing as received and decoding. */
	pk = pack_new(PACK_LEVEL_DEFAULT);
	for (i = 0; i < n; i++) {
		t = cpu_us();
		if (pack_encode(pk, in[i], inlen[i], MAXIN, i % key == 0,
		    &dict[ndict], &body[i], &cause) == -1)
			fail("encode", cause);
		tenc += cpu_us() - t;
		if (dict[ndict].len > 0)
			dictsum += dict[ndict++].len;
		bodysum += body[i].len;
		if (i % key == 0) {
			keysum += body[i].len;
			nkey++;
		}
		t = cpu_us();
		if (store_put(st, "bench", 1700000000000LL + (int64_t)i,
		    in[i], inlen[i], id, &cause) == -1)
			fail("store_put", cause);
		tput += cpu_us() - t;
		t = cpu_us();
		if ((p = profile_decode(in[i], inlen[i], MAXIN, NULL,
		    &cause)) == NULL)
			fail("decode", cause);
		tdec += cpu_us() - t;
		profile_free(p);
	}
	pack_stats(pk, &ps);

	/* Serving: the file as received, and pprof from the pack. */
	for (k = 0; k < REPS; k++) {
		struct store_snapshot	*list;
		size_t			 nl;

		if (store_list(st, "bench", &list, &nl, &cause) == -1)
			fail("store_list", cause);
		for (i = 0; i < nl; i++) {
			t = cpu_us();
			if (store_read(st, "bench", list[i].id, MAXIN, &out,
			    &len, &cause) == -1)
				fail("store_read", cause);
			tread += cpu_us() - t;
			free(out);
		}
		store_list_free(list);

		rd = pack_new(PACK_LEVEL_DEFAULT);
		for (i = 0; i < ndict; i++)
			if (pack_load_dict(rd, dict[i].data, dict[i].len,
			    MAXIN, &cause) == -1)
				fail("load dict", cause);
		for (i = 0; i < n; i++) {
			/* Next to the snapshot before: a pack kept open. */
			t = cpu_us();
			if (pack_load_snap(rd, body[i].data, body[i].len,
			    MAXIN, &cause) == -1 ||
			    pack_pprof(rd, true, &out, &len, &cause) == -1)
				fail("serve", cause);
			tnext += cpu_us() - t;
			if (k == 0)
				outsum += len;
			free(out);
		}
		pack_free(rd);
		/* From its key snapshot on: a pack just opened. */
		for (i = 0; i < n; i++) {
			rd = pack_new(PACK_LEVEL_DEFAULT);
			for (j = 0; j < ndict; j++)
				if (pack_load_dict(rd, dict[j].data,
				    dict[j].len, MAXIN, &cause) == -1)
					fail("load dict", cause);
			t = cpu_us();
			for (j = i - i % key; j <= i; j++)
				if (pack_load_snap(rd, body[j].data,
				    body[j].len, MAXIN, &cause) == -1)
					fail("load", cause);
			if (pack_pprof(rd, true, &out, &len, &cause) == -1)
				fail("serve", cause);
			tkey += cpu_us() - t;
			free(out);
			pack_free(rd);
		}
	}

	printf("snapshots %zu (every %zu of %d files), a key every %zu\n",
	    n, step, argc - 4, key);
	printf("stacks %u, locations %u, functions %u, strings %u; "
	    "dictionary %zu bytes raw, %zu stored in %zu blobs\n",
	    ps.stacks, ps.locations, ps.functions, ps.strings,
	    ps.dict_bytes, dictsum, ndict);
	printf("bytes/snapshot: received %.0f, packed %.0f (bodies %.0f, "
	    "keys %.0f, deltas %.0f): %.1fx smaller\n",
	    (double)gzsum / n, (double)(bodysum + dictsum) / n,
	    (double)bodysum / n, nkey ? (double)keysum / nkey : 0.0,
	    n > nkey ? (double)(bodysum - keysum) / (n - nkey) : 0.0,
	    (double)gzsum / (double)(bodysum + dictsum));
	printf("write CPU us/snapshot: pack %.0f, store as received %.0f, "
	    "decode (done anyway) %.0f\n", tenc / n, tput / n, tdec / n);
	printf("serve CPU us/snapshot: read as received %.0f; pprof from "
	    "the pack, from the one before %.0f (%.1fx), from its key "
	    "%.0f (%.1fx); pprof served %.0f bytes gzipped\n",
	    tread / (REPS * n), tnext / (REPS * n),
	    tnext / (tread > 0 ? tread : 1), tkey / (REPS * n),
	    tkey / (tread > 0 ? tread : 1), (double)outsum / n);
	printf("csv,%zu,%zu,%.0f,%.0f,%.0f,%.0f,%zu\n", n, step,
	    (double)gzsum / n, (double)(bodysum + dictsum) / n,
	    n > nkey ? (double)(bodysum - keysum) / (n - nkey) : 0.0,
	    nkey ? (double)keysum / nkey : 0.0, dictsum);
	for (i = 0; i < n; i++) {
		free(in[i]);
		free(body[i].data);
	}
	for (i = 0; i < ndict; i++)
		free(dict[i].data);
	free(in);
	free(inlen);
	free(dict);
	free(body);
	pack_free(pk);
	store_close(st);
	return 0;
}
