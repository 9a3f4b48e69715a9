/* Unit tests for src/units.c, and the timer spans of src/clock.c. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "clock.h"
#include "tap.h"
#include "units.h"

static void
duration(const char *s, long long want)
{
	const char	*errstr = NULL;
	uint64_t	 ms = 0;
	int		 rc;

	rc = units_duration(s, &ms, &errstr);
	if (want < 0)
		ok(rc == -1 && errstr != NULL, "duration \"%s\" refused (%s)",
		    s, errstr ? errstr : "accepted");
	else {
		ok(rc == 0, "duration \"%s\" parses", s);
		is_int(ms, want, "duration \"%s\" value", s);
	}
}

static void
span(int64_t v, bool ms, long long sec, long long usec)
{
	struct timeval	tv = ms ? clock_tv_ms(v) : clock_tv_us(v);

	ok(tv.tv_sec == sec && tv.tv_usec == usec,
	    "%lld %s is %lld s %lld us (got %lld s %lld us)", (long long)v,
	    ms ? "ms" : "us", sec, usec, (long long)tv.tv_sec,
	    (long long)tv.tv_usec);
}

/* A refusal that says why, in so many words. */
static void
refused(int (*parse)(const char *, uint64_t *, const char **),
    const char *s, const char *why)
{
	const char	*errstr = NULL;
	uint64_t	 v;

	ok(parse(s, &v, &errstr) == -1 && errstr != NULL &&
	    strcmp(errstr, why) == 0, "\"%s\": %s (got %s)", s, why,
	    errstr != NULL ? errstr : "accepted");
}

static void
size(const char *s, long long want)
{
	const char	*errstr = NULL;
	uint64_t	 n = 0;
	int		 rc;

	rc = units_size(s, &n, &errstr);
	if (want < 0)
		ok(rc == -1 && errstr != NULL, "size \"%s\" refused", s);
	else {
		ok(rc == 0, "size \"%s\" parses", s);
		is_int(n, want, "size \"%s\" value", s);
	}
}

int
main(void)
{
	const char	*errstr;
	long long	 n;

	duration("500ms", 500);
	duration("30s", 30000);
	duration("5m", 300000);
	duration("1h30m", 5400000);
	duration("7d", 604800000);
	duration("0", 0);
	duration("1h2m3s4ms", 3723004);
	duration("", -1);
	duration("10", -1);
	duration("5x", -1);
	duration("1s1h", -1);
	duration("-5s", -1);
	duration("99999999999999999999s", -1);
	size("4096", 4096);
	size("512KiB", 524288);
	size("16MiB", 16777216);
	size("1GiB", 1073741824);
	size("2kB", 2000);
	size("1.5MiB", -1);
	size("MiB", -1);
	size("12 MiB", -1);
	size("16Mi", -1);
	refused(units_duration, "1.5m", "no fractions: 1m30s, not 1.5m");
	refused(units_duration, "30 s", "no space between the number and "
	    "its unit");
	refused(units_size, "1.5GiB", "no fractions: 1536MiB, not 1.5GiB");
	refused(units_size, "16 MB", "no space between the number and its "
	    "unit");
	refused(units_size, "16mb", "invalid size unit (use B, KiB, MiB, "
	    "GiB, TiB, kB, MB, GB, TB)");
	span(1500, true, 1, 500000);
	span(999, true, 0, 999000);
	span(0, true, 0, 0);
	span(-20, true, 0, 0);
	span(86400000, true, 86400, 0);
	span(2500001, false, 2, 500001);
	span(-1, false, 0, 0);
	ok(units_number("42", 1, 100, &n, &errstr) == 0 && n == 42,
	    "number in range");
	ok(units_number("0", 1, 100, &n, &errstr) == -1, "number too small");
	ok(units_number("12a", 1, 100, &n, &errstr) == -1, "number with junk");
	return tap_done();
}
