#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "conf.h"
#include "hash.h"
#include "judge.h"
#include "log.h"
#include "page.h"
#include "profile.h"
#include "report.h"
#include "summary.h"
#include "xmalloc.h"

#define CHART_W		760
#define CHART_H		220
#define ICICLE_W	1160
#define ICICLE_ROW	17
#define ICICLE_DEPTH	48

static const char style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse}"
    "td,th{padding:.25em .7em;border-bottom:1px solid #ddd;text-align:left}"
    "th a{color:inherit}td.n{text-align:right;font-variant-numeric:"
    "tabular-nums}.firing{background:#fdd}.pending{background:#ffe9c4}"
    ".down{color:#a00}.muted,.why{color:#777}.why{font-size:80%}"
    ".critical{color:#a00;font-weight:bold}"
    "code{font-size:90%}"
    "svg text{font:11px sans-serif}";

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
	const struct target_status	*ts = target_status(t);
	if (ts->judge->state == ALERT_FIRING)
		return 0;
	if (ts->judge->state == ALERT_PENDING)
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
	double			 gx = target_status(x)->judge->per_second;
	double			 gy = target_status(y)->judge->per_second;

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
growth_why(const struct judge *j)
{
	if (j->state != ALERT_INACTIVE)
		return NULL;
	if (!j->total.judged)
		return "not judged: the window is not covered yet";
	if (!j->total.floors_rise)
		return "not a leak: the floors do not rise in every span";
	if (!j->total.growing)
		return "not a leak: under min_growth over the window";
	return NULL;
}

/* A link to the overview with these settings. */
static void
overview_link(struct buf *b, const char *q, const char *sort, int page)
{
	buf_printf(b, "/?sort=%s&amp;page=%d&amp;q=", sort, page);
	for (; q != NULL && *q != '\0'; q++) {
		if ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		    (*q >= '0' && *q <= '9') || strchr("-_.", *q) != NULL)
			buf_printf(b, "%c", *q);
		else
			buf_printf(b, "%%%02X", (unsigned char)*q);
	}
}

