#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "render.h"
#include "xmalloc.h"

struct unit {
	const char	*name;
	const char	*aliases[4];
	double		 factor;
};

/* pprof's unit families: a value is scaled within its family. */
static const struct unit memory_units[] = {
	{ "B", { "b", "byte" }, 1 },
	{ "kB", { "kb", "kbyte", "kilobyte" }, 1024.0 },
	{ "MB", { "mb", "mbyte", "megabyte" }, 1048576.0 },
	{ "GB", { "gb", "gbyte", "gigabyte" }, 1073741824.0 },
	{ "TB", { "tb", "tbyte", "terabyte" }, 1099511627776.0 },
	{ "PB", { "pb", "pbyte", "petabyte" }, 1125899906842624.0 },
	{ NULL, { NULL }, 0 }
};
static const struct unit time_units[] = {
	{ "ns", { "ns", "nanosecond" }, 1 },
	{ "us", { "\xce\xbcs", "us", "microsecond" }, 1e3 },
	{ "ms", { "ms", "millisecond" }, 1e6 },
	{ "s", { "s", "sec", "second" }, 1e9 },
	{ "hrs", { "hour", "hr" }, 3600e9 },
	{ NULL, { NULL }, 0 }
};
static const struct {
	const struct unit	*units;
	const struct unit	*dflt;
} families[] = {
	{ memory_units, &memory_units[0] },
	{ time_units, &time_units[3] },
};

/* Find a unit by name as pprof sniffs it: lower case, plural 's' dropped. */
static const struct unit *
sniff_unit(const struct unit *units, const char *name)
{
	char	 buf[64];
	size_t	 i, j, len;

	len = strlen(name);
	if (len >= sizeof buf)
		return NULL;
	for (i = 0; i <= len; i++)
		buf[i] = tolower((unsigned char)name[i]);
	if (len > 2 && buf[len - 1] == 's')
		buf[len - 1] = '\0';
	for (i = 0; units[i].name != NULL; i++)
		for (j = 0; j < 4 && units[i].aliases[j] != NULL; j++)
			if (strcmp(units[i].aliases[j], buf) == 0)
				return &units[i];
	return NULL;
}

/* Scale v to to_unit, or to the largest unit it fills for "auto". */
static double
scale(int64_t v, const char *from, const char *to, const char **unit)
{
	const struct unit	*fu, *tu, *u;
	double			 x, f;
	size_t			 i;

	if (v < 0 && v != INT64_MIN)
		return -scale(-v, from, to, unit);
	for (i = 0; i < sizeof families / sizeof families[0]; i++) {
		if ((fu = sniff_unit(families[i].units, from)) == NULL)
			continue;
		x = (double)v * fu->factor;
		if (strcmp(to, "auto") == 0 || strcmp(to, "minimum") == 0) {
			f = 0;
			tu = NULL;
			for (u = families[i].units; u->name != NULL; u++)
				if (u->factor >= f && x / u->factor >= 1.0) {
					f = u->factor;
					tu = u;
				}
			if (tu == NULL)
				tu = families[i].dflt;
		} else if ((tu = sniff_unit(families[i].units, to)) == NULL)
			tu = families[i].dflt;
		*unit = tu->name;
		return x / tu->factor;
	}
	/* Not a unit pprof knows: shown as is, with the unit asked for. */
	if (strcmp(to, "count") == 0 || strcmp(to, "sample") == 0 ||
	    strcmp(to, "unit") == 0 || strcmp(to, "minimum") == 0 ||
	    strcmp(to, "auto") == 0)
		*unit = "";
	else
		*unit = to;
	return (double)v;
}

/* The factor of a memory unit in bytes, or 0 for another unit. */
static uint64_t
memory_factor(const char *name)
{
	const struct unit	*u;

	if ((u = sniff_unit(memory_units, name)) == NULL)
		return 0;
	return (uint64_t)u->factor;
}

static uint64_t
memory_multiplier(const char *from)
{
	return memory_factor(from);
}

