#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

/* Read the digits at *s into *v, failing on none or on overflow. */
static int
read_digits(const char **s, uint64_t *v)
{
	const char	*p = *s;
	uint64_t	 n = 0;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (n > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*s = p;
	*v = n;
	return 0;
}

/*
 * The two ways people write a number and unit that these do not take, at
 * s just past the digits: a fraction (then fraction says how instead),
 * or a space before the unit. True with *errstr set for either.
 */
static bool
units_misspelt(const char *s, const char *fraction, const char **errstr)
{
	if (*s == '.' || *s == ',')
		*errstr = fraction;
	else if (*s == ' ' && s[1] != '\0')
		*errstr = "no space between the number and its unit";
	else
		return false;
	return true;
}

int
units_duration(const char *s, uint64_t *ms, const char **errstr)
{
	static const struct {
		const char	*name;
		uint64_t	 ms;
	} units[] = {		/* longest names first: "ms" before "m" */
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 }, { "w", 604800000 },
		{ "y", 31536000000ULL },
	};
	uint64_t	 total = 0, n;
	size_t		 i, len;
	int		 last = -1;

	if (*s == '\0') {
		*errstr = "empty duration";
		return -1;
	}
	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return 0;
	}
	while (*s != '\0') {
		if (read_digits(&s, &n) == -1) {
			*errstr = "invalid duration";
			return -1;
		}
		if (units_misspelt(s, "no fractions: 1m30s, not 1.5m",
		    errstr))
			return -1;
		for (i = 0; i < sizeof units / sizeof units[0]; i++) {
			len = strlen(units[i].name);
			if (strncmp(s, units[i].name, len) == 0 &&
			    !(len == 1 && units[i].name[0] == 'm' &&
			    s[1] == 's'))
				break;
		}
		if (i == sizeof units / sizeof units[0]) {
			*errstr = "invalid duration unit (use ms, s, m, h, "
			    "d, w or y)";
			return -1;
		}
		/* Prometheus wants units from the largest to the smallest. */
		if (last != -1 && units[i].ms >= units[last].ms) {
			*errstr = "duration units out of order";
			return -1;
		}
		if (n > (UINT64_MAX - total) / units[i].ms) {
			*errstr = "duration too large";
			return -1;
		}
		total += n * units[i].ms;
		last = i;
		s += strlen(units[i].name);
	}
	*ms = total;
	return 0;
}

int
units_size(const char *s, uint64_t *bytes, const char **errstr)
{
	static const struct {
		const char	*name;
		uint64_t	 mult;
	} units[] = {
		{ "", 1 }, { "B", 1 },
		{ "KiB", 1ULL << 10 }, { "MiB", 1ULL << 20 },
		{ "GiB", 1ULL << 30 }, { "TiB", 1ULL << 40 },
		{ "kB", 1000 }, { "KB", 1000 }, { "MB", 1000000 },
		{ "GB", 1000000000 }, { "TB", 1000000000000ULL },
	};
	uint64_t	 n;
	size_t		 i;

	if (read_digits(&s, &n) == -1) {
		*errstr = "invalid size";
		return -1;
	}
	if (units_misspelt(s, "no fractions: 1536MiB, not 1.5GiB", errstr))
		return -1;
	for (i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(s, units[i].name) == 0)
			break;
	if (i == sizeof units / sizeof units[0]) {
		*errstr = "invalid size unit (use B, KiB, MiB, GiB, TiB, kB, "
		    "MB, GB, TB)";
		return -1;
	}
	if (n > UINT64_MAX / units[i].mult) {
		*errstr = "size too large";
		return -1;
	}
	*bytes = n * units[i].mult;
	return 0;
}

int
units_number(const char *s, long long min, long long max, long long *out,
    const char **errstr)
{
	char		*ep;
	long long	 n;

	errno = 0;
	n = strtoll(s, &ep, 10);
	if (*s == '\0' || *ep != '\0' || isspace((unsigned char)*s)) {
		*errstr = "invalid number";
		return -1;
	}
	if ((errno == ERANGE && n == LLONG_MIN) || n < min) {
		*errstr = "too small";
		return -1;
	}
	if ((errno == ERANGE && n == LLONG_MAX) || n > max) {
		*errstr = "too large";
		return -1;
	}
	*out = n;
	return 0;
}

const char *
units_fmt_size(uint64_t n)
{
	/* Per thread: heapwatchd decodes profiles in a worker too. */
	static __thread char buf[32];
	static const char *names[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	int		 i = 0;

	while (i < 4 && n >= 1024 && n % 1024 == 0) {
		n /= 1024;
		i++;
	}
	snprintf(buf, sizeof buf, "%llu %s", (unsigned long long)n, names[i]);
	return buf;
}
