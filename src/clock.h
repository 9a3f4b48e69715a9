/*
 * The clocks heapwatch reads: wall time for what people and receivers see
 * (scrape times, alert starts), the monotonic clock for intervals and
 * deadlines, which must not jump when the wall clock is set.
 */
#ifndef CLOCK_H
#define CLOCK_H

#include <sys/time.h>

#include <stdint.h>

/* Milliseconds since the Unix epoch, on the wall clock. */
int64_t	clock_real_ms(void);
/* Milliseconds on the monotonic clock, for deadlines and backoff. */
int64_t	clock_mono_ms(void);
/* Microseconds on the monotonic clock, for costs and timings. */
int64_t	clock_mono_us(void);
/*
 * Microseconds of CPU the calling thread has used: what a piece of work
 * cost, whatever the machine's load kept it waiting.
 */
int64_t	clock_cpu_us(void);
/*
 * A span of milliseconds, or of microseconds, as a timeval for libevent's
 * timers; a span below zero is none.
 */
struct timeval	clock_tv_ms(int64_t);
struct timeval	clock_tv_us(int64_t);

#endif
