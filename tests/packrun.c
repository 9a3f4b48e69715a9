/*
 * Packs a run of profiles as heapwatchd's store would and writes each back
 * as pprof from the stored blobs alone, for tests/pack_pprof.sh to compare
 * with the profiles received through go tool pprof:
 *
 *	packrun OUTDIR KEY PROFILE...
 *
 * The Nth PROFILE comes back as OUTDIR/N.pb.gz (from 1), read by a second
 * pack that loads the dictionary blobs and the bodies from the last key
 * snapshot on, a key every KEY snapshots. Each is coded twice, from its
 * protobuf (pack_encode()) and from profile.c's parse of it, as heapwatchd's
 * worker hands it to the store (pack_encode_parsed()), into two packs that
 * must give the same blobs, byte for byte.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pack.h"
#include "profile.h"

#define MAX	((size_t)256 << 20)

static void
fail(const char *what, const char *cause)
{
	fprintf(stderr, "packrun: %s: %s\n", what, cause);
	exit(1);
}

static bool
same(const struct pack_blob *a, const struct pack_blob *b)
{
	return a->len == b->len && (a->len == 0 ||
	    memcmp(a->data, b->data, a->len) == 0);
}

/* The profile data[len] coded from its parse into p; its blobs. */
static void
parsed(struct pack *p, const void *data, size_t len, bool key,
    struct pack_blob *dict, struct pack_blob *body, const char *what)
{
	struct profile_raw	*raw;
	struct profile_view	 v;
	struct profile		*prof;
	char			*cause = NULL;

	if ((prof = profile_decode_parsed(data, len, MAX, NULL, &raw,
	    &cause)) == NULL)
		fail(what, cause);
	profile_raw_view(raw, &v);
	if (pack_encode_parsed(p, &v, key, dict, body, &cause) == -1)
		fail(what, cause);
	profile_raw_free(raw);
	profile_free(prof);
}

int
main(int argc, char **argv)
{
	struct pack	*w, *r, *wp;
	struct pack_blob *dict, *body, pd, pb;
	char		 path[4096], *cause = NULL;
	void		*data, *out;
	size_t		 len, outlen, n, nd = 0, i, j, k, key;
	FILE		*f;

	if (argc < 4)
		return 2;
	key = strtoul(argv[2], NULL, 10);
	if (key == 0)
		return 2;
	n = (size_t)argc - 3;
	dict = calloc(n, sizeof *dict);
	body = calloc(n, sizeof *body);
	w = pack_new(PACK_LEVEL_DEFAULT);
	wp = pack_new(PACK_LEVEL_DEFAULT);
	for (i = 0; i < n; i++) {
		if (profile_read_file(argv[3 + i], MAX, &data, &len,
		    &cause) == -1 || pack_encode(w, data, len, MAX,
		    i % key == 0, &dict[nd], &body[i], &cause) == -1)
			fail(argv[3 + i], cause);
		parsed(wp, data, len, i % key == 0, &pd, &pb, argv[3 + i]);
		if (!same(&dict[nd], &pd) || !same(&body[i], &pb))
			fail(argv[3 + i], "coded from its parse, other blobs "
			    "than from its protobuf");
		free(pd.data);
		free(pb.data);
		if (dict[nd].len > 0)
			nd++;
		else
			free(dict[nd].data);
		free(data);
	}
	pack_free(w);
	pack_free(wp);
	for (i = 0; i < n; i++) {
		r = pack_new(PACK_LEVEL_DEFAULT);
		for (k = 0; k < nd; k++)
			if (pack_load_dict(r, dict[k].data, dict[k].len, MAX,
			    &cause) == -1)
				fail("dictionary", cause);
		for (j = i - i % key; j <= i; j++)
			if (pack_load_snap(r, body[j].data, body[j].len, MAX,
			    &cause) == -1)
				fail("body", cause);
		if (pack_pprof(r, true, &out, &outlen, &cause) == -1)
			fail("pprof", cause);
		snprintf(path, sizeof path, "%s/%zu.pb.gz", argv[1], i + 1);
		if ((f = fopen(path, "w")) == NULL ||
		    fwrite(out, 1, outlen, f) != outlen || fclose(f) != 0)
			fail(path, "cannot write");
		free(out);
		pack_free(r);
	}
	printf("%zu snapshots, %zu dictionary blobs, the same coded from "
	    "the parse\n", n, nd);
	for (k = 0; k < nd; k++)
		free(dict[k].data);
	for (i = 0; i < n; i++)
		free(body[i].data);
	free(dict);
	free(body);
	return 0;
}