/* What scaling from one memory unit to another divides by; 0 if none. */
static uint64_t
memory_divisor(const char *from, const char *to)
{
	if (memory_factor(from) == 0 || *to == '\0')
		return 0;
	return memory_factor(to);
}

/* Write the decimal digits of v at the end of buf[0..end); returns start. */
static char *
digits(char *end, uint64_t v)
{
	do {
		*--end = '0' + v % 10;
		v /= 10;
	} while (v != 0);
	return end;
}

/*
 * Print q / 10^prec with prec decimals, an optional sign and right-aligned
 * to width, as printf's "%*.*f" prints it.
 */
static void
put_fixed(char *buf, size_t len, bool neg, uint64_t q, int prec, int width)
{
	char	 tmp[64], *end = tmp + sizeof tmp, *p;
	int	 i;

	p = end;
	for (i = 0; i < prec; i++) {
		*--p = '0' + q % 10;
		q /= 10;
	}
	if (prec > 0)
		*--p = '.';
	p = digits(p, q);
	if (neg)
		*--p = '-';
	while (end - p < width)
		*--p = ' ';
	snprintf(buf, len, "%.*s", (int)(end - p), p);
}

/*
 * Print |num / den| to two decimals, rounding half to even as printf does
 * for the exact value: right when num / den is exact in binary, as it is
 * for a power-of-two den.
 */
static void
fixed2(char *buf, size_t len, bool neg, unsigned __int128 num, uint64_t den)
{
	unsigned __int128	 cents, rem;

	cents = num * 100 / den;
	rem = num * 100 % den;
	if (rem * 2 > den || (rem * 2 == den && (cents & 1)))
		cents++;
	put_fixed(buf, len, neg, (uint64_t)cents, 2, 0);
}

/*
 * |r| * 10^k rounded to an integer, half to even (or down, with floor),
 * computed exactly from the binary value of r as printf rounds it;
 * UINT64_MAX when too large.
 */
static uint64_t
scaled(double r, int k, bool floor)
{
	unsigned __int128	 num, rem, half, q;
	uint64_t		 m, p10 = 1;
	int			 e, sh;

	r = fabs(r);
	if (r == 0)
		return 0;
	m = (uint64_t)ldexp(frexp(r, &e), 53);	/* r = m * 2^(e - 53) */
	sh = e - 53;
	while (k-- > 0)
		p10 *= 10;
	num = (unsigned __int128)m * p10;
	if (sh >= 0)
		return sh < 10 && (num << sh) < UINT64_MAX ?
		    (uint64_t)(num << sh) : UINT64_MAX;
	if (-sh >= 127)
		return 0;
	q = num >> -sh;
	rem = num - (q << -sh);
	half = (unsigned __int128)1 << (-sh - 1);
	if (!floor && (rem > half || (rem == half && (q & 1))))
		q++;
	return q < UINT64_MAX ? (uint64_t)q : UINT64_MAX;
}

/* printf's "%5.2g" for 1e-4 <= r < 1; false when it cannot tell. */
static bool
put_g2(char *buf, size_t len, double r)
{
	char		*p;
	uint64_t	 q;
	size_t		 n;
	int		 x;

	/* x: the decimal exponent of r, 10^x <= r < 10^(x + 1). */
	for (x = -1; x >= -4; x--)
		if (scaled(r, 1 - x, true) >= 10)
			break;
	if (x < -4)
		return false;
	q = scaled(r, 1 - x, false);
	if (q >= 100) {			/* rounded up into the next decade */
		x++;
		q = 10;
	}
	if (x >= 0)
		return false;
	put_fixed(buf, len, false, q, 1 - x, 0);
	/* %g drops trailing zeros. */
	for (p = buf + strlen(buf) - 1; *p == '0'; p--)
		*p = '\0';
	if (*p == '.')
		*p = '\0';
	if ((n = strlen(buf)) < 5) {
		memmove(buf + 5 - n, buf, n + 1);
		memset(buf, ' ', 5 - n);
	}
	return true;
}

