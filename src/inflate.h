/*
 * gzip input of the profile decoder. A member whose trailer claims a
 * plausible size is inflated whole with libdeflate; anything else (several
 * members, a lying trailer, a bomb) is inflated with zlib a window at a
 * time and handed to a sink as it comes, so that the decompressed profile
 * is never held whole and more than max bytes of it are refused.
 */
#ifndef INFLATE_H
#define INFLATE_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A sink takes the window win[0..have) and returns how many bytes it used
 * (the rest is given again with more after it), or -1 with *cause. With
 * final set, no more will come.
 */
typedef ssize_t (*inflate_sink)(void *arg, const uint8_t *win, size_t have,
		    bool final, char **cause);

bool		 inflate_is_gzip(const void *, size_t);
/*
 * Inflate one whole member into *out (freed with free()): 0, or 1 when
 * it does not apply or fails, for inflate_stream(), whose messages say
 * what is wrong. *ms gains the time taken.
 */
int		 inflate_whole(const uint8_t *in, size_t len, size_t max,
		    uint8_t **out, size_t *outlen, double *ms);
/* Inflate members into sink; *total is the decompressed size. */
int		 inflate_stream(const uint8_t *in, size_t len, size_t max,
		    inflate_sink sink, void *arg, size_t *total, double *ms,
		    char **cause) __attribute__((warn_unused_result));
/* Free the calling thread's decompressor. */
void		 inflate_thread_done(void);

#endif
