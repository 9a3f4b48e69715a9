#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "conf.h"
#include "history.h"
#include "judge.h"
#include "list.h"
#include "log.h"
#include "page.h"
#include "profile.h"
#include "report.h"
#include "summary.h"
#include "xmalloc.h"

#define CHART_W		760
#define CHART_H		220
#define PAIR_W		480	/* the two window charts, side by side */
#define ICICLE_W	1160
#define ICICLE_ROW	17
#define ICICLE_DEPTH	48
#define SPARK_W		120
#define SPARK_H		22
#define SPARK_COLS	40	/* columns of a sparkline, two points each */
#define ICICLE_MIN_W	0.3	/* pixels: narrower frames are not drawn */
#define ICICLE_NODES	6000	/* frames at most: some 2 MB of page */

static const char style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse}"
    "td,th{padding:.25em .7em;border-bottom:1px solid #ddd;text-align:left}"
    "th a{color:inherit}td.n{text-align:right;font-variant-numeric:"
    "tabular-nums}.firing{background:#fdd}.pending{background:#ffe9c4}"
    ".down{color:#a00}.muted,.why{color:#777}.why{font-size:80%}"
    ".critical{color:#a00;font-weight:bold}"
    "code{font-size:90%}"
    "svg text{font:11px sans-serif}svg.spark{display:block}"
    ".pair{display:flex;flex-wrap:wrap;gap:1em}h3{font-size:100%}"
    "#icicle g.f{cursor:pointer}#icicle rect{stroke:#fff;stroke-width:.5}"
    "#icicle g.match rect{fill:#b02fd0}#icicle g.zoomed rect{stroke:#000}"
    "table.lines td{border:0;padding:0 .7em}table.lines pre{margin:0}"
    ".grew{color:#c0392b}.shrank{color:#2a62b8}"
    "#tip{position:absolute;display:none;background:#fffff0;border:1px "
    "solid #999;padding:.3em .5em;font-size:12px;max-width:40em;"
    "pointer-events:none}";

static void
head(struct buf *b, const char *title)
{
	buf_printf(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	    "<title>");
	buf_html(b, title);
	buf_printf(b, " - heapwatchd</title><style>%s</style></head><body>\n",
	    style);
}

static void
tail(struct buf *b)
{
	buf_printf(b, "</body></html>\n");
}