void
render_value(char *buf, size_t len, int64_t v, const char *from,
    const char *to)
{
	const char	*unit;
	double		 x;
	size_t		 n;

	x = scale(v, from, to, &unit);
	if (memory_divisor(from, unit) != 0 && v != INT64_MIN)
		/* Bytes over a power of two: exact, and no floating point. */
		fixed2(buf, len, v < 0, (unsigned __int128)(v < 0 ? -v : v) *
		    memory_multiplier(from), memory_divisor(from, unit));
	else
		snprintf(buf, len, "%.2f", x);
	n = strlen(buf);
	if (n > 3 && strcmp(buf + n - 3, ".00") == 0)
		buf[n - 3] = '\0';
	if (strcmp(buf, "0") == 0 || strcmp(buf, "-0") == 0) {
		snprintf(buf, len, "0");
		return;
	}
	n = strlen(buf);
	snprintf(buf + n, len - n, "%s", unit);
}

/*
 * pprof's percentage: two decimals, or two significant digits below 1%,
 * as Go's %5.2f and %5.2g print them (printf's, for these). The common
 * cases are formatted here from the exact binary value, several times
 * faster than printf; the rest go to printf.
 */
void
render_percent(char *buf, size_t len, int64_t v, int64_t total)
{
	double		ratio = 0;
	uint64_t	q;

	if (total != 0)
		ratio = fabs((double)v / (double)total) * 100;
	if (ratio >= 99.95 && ratio <= 100.05)
		snprintf(buf, len, "  100%%");
	else if (ratio >= 1.0 && (q = scaled(ratio, 2, false)) != UINT64_MAX) {
		put_fixed(buf, len - 1, false, q, 2, 5);
		strcat(buf, "%");
	} else if (ratio < 1.0 && ratio > 0 && put_g2(buf, len - 1, ratio))
		strcat(buf, "%");
	else if (ratio >= 1.0)
		snprintf(buf, len, "%5.2f%%", ratio);
	else
		snprintf(buf, len, "%5.2g%%", ratio);
}

static uint64_t
uabs(int64_t v)
{
	return v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
}

/*
 * The unit pprof picks for a table: that of the smallest non-zero value,
 * unless it is under a hundredth of the total, when the scale of a hundred
 * times that value is used.
 */
static const char *
output_unit(const struct report *r, size_t n)
{
	const char	*minu, *maxu, *u;
	uint64_t	 minv = 0, m;
	size_t		 i;

	if (n == 0)
		return r->unit;
	for (i = 0; i < n; i++) {
		m = uabs(r->fns[i].flat);
		if (m == 0)
			m = uabs(r->fns[i].cum);
		if (m > 0 && (minv == 0 || m < minv))
			minv = m;
	}
	if (minv == 0)
		minv = (uint64_t)r->total;
	scale((int64_t)minv, r->unit, "minimum", &minu);
	scale(r->total, r->unit, "minimum", &maxu);
	u = minu;
	if (strcmp(minu, maxu) != 0 && minv * 100 < (uint64_t)r->total)
		scale((int64_t)(minv * 100), r->unit, "minimum", &u);
	return *u != '\0' ? u : r->unit;
}