void
page_overview(struct buf *b, const struct targets *targets, size_t ntargets,
    const char *q, const char *sort, int page)
{
	const struct target_status	*ts;
	const struct target_config	*tc;
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
	double		 ttl;
	int64_t		 now = clock_real_ms();
	char		 v[64], g[64], when[64];
	const char	*why;

	for (s = 0; s < 4; s++)
		if (sort != NULL && strcmp(sort, sorts[s].name) == 0)
			break;
	if (s == 4)
		s = 0;
	list = xreallocarray(NULL, ntargets + 1, sizeof *list);
	TARGET_FOREACH(t, targets) {
		ts = target_status(t);
		tc = target_config(t);
		firing += ts->judge->state == ALERT_FIRING;
		pending += ts->judge->state == ALERT_PENDING;
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
	buf_printf(b, "<form method=\"get\" action=\"/\"><input name=\"q\" "
	    "placeholder=\"name or label\" value=\"");
	buf_html(b, q != NULL ? q : "");
	buf_printf(b, "\"><input type=\"hidden\" name=\"sort\" value=\"%s\">"
	    "<button>Filter</button></form>\n", sorts[s].name);
	buf_printf(b, "<table id=\"targets\">\n<tr><th><a href=\"");
	overview_link(b, q, "name", 1);
	buf_printf(b, "\">target</a></th><th>health</th><th>last scrape</th>"
	    "<th><a href=\"");
	overview_link(b, q, "inuse", 1);
	buf_printf(b, "\">in use</a></th><th><a href=\"");
	overview_link(b, q, "growth", 1);
	buf_printf(b, "\">growth/h</a></th><th><a href=\"");
	overview_link(b, q, "alert", 1);
	buf_printf(b, "\">alert</a></th></tr>\n");
	for (i = first; i < last; i++) {
		t = list[i];
		ts = target_status(t);
		tc = target_config(t);
		buf_printf(b, "<tr class=\"%s\"><td><a href=\"/targets/%s\">"
		    "%s</a></td><td class=\"%s\">%s</td>",
		    alert_state_name(ts->judge->state), tc->name,
		    tc->name, target_health_name(target_health(t)),
		    target_health_name(target_health(t)));
		ago(when, sizeof when, ts->last_scrape, now);
		if (target_latest(t) != NULL)
			human(v, sizeof v, (double)inuse(t), is_heap(t));
		else
			snprintf(v, sizeof v, "-");
		if (ts->judge->nwin >= 2)
			human(g, sizeof g, ts->judge->per_second * 3600,
			    is_heap(t));
		else
			snprintf(g, sizeof g, "-");
		buf_printf(b, "<td>%s</td><td class=\"n\">%s</td>"
		    "<td class=\"n\">%s", when, v, g);
		if (ts->judge->nwin >= 2 &&
		    (why = growth_why(ts->judge)) != NULL)
			buf_printf(b, " <span class=\"why\">(%s)</span>", why);
		buf_printf(b, "</td><td>%s", alert_state_name(ts->judge->state));
		if ((ttl = target_time_to_limit(t)) >= 0) {
			page_until(when, sizeof when, ttl);
			buf_printf(b, " <span class=\"%s\">(limit in %s)</span>",
			    target_severity(t), when);
		}
		buf_printf(b, "</td></tr>\n");
	}
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

/* The target's history as an SVG line chart. */
static void
chart(struct buf *b, const struct target *t)
{
	const struct target_status	*ts = target_status(t);
	int64_t		 lo, hi, t0, t1;
	double		 x, y;
	char		 a[64], c[64];
	size_t		 i;

	if (ts->nhist < 2) {
		buf_printf(b, "<p class=\"muted\">Not enough snapshots to "
		    "chart yet.</p>\n");
		return;
	}
	lo = hi = ts->hist[0].v;
	for (i = 1; i < ts->nhist; i++) {
		if (ts->hist[i].v < lo)
			lo = ts->hist[i].v;
		if (ts->hist[i].v > hi)
			hi = ts->hist[i].v;
	}
	if (hi == lo)
		hi = lo + 1;
	t0 = ts->hist[0].t_ms;
	t1 = ts->hist[ts->nhist - 1].t_ms;
	if (t1 == t0)
		t1 = t0 + 1;
	buf_printf(b, "<svg id=\"history\" width=\"%d\" height=\"%d\" "
	    "viewBox=\"0 0 %d %d\" role=\"img\"><title>", CHART_W + 90,
	    CHART_H + 40, CHART_W + 90, CHART_H + 40);
	buf_printf(b, "%s over time</title>", is_heap(t) ?
	    "in-use heap" : "goroutines");
	buf_printf(b, "<rect x=\"80\" y=\"5\" width=\"%d\" height=\"%d\" "
	    "fill=\"#fafafa\" stroke=\"#ccc\"/>", CHART_W, CHART_H);
	human(a, sizeof a, (double)hi, is_heap(t));
	human(c, sizeof c, (double)lo, is_heap(t));
	buf_printf(b, "<text x=\"75\" y=\"15\" text-anchor=\"end\">%s</text>"
	    "<text x=\"75\" y=\"%d\" text-anchor=\"end\">%s</text>", a,
	    CHART_H + 5, c);
	utc(a, sizeof a, t0);
	utc(c, sizeof c, t1);
	buf_printf(b, "<text x=\"80\" y=\"%d\">%s</text><text x=\"%d\" "
	    "y=\"%d\" text-anchor=\"end\">%s</text>", CHART_H + 22, a,
	    CHART_W + 80, CHART_H + 22, c);
	buf_printf(b, "<polyline fill=\"none\" stroke=\"#c0392b\" "
	    "stroke-width=\"1.5\" points=\"");
	for (i = 0; i < ts->nhist; i++) {
		x = 80 + (double)(ts->hist[i].t_ms - t0) * CHART_W /
		    (double)(t1 - t0);
		y = 5 + CHART_H - (double)(ts->hist[i].v - lo) * CHART_H /
		    (double)(hi - lo);
		buf_printf(b, "%.1f,%.1f ", x, y);
	}
	buf_printf(b, "\"/></svg>\n");
}

/* The alert and the functions it names. */
static void
alert_box(struct buf *b, const struct target *t)
{
	const struct target_status	*ts = target_status(t);
	const struct target_config	*tc = target_config(t);
	const struct judge		*j = ts->judge;
	char				 g[64], when[64];
	double				 ttl;
	size_t				 i, k;

	buf_printf(b, "<h2>Alert</h2>\n<p id=\"alert\" class=\"%s\">%s",
	    alert_state_name(j->state), alert_state_name(j->state));
	if (j->state != ALERT_INACTIVE) {
		human(g, sizeof g, (double)j->growth, is_heap(t));
		utc(when, sizeof when, j->active);
		buf_printf(b, " since %s: grew %s in %llu s (%s)", when, g,
		    (unsigned long long)(tc->window_ms / 1000),
		    judge_signals(j));
	}
	if (j->state != ALERT_INACTIVE && ts->evidence[0] != '\0')
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
	if (j->ntop == 0)
		return;
	buf_printf(b, "<table id=\"growing\"><tr><th>function</th>"
	    "<th>growth</th><th>where</th></tr>\n");
	for (i = 0; i < j->ntop; i++) {
		human(g, sizeof g, (double)j->top[i].growth, is_heap(t));
		buf_printf(b, "<tr><td><code>");
		buf_html(b, names_get(j->names, j->top[i].name));
		buf_printf(b, "</code>%s</td><td class=\"n\">%s</td><td>",
		    j->top[i].growing ? " (growing)" : "", g);
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
	size_t			 n = 0, i;
	char			*cause = NULL, when[64];

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
		    ts->judge->live_growing ? "; growing" : "");
	buf_printf(b, "</p>\n<h2>%s</h2>\n", is_heap(t) ?
	    "In-use heap after GC" : "Goroutines");
	chart(b, t);
	alert_box(b, t);

	buf_printf(b, "<h2>Snapshots</h2>\n");
	if (store_list(store, tc->name, &snaps, &n, &cause) == -1) {
		buf_html(b, cause);
		free(cause);
		tail(b);
		return;
	}
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

/* A warm colour for a function, the same for the same name. */
static void
colour(char *out, size_t len, const char *name)
{
	uint64_t	h = hash_bytes(name, strlen(name), 1);

	snprintf(out, len, "hsl(%d,%d%%,%d%%)", (int)(h % 50), 60 +
	    (int)(h / 50 % 30), 55 + (int)(h / 1500 % 15));
}

/* One node of the icicle and, recursively, its children. */
static void
icicle_node(struct buf *b, const struct report_node *nodes, uint32_t i,
    double x, double w, int64_t total, bool bytes)
{
	const struct report_node	*nd = &nodes[i];
	char				 c[48], v[64];
	double				 cx = x;
	uint32_t			 k;
	size_t				 chars;

	if (w < 0.5 || nd->depth > ICICLE_DEPTH)
		return;
	colour(c, sizeof c, nd->name);
	human(v, sizeof v, (double)nd->value, bytes);
	buf_printf(b, "<g><title>");
	buf_html(b, nd->name);
	buf_printf(b, ": +%s, %.1f%%</title><rect x=\"%.1f\" y=\"%u\" "
	    "width=\"%.1f\" height=\"%d\" fill=\"%s\" stroke=\"#fff\"/>", v,
	    100.0 * (double)nd->value / (double)total, x,
	    nd->depth * ICICLE_ROW, w, ICICLE_ROW - 1, c);
	chars = (size_t)(w / 6.5);
	if (chars >= 4) {
		buf_printf(b, "<text x=\"%.1f\" y=\"%u\">", x + 3,
		    nd->depth * ICICLE_ROW + 12);
		if (strlen(nd->name) <= chars)
			buf_html(b, nd->name);
		else {
			char *cut = xstrndup(nd->name, chars - 2);

			buf_html(b, cut);
			buf_printf(b, "..");
			free(cut);
		}
		buf_printf(b, "</text>");
	}
	buf_printf(b, "</g>\n");
	for (k = nd->child; k != 0; k = nodes[k].next) {
		icicle_node(b, nodes, k, cx, w * (double)nodes[k].value /
		    (double)nd->value, total, bytes);
		cx += w * (double)nodes[k].value / (double)nd->value;
	}
}

static void
icicle(struct buf *b, const struct report *r, bool bytes)
{
	struct report_node	*nodes;
	size_t			 n, i;
	uint32_t		 depth = 0;

	nodes = report_tree(r, &n);
	if (nodes[0].value <= 0) {
		buf_printf(b, "<p class=\"muted\">Nothing grew.</p>\n");
		free(nodes);
		return;
	}
	/* As deep as what is wide enough to be drawn. */
	for (i = 0; i < n; i++)
		if (nodes[i].depth > depth && nodes[i].depth <= ICICLE_DEPTH &&
		    (double)nodes[i].value * ICICLE_W /
		    (double)nodes[0].value >= 0.5)
			depth = nodes[i].depth;
	buf_printf(b, "<svg id=\"icicle\" width=\"%d\" height=\"%u\" "
	    "role=\"img\"><title>What grew, by call path</title>\n",
	    ICICLE_W, (depth + 1) * ICICLE_ROW + 2);
	icicle_node(b, nodes, 0, 0, ICICLE_W, nodes[0].value, bytes);
	buf_printf(b, "</svg>\n");
	free(nodes);
}

int
page_diff(struct buf *b, struct store *store, struct target *t, const char *base,
    const char *cur, const char *type, char **cause)
{
	const struct target_config	*tc = target_config(t);
	static const char	*types[] = { "inuse_space", "inuse_objects",
	    "alloc_space", "alloc_objects", "goroutine" };
	struct symtab		*st;
	struct profile		*pb = NULL, *pc = NULL;
	struct report		*r = NULL;
	char			 path[4096], f[64], c[64];
	size_t			 i, n;
	int			 idx, rc = -1;
	bool			 bytes;

	st = symtab_new();
	if (!store_id_valid(base) || !store_id_valid(cur)) {
		xasprintf(cause, "malformed snapshot id");
		goto out;
	}
	if (store_path(store, tc->name, cur, path, sizeof path) ==
	    -1 || (pc = profile_load(path, PROFILE_MAX_INFLATED, st,
	    cause)) == NULL)
		goto missing;
	if (store_path(store, tc->name, base, path, sizeof path) ==
	    -1 || (pb = profile_load(path, PROFILE_MAX_INFLATED, st,
	    cause)) == NULL)
		goto missing;
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
	buf_printf(b, "<br>net growth %s</p>\n<h2>What grew, by call path"
	    "</h2>\n", f);
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
		buf_printf(b, "</code></td></tr>\n");
	}
	buf_printf(b, "</table>\n");
	if (r->nfns > n)
		buf_printf(b, "<p class=\"muted\">The first 100 of %zu; "
		    "<a href=\"/api/v1/targets/%s/diff?base=%s&amp;current=%s"
		    "\">all, as JSON</a>.</p>\n", r->nfns, tc->name, base,
		    cur);
	tail(b);
	rc = 0;
	goto out;
missing:
	if (*cause == NULL)
		xasprintf(cause, "no such snapshot");
out:
	report_free(r);
	profile_free(pb);
	profile_free(pc);
	symtab_free(st);
	return rc;
}
