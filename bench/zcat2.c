/*
 * The benchmark's baseline: what zlib alone needs to gunzip the files
 * named, one after the other, output discarded. heapwatch diff must read,
 * inflate, decode and analyse both in at most twice this time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

int
main(int argc, char **argv)
{
	static unsigned char	 out[1 << 16];
	unsigned char		*in;
	z_stream		 zs;
	FILE			*f;
	long			 len;
	unsigned long long	 total = 0;
	int			 i, rc;

	for (i = 1; i < argc; i++) {
		if ((f = fopen(argv[i], "rb")) == NULL ||
		    fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
		    fseek(f, 0, SEEK_SET) != 0) {
			perror(argv[i]);
			return 1;
		}
		in = malloc(len + 1);
		if (fread(in, 1, len, f) != (size_t)len) {
			perror(argv[i]);
			return 1;
		}
		fclose(f);
		memset(&zs, 0, sizeof zs);
		inflateInit2(&zs, 15 + 16);
		zs.next_in = in;
		zs.avail_in = len;
		do {
			zs.next_out = out;
			zs.avail_out = sizeof out;
			rc = inflate(&zs, Z_NO_FLUSH);
			total += sizeof out - zs.avail_out;
		} while (rc == Z_OK);
		if (rc != Z_STREAM_END) {
			fprintf(stderr, "%s: inflate failed\n", argv[i]);
			return 1;
		}
		inflateEnd(&zs);
		free(in);
	}
	printf("%llu\n", total);
	return 0;
}
