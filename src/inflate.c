#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>
#include <zlib.h>

#include "clock.h"
#include "inflate.h"
#include "log.h"
#include "units.h"
#include "xmalloc.h"

#define INFLATE_WINDOW		((size_t)256 << 10)
#define INFLATE_WHOLE		((size_t)32 << 20)	/* whole, at most */
#define INFLATE_RATIO		64	/* profiles compress far less */
#define INFLATE_HUGE		((size_t)2 << 20)	/* a huge page */

bool
inflate_is_gzip(const void *data, size_t len)
{
	const unsigned char	*p = data;

	return len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

/*
 * A decompressor a thread, kept until the thread ends: made for each
 * profile, its allocation of some 11 KB cost heapwatchd's workers, among
 * many smaller blocks, about a tenth of inflating the profile.
 */
static pthread_key_t	inflate_key;
static pthread_once_t	inflate_once = PTHREAD_ONCE_INIT;

static void
inflate_key_free(void *d)
{
	libdeflate_free_decompressor(d);
}

static void
inflate_key_init(void)
{
	if (pthread_key_create(&inflate_key, inflate_key_free) != 0)
		fatalx("pthread_key_create failed");
}

static struct libdeflate_decompressor *
inflate_decompressor(void)
{
	struct libdeflate_decompressor	*d;

	pthread_once(&inflate_once, inflate_key_init);
	if ((d = pthread_getspecific(inflate_key)) != NULL)
		return d;
	if ((d = libdeflate_alloc_decompressor()) != NULL &&
	    pthread_setspecific(inflate_key, d) != 0) {
		libdeflate_free_decompressor(d);
		d = NULL;
	}
	return d;
}

void
inflate_thread_done(void)
{
	struct libdeflate_decompressor	*d;

	pthread_once(&inflate_once, inflate_key_init);
	if ((d = pthread_getspecific(inflate_key)) != NULL) {
		pthread_setspecific(inflate_key, NULL);
		libdeflate_free_decompressor(d);
	}
}

/*
 * Inflate a gzip member whole with libdeflate, some three times faster than
 * zlib, when the size its trailer claims is plausible: within INFLATE_WHOLE
 * bytes and INFLATE_RATIO times the input, as a bomb's is not.
 */
int
inflate_whole(const uint8_t *in, size_t len, size_t max, uint8_t **outp,
    size_t *outlen, double *ms)
{
	struct libdeflate_decompressor	*d;
	enum libdeflate_result		 r;
	uint8_t				*out;
	size_t				 isize, cap, got = 0, used = 0;
	double				 t0;

	if (len < 18)
		return 1;
	isize = (size_t)in[len - 4] | (size_t)in[len - 3] << 8 |
	    (size_t)in[len - 2] << 16 | (size_t)in[len - 1] << 24;
	if (isize == 0 || isize > max || isize > INFLATE_WHOLE ||
	    isize / INFLATE_RATIO > len)
		return 1;
	if ((d = inflate_decompressor()) == NULL)
		return 1;
	/*
	 * Whole huge pages, mapped in by one fault each, where the part
	 * beyond the last one would take 128 pages of 4 KiB or more (512
	 * KiB): in a virtual machine each of those costs some microseconds,
	 * more than clearing the rest of a huge page, and the block is freed
	 * once the profile is parsed. The many bench profile (2.6 MB) left
	 * 150 such pages; `heapwatch diff` of its pair takes 1,714 page
	 * faults rather than 2,212, and 2 MiB more at peak.
	 */
	cap = isize;
	if (cap % INFLATE_HUGE >= INFLATE_HUGE / 4)
		cap = (cap + INFLATE_HUGE - 1) & ~(INFLATE_HUGE - 1);
	out = xmalloc_huge(cap, 1);
	t0 = clock_mono_us() / 1e3;
	r = libdeflate_gzip_decompress_ex(d, in, len, out, isize, &used, &got);
	*ms += clock_mono_us() / 1e3 - t0;
	if (r != LIBDEFLATE_SUCCESS || got != isize || used != len) {
		/* Not one whole member of that size: zlib will say why. */
		free(out);
		return 1;
	}
	*outp = out;
	*outlen = got;
	return 0;
}

/*
 * Inflate one or more concatenated gzip members (as `cat a.gz b.gz` makes)
 * a window at a time, giving each window to the sink before the next;
 * more than max bytes of output are refused, so that a gzip bomb costs a
 * window of memory and at most max bytes of work.
 */
int
inflate_stream(const uint8_t *in, size_t len, size_t max, inflate_sink sink,
    void *arg, size_t *totalp, double *ms, char **cause)
{
	z_stream	 zs;
	uint8_t		*win;
	size_t		 cap = INFLATE_WINDOW, have = 0, total = 0, left = len;
	size_t		 chunk, got;
	ssize_t		 used;
	double		 t0;
	int		 rc, ret = -1;
	bool		 done = false;

	memset(&zs, 0, sizeof zs);
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		fatalx("inflateInit2 failed");
	win = xmalloc(cap);
	zs.next_in = (uint8_t *)in;
	while (!done) {
		/* zlib counts in uInt: feed it 1 GiB at most at a time. */
		if (zs.avail_in == 0) {
			chunk = left > (1u << 30) ? (1u << 30) : left;
			zs.avail_in = chunk;
			left -= chunk;
		}
		if (have == cap) {
			/* One field fills the window: widen it. */
			cap *= 2;
			win = xreallocarray(win, cap, 1);
		}
		zs.next_out = win + have;
		zs.avail_out = cap - have;
		t0 = clock_mono_us() / 1e3;
		rc = inflate(&zs, Z_NO_FLUSH);
		*ms += clock_mono_us() / 1e3 - t0;
		got = cap - have - zs.avail_out;
		total += got;
		have += got;
		if (total > max) {
			xasprintf(cause, "decompressed profile exceeds the "
			    "%s limit", units_fmt_size(max));
			goto out;
		}
		if (rc == Z_STREAM_END) {
			if (zs.avail_in == 0 && left == 0)
				done = true;
			else if (inflateReset(&zs) != Z_OK)
				fatalx("inflateReset failed");
		} else if (rc == Z_BUF_ERROR && zs.avail_in == 0 &&
		    left == 0) {
			xasprintf(cause, "truncated gzip data");
			goto out;
		} else if (rc != Z_OK && rc != Z_BUF_ERROR) {
			xasprintf(cause, "corrupt gzip data: %s",
			    zs.msg != NULL ? zs.msg : "inflate failed");
			goto out;
		}
		if ((used = sink(arg, win, have, done, cause)) == -1)
			goto out;
		memmove(win, win + used, have - used);
		have -= used;
	}
	if (total == 0) {
		xasprintf(cause, "empty profile");
		goto out;
	}
	*totalp = total;
	ret = 0;
out:
	inflateEnd(&zs);
	free(win);
	return ret;
}