/* A duration as Go prints a time.Duration: "1h2m3.5s", "250ms". */
static void
go_duration(char *buf, size_t len, int64_t ns)
{
	static const struct {
		int64_t		 div;
		int		 prec;
		const char	*unit;
	} small[] = {
		{ 1, 0, "ns" }, { 1000, 3, "\xc2\xb5s" }, { 1000000, 6, "ms" }
	};
	uint64_t	 u = ns < 0 ? 0 - (uint64_t)ns : (uint64_t)ns;
	char		 frac[32], *p;
	int		 i;

	/* The whole part, and the fraction with its trailing zeros cut. */
#define GO_FRAC(v, div, prec) do {					\
	snprintf(frac, sizeof frac, ".%0*llu", (prec),			\
	    (unsigned long long)((v) % (div)));				\
	for (p = frac + strlen(frac) - 1; p > frac && *p == '0'; p--)	\
		*p = '\0';						\
	if (p == frac)							\
		*p = '\0';						\
} while (0)
	if (u == 0) {
		snprintf(buf, len, "0s");
		return;
	}
	if (u < 1000000000) {
		i = u < 1000 ? 0 : u < 1000000 ? 1 : 2;
		if (i == 0)
			frac[0] = '\0';
		else
			GO_FRAC(u, (uint64_t)small[i].div, small[i].prec);
		snprintf(buf, len, "%s%llu%s%s", ns < 0 ? "-" : "",
		    (unsigned long long)(u / small[i].div), frac,
		    small[i].unit);
		return;
	}
	GO_FRAC(u, 1000000000, 9);
	u /= 1000000000;
	if (u >= 3600)
		snprintf(buf, len, "%s%lluh%llum%llu%ss", ns < 0 ? "-" : "",
		    (unsigned long long)(u / 3600),
		    (unsigned long long)(u / 60 % 60),
		    (unsigned long long)(u % 60), frac);
	else if (u >= 60)
		snprintf(buf, len, "%s%llum%llu%ss", ns < 0 ? "-" : "",
		    (unsigned long long)(u / 60), (unsigned long long)(u % 60),
		    frac);
	else
		snprintf(buf, len, "%s%llu%ss", ns < 0 ? "-" : "",
		    (unsigned long long)u, frac);
#undef GO_FRAC
}

/* The lines pprof prints above the table. */
static void
header(FILE *f, const struct report *r)
{
	const struct symtab	*st = r->profile->st;
	const struct sym_mapping *m;
	const char		*file, *s;
	char			 buf[128];
	struct tm		 tm;
	time_t			 t;
	uint32_t		 i;

	if (r->main_mapping != SYM_NONE) {
		m = symtab_mapping(st, r->main_mapping);
		file = symtab_str(st, m->file)->s;
		if (*file != '\0') {
			s = strrchr(file, '/');
			fprintf(f, "File: %s\n", s != NULL && s[1] != '\0' ?
			    s + 1 : file);
		}
		if (m->build_id != 0)
			fprintf(f, "Build ID: %s\n",
			    symtab_str(st, m->build_id)->s);
	}
	for (i = 0; i < r->ncomments; i++) {
		s = symtab_str(st, r->comments[i])->s;
		if (*s != '#')
			fprintf(f, "%s\n", s);
	}
	fprintf(f, "Type: %s\n", r->sample_type);
	if (r->time_nanos != 0) {
		/* Go's layout "Jan 2, 2006 at 3:04pm (MST)". */
		t = r->time_nanos / 1000000000;
		localtime_r(&t, &tm);
		strftime(buf, sizeof buf, "%b", &tm);
		fprintf(f, "Time: %s %d, %d at %d:%02d%s (%s)\n", buf,
		    tm.tm_mday, tm.tm_year + 1900,
		    tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12, tm.tm_min,
		    tm.tm_hour < 12 ? "am" : "pm", tm.tm_zone);
	}
	if (r->duration_nanos != 0) {
		go_duration(buf, sizeof buf, r->duration_nanos);
		fprintf(f, "Duration: %s\n", buf);
	}
}

