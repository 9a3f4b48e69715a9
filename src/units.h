/* Prometheus-style durations and IEC sizes, parsed with full checking. */
#ifndef UNITS_H
#define UNITS_H

#include <stdint.h>

/* "500ms", "30s", "1h30m", "7d" into milliseconds. */
int	units_duration(const char *, uint64_t *ms, const char **errstr)
	    __attribute__((warn_unused_result));
/* "4096", "512KiB", "16MiB", "1GiB" (also kB, MB, GB as powers of 1000). */
int	units_size(const char *, uint64_t *bytes, const char **errstr)
	    __attribute__((warn_unused_result));
/* A size for messages: "256 MiB", "1500 bytes"; a static buffer. */
const char *units_fmt_size(uint64_t);
/* A whole number in [min, max], strtonum-style. */
int	units_number(const char *, long long min, long long max,
	    long long *out, const char **errstr)
	    __attribute__((warn_unused_result));

#endif
