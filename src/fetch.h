/*
 * Profiles from where they live: one blocking HTTP(S) GET of a pprof
 * endpoint for the command line, with the daemon's limits (the body is
 * kept as sent, compressed or not, and refused past a cap, so that the
 * decoder's own cap on the inflated size still holds against gzip bombs).
 */
#ifndef FETCH_H
#define FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether a profile argument names a URL rather than a file. */
bool	fetch_is_url(const char *);

/* GET url into *data (malloc'd) and *len; -1 with *cause otherwise. */
int	fetch_url(const char *url, size_t max, uint64_t timeout_ms,
	    void **data, size_t *len, char **cause)
	    __attribute__((warn_unused_result));
/* Stop libcurl if a fetch loaded it. */
void	fetch_done(void);

#endif
