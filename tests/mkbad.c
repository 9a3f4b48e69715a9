/*
 * Writes the corpus of bad profiles that tests/badinput.sh feeds to
 * heapwatch, one file per case, into the folder given. Each case is a
 * valid profile broken in one way, so that each check of the decoder is
 * reached by exactly one file.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbuild.h"

#define U(x)	((uint64_t)(x))
#define V(x)	((int64_t)(x))

static const char	*dir;

static void
put(const char *name, const void *data, size_t len)
{
	char	 path[4096];
	FILE	*f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "mkbad: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void
put_pb(const char *name, struct pb *b, int gzip)
{
	uint8_t	*data, *gz;
	size_t	 len, gzlen;

	data = pb_pack(b, &len);
	if (gzip) {
		gz = pb_gzip(data, len, &gzlen);
		put(name, gz, gzlen);
		free(gz);
	} else
		put(name, data, len);
	free(data);
	free(b);
}

/*
 * mib MiB of zeros after hdr, gzipped a block at a time; with every, hdr
 * starts each MiB (of which it is part) rather than the whole.
 */
static void
put_zeros(const char *name, const uint8_t *hdr, size_t hdrlen, size_t mib,
    int every)
{
	static uint8_t	 zeros[1 << 16], out[1 << 16];
	z_stream	 zs;
	char		 path[4096];
	FILE		*f;
	size_t		 i, j;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL) {
		fprintf(stderr, "mkbad: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	memset(&zs, 0, sizeof zs);
	deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
	for (i = 0; i < mib; i++) {
		for (j = 0; j <= 16; j++) {
			if (j == 0) {
				zs.next_in = (uint8_t *)hdr;
				zs.avail_in = every || i == 0 ? hdrlen : 0;
			} else {
				zs.next_in = zeros;
				zs.avail_in = j < 16 || !every ? sizeof zeros :
				    sizeof zeros - hdrlen;
			}
			do {
				zs.next_out = out;
				zs.avail_out = sizeof out;
				deflate(&zs, i == mib - 1 && j == 16 ?
				    Z_FINISH : Z_NO_FLUSH);
				fwrite(out, 1, sizeof out - zs.avail_out, f);
			} while (zs.avail_out == 0);
		}
	}
	deflateEnd(&zs);
	if (fclose(f) != 0)
		exit(1);
}

/*
 * A gzip bomb that parses: n MiB of fields that pprof's format does not
 * know (field 15, a MiB of zeros each), so that only the cap on the
 * decompressed size stops it.
 */
static void
put_bomb(const char *name, size_t mib)
{
	/* Tag: field 15, wire type 2; length: 1 MiB - 4, as a varint. */
	static const uint8_t hdr[4] = { 0x7a, 0xfc, 0xff, 0x3f };

	put_zeros(name, hdr, sizeof hdr, mib, 1);
}

int
main(int argc, char **argv)
{
	struct pb	*b;
	uint8_t		*data, *gz;
	size_t		 len, gzlen;

	if (argc != 2) {
		fprintf(stderr, "usage: mkbad DIR\n");
		return 2;
	}
	dir = argv[1];

	put_pb("valid.pb.gz", pb_small(), 1);
	put("not-gzip.pb.gz", "this is plain text, not a profile\n", 34);
	put("html.pb.gz", "<html><body>404 page not found</body></html>\n",
	    46);
	put("empty.pb.gz", "", 0);

	b = pb_small();
	data = pb_pack(b, &len);
	free(b);
	gz = pb_gzip(data, len, &gzlen);
	put("truncated-gzip.pb.gz", gz, gzlen / 2);
	gz[gzlen - 5] ^= 0xff;			/* corrupt the CRC */
	put("bad-crc.pb.gz", gz, gzlen);
	put("truncated-protobuf.pb", data, len - 3);
	free(gz);
	free(data);

	/* A field whose length runs past the end of the message. */
	{
		static const uint8_t overlong[] = {
			0x32, 0xff, 0xff, 0xff, 0xff, 0x0f, 'a', 'b'
		};
		put("overlong-length.pb", overlong, sizeof overlong);
	}

	b = pb_small();
	b->f[0].name = 4242;
	put_pb("string-index.pb.gz", b, 1);

	b = pb_small();
	b->ids[0] = 99;
	put_pb("location-index.pb.gz", b, 1);

	b = pb_small();
	b->ln[0].function_id = 99;
	put_pb("function-index.pb.gz", b, 1);

	b = pb_small();
	b->l[0].mapping_id = 99;
	put_pb("mapping-index.pb.gz", b, 1);

	b = pb_small();
	b->p.n_sample_type = 0;
	b->s[0].n_value = 0;
	put_pb("no-sample-types.pb.gz", b, 1);

	b = pb_small();
	b->s[0].n_value = 2;
	put_pb("value-count.pb.gz", b, 1);

	b = pb_small();
	b->l[1].id = 1;
	put_pb("duplicate-id.pb.gz", b, 1);

	b = pb_small();
	b->strs[0].data = (uint8_t *)"oops";
	b->strs[0].len = 4;
	put_pb("string-table.pb.gz", b, 1);

	put_bomb("bomb.pb.gz", 1024);
	/*
	 * A sample (field 2) whose length, 1, is spelt in six bytes, more
	 * than the five protobuf-c reads, before 250 MiB of zeros: no
	 * field that was cut by the end of what is inflated so far, but a
	 * malformed one, refused before inflating the rest.
	 */
	{
		static const uint8_t lenbomb[7] = {
			0x12, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00
		};

		put_zeros("lenbomb.pb.gz", lenbomb, sizeof lenbomb, 250, 0);
	}

	/* Empty location messages, two bytes each, fifty bytes decoded. */
	{
		size_t	 i;

		len = (1 << 20) - 2;
		data = malloc(len);
		for (i = 0; i < len; i += 2) {
			data[i] = 0x22;
			data[i + 1] = 0x00;
		}
		gz = pb_gzip(data, len, &gzlen);
		put("tiny-records.pb.gz", gz, gzlen);
		free(gz);
		free(data);
	}

	/* Pure zeros: unknown fields numbered 0, skipped; no string table. */
	{
		uint8_t z[4096] = { 0 };
		size_t zl;
		uint8_t *zz = pb_gzip(z, sizeof z, &zl);

		put("zeros.pb.gz", zz, zl);
		free(zz);
	}
	return 0;
}