void
render_text(FILE *f, const struct report *r, size_t nmax)
{
	const char	*unit;
	char		 flat[64], cum[64], fp[32], sp[32], cp[32], sum[64];
	char		 tot[64];
	int64_t		 flatsum = 0;
	size_t		 n, i;

	n = nmax > 0 && nmax < r->nfns ? nmax : r->nfns;
	unit = output_unit(r, n);
	header(f, r);
	for (i = 0; i < n; i++)
		flatsum += r->fns[i].flat;
	render_value(sum, sizeof sum, flatsum, r->unit, unit);
	render_percent(fp, sizeof fp, flatsum, r->total);
	render_value(tot, sizeof tot, r->total, r->unit, unit);
	fprintf(f, "Showing nodes accounting for %s, %s of %s total\n", sum,
	    fp + strspn(fp, " "), tot);
	if (n < r->nfns && r->total != 0)
		fprintf(f, "Showing top %zu nodes out of %zu\n", n, r->nfns);
	fprintf(f, "%10s %5s%% %5s%% %10s %5s%%\n", "flat", "flat", "sum",
	    "cum", "cum");
	flatsum = 0;
	for (i = 0; i < n; i++) {
		flatsum += r->fns[i].flat;
		render_value(flat, sizeof flat, r->fns[i].flat, r->unit, unit);
		render_value(cum, sizeof cum, r->fns[i].cum, r->unit, unit);
		render_percent(fp, sizeof fp, r->fns[i].flat, r->total);
		render_percent(sp, sizeof sp, flatsum, r->total);
		render_percent(cp, sizeof cp, r->fns[i].cum, r->total);
		fprintf(f, "%10s %s %s %10s %s  %s%s\n", flat, fp, sp, cum, cp,
		    r->fns[i].name,
		    r->fns[i].inlined == REPORT_INLINED ? " (inline)" :
		    r->fns[i].inlined == REPORT_PARTLY_INLINED ?
		    " (partial-inline)" : "");
	}
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t	n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

json_t *
render_string(const char *s)
{
	const unsigned char	*p;
	json_t			*j;
	char			*fixed, *q;
	size_t			 n;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	/* Replace each invalid byte with U+FFFD. */
	fixed = q = xmalloc(strlen(s) * 3 + 1);
	for (p = (const unsigned char *)s; *p != '\0'; p += n) {
		if ((n = utf8_len(p)) == 0) {
			memcpy(q, "\xef\xbf\xbd", 3);
			q += 3;
			n = 1;
		} else {
			memcpy(q, p, n);
			q += n;
		}
	}
	*q = '\0';
	j = json_string(fixed);
	free(fixed);
	return j;
}

json_t *
render_json(struct report *r, size_t nmax)
{
	json_t	*o, *fns, *fn;
	size_t	 n, i;

	report_sites(r);
	n = nmax > 0 && nmax < r->nfns ? nmax : r->nfns;
	o = json_object();
	json_object_set_new(o, "sample_type", render_string(r->sample_type));
	json_object_set_new(o, "unit", render_string(r->unit));
	json_object_set_new(o, "total", json_integer(r->total));
	json_object_set_new(o, "net", json_integer(r->net));
	fns = json_array();
	for (i = 0; i < n; i++) {
		fn = json_object();
		json_object_set_new(fn, "name", render_string(r->fns[i].name));
		json_object_set_new(fn, "flat", json_integer(r->fns[i].flat));
		json_object_set_new(fn, "cum", json_integer(r->fns[i].cum));
		if (r->fns[i].file != NULL) {
			json_object_set_new(fn, "file",
			    render_string(r->fns[i].file));
			json_object_set_new(fn, "line",
			    json_integer(r->fns[i].line));
		}
		json_array_append_new(fns, fn);
	}
	json_object_set_new(o, "functions", fns);
	return o;
}

/*
 * An RFC 3339 time in UTC with milliseconds, or JSON null for 0; times
 * before 1970 round their milliseconds down, as the seconds do.
 */
json_t *
render_time(int64_t unix_ms)
{
	char		buf[64];
	struct tm	tm;
	int64_t		sec = unix_ms / 1000, msec = unix_ms % 1000;
	time_t		t;

	if (unix_ms == 0)
		return json_null();
	if (msec < 0) {
		msec += 1000;
		sec--;
	}
	t = (time_t)sec;
	if (gmtime_r(&t, &tm) == NULL)
		return json_null();
	snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)msec);
	return json_string(buf);
}
