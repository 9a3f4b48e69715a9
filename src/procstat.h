/*
 * What the kernel says of this process: the standard process_* families
 * of /metrics, which every Prometheus client library exports and every
 * dashboard of a daemon's memory and CPU reads.
 */
#ifndef PROCSTAT_H
#define PROCSTAT_H

#include <stdint.h>

struct procstat {
	double		 cpu_seconds;	/* user and system, all threads */
	uint64_t	 rss_bytes;	/* resident */
	uint64_t	 vsize_bytes;	/* its address space */
	double		 start_time;	/* seconds since the epoch */
	long		 open_fds;	/* -1: not known */
	long		 max_fds;	/* the soft limit; -1: unlimited */
};

/*
 * Read /proc/self/stat and the number of descriptors open: 0, or -1 when
 * /proc does not say (not mounted).
 */
int		 procstat_read(struct procstat *);
/* The resident set alone, in bytes, or 0 when /proc does not say. */
uint64_t	 procstat_rss(void);
/*
 * The descriptors open, counted in a listing of /proc/self/fd (the one
 * that lists them aside), or -1: what procstat_read() does where the
 * kernel does not give their number (before Linux 6.2).
 */
long		 procstat_list_fds(void);

#endif
