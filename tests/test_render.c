/* Unit tests for src/render.c: pprof's number formats. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "render.h"
#include "tap.h"

/* What pprof prints, by printf, which agrees with Go's fmt here. */
static void
printf_percent(char *buf, size_t len, int64_t v, int64_t total)
{
	double	ratio = 0;

	if (total != 0)
		ratio = fabs((double)v / (double)total) * 100;
	if (ratio >= 99.95 && ratio <= 100.05)
		snprintf(buf, len, "  100%%");
	else if (ratio >= 1.0)
		snprintf(buf, len, "%5.2f%%", ratio);
	else
		snprintf(buf, len, "%5.2g%%", ratio);
}

static void
test_percent(void)
{
	char	 got[64], want[64];
	int64_t	 total, v;
	long	 n = 0, bad = 0;

	/* Every fraction with a small total: all the exact ties. */
	for (total = 1; total <= 1500; total++)
		for (v = -total; v <= total; v++) {
			render_percent(got, sizeof got, v, total);
			printf_percent(want, sizeof want, v, total);
			n++;
			if (strcmp(got, want) != 0 && bad++ < 5)
				printf("# %lld/%lld: got [%s] want [%s]\n",
				    (long long)v, (long long)total, got, want);
		}
	/* And large values, down to tiny ratios. */
	for (total = 1000003; total < INT64_MAX / 8; total *= 7)
		for (v = 1; v <= total; v = v * 3 + 1) {
			render_percent(got, sizeof got, v, total);
			printf_percent(want, sizeof want, v, total);
			n++;
			if (strcmp(got, want) != 0 && bad++ < 5)
				printf("# %lld/%lld: got [%s] want [%s]\n",
				    (long long)v, (long long)total, got, want);
		}
	ok(bad == 0, "percentages equal printf's in %ld cases (%ld differ)",
	    n, bad);
	render_percent(got, sizeof got, 1, 800);
	is_str(got, " 0.12%", "a tie rounds to even");
	render_percent(got, sizeof got, 0, 0);
	is_str(got, "    0%", "zero total");
}

static void
test_value(void)
{
	char	buf[64];

	render_value(buf, sizeof buf, 1536, "bytes", "auto");
	is_str(buf, "1.50kB", "bytes scale to kB");
	render_value(buf, sizeof buf, -3 * 1048576 - 5243, "bytes", "auto");
	is_str(buf, "-3.01MB", "negative MB");
	render_value(buf, sizeof buf, 1024 + 5, "bytes", "kB");
	is_str(buf, "1kB", ".00 is dropped");
	render_value(buf, sizeof buf, 1034, "bytes", "kB");
	is_str(buf, "1.01kB", "rounded to two decimals");
	render_value(buf, sizeof buf, 0, "bytes", "MB");
	is_str(buf, "0", "zero has no unit");
	render_value(buf, sizeof buf, 1234, "count", "auto");
	is_str(buf, "1234", "counts have no unit");
	render_value(buf, sizeof buf, 1500000, "nanoseconds", "auto");
	is_str(buf, "1.50ms", "time scales");
	render_value(buf, sizeof buf, 1234, "count", "B");
	is_str(buf, "1234B", "a count shown in bytes takes the unit, as "
	    "pprof -unit=B does");
}

/* One formatter for every JSON time: API, pages' JSON and receivers. */
static void
test_time(void)
{
	json_t	*j;

	j = render_time(0);
	ok(json_is_null(j), "0 is never, JSON null");
	json_decref(j);
	j = render_time(1700000000123);
	is_str(json_string_value(j), "2023-11-14T22:13:20.123Z",
	    "milliseconds kept, UTC");
	json_decref(j);
	/* Division rounds toward zero: -1 ms is the last ms of 1969. */
	j = render_time(-1);
	is_str(json_string_value(j), "1969-12-31T23:59:59.999Z",
	    "a negative time rounds down, not toward 1970");
	json_decref(j);
	j = render_time(-1500);
	is_str(json_string_value(j), "1969-12-31T23:59:58.500Z",
	    "-1.5 s is 58.500");
	json_decref(j);
}

int
main(void)
{
	test_percent();
	test_value();
	test_time();
	return tap_done();
}