/* A size or count for people: "12.3 MiB", "-4.0 KiB", "1234". */
static void
human(char *out, size_t len, double v, bool bytes)
{
	static const char	*units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double			 a = fabs(v);
	int			 u = 0;

	if (!bytes) {
		snprintf(out, len, "%.0f", v);
		return;
	}
	while (a >= 1024 && u < 4) {
		a /= 1024;
		v /= 1024;
		u++;
	}
	snprintf(out, len, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
}

static void
ago(char *out, size_t len, int64_t then_ms, int64_t now_ms)
{
	int64_t	s = (now_ms - then_ms) / 1000;

	if (then_ms == 0)
		snprintf(out, len, "never");
	else if (s < 120)
		snprintf(out, len, "%llds ago", (long long)s);
	else if (s < 7200)
		snprintf(out, len, "%lldm ago", (long long)(s / 60));
	else
		snprintf(out, len, "%lldh ago", (long long)(s / 3600));
}

/* A time to come for people: "45s", "12m", "3h20m", "5d3h". */
static void
page_until(char *out, size_t len, double seconds)
{
	long long	s = (long long)(seconds + 0.5);

	if (s < 120)
		snprintf(out, len, "%llds", s);
	else if (s < 7200)
		snprintf(out, len, "%lldm", s / 60);
	else if (s < 2 * 86400)
		snprintf(out, len, "%lldh%02lldm", s / 3600, s / 60 % 60);
	else
		snprintf(out, len, "%lldd%lldh", s / 86400, s / 3600 % 24);
}

static void
utc(char *out, size_t len, int64_t ms)
{
	struct tm	tm;
	time_t		t = ms / 1000;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static bool
is_heap(const struct target *t)
{
	const struct target_config	*tc = target_config(t);
	return strcmp(config_target_kind(tc), "heap") == 0;
}

/* How urgent a target is: firing, pending, down, then the rest. */
static int
urgency(const struct target *t)
{
	enum alert_state	 state = judge_state(target_status(t)->judge);

	if (state == ALERT_FIRING)
		return 0;
	if (state == ALERT_PENDING)
		return 1;
	if (target_health(t) == TARGET_DOWN)
		return 2;
	return 3;
}

static int64_t
inuse(const struct target *t)
{
	const struct summary	*s = target_latest(t);

	return s != NULL ? s->total : 0;
}

static int
cmp_alert(const void *a, const void *b)
{
	const struct target	*x = *(struct target *const *)a;
	const struct target	*y = *(struct target *const *)b;

	if (urgency(x) != urgency(y))
		return urgency(x) - urgency(y);
	return strcmp(target_config(x)->name, target_config(y)->name);
}

static int
cmp_name(const void *a, const void *b)
{
	const struct target	*x = *(struct target *const *)a;
	const struct target	*y = *(struct target *const *)b;

	return strcmp(target_config(x)->name, target_config(y)->name);
}

static int
cmp_growth(const void *a, const void *b)
{
	const struct target	*x = *(struct target *const *)a;
	const struct target	*y = *(struct target *const *)b;
	struct judge_view	 vx, vy;
	double			 gx, gy;

	judge_view(target_status(x)->judge, &vx);
	judge_view(target_status(y)->judge, &vy);
	gx = vx.per_second;
	gy = vy.per_second;

	if (gx != gy)
		return gx > gy ? -1 : 1;
	return strcmp(target_config(x)->name, target_config(y)->name);
}

static int
cmp_inuse(const void *a, const void *b)
{
	const struct target	*x = *(struct target *const *)a;
	const struct target	*y = *(struct target *const *)b;

	if (inuse(x) != inuse(y))
		return inuse(x) > inuse(y) ? -1 : 1;
	return strcmp(target_config(x)->name, target_config(y)->name);
}

/* Whether a target matches a filter: its name, or a label's value. */
static bool
matches(const struct target *t, const char *q)
{
	const struct target_config	*tc = target_config(t);
	size_t	i;

	if (q == NULL || *q == '\0' || strstr(tc->name, q) != NULL)
		return true;
	for (i = 0; i < tc->nlabels; i++)
		if (strstr(tc->labels[i].value, q) != NULL)
			return true;
	return false;
}

/*
 * Why a target's slope is no leak, when its alert is inactive: a slope
 * shown beside "inactive" with no word would contradict the verdict.
 */
static const char *
growth_why(const struct judge_view *v)
{
	if (v->state != ALERT_INACTIVE)
		return NULL;
	if (!v->total->judged)
		return "not judged: the window is not covered yet";
	if (!v->total->floors_rise)
		return "not a leak: the floors do not rise in every span";
	if (!v->total->growing)
		return "not a leak: under min_growth over the window";
	return NULL;
}

/*
 * A target's in-use value over its window, a small inline SVG line for a
 * person scanning many targets: the lowest and highest point of each of
 * SPARK_COLS columns, so a sawtooth still shows its teeth while a row
 * costs at most 2 * SPARK_COLS points however long the history.
 */
static void
sparkline(struct buf *b, const struct target *t)
{
	const struct target_status	*ts = target_status(t);
	const struct target_config	*tc = target_config(t);
	struct point	*h;
	int64_t		 t0, t1, lo, hi, cmin[SPARK_COLS], cmax[SPARK_COLS];
	size_t		 first, i, c, imin[SPARK_COLS], imax[SPARK_COLS], nh;
	bool		 used[SPARK_COLS];

	if (history_count(ts->hist) < 2) {
		buf_printf(b, "<td class=\"muted\">-</td>");
		return;
	}
	h = xreallocarray(NULL, HISTORY_MAX, sizeof *h);
	nh = history_read(ts->hist, h);
	t1 = h[nh - 1].t_ms;
	t0 = t1 - (int64_t)tc->window_ms;
	for (first = nh - 1; first > 0 && h[first - 1].t_ms >= t0; first--)
		;
	if (first == nh - 1)
		first--;		/* two points at least */
	/*
	 * The points are in the order taken, which is the order of time
	 * unless the clock was set back: then some are later than the
	 * newest, and are left out, and the earliest is not the first.
	 */
	t0 = t1;
	for (i = first; i < nh; i++)
		if (h[i].t_ms < t0)
			t0 = h[i].t_ms;
	if (t1 == t0)
		t1 = t0 + 1;
	lo = hi = h[nh - 1].v;
	memset(used, 0, sizeof used);
	for (i = first; i < nh; i++) {
		if (h[i].t_ms > t1)
			continue;
		if (h[i].v < lo)
			lo = h[i].v;
		if (h[i].v > hi)
			hi = h[i].v;
		c = (size_t)((double)(h[i].t_ms - t0) * (SPARK_COLS - 1) /
		    (double)(t1 - t0));
		if (c >= SPARK_COLS)
			c = SPARK_COLS - 1;
		if (!used[c] || h[i].v < cmin[c]) {
			cmin[c] = h[i].v;
			imin[c] = i;
		}
		if (!used[c] || h[i].v > cmax[c]) {
			cmax[c] = h[i].v;
			imax[c] = i;
		}
		used[c] = true;
	}
	if (hi == lo)
		hi = lo + 1;
	buf_printf(b, "<td><svg class=\"spark\" width=\"%d\" height=\"%d\" "
	    "role=\"img\"><title>in use over the last %llu s</title>"
	    "<polyline fill=\"none\" stroke=\"#c0392b\" points=\"", SPARK_W,
	    SPARK_H, (unsigned long long)((t1 - t0) / 1000));
	for (c = 0; c < SPARK_COLS; c++) {
		size_t	k, pts[2];

		if (!used[c])
			continue;
		/* The two in the order they were taken. */
		pts[0] = imin[c] < imax[c] ? imin[c] : imax[c];
		pts[1] = imin[c] < imax[c] ? imax[c] : imin[c];
		for (k = 0; k < (pts[0] == pts[1] ? 1u : 2u); k++)
			buf_printf(b, "%.1f,%.1f ", 1 + (double)(h[pts[k]].t_ms -
			    t0) * (SPARK_W - 2) / (double)(t1 - t0),
			    SPARK_H - 1.5 - (double)(h[pts[k]].v - lo) *
			    (SPARK_H - 3) / (double)(hi - lo));
	}
	buf_printf(b, "\"/></svg></td>");
	free(h);
}

/* A value in a query string: letters, digits and "-_." as they are. */
static void
query_escape(struct buf *b, const char *q)
{
	for (; q != NULL && *q != '\0'; q++) {
		if ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		    (*q >= '0' && *q <= '9') || strchr("-_.", *q) != NULL)
			buf_printf(b, "%c", *q);
		else
			buf_printf(b, "%%%02X", (unsigned char)*q);
	}
}

/* A link to the overview with these settings. */
static void
overview_link(struct buf *b, const char *q, const char *sort, int page)
{
	buf_printf(b, "/?sort=%s&amp;page=%d&amp;q=", sort, page);
	query_escape(b, q);
}

/* One target's row of the overview at now. */
static void
overview_row(struct buf *b, const struct target *t, int64_t now)
{
	const struct target_status	*ts = target_status(t);
	const struct target_config	*tc = target_config(t);
	struct judge_view		 jv;
	char				 v[64], g[64], when[64];
	const char			*why;
	double				 ttl;

	judge_view(ts->judge, &jv);
	buf_printf(b, "<tr class=\"%s\"><td><a href=\"/targets/%s\">"
	    "%s</a></td><td class=\"%s\">%s</td>",
	    judge_state_name(jv.state), tc->name,
	    tc->name, target_health_name(target_health(t)),
	    target_health_name(target_health(t)));
	ago(when, sizeof when, ts->last_scrape, now);
	if (target_latest(t) != NULL)
		human(v, sizeof v, (double)inuse(t), is_heap(t));
	else
		snprintf(v, sizeof v, "-");
	if (jv.nwin >= 2)
		human(g, sizeof g, jv.per_second * 3600, is_heap(t));
	else
		snprintf(g, sizeof g, "-");
	buf_printf(b, "<td>%s</td><td class=\"n\">%s</td>", when, v);
	sparkline(b, t);
	buf_printf(b, "<td class=\"n\">%s", g);
	if (jv.nwin >= 2 && (why = growth_why(&jv)) != NULL)
		buf_printf(b, " <span class=\"why\">(%s)</span>", why);
	buf_printf(b, "</td><td>%s", judge_state_name(jv.state));
	if ((ttl = target_time_to_limit(t)) >= 0) {
		page_until(when, sizeof when, ttl);
		buf_printf(b, " <span class=\"%s\">(limit in %s)</span>",
		    target_severity(t), when);
	}
	buf_printf(b, "</td></tr>\n");
}

/* The filter form and the table's head, whose columns sort it. */
static void
overview_head(struct buf *b, const char *q, const char *sort)
{
	buf_printf(b, "<form method=\"get\" action=\"/\"><input name=\"q\" "
	    "placeholder=\"name or label\" value=\"");
	buf_html(b, q != NULL ? q : "");
	buf_printf(b, "\"><input type=\"hidden\" name=\"sort\" value=\"%s\">"
	    "<button>Filter</button></form>\n", sort);
	buf_printf(b, "<table id=\"targets\">\n<tr><th><a href=\"");
	overview_link(b, q, "name", 1);
	buf_printf(b, "\">target</a></th><th>health</th><th>last scrape</th>"
	    "<th><a href=\"");
	overview_link(b, q, "inuse", 1);
	buf_printf(b, "\">in use</a></th><th>window</th><th><a href=\"");
	overview_link(b, q, "growth", 1);
	buf_printf(b, "\">growth/h</a></th><th><a href=\"");
	overview_link(b, q, "alert", 1);
	buf_printf(b, "\">alert</a></th></tr>\n");
}

void
page_overview(struct buf *b, const struct targets *targets, size_t ntargets,
    const char *q, const char *sort, int page)
{
	const struct target_status	*ts;
	static const struct {
		const char	*name;
		int		(*cmp)(const void *, const void *);
	} sorts[] = {
		{ "alert", cmp_alert }, { "name", cmp_name },
		{ "growth", cmp_growth }, { "inuse", cmp_inuse },
	};
	struct target	**list, *t;
	size_t		 n = 0, i, s, firing = 0, pending = 0, down = 0;
	size_t		 pages, first, last;
	int64_t		 now = clock_real_ms();

	for (s = 0; s < 4; s++)
		if (sort != NULL && strcmp(sort, sorts[s].name) == 0)
			break;
	if (s == 4)
		s = 0;
	list = xreallocarray(NULL, ntargets + 1, sizeof *list);
	TARGET_FOREACH(t, targets) {
		ts = target_status(t);
		firing += judge_state(ts->judge) == ALERT_FIRING;
		pending += judge_state(ts->judge) == ALERT_PENDING;
		down += target_health(t) == TARGET_DOWN;
		if (matches(t, q))
			list[n++] = t;
	}
	qsort(list, n, sizeof *list, sorts[s].cmp);
	pages = n == 0 ? 1 : (n + PAGE_ROWS - 1) / PAGE_ROWS;
	if (page < 1)
		page = 1;
	if ((size_t)page > pages)
		page = pages;
	first = (size_t)(page - 1) * PAGE_ROWS;
	last = first + PAGE_ROWS < n ? first + PAGE_ROWS : n;

	head(b, "targets");
	buf_printf(b, "<h1>heapwatchd</h1>\n<p id=\"summary\">%zu targets: "
	    "<b>%zu firing</b>, %zu pending, %zu down.</p>\n",
	    ntargets, firing, pending, down);
	overview_head(b, q, sorts[s].name);
	for (i = first; i < last; i++)
		overview_row(b, list[i], now);
	buf_printf(b, "</table>\n<p class=\"muted\">Targets %zu-%zu of %zu "
	    "shown; page %d of %zu.", n == 0 ? 0 : first + 1, last, n, page,
	    pages);
	if (page > 1) {
		buf_printf(b, " <a href=\"");
		overview_link(b, q, sorts[s].name, page - 1);
		buf_printf(b, "\">previous</a>");
	}
	if ((size_t)page < pages) {
		buf_printf(b, " <a href=\"");
		overview_link(b, q, sorts[s].name, page + 1);
		buf_printf(b, "\">next</a>");
	}
	buf_printf(b, "</p>\n");
	tail(b);
	free(list);
}

/* A line of a chart. */
struct series {
	const char		*name;
	const char		*colour;
	const struct point	*pts;
	size_t			 n;
};

/* The colours of the functions' lines, after the total's red. */
static const char *const series_colours[] = {
	"#2a62b8", "#1e8449", "#8e44ad", "#d68910", "#17a589"
};

/*
 * An SVG line chart of several series over [t0, t1], with the times the
 * alert went pending and firing marked (0: not marked) and a legend when
 * there is more than one line.
 */
static void
chart_svg(struct buf *b, const char *id, const char *title, int cw,
    const struct series *sv, size_t ns, int64_t t0, int64_t t1,
    int64_t pending, int64_t firing, bool bytes)
{
	int64_t		 lo = INT64_MAX, hi = INT64_MIN, mt;
	double		 x, y;
	char		 a[64], c[64];
	size_t		 i, k, m;
	const char	*mname;

	for (k = 0; k < ns; k++)
		for (i = 0; i < sv[k].n; i++) {
			if (sv[k].pts[i].v < lo)
				lo = sv[k].pts[i].v;
			if (sv[k].pts[i].v > hi)
				hi = sv[k].pts[i].v;
		}
	if (lo > hi)
		lo = hi = 0;
	if (hi == lo)
		hi = lo + 1;
	if (t1 <= t0)
		t1 = t0 + 1;
	buf_printf(b, "<svg id=\"%s\" width=\"%d\" height=\"%d\" "
	    "role=\"img\"><title>", id, cw + 90, CHART_H + 40 +
	    (ns > 1 ? 16 * (int)ns : 0));
	buf_html(b, title);
	buf_printf(b, "</title><rect x=\"80\" y=\"5\" width=\"%d\" "
	    "height=\"%d\" fill=\"#fafafa\" stroke=\"#ccc\"/>", cw,
	    CHART_H);
	human(a, sizeof a, (double)hi, bytes);
	human(c, sizeof c, (double)lo, bytes);
	buf_printf(b, "<text x=\"75\" y=\"15\" text-anchor=\"end\">%s</text>"
	    "<text x=\"75\" y=\"%d\" text-anchor=\"end\">%s</text>", a,
	    CHART_H + 5, c);
	utc(a, sizeof a, t0);
	utc(c, sizeof c, t1);
	buf_printf(b, "<text x=\"80\" y=\"%d\">%s</text><text x=\"%d\" "
	    "y=\"%d\" text-anchor=\"end\">%s</text>", CHART_H + 22, a,
	    cw + 80, CHART_H + 22, c);
	for (m = 0; m < 2; m++) {
		mt = m == 0 ? pending : firing;
		mname = m == 0 ? "pending" : "firing";
		if (mt == 0 || mt < t0 || mt > t1)
			continue;
		x = 80 + (double)(mt - t0) * cw / (double)(t1 - t0);
		utc(a, sizeof a, mt);
		buf_printf(b, "<g class=\"mark %s\"><title>%s since %s</title>"
		    "<line x1=\"%.1f\" y1=\"5\" x2=\"%.1f\" y2=\"%d\" "
		    "stroke=\"%s\" stroke-dasharray=\"4 3\"/><text x=\"%.1f\" "
		    "y=\"%d\">%s</text></g>", mname, mname, a, x, x,
		    CHART_H + 5, m == 0 ? "#d68910" : "#c0392b", x + 3,
		    m == 0 ? 16 : 30, mname);
	}
	for (k = 0; k < ns; k++) {
		buf_printf(b, "<polyline class=\"series\" data-name=\"");
		buf_html(b, sv[k].name);
		buf_printf(b, "\" fill=\"none\" stroke=\"%s\" stroke-width="
		    "\"1.5\" points=\"", sv[k].colour);
		for (i = 0; i < sv[k].n; i++) {
			x = 80 + (double)(sv[k].pts[i].t_ms - t0) * cw /
			    (double)(t1 - t0);
			y = 5 + CHART_H - (double)(sv[k].pts[i].v - lo) *
			    CHART_H / (double)(hi - lo);
			buf_printf(b, "%.1f,%.1f ", x, y);
		}
		buf_printf(b, "\"/>");
		if (ns > 1) {
			y = CHART_H + 40 + 16 * (double)k;
			buf_printf(b, "<line x1=\"80\" y1=\"%.0f\" x2=\"100\" "
			    "y2=\"%.0f\" stroke=\"%s\" stroke-width=\"3\"/>"
			    "<text x=\"106\" y=\"%.0f\">", y - 4, y - 4,
			    sv[k].colour, y);
			buf_html(b, sv[k].name);
			buf_printf(b, "</text>");
		}
	}
	buf_printf(b, "</svg>\n");
}

/*
 * The target's history as an SVG line chart, with the alert's pending and
 * firing times marked; and, when the alert names functions, their own
 * values over the window, beside the total over the same window.
 */
static void
chart(struct buf *b, const struct target *t)
{
	const struct target_status	*ts = target_status(t);
	struct judge_view		 jv;
	struct series	 sv[1 + JUDGE_TOP];
	struct point	*pts[1 + JUDGE_TOP], *h;
	int64_t		 pending = 0, firing = 0, t0, t1;
	size_t		 ns, i, k, f, nh;
	bool		 bytes = is_heap(t);

	judge_view(ts->judge, &jv);
	if (history_count(ts->hist) < 2) {
		buf_printf(b, "<p class=\"muted\">Not enough snapshots to "
		    "chart yet.</p>\n");
		return;
	}
	if (jv.state != ALERT_INACTIVE)
		pending = jv.active;
	if (jv.state == ALERT_FIRING)
		firing = jv.since;
	h = xreallocarray(NULL, HISTORY_MAX, sizeof *h);
	nh = history_read(ts->hist, h);
	/* In the order taken: a clock set back makes it not that of time. */
	t0 = t1 = h[0].t_ms;
	for (i = 1; i < nh; i++) {
		if (h[i].t_ms < t0)
			t0 = h[i].t_ms;
		if (h[i].t_ms > t1)
			t1 = h[i].t_ms;
	}
	sv[0] = (struct series){ bytes ? "in use" : "goroutines", "#c0392b",
	    h, nh };
	chart_svg(b, "history", bytes ? "in-use heap over time" :
	    "goroutines over time", CHART_W, sv, 1, t0, t1, pending, firing,
	    bytes);
	free(h);
	if (jv.ntop == 0 || jv.nwin < 2)
		return;

	/* The window's total and each named function's own value. */
	ns = 1 + jv.ntop;
	for (k = 0; k < ns; k++)
		pts[k] = xreallocarray(NULL, jv.nwin, sizeof *pts[k]);
	for (i = 0; i < jv.nwin; i++) {
		pts[0][i] = (struct point){ jv.win[i]->time_ms,
		    jv.win[i]->total };
		for (k = 1; k < ns; k++) {
			pts[k][i] = (struct point){ jv.win[i]->time_ms, 0 };
			for (f = 0; f < jv.win[i]->fns->n; f++)
				if (jv.win[i]->fns->name[f] ==
				    jv.top[k - 1].name) {
					pts[k][i].v = jv.win[i]->fns->own[f];
					break;
				}
		}
	}
	for (k = 1; k < ns; k++)
		sv[k] = (struct series){ summary_names_get(jv.names,
		    jv.top[k - 1].name), series_colours[k - 1], pts[k],
		    jv.nwin };
	sv[0].pts = pts[0];
	sv[0].n = jv.nwin;
	buf_printf(b, "<div class=\"pair\"><div><h3>The total over the "
	    "window</h3>\n");
	chart_svg(b, "window-chart", "the total over the window", PAIR_W, sv,
	    1, jv.win[0]->time_ms, jv.win[jv.nwin - 1]->time_ms, pending,
	    firing, bytes);
	buf_printf(b, "</div><div><h3>The functions the alert names, by "
	    "their own %s</h3>\n", bytes ? "in-use bytes" : "goroutines");
	chart_svg(b, "functions-chart", "the named functions' own values "
	    "over the window", PAIR_W, sv + 1, ns - 1, jv.win[0]->time_ms,
	    jv.win[jv.nwin - 1]->time_ms, pending, firing, bytes);
	buf_printf(b, "</div></div>\n");
	for (k = 0; k < ns; k++)
		free(pts[k]);
}

/* The alert and the functions it names. */
static void
alert_box(struct buf *b, const struct target *t)
{
	const struct target_status	*ts = target_status(t);
	const struct target_config	*tc = target_config(t);
	struct judge_view		 jv;
	char				 g[64], when[64];
	double				 ttl;
	size_t				 i, k;

	judge_view(ts->judge, &jv);
	buf_printf(b, "<h2>Alert</h2>\n<p id=\"alert\" class=\"%s\">%s",
	    judge_state_name(jv.state), judge_state_name(jv.state));
	if (jv.state != ALERT_INACTIVE) {
		human(g, sizeof g, (double)jv.growth, is_heap(t));
		utc(when, sizeof when, jv.active);
		buf_printf(b, " since %s", when);
		/*
		 * An alert holds through a window that does not show the
		 * growth (a GC late on a busy machine): it says so, rather
		 * than that it grew 0 B.
		 */
		if (*judge_signals(ts->judge) == '\0')
			buf_printf(b, "; its last %llu s did not show growth",
			    (unsigned long long)(tc->window_ms / 1000));
		else
			buf_printf(b, ": grew %s in %llu s (%s)", g,
			    (unsigned long long)(tc->window_ms / 1000),
			    judge_signals(ts->judge));
	}
	if (jv.state != ALERT_INACTIVE && ts->evidence[0] != '\0')
		buf_printf(b, " <a id=\"evidence\" href=\"/api/v1/targets/%s/"
		    "evidence/%s\">evidence</a>", tc->name, ts->evidence);
	buf_printf(b, "</p>\n");
	if (tc->limit > 0) {
		human(g, sizeof g, (double)tc->limit, is_heap(t));
		buf_printf(b, "<p id=\"limit\">limit %s: ", g);
		if ((ttl = target_time_to_limit(t)) < 0)
			buf_printf(b, "not growing toward it");
		else if (ttl == 0)
			buf_printf(b, "reached");
		else {
			page_until(when, sizeof when, ttl);
			buf_printf(b, "reached in %s at the current rate", when);
		}
		buf_printf(b, " <span class=\"%s\">(%s)</span></p>\n",
		    target_severity(t), target_severity(t));
	}
	if (jv.ntop == 0)
		return;
	buf_printf(b, "<table id=\"growing\"><tr><th>function</th>"
	    "<th>growth</th><th>where</th></tr>\n");
	for (i = 0; i < jv.ntop; i++) {
		human(g, sizeof g, (double)jv.top[i].growth, is_heap(t));
		buf_printf(b, "<tr><td><a class=\"lines\" href=\"/targets/"
		    "%s/list?fn=", tc->name);
		query_escape(b, summary_names_get(jv.names, jv.top[i].name));
		buf_printf(b, "\"><code>");
		buf_html(b, summary_names_get(jv.names, jv.top[i].name));
		buf_printf(b, "</code></a>%s</td><td class=\"n\">%s</td><td>",
		    jv.top[i].growing ? " (growing)" : "", g);
		if (i < ts->nsites && ts->sites[i].file != NULL) {
			buf_printf(b, "<code>");
			buf_html(b, ts->sites[i].file);
			buf_printf(b, ":%lld</code>",
			    (long long)ts->sites[i].line);
			for (k = 1; k < ts->sites[i].nstack; k++) {
				buf_printf(b, "<br><span class=\"muted\">"
				    "&larr; ");
				buf_html(b, ts->sites[i].stack[k]);
				buf_printf(b, "</span>");
			}
		}
		buf_printf(b, "</td></tr>\n");
	}
	buf_printf(b, "</table>\n");
}

void
page_target(struct buf *b, struct store *store, struct target *t)
{
	const struct target_status	*ts = target_status(t);
	const struct target_config	*tc = target_config(t);
	struct store_snapshot	*snaps = NULL;
	struct judge_view	 jv;
	size_t			 n = 0, i;
	char			*cause = NULL, when[64], size[32];

	judge_view(ts->judge, &jv);
	head(b, tc->name);
	buf_printf(b, "<p><a href=\"/\">targets</a></p>\n<h1>%s</h1>\n<p>",
	    tc->name);
	if (tc->url != NULL)
		buf_html(b, tc->url);
	else
		buf_printf(b, "gctrace alone, no profile");
	for (i = 0; i < tc->nlabels; i++) {
		buf_printf(b, " <code>%s=", tc->labels[i].name);
		buf_html(b, tc->labels[i].value);
		buf_printf(b, "</code>");
	}
	buf_printf(b, "<br>health: <span class=\"%s\">%s</span>",
	    target_health_name(target_health(t)),
	    target_health_name(target_health(t)));
	if (target_last_error(t) != NULL) {
		buf_printf(b, " (");
		buf_html(b, target_last_error(t));
		buf_printf(b, ")");
	}
	if (ts->gc_cycles > 0)
		buf_printf(b, "<br>live heap after GC %llu: %llu MB, goal "
		    "%llu MB, %llu%% of CPU in GC%s",
		    (unsigned long long)ts->last_gc.gc,
		    (unsigned long long)ts->last_gc.heap_live_mb,
		    (unsigned long long)ts->last_gc.goal_mb,
		    (unsigned long long)ts->last_gc.cpu_percent,
		    jv.live_growing ? "; growing" : "");
	buf_printf(b, "</p>\n<h2>%s</h2>\n", is_heap(t) ?
	    "In-use heap after GC" : strcmp(config_target_kind(tc),
	    "goroutineleak") == 0 ? "Leaked goroutines" : "Goroutines");
	chart(b, t);
	alert_box(b, t);

	buf_printf(b, "<h2>Snapshots</h2>\n");
	if (store_list(store, tc->name, &snaps, &n, &cause) == -1) {
		buf_html(b, cause);
		free(cause);
		tail(b);
		return;
	}
	human(size, sizeof size, (double)ts->store_bytes, true);
	buf_printf(b, "<p class=\"muted\" id=\"store\">%zu in the store, "
	    "%s on disk.</p>\n", n, size);
	if (n >= 2) {
		buf_printf(b, "<form method=\"get\" action=\"/targets/%s/diff\">"
		    "diff <select name=\"base\">", tc->name);
		for (i = n; i-- > 0;)
			buf_printf(b, "<option%s>%s</option>", i == n - 2 ?
			    " selected" : "", snaps[i].id);
		buf_printf(b, "</select> to <select name=\"current\">");
		for (i = n; i-- > 0;)
			buf_printf(b, "<option%s>%s</option>", i == n - 1 ?
			    " selected" : "", snaps[i].id);
		buf_printf(b, "</select> <button>Diff</button></form>\n");
	}
	buf_printf(b, "<table id=\"snapshots\"><tr><th>snapshot</th>"
	    "<th>time</th><th>bytes</th></tr>\n");
	for (i = n; i-- > 0 && n - i <= 200;) {
		utc(when, sizeof when, snaps[i].time_ms);
		buf_printf(b, "<tr><td><a href=\"/api/v1/targets/%s/snapshots/"
		    "%s\" download=\"%s-%s.pb.gz\">%s</a></td><td>%s</td>"
		    "<td class=\"n\">%llu</td></tr>\n", tc->name,
		    snaps[i].id, tc->name, snaps[i].id, snaps[i].id, when,
		    (unsigned long long)snaps[i].size);
	}
	buf_printf(b, "</table>\n");
	if (n > 200)
		buf_printf(b, "<p class=\"muted\">The newest 200 of %zu.</p>\n",
		    n);
	store_list_free(snaps);
	tail(b);
}

/*
 * A frame's colour by what changed through it: red grew, blue shrank,
 * grey neither, deeper (down to a lightness of darkest percent) as its
 * share of all the change grows. The square root lifts small shares: a
 * frame holding 1% of the change is a tenth of the way from pale to full,
 * not a hundredth, so it can still be told from grey.
 */
static void
frame_colour(char *out, size_t len, int64_t delta, int64_t total,
    int darkest)
{
	double	share;

	if (delta == 0 || total <= 0) {
		snprintf(out, len, "#ddd");
		return;
	}
	share = fabs((double)delta) / (double)total;
	if (share > 1)
		share = 1;
	snprintf(out, len, "hsl(%d,%d%%,%.0f%%)", delta > 0 ? 2 : 215,
	    delta > 0 ? 80 : 70, 94 - (94 - darkest) * sqrt(share));
}

/* A signed size or count for people: "+1.5 MiB", "-12". */
static void
signed_human(char *out, size_t len, int64_t v, bool bytes)
{
	char	h[48];

	human(h, sizeof h, (double)v, bytes);
	snprintf(out, len, "%s%s", v >= 0 ? "+" : "", h);
}

/*
 * One frame of the icicle and, recursively, its callees. The server places
 * every frame, so the graph reads without script; the data-x, data-w and
 * data-d attributes (unrounded place, width and depth) and data-n (the
 * whole name) are what the page's script zooms and searches by.
 */
static void
icicle_node(struct buf *b, const struct report_node *nodes, uint32_t i,
    double x, double w, double minw, int64_t total, bool bytes)
{
	const struct report_node	*nd = &nodes[i];
	char				 c[48], cum[64], flat[64];
	double				 cx = x;
	int64_t				 self = nd->delta;
	uint32_t			 k;
	size_t				 chars;

	if (w < minw || nd->depth > ICICLE_DEPTH)
		return;
	for (k = nd->child; k != 0; k = nodes[k].next)
		self -= nodes[k].delta;
	frame_colour(c, sizeof c, nd->delta, total, 50);
	signed_human(cum, sizeof cum, nd->delta, bytes);
	signed_human(flat, sizeof flat, self, bytes);
	buf_printf(b, "<g class=\"f\" data-x=\"%.3f\" data-w=\"%.3f\" "
	    "data-d=\"%u\" data-n=\"", x, w, nd->depth);
	buf_html(b, nd->name);
	buf_printf(b, "\"><title>");
	buf_html(b, nd->name);
	buf_printf(b, ": %s cum (%.1f%% of the change), %s flat", cum,
	    100.0 * fabs((double)nd->delta) / (double)total, flat);
	if (nd->file != NULL && *nd->file != '\0') {
		buf_printf(b, " at ");
		buf_html(b, nd->file);
		buf_printf(b, ":%lld", (long long)nd->line);
	}
	buf_printf(b, "</title><rect x=\"%.1f\" y=\"%u\" width=\"%.1f\" "
	    "height=\"%d\" fill=\"%s\"/><text x=\"%.1f\" y=\"%u\">", x,
	    nd->depth * ICICLE_ROW, w, ICICLE_ROW - 1, c, x + 3,
	    nd->depth * ICICLE_ROW + 12);
	chars = (size_t)(w / 6.5);
	if (chars >= 4) {
		if (strlen(nd->name) <= chars)
			buf_html(b, nd->name);
		else {
			char *cut = xstrndup(nd->name, chars - 2);

			buf_html(b, cut);
			buf_printf(b, "..");
			free(cut);
		}
	}
	buf_printf(b, "</text></g>\n");
	for (k = nd->child; k != 0; k = nodes[k].next) {
		icicle_node(b, nodes, k, cx, w * (double)nodes[k].value /
		    (double)nd->value, minw, total, bytes);
		cx += w * (double)nodes[k].value / (double)nd->value;
	}
}

/*
 * What the icicle's script does: a click zooms into a frame (its callers
 * stay above it, full width; a click on one of them, or on "all", zooms
 * back out), the search box highlights the frames whose names match, and
 * a tooltip follows the pointer. The state lives in the address's
 * fragment (#zoom=NAME&search=RE), so the browser's back button undoes a
 * zoom and a zoomed view can be linked to.
 */
static const char icicle_script[] =
"(function(){"
"var svg=document.getElementById('icicle');if(!svg)return;"
"var W=+svg.getAttribute('width'),gs=[].slice.call(svg.querySelectorAll("
"'g.f')),tip=document.createElement('div'),bar=document.getElementById("
"'graphbar');"
"tip.id='tip';document.body.appendChild(tip);"
"gs.forEach(function(g){var t=g.querySelector('title');"
"g.setAttribute('data-t',t.textContent);t.parentNode.removeChild(t);});"
"bar.innerHTML='<input id=\"search\" type=\"search\" placeholder=\"search "
"frames (regexp)\"> <button id=\"unzoom\" type=\"button\" disabled>"
"Reset zoom</button> <span id=\"found\"></span>';"
"var input=document.getElementById('search'),unzoom=document."
"getElementById('unzoom'),found=document.getElementById('found');"
"function num(g,a){return +g.getAttribute('data-'+a);}"
"function label(g,x,w){var t=g.querySelector('text'),n=g.getAttribute("
"'data-n'),c=Math.floor(w/6.5);t.setAttribute('x',(x+3).toFixed(1));"
"t.textContent=c<4?'':n.length<=c?n:n.slice(0,c-2)+'..';}"
"function zoom(z){var zx=z?num(z,'x'):0,zw=z?num(z,'w'):W,zd=z?num(z,'d')"
":0,e=0.01;"
"gs.forEach(function(g){var x=num(g,'x'),w=num(g,'w'),d=num(g,'d'),"
"r=g.querySelector('rect'),nx,nw,show;"
"if(d<zd){show=x<=zx+e&&x+w>=zx+zw-e;nx=0;nw=W;}"
"else if(d==zd){show=!z||g===z;nx=0;nw=W;}"
"else{show=x>=zx-e&&x+w<=zx+zw+e;nx=(x-zx)*W/zw;nw=w*W/zw;}"
"g.style.display=show&&nw>=0.2?'':'none';g.classList.toggle('zoomed',"
"g===z);"
"if(show){r.setAttribute('x',nx.toFixed(1));r.setAttribute('width',"
"nw.toFixed(1));label(g,nx,nw);}});"
"svg.setAttribute('data-zoom',z?z.getAttribute('data-n'):'');"
"unzoom.disabled=!z;}"
"function search(q){var re=null,n=0;if(q){try{re=new RegExp(q);}catch(x)"
"{re=null;}}"
"gs.forEach(function(g){var name=g.getAttribute('data-n'),m=!!q&&(re?"
"re.test(name):name.indexOf(q)>=0);g.classList.toggle('match',m);"
"if(m)n++;});"
"found.textContent=q?n+' frame'+(n==1?'':'s')+' match':'';}"
"function state(){var h={};location.hash.slice(1).split('&').forEach("
"function(kv){var i=kv.indexOf('=');if(i>0)h[kv.slice(0,i)]="
"decodeURIComponent(kv.slice(i+1));});return h;}"
"function apply(){var h=state(),z=null;"
"if(h.zoom)gs.forEach(function(g){if(g.getAttribute('data-n')==h.zoom&&"
"num(g,'d')>0&&(!z||num(g,'w')>num(z,'w')))z=g;});"
"zoom(z);input.value=h.search||'';search(input.value);}"
"function go(z,q){var h=[];if(z)h.push('zoom='+encodeURIComponent(z));"
"if(q)h.push('search='+encodeURIComponent(q));location.hash=h.join('&');}"
"svg.addEventListener('click',function(ev){var g=ev.target.closest("
"'g.f');if(!g)return;go(num(g,'d')>0&&!g.classList.contains('zoomed')?"
"g.getAttribute('data-n'):'',input.value);});"
"unzoom.addEventListener('click',function(){go('',input.value);});"
"input.addEventListener('input',function(){history.replaceState(null,'',"
"'#'+(svg.getAttribute('data-zoom')?'zoom='+encodeURIComponent(svg."
"getAttribute('data-zoom'))+'&':'')+'search='+encodeURIComponent("
"input.value));search(input.value);});"
"svg.addEventListener('mousemove',function(ev){var g=ev.target.closest("
"'g.f');if(!g){tip.style.display='none';return;}"
"tip.textContent=g.getAttribute('data-t');tip.style.display='block';"
"tip.style.left=(ev.pageX+12)+'px';tip.style.top=(ev.pageY+12)+'px';});"
"svg.addEventListener('mouseleave',function(){tip.style.display='none';});"
"window.addEventListener('hashchange',apply);apply();"
"})();";

static void
icicle(struct buf *b, const struct report *r, bool bytes)
{
	struct report_node	*nodes;
	size_t			 n, i, drawn;
	uint32_t		 depth = 0;
	double			 minw;

	nodes = report_tree(r, &n);
	if (nodes[0].value <= 0) {
		buf_printf(b, "<p class=\"muted\">Nothing changed.</p>\n");
		free(nodes);
		return;
	}
	/*
	 * A frame is as wide as its share of the root, and never wider than
	 * its caller, so the frames at least minw wide are a whole tree. A
	 * profile of many small changes would draw tens of thousands of them
	 * (3,866 a row at 0.3 px): minw doubles until at most ICICLE_NODES
	 * are drawn.
	 */
	for (minw = ICICLE_MIN_W;; minw *= 2) {
		for (i = 0, drawn = 0; i < n; i++)
			drawn += nodes[i].depth <= ICICLE_DEPTH &&
			    (double)nodes[i].value * ICICLE_W /
			    (double)nodes[0].value >= minw;
		if (drawn <= ICICLE_NODES)
			break;
	}
	/* As deep as what is wide enough to be drawn. */
	for (i = 0; i < n; i++)
		if (nodes[i].depth > depth && nodes[i].depth <= ICICLE_DEPTH &&
		    (double)nodes[i].value * ICICLE_W /
		    (double)nodes[0].value >= minw)
			depth = nodes[i].depth;
	buf_printf(b, "<p class=\"muted\">Width: what changed through a "
	    "frame; <span class=\"grew\">red grew</span>, <span class=\""
	    "shrank\">blue shrank</span>, deeper for a larger share. Point at "
	    "a frame for its numbers; click to zoom.</p>\n"
	    "<div id=\"graphbar\"></div>\n<svg id=\"icicle\" width=\"%d\" "
	    "height=\"%u\" role=\"img\"><title>What changed, by call path"
	    "</title>\n", ICICLE_W, (depth + 1) * ICICLE_ROW + 2);
	icicle_node(b, nodes, 0, 0, ICICLE_W, minw, nodes[0].value, bytes);
	buf_printf(b, "</svg>\n<script>%s</script>\n", icicle_script);
	free(nodes);
}

/* One snapshot of a pair; -1 with *status and *cause naming param. */
static int
load_one(struct store *store, const char *target, const char *param,
    const char *id, struct symtab *st, struct profile **p, int *status,
    char **cause)
{
	char	*why = NULL;

	if ((*p = store_load(store, target, id, PROFILE_MAX_INFLATED, st,
	    &why)) != NULL)
		return 0;
	*status = errno == ENOENT ? 404 : 500;
	/* The store's path left out of what the client is told. */
	if (*status == 404)
		xasprintf(cause, "%s: no such snapshot %s", param, id);
	else
		xasprintf(cause, "%s: %s", param, why);
	free(why);
	return -1;
}

int
page_load_pair(struct store *store, const struct target_config *tc,
    const char *base, const char *cur, struct symtab *st,
    struct profile **pb, struct profile **pc, char *base_id, char *cur_id,
    int *status, char **cause)
{
	struct store_snapshot	*snaps = NULL;
	size_t			 n = 0, i;
	int			 rc = -1;

	*pb = *pc = NULL;
	*status = 400;
	if (base != NULL && *base == '\0')
		base = NULL;
	if (cur != NULL && *cur == '\0')
		cur = NULL;
	if (base != NULL && !store_id_valid(base)) {
		xasprintf(cause, "base: malformed snapshot id \"%.64s\"", base);
		return -1;
	}
	if (cur != NULL && !store_id_valid(cur)) {
		xasprintf(cause, "current: malformed snapshot id \"%.64s\"",
		    cur);
		return -1;
	}
	if (base == NULL || cur == NULL) {
		if (store_list(store, tc->name, &snaps, &n, cause) == -1) {
			*status = 500;
			return -1;
		}
		if (cur == NULL && n > 0)
			cur = snaps[n - 1].id;
		for (i = n; cur != NULL && i > 0; i--)
			if (strcmp(snaps[i - 1].id, cur) == 0)
				break;
		if (base == NULL && i > 1)
			base = snaps[i - 2].id;
		if (base == NULL || cur == NULL) {
			*status = 404;
			if (cur == NULL)
				xasprintf(cause, "no snapshots yet");
			else if (i == 0)
				xasprintf(cause, "current: no such snapshot %s",
				    cur);
			else
				xasprintf(cause, "base: no snapshot before %s",
				    cur);
			goto out;
		}
	}
	snprintf(base_id, STORE_ID_MAX, "%s", base);
	snprintf(cur_id, STORE_ID_MAX, "%s", cur);
	if (load_one(store, tc->name, "current", cur, st, pc, status,
	    cause) == -1 || load_one(store, tc->name, "base", base, st, pb,
	    status, cause) == -1) {
		profile_free(*pc);
		*pc = NULL;
		goto out;
	}
	rc = 0;
out:
	store_list_free(snaps);
	return rc;
}

int
page_diff(struct buf *b, struct store *store, struct target *t, const char *base,
    const char *cur, const char *type, int *status, char **cause)
{
	const struct target_config	*tc = target_config(t);
	static const char	*types[] = { "inuse_space", "inuse_objects",
	    "alloc_space", "alloc_objects", "goroutine" };
	struct symtab		*st;
	struct profile		*pb = NULL, *pc = NULL;
	struct report		*r = NULL;
	char			 f[64], c[64];
	char			 bid[STORE_ID_MAX], cid[STORE_ID_MAX];
	size_t			 i, n;
	int			 idx, rc = -1;
	bool			 bytes;

	*status = 400;
	st = symtab_new();
	if (page_load_pair(store, tc, base, cur, st, &pb, &pc, bid, cid,
	    status, cause) == -1)
		goto out;
	base = bid;
	cur = cid;
	if ((idx = profile_sample_index(pc, type, cause)) == -1 ||
	    (r = report_diff(pb, pc, idx, REPORT_BY_FLAT, cause)) == NULL)
		goto out;
	bytes = strcmp(r->unit, "bytes") == 0;
	head(b, tc->name);
	buf_printf(b, "<p><a href=\"/\">targets</a> &rsaquo; <a href=\""
	    "/targets/%s\">%s</a></p>\n<h1>%s: %s &rarr; %s</h1>\n<p>",
	    tc->name, tc->name, tc->name, base, cur);
	for (i = 0; i < sizeof types / sizeof types[0]; i++) {
		char *why = NULL;

		if (profile_sample_index(pc, types[i], &why) == -1) {
			free(why);
			continue;
		}
		if (strcmp(types[i], r->sample_type) == 0)
			buf_printf(b, "<b>%s</b> ", types[i]);
		else
			buf_printf(b, "<a href=\"/targets/%s/diff?base=%s&amp;"
			    "current=%s&amp;sample_index=%s\">%s</a> ",
			    tc->name, base, cur, types[i], types[i]);
	}
	human(f, sizeof f, (double)r->net, bytes);
	buf_printf(b, "<br>net growth %s</p>\n<h2>What changed, by call "
	    "path</h2>\n", f);
	icicle(b, r, bytes);
	buf_printf(b, "<h2>Functions</h2>\n<table id=\"functions\"><tr><th>"
	    "flat</th><th>cum</th><th>function</th></tr>\n");
	n = r->nfns < 100 ? r->nfns : 100;
	for (i = 0; i < n; i++) {
		human(f, sizeof f, (double)r->fns[i].flat, bytes);
		human(c, sizeof c, (double)r->fns[i].cum, bytes);
		buf_printf(b, "<tr><td class=\"n\">%s</td><td class=\"n\">%s"
		    "</td><td><code>", f, c);
		buf_html(b, r->fns[i].name);
		buf_printf(b, "</code> <a class=\"lines\" href=\"/targets/%s/"
		    "list?base=%s&amp;current=%s&amp;sample_index=", tc->name,
		    base, cur);
		/* The profile's own words: escaped like the names. */
		query_escape(b, r->sample_type);
		buf_printf(b, "&amp;fn=");
		query_escape(b, r->fns[i].name);
		buf_printf(b, "\">lines</a></td></tr>\n");
	}
	buf_printf(b, "</table>\n");
	if (r->nfns > n)
		buf_printf(b, "<p class=\"muted\">The first 100 of %zu; "
		    "<a href=\"/api/v1/targets/%s/diff?base=%s&amp;current=%s"
		    "\">all, as JSON</a>.</p>\n", r->nfns, tc->name, base,
		    cur);
	tail(b);
	rc = 0;
out:
	report_free(r);
	profile_free(pb);
	profile_free(pc);
	symtab_free(st);
	return rc;
}

/* A regular expression that matches name and nothing else. */
static char *
exact_regex(const char *name)
{
	char	*re, *q;

	re = q = xmalloc(2 * strlen(name) + 3);
	*q++ = '^';
	for (; *name != '\0'; name++) {
		if (strchr("\\.^$|?*+()[]{}", *name) != NULL)
			*q++ = '\\';
		*q++ = *name;
	}
	*q++ = '$';
	*q = '\0';
	return re;
}

/* A list row's colour: what grew red, what shrank blue, by share. */
static void
line_row(struct buf *b, const struct list_line *ln, int64_t total,
    bool bytes)
{
	char	c[48], f[64], k[64];

	/* Lighter than the graph's: text is read on it. */
	frame_colour(c, sizeof c, ln->cum, total, 72);
	if (ln->flat != 0 || ln->cum != 0) {
		signed_human(f, sizeof f, ln->flat, bytes);
		signed_human(k, sizeof k, ln->cum, bytes);
		buf_printf(b, "<tr class=\"hot\" style=\"background:%s\">", c);
	} else {
		snprintf(f, sizeof f, ".");
		snprintf(k, sizeof k, ".");
		buf_printf(b, "<tr>");
	}
	buf_printf(b, "<td class=\"n\">%lld</td><td class=\"n\">%s</td>"
	    "<td class=\"n\">%s</td><td><pre>", (long long)ln->line, f, k);
	if (ln->text != NULL) {
		char *t = xstrndup(ln->text, ln->len);

		buf_html(b, t);
		free(t);
	}
	buf_printf(b, "</pre></td></tr>\n");
}

/*
 * The snapshots a function's lines are shown between, when the request
 * names none: the diff the alert's functions come from; for a goroutine
 * leak profile, whose goroutines are the leak, the newest alone.
 */
static int
lines_snapshots(const struct target *t, const char **base, const char **cur,
    char **cause)
{
	const struct judge	*j = target_status(t)->judge;

	if ((*base != NULL && **base != '\0') ||
	    (*cur != NULL && **cur != '\0'))
		return 0;
	if (strcmp(config_target_kind(target_config(t)), "goroutineleak") ==
	    0 && judge_latest(j) != NULL) {
		*base = *cur = judge_latest(j)->id;
		return 0;
	}
	if (judge_first(j) == NULL || judge_first(j) == judge_latest(j)) {
		xasprintf(cause, "the window has not two snapshots yet");
		return -1;
	}
	*base = judge_first(j)->id;
	*cur = judge_latest(j)->id;
	return 0;
}

/* The page of a function's lines, from r and l; base NULL: one snapshot. */
static void
lines_render(struct buf *b, const struct target_config *tc, const char *fn,
    const char *base, const char *cur, const struct report *r,
    const struct list *l)
{
	char	f[64], k[64];
	size_t	i, n;
	bool	bytes = strcmp(r->unit, "bytes") == 0;

	head(b, fn);
	buf_printf(b, "<p><a href=\"/\">targets</a> &rsaquo; <a href=\""
	    "/targets/%s\">%s</a> &rsaquo; <a href=\"/targets/%s/diff?"
	    "base=%s&amp;current=%s&amp;sample_index=", tc->name, tc->name,
	    tc->name, base != NULL ? base : cur, cur);
	query_escape(b, r->sample_type);
	buf_printf(b, "\">diff</a></p>\n<h1><code>");
	buf_html(b, fn);
	buf_printf(b, "</code></h1>\n<p>Its lines' %s (", base == NULL ?
	    "values" : "growth");
	buf_html(b, r->sample_type);
	if (base == NULL)
		buf_printf(b, ") in snapshot %s", cur);
	else
		buf_printf(b, ") from snapshot %s to %s", base, cur);
	buf_printf(b, ", as <code>go tool pprof -list</code> shows it.");
	if (tc->source_path == NULL)
		buf_printf(b, " Set <code>source_path</code> for the target "
		    "to see the source text.");
	buf_printf(b, "</p>\n");
	for (i = 0; i < l->nfns; i++) {
		signed_human(f, sizeof f, l->fns[i].flat, bytes);
		signed_human(k, sizeof k, l->fns[i].cum, bytes);
		buf_printf(b, "<h2>");
		buf_html(b, l->fns[i].file != NULL ? l->fns[i].file :
		    "(no file)");
		buf_printf(b, "</h2>\n<p>%s flat, %s cum", f, k);
		if (l->fns[i].error != NULL) {
			buf_printf(b, " <span class=\"muted\">(");
			buf_html(b, l->fns[i].error);
			buf_printf(b, ")</span>");
		}
		buf_printf(b, "</p>\n<table class=\"lines\"><tr><th>line</th>"
		    "<th>flat</th><th>cum</th><th>source</th></tr>\n");
		for (n = 0; n < l->fns[i].nlines; n++)
			line_row(b, &l->fns[i].lines[n], r->total, bytes);
		buf_printf(b, "</table>\n");
	}
	tail(b);
}

int
page_list(struct buf *b, struct store *store, struct target *t,
    const char *fn, const char *base, const char *cur, const char *type,
    int *status, char **cause)
{
	const struct target_config	*tc = target_config(t);
	struct list_options	 lo;
	struct symtab		*st;
	struct profile		*pb = NULL, *pc = NULL;
	struct report		*r = NULL;
	struct list		*l = NULL;
	char			*re = NULL;
	char			 bid[STORE_ID_MAX], cid[STORE_ID_MAX];
	int			 idx, rc = -1;

	*status = 400;
	st = symtab_new();
	if (fn == NULL || *fn == '\0') {
		xasprintf(cause, "no function named (fn=)");
		goto out;
	}
	if (lines_snapshots(t, &base, &cur, cause) == -1) {
		*status = 404;
		goto out;
	}
	if (page_load_pair(store, tc, base, cur, st, &pb, &pc, bid, cid,
	    status, cause) == -1)
		goto out;
	base = bid;
	cur = cid;
	/* One snapshot: its own numbers, not a diff with itself. */
	if (strcmp(base, cur) == 0) {
		profile_free(pb);
		pb = NULL;
	}
	if ((idx = profile_sample_index(pc, type, cause)) == -1 ||
	    (r = pb == NULL ? report_top(pc, idx, REPORT_BY_FLAT, cause) :
	    report_diff(pb, pc, idx, REPORT_BY_FLAT, cause)) == NULL)
		goto out;
	re = exact_regex(fn);
	memset(&lo, 0, sizeof lo);
	lo.regex = re;
	lo.source_path = tc->source_path;
	lo.within = true;
	if ((l = list_make(pb, pc, idx, r->total, &lo, cause)) == NULL)
		goto out;
	lines_render(b, tc, fn, pb == NULL ? NULL : base, cur, r, l);
	rc = 0;
out:
	free(re);
	list_free(l);
	report_free(r);
	profile_free(pb);
	profile_free(pc);
	symtab_free(st);
	return rc;
}
