/* A small TAP producer for the C unit tests: one "ok" line per check. */
#ifndef TAP_H
#define TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int	tap_count;
static int	tap_failures;

static void __attribute__((format(printf, 4, 5)))
tap_check(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list	ap;

	tap_count++;
	if (!pass)
		tap_failures++;
	printf("%s %d - ", pass ? "ok" : "not ok", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass)
		printf("#   failed at %s:%d\n", file, line);
	fflush(stdout);
}

#define ok(cond, ...) tap_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/*
 * Whether x, of any integer type, is below zero. The first test is on
 * constants: an unsigned x is never taken for negative. The second reads
 * the sign bit rather than comparing with 0, which -Wextra would call
 * always false for the small unsigned types.
 */
#define tap_negative(x)	((__typeof__(x))-1 < 1 &&			\
	((uintmax_t)(intmax_t)(x) >> (sizeof(uintmax_t) * 8 - 1)) != 0)

/*
 * Whether two integers of any types are equal by value: sign and
 * magnitude, so that a uint64_t above INT64_MAX is not taken for a
 * negative number, nor (uint64_t)-1 for -1.
 */
#define tap_int_eq(a, b)	(tap_negative(a) == tap_negative(b) &&	\
	(uintmax_t)(a) == (uintmax_t)(b))

#define is_int(got, want, ...) do {					\
	__typeof__(got) g_ = (got);					\
	__typeof__(want) w_ = (want);					\
	int eq_ = tap_int_eq(g_, w_);					\
	ok(eq_, __VA_ARGS__);						\
	if (!eq_) {							\
		if (tap_negative(g_))					\
			printf("#   got %jd", (intmax_t)g_);		\
		else							\
			printf("#   got %ju", (uintmax_t)g_);		\
		if (tap_negative(w_))					\
			printf(", want %jd\n", (intmax_t)w_);		\
		else							\
			printf(", want %ju\n", (uintmax_t)w_);		\
	}								\
} while (0)

#define is_str(got, want, ...) do {					\
	const char *g_ = (got), *w_ = (want);				\
	int eq_ = (g_ == NULL && w_ == NULL) ||				\
	    (g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0);		\
	ok(eq_, __VA_ARGS__);						\
	if (!eq_)							\
		printf("#   got \"%s\", want \"%s\"\n",			\
		    g_ ? g_ : "(null)", w_ ? w_ : "(null)");		\
} while (0)

static int
tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failures > 0;
}

#endif
