#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "buf.h"
#include "clock.h"
#include "decode.h"
#include "evidence.h"
#include "follow.h"
#include "gctrace.h"
#include "history.h"
#include "log.h"
#include "profile.h"
#include "replay.h"
#include "scrape.h"
#include "judge.h"
#include "report.h"
#include "summary.h"
#include "target.h"
#include "notifier.h"
#include "xmalloc.h"

#define DECODE_BACKLOG_MAX 256		/* bodies waiting for the workers, */
/* or their bytes as received: half of what makes all scrapes wait */
#define DECODE_BACKLOG_SKIP (DECODE_BACKLOG_BYTES / 2)
#define TARGET_EVIDENCE_RETRY_MS 60000	/* after a prune that failed */
#define TARGET_EVIDENCE_CHECK_MS 3600000 /* the longest wait for one */

/*
 * A target: what it shows (st), what it was given (deps, cfg) and the
 * state of its scrape in flight.
 */
/* When the alert was last sent to a receiver, known by its URL. */
struct notified {
	char			*url;
	int64_t			 at;
};

struct target {
	TAILQ_ENTRY(target)	 entry;
	struct target_deps	 deps;
	const struct target_config *cfg;	/* the daemon's, until
						   target_reconfigure() */
	struct target_status	 st;
	struct event		*timer;
	struct scrape_job	*job;		/* in flight, or NULL */
	struct scrape_job	*evidence_job;	/* in flight, or NULL */
	int64_t			 evidence_due;	/* real ms, a prune; or 0 */
	struct event		*evidence_timer; /* for it, or NULL */
	uint64_t		 evidence_age;	/* retention's, then */
	bool			 evidence_failing; /* the last prune failed */
	struct decode_job	*decoding;	/* its body, or NULL */
	struct store_cache	*store_cache;	/* the worker's, decoding */
	/* The snapshots the firing alert cited, kept from downsampling. */
	char			 pinned[STORE_PINNED_MAX][STORE_ID_MAX];
	char			 content_type[128];	/* of the body */
	size_t			 body_len;	/* of the last body */
	int64_t			 next_ms;	/* monotonic, next scrape */
	struct notified		*notified;	/* last note, per receiver */
	size_t			 nnotified;
	enum scrape_outcome	 last_outcome;	/* of the last made */
	bool			 decoded;	/* its last body was a profile */
	/* Of the last snapshot stored, while it is the judge's latest. */
	struct profile_print	 print;
	const char		*severity;	/* of the last note sent */
	char			*mlabels;	/* {target="NAME",... of
						   its series */
	size_t			 mlabels_len;
};

static void	target_scrape(evutil_socket_t, short, void *);
static void	target_evidence(struct target *);
static void	target_evidence_close(struct target *);
static void	target_evidence_prune(struct target *);
static void	target_verror(struct target *, const char *, va_list)
		    __attribute__((format(printf, 2, 0)));
static void	target_set_error(struct target *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	target_enter(struct target *, enum scrape_outcome,
		    const char *, ...) __attribute__((format(printf, 3, 4)));

const char *
target_health_name(enum target_health h)
{
	switch (h) {
	case TARGET_UP:
		return "up";
	case TARGET_DOWN:
		return "down";
	default:
		return "unknown";
	}
}

const char *
target_outcome_name(enum scrape_outcome o)
{
	static const char *names[SCRAPE_NOUTCOMES] = {
		"success", "failed", "invalid", "not_stored", "skipped"
	};

	return names[o];
}

const char *
target_gc_line_name(enum gc_line r)
{
	static const char *const names[GC_LINE_NRESULTS] = {
		"gc", "repeat", "malformed", "other"
	};

	return names[r];
}

enum target_health
target_health(const struct target *t)
{
	const struct follow_stats	*st;

	if (t->cfg->url != NULL)
		return t->st.health;
	if (t->st.gctrace == NULL)		/* it could not start */
		return t->st.last_error != NULL ? TARGET_DOWN : TARGET_UNKNOWN;
	st = follow_stats(t->st.gctrace);
	if (!st->up && st->errors > 0)
		return TARGET_DOWN;
	return t->st.gc_cycles > 0 ? TARGET_UP : TARGET_UNKNOWN;
}

const char *
target_last_error(const struct target *t)
{
	const struct follow_stats	*st;

	if (t->cfg->url != NULL || t->st.gctrace == NULL)
		return t->st.last_error;
	st = follow_stats(t->st.gctrace);
	return !st->up && st->last_error[0] != '\0' ? st->last_error : NULL;
}

const struct summary *
target_latest(const struct target *t)
{
	return judge_latest(t->st.judge);
}

double
target_time_to_limit(const struct target *t)
{
	return judge_time_to_limit(t->st.judge, (int64_t)t->cfg->limit);
}

const char *
target_severity(const struct target *t)
{
	return judge_severity(t->st.judge, (int64_t)t->cfg->limit,
	    t->cfg->page_within_ms);
}

/*
 * The severity a note says: the time to limit's, but the one last sent
 * when the note is a resolve, or while the time to limit is not known
 * (growth paused in an alert still firing, as before it resolves).
 * Severity is a label, and Alertmanager takes a note of another for
 * another alert: a resolve must end the alert it was sent as, and a
 * pause is no reason to start a warning beside a critical one.
 */
static const char *
note_severity(const struct target *t, bool resolved)
{
	if (t->severity != NULL && (resolved ||
	    target_time_to_limit(t) < 0))
		return t->severity;
	return target_severity(t);
}

/* One "UNIX_MS TOTAL" line of the series; false when it is broken. */
static bool
target_history_parse(const char *line, int64_t *time_ms, int64_t *total)
{
	char	*end;

	errno = 0;
	*time_ms = strtoll(line, &end, 10);
	if (end == line || *end != ' ' || errno != 0 || *time_ms < 0)
		return false;
	line = end + 1;
	*total = strtoll(line, &end, 10);
	return end != line && *end == '\n' && errno == 0;
}

/*
 * Read the history kept beside the snapshots. Broken lines (a full disk
 * or a crash may leave one) are skipped; the file is rewritten without
 * them, and compacted when long.
 */
static void
target_history_load(struct target *t)
{
	struct buf	 b;
	struct point	*p;
	char		 path[4096], *line = NULL, *cause = NULL;
	size_t		 lines = 0, bad = 0, cap = 0, i, n;
	int64_t		 tm, v;
	FILE		*f;

	if (store_series_path(t->deps.store, t->cfg->name, path,
	    sizeof path) == -1 || (f = fopen(path, "r")) == NULL)
		return;
	while (getline(&line, &cap, f) != -1) {
		if (target_history_parse(line, &tm, &v)) {
			history_add(t->st.hist, tm, v);
			lines++;
		} else
			bad++;
	}
	free(line);
	fclose(f);
	if (bad == 0 && lines <= 4 * HISTORY_MAX)
		return;
	if (bad > 0)
		log_warnx("%s: %s: %zu broken lines skipped", t->cfg->name,
		    path, bad);
	memset(&b, 0, sizeof b);
	p = xreallocarray(NULL, HISTORY_MAX, sizeof *p);
	n = history_read(t->st.hist, p);
	for (i = 0; i < n; i++)
		buf_printf(&b, "%lld %lld\n", (long long)p[i].t_ms,
		    (long long)p[i].v);
	free(p);
	if (store_series_replace(t->deps.store, t->cfg->name, b.s, b.len,
	    &cause) == -1) {
		log_warnx("%s: rewriting the history: %s", t->cfg->name, cause);
		free(cause);
	}
	free(b.s);
}

static void
target_judge_params(const struct target_config *cfg, struct judge_params *p)
{
	p->kind = config_target_kind(cfg);
	p->window_ms = cfg->window_ms;
	p->for_ms = cfg->for_ms;
	p->min_growth = (int64_t)cfg->min_growth;
	p->slow_window_ms = cfg->slow_window_ms;
	p->slow_min_growth = cfg->slow_min_growth != 0 ?
	    (int64_t)cfg->slow_min_growth : CONFIG_SLOW_FACTOR * p->min_growth;
}

static void
sites_clear(struct target *t)
{
	judge_sites_free(t->st.sites, t->st.nsites);
	t->st.sites = NULL;
	t->st.nsites = 0;
}

/* Where the functions the alert names grew, from the snapshots on disk. */
static void
target_attribute(struct target *t)
{
	char	*cause = NULL;

	sites_clear(t);
	if (judge_latest(t->st.judge) == NULL)
		return;
	if (judge_sites(t->st.judge, t->deps.store, t->cfg->name,
	    &t->st.sites, &t->st.nsites, &cause) == -1) {
		log_warnx("%s: attributing the alert: %s", t->cfg->name,
		    cause);
		free(cause);
	}
}

static void
notified_free(struct notified *nt, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(nt[i].url);
	free(nt);
}

/*
 * When the alert was last sent to receiver i. A reload may add, remove or
 * reorder the receivers: each keeps its time by its URL, as the notifier
 * keeps its queue, so that one kept is not told again before its repeat
 * is due, and one added, which has none, hears of a firing alert at the
 * next check.
 */
static int64_t *
notified_at(struct target *t, size_t i)
{
	const struct notifier	*nf = t->deps.notifier;
	struct notified		*nt;
	size_t			 n = notifier_receivers(nf), k, m;

	if (n == t->nnotified) {
		for (k = 0; k < n && strcmp(t->notified[k].url,
		    notifier_url(nf, k)) == 0; k++)
			;
		if (k == n)
			return &t->notified[i].at;
	}
	nt = xcalloc(n + 1, sizeof *nt);
	for (k = 0; k < n; k++) {
		nt[k].url = xstrdup(notifier_url(nf, k));
		for (m = 0; m < t->nnotified; m++)
			if (strcmp(t->notified[m].url, nt[k].url) == 0)
				nt[k].at = t->notified[m].at;
	}
	notified_free(t->notified, t->nnotified);
	t->notified = nt;
	t->nnotified = n;
	return &t->notified[i].at;
}

/* Whether receiver i is due to hear again that the alert still fires. */
static bool
repeat_due(struct target *t, size_t i, int64_t now)
{
	return now - *notified_at(t, i) >=
	    (int64_t)notifier_repeat_interval(t->deps.notifier, i);
}

/*
 * Tell the webhooks: firing when the alert fires, resolved when it stops;
 * pending says nothing. With repeat, only the receivers whose repeat
 * interval has passed since they were last told hear again that it fires.
 */
static void
target_notify(struct target *t, enum alert_state from, int64_t now,
    bool repeat)
{
	const struct judge	*j = t->st.judge;
	struct judge_view	 v;
	struct note_function	*top;
	struct alert_note	 note;
	char			*summary;
	double			 ttl;
	size_t			 i, k;

	judge_view(j, &v);
	if (t->deps.notifier == NULL || (v.state != ALERT_FIRING &&
	    from != ALERT_FIRING))
		return;
	if (repeat) {
		/* Asked at every scrape or GC: most often nobody is due. */
		for (i = 0; i < notifier_receivers(t->deps.notifier); i++)
			if (repeat_due(t, i, now))
				break;
		if (i == notifier_receivers(t->deps.notifier))
			return;
	}
	memset(&note, 0, sizeof note);
	note.status = v.state == ALERT_FIRING ? NOTE_FIRING : NOTE_RESOLVED;
	note.target = t->cfg->name;
	note.labels = t->cfg->labels;
	note.nlabels = t->cfg->nlabels;
	note.kind = strncmp(v.kind, "goroutine", 9) == 0 ? NOTE_GOROUTINE :
	    NOTE_HEAP;
	/* The alert began when it started growing; a resolved one ended
	 * when it entered inactive. */
	note.since = v.active;
	note.ends = v.state == ALERT_FIRING ? 0 : v.since;
	note.growth = v.growth;
	note.window_seconds = judge_horizon_ms(j) / 1000;
	xasprintf(&summary, "%s %s %s by %lld %s over %llu s", t->cfg->name,
	    note.status == NOTE_FIRING ? "is leaking:" : "stopped growing:",
	    v.kind, (long long)v.growth,
	    note.kind == NOTE_HEAP ? "bytes" : "goroutines",
	    (unsigned long long)note.window_seconds);
	note.summary = summary;
	note.signals = v.state == ALERT_FIRING ? judge_signals(j) : NULL;
	note.horizon = v.state == ALERT_FIRING ? judge_horizon(j) : NULL;
	top = xcalloc(t->st.nsites + 1, sizeof *top);
	for (i = 0; i < t->st.nsites; i++) {
		top[i].function = t->st.sites[i].function;
		top[i].growth = t->st.sites[i].growth;
		top[i].file = t->st.sites[i].file;
		top[i].line = t->st.sites[i].line;
		for (k = 0; k < t->st.sites[i].nstack && k < NOTE_FRAMES; k++)
			top[i].stack[k] = t->st.sites[i].stack[k];
		top[i].nstack = k;
	}
	note.top = top;
	note.ntop = t->st.nsites;
	if (judge_first(j) != NULL) {
		note.base_snapshot = judge_first(j)->id;
		note.current_snapshot = judge_latest(j)->id;
	}
	note.severity = note_severity(t, note.status == NOTE_RESOLVED);
	if (note.status == NOTE_FIRING && t->severity != NULL &&
	    strcmp(t->severity, note.severity) != 0)
		note.ended_severity = t->severity;
	note.evidence = t->st.evidence[0] != '\0' ? t->st.evidence : NULL;
	if (t->cfg->limit > 0) {
		ttl = target_time_to_limit(t);
		note.limited = true;
		note.time_to_limit = ttl >= 0 ? (int64_t)(ttl + 0.5) : -1;
	}
	/* Resolved: the next alert's severity owes nothing to this one's. */
	t->severity = note.status == NOTE_RESOLVED ? NULL : note.severity;
	for (i = 0; i < notifier_receivers(t->deps.notifier); i++) {
		if (repeat && !repeat_due(t, i, now))
			continue;
		notifier_send_to(t->deps.notifier, i, &note);
		*notified_at(t, i) = now;
	}
	free(top);
	free(summary);
}

/*
 * Act on the alert's change of state, from *from: name the functions,
 * log, and tell the webhooks, unless quiet (replaying stored snapshots).
 */
static void
target_changed(struct target *t, enum alert_state from, int64_t now,
    bool quiet)
{
	const struct judge	*j = t->st.judge;
	struct judge_view	 v;
	size_t			 i;

	judge_view(j, &v);
	if (v.state == ALERT_FIRING)
		target_attribute(t);
	if (v.state == ALERT_INACTIVE)
		target_evidence_close(t);
	else if (from == ALERT_INACTIVE && !quiet)
		target_evidence(t);
	/*
	 * The window's first and last snapshots, which the alert's notes
	 * cite, stay until it resolves, however old; replayed snapshots
	 * pin them again after a restart.
	 */
	if (v.state == ALERT_FIRING && from != ALERT_FIRING &&
	    judge_first(j) != NULL) {
		snprintf(t->pinned[0], sizeof t->pinned[0], "%s",
		    judge_first(j)->id);
		snprintf(t->pinned[1], sizeof t->pinned[1], "%s",
		    judge_latest(j)->id);
	} else if (v.state != ALERT_FIRING)
		memset(t->pinned, 0, sizeof t->pinned);
	if (quiet) {
		/* Said before the restart: repeated in due time, not now. */
		for (i = 0; i < notifier_receivers(t->deps.notifier); i++)
			*notified_at(t, i) = clock_real_ms();
		return;
	}
	if (v.state == ALERT_FIRING) {
		log_warnx("%s: leak alert firing: %s grew %lld over %llu s "
		    "(%s)", t->cfg->name, v.kind,
		    (long long)v.growth,
		    (unsigned long long)(t->cfg->window_ms / 1000),
		    judge_signals(t->st.judge));
		for (i = 0; i < t->st.nsites; i++)
			log_warnx("%s:   %s +%lld at %s:%lld", t->cfg->name,
			    t->st.sites[i].function,
			    (long long)t->st.sites[i].growth,
			    t->st.sites[i].file != NULL ?
			    t->st.sites[i].file : "?",
			    (long long)t->st.sites[i].line);
	} else
		log_info("%s: alert %s (was %s)", t->cfg->name,
		    judge_state_name(v.state),
		    judge_state_name(from));
	target_notify(t, from, now, false);
}

/*
 * The alert still fires: tell the receivers whose repeat is due, or all of
 * them at once when its severity changed (it turned critical, or back).
 */
static void
target_still_firing(struct target *t, int64_t now)
{
	target_notify(t, ALERT_FIRING, now, t->severity == NULL ||
	    strcmp(t->severity, note_severity(t, false)) == 0);
}

/* Judge a new summary, and act on the alert's change of state. */
static void
target_judge(struct target *t, struct summary *s, bool quiet)
{
	enum alert_state	from;

	if (judge_add(t->st.judge, s, &from))
		target_changed(t, from, s->time_ms, quiet);
	else if (!quiet && judge_state(t->st.judge) == ALERT_FIRING)
		target_still_firing(t, s->time_ms);
}

/* A line from the service's gctrace source: judge the live heap. */
static void
target_gc_line(const char *line, size_t len, int flags, void *arg)
{
	struct target		*t = arg;
	struct gctrace		 g;
	enum alert_state	 from;
	int64_t			 now;

	if (flags & FOLLOW_CUT) {
		t->st.gc_lines[GC_LINE_OTHER]++;
		return;
	}
	switch (gctrace_parse(line, len, &g)) {
	case GCTRACE_NONE:
		t->st.gc_lines[GC_LINE_OTHER]++;
		return;
	case GCTRACE_BAD:
		t->st.gc_lines[GC_LINE_MALFORMED]++;
		log_debug("%s: gctrace: malformed: %.*s", t->cfg->name,
		    (int)(len > 200 ? 200 : len), line);
		return;
	case GCTRACE_OK:
		break;
	}
	switch (gctrace_sequence(t->st.gc_cycles > 0, t->st.last_gc.gc, g.gc)) {
	case GCTRACE_SEQ_REPEAT:
		t->st.gc_lines[GC_LINE_REPEAT]++;
		return;
	case GCTRACE_SEQ_RESTART:
		log_info("%s: gctrace: GC %llu after %llu: the service "
		    "restarted, or its log is read again", t->cfg->name,
		    (unsigned long long)g.gc,
		    (unsigned long long)t->st.last_gc.gc);
		break;
	default:
		break;
	}
	now = clock_real_ms();
	t->st.gc_lines[GC_LINE_GC]++;
	t->st.gc_cycles++;
	t->st.gc_pause += (double)(g.clock_sweep_term_us +
	    g.clock_mark_term_us) / 1e6;
	t->st.last_gc = g;
	t->st.gc_time = now;
	if (judge_add_gc(t->st.judge, now, g.gc, (double)g.at_ms / 1000,
	    (int64_t)g.heap_live, &from))
		target_changed(t, from, now, false);
	else if (t->cfg->url == NULL &&
	    judge_state(t->st.judge) == ALERT_FIRING)
		target_still_firing(t, now);
}

static const char *
window_kind(void *arg, const struct profile *p, struct names **names)
{
	struct target	*t = arg;

	(void)p;
	*names = judge_names(t->st.judge);
	return config_target_kind(t->cfg);
}

static void
window_add(void *arg, const struct store_snapshot *sn, struct summary *s)
{
	(void)sn;
	target_judge(arg, s, true);
}

/* Rebuild the judgement from the snapshots on disk, at start-up. */
static void
window_load(struct target *t, const struct store_snapshot *snaps, size_t n)
{
	static const struct replay_ops ops = { window_kind, window_add };
	struct point	*p;
	int64_t		 since;
	size_t		 i, nh;

	if (n == 0)
		return;
	/*
	 * Replaying the span the shape of a rise is judged over, and `for`
	 * twice, rebuilds a pending or firing state; nothing is sent for
	 * what was already said. The span ends at the newest snapshot, not
	 * now: after a long downtime, a span ending now holds nothing, or the
	 * last snapshot alone, and the alert would start again from nothing
	 * and fire a second time.
	 */
	since = snaps[n - 1].time_ms - (int64_t)(JUDGE_SHAPE *
	    t->cfg->window_ms + 2 * t->cfg->for_ms);
	/* The slow horizon before that, from the totals kept beside. */
	p = xreallocarray(NULL, HISTORY_MAX, sizeof *p);
	nh = history_read(t->st.hist, p);
	for (i = 0; i < nh && p[i].t_ms < since; i++)
		judge_seed(t->st.judge, p[i].t_ms, p[i].v);
	free(p);
	replay_snapshots(t->deps.store, t->cfg->name, snaps, n, since,
	    PROFILE_MAX_INFLATED, &ops, t, NULL);
	if (judge_state(t->st.judge) != ALERT_INACTIVE)
		log_info("%s: alert %s since before the restart", t->cfg->name,
		    judge_state_name(judge_state(t->st.judge)));
}

struct target *
target_list_find(const struct targets *list, const char *name)
{
	struct target	*t;

	TAILQ_FOREACH(t, list, entry)
		if (strcmp(t->cfg->name, name) == 0)
			return t;
	return NULL;
}

struct target *
target_list_next(const struct target *t)
{
	return TAILQ_NEXT(t, entry);
}

void
target_list_append(struct targets *list, struct target *t)
{
	TAILQ_INSERT_TAIL(list, t, entry);
}

void
target_list_remove(struct targets *list, struct target *t)
{
	TAILQ_REMOVE(list, t, entry);
}

void
target_list_move(struct targets *to, struct targets *from)
{
	TAILQ_CONCAT(to, from, entry);
}

const struct target_config *
target_config(const struct target *t)
{
	return t->cfg;
}

int64_t
target_next_scrape(const struct target *t)
{
	return t->next_ms;
}

const struct target_status *
target_status(const struct target *t)
{
	return &t->st;
}

/*
 * {target="NAME",LABELS...}, with label="value" last when given: the
 * target's part made once (target_metric_prefix()), not escaped again for
 * each of its some 20 series.
 */
static void
target_metric_labels(struct buf *b, const struct target *t,
    const char *label, const char *value)
{
	buf_add(b, t->mlabels, t->mlabels_len);
	if (label != NULL) {
		buf_add(b, ",", 1);
		buf_add(b, label, strlen(label));
		buf_add(b, "=\"", 2);
		buf_add(b, value, strlen(value));
		buf_add(b, "\"", 1);
	}
	buf_add(b, "}", 1);
}

/* Make the target's part of its series' labels, from its configuration. */
static void
target_metric_prefix(struct target *t)
{
	const struct target_config	*tc = t->cfg;
	struct buf			 b = { NULL, 0, 0 };
	size_t				 i;

	buf_add(&b, "{target=\"", 9);
	buf_label(&b, tc->name);
	buf_add(&b, "\"", 1);
	for (i = 0; i < tc->nlabels; i++) {
		buf_add(&b, ",", 1);
		buf_add(&b, tc->labels[i].name, strlen(tc->labels[i].name));
		buf_add(&b, "=\"", 2);
		buf_label(&b, tc->labels[i].value);
		buf_add(&b, "\"", 1);
	}
	free(t->mlabels);
	t->mlabels = b.s;
	t->mlabels_len = b.len;
}

/* How a family prints its values: as before, with printf's literals. */
enum value_format {
	VALUE_WHOLE,		/* a count; exact in a double up to 2^53 */
	VALUE_2F,
	VALUE_3F,
	VALUE_6F,
	VALUE_6G
};

/*
 * The per-target families of /metrics, one row each: a value function
 * says what a target's series is, or that it has none (a target never
 * scraped has no duration). A row with a label has nlabels series a target,
 * the label's values named by label_value, and its value function is
 * given the label's index; one without is given the row's what, so that
 * one function serves the families that read the same source.
 */
struct target_family {
	const char	*name;
	const char	*type;
	const char	*help;
	enum value_format format;
	bool		(*value)(const struct target *, int, double *);
	int		 what;
	const char	*label;		/* NULL: one series a target */
	int		 nlabels;
	const char	*(*label_value)(int);
};

/* What a target's own status says of it. */
enum status_value {
	STATUS_UP,
	STATUS_DURATION,	/* of the last scrape, once one was made */
	STATUS_FORCED_GCS,	/* of a scraped heap target */
	STATUS_TIME_TO_LIMIT,	/* when it has a limit and grows */
	STATUS_SNAPSHOTS,
	STATUS_STORE_BYTES,
	STATUS_LAST_SCRAPE	/* once one was made */
};

static bool
value_status(const struct target *t, int what, double *v)
{
	switch (what) {
	case STATUS_UP:
		*v = target_health(t) == TARGET_UP;
		return true;
	case STATUS_DURATION:
		*v = t->st.last_duration;
		return t->st.last_scrape != 0;
	case STATUS_FORCED_GCS:
		*v = (double)t->st.forced_gcs;
		return strcmp(config_target_kind(t->cfg), "heap") == 0 &&
		    t->cfg->url != NULL;
	case STATUS_TIME_TO_LIMIT:
		*v = target_time_to_limit(t);
		return *v >= 0;
	case STATUS_SNAPSHOTS:
		*v = (double)t->st.snapshots;
		return true;
	case STATUS_STORE_BYTES:
		*v = (double)t->st.store_bytes;
		return true;
	case STATUS_LAST_SCRAPE:
	default:
		*v = t->st.last_scrape / 1000.0;
		return t->st.last_scrape != 0;
	}
}

/* What the target's judge says: its window, its slope, its alert. */
enum judged_value {
	JUDGED_WINDOW,
	JUDGED_RESTARTS,
	JUDGED_GROWTH,		/* once two snapshots are judged */
	JUDGED_FIRING,
	JUDGED_PENDING
};

static bool
value_judged(const struct target *t, int what, double *v)
{
	struct judge_view	jv;

	judge_view(t->st.judge, &jv);
	switch (what) {
	case JUDGED_WINDOW:
		*v = (double)jv.nwin;
		return true;
	case JUDGED_RESTARTS:
		*v = jv.restarts;
		return true;
	case JUDGED_GROWTH:
		*v = jv.per_second;
		return jv.nwin >= 2;
	case JUDGED_FIRING:
		*v = jv.state == ALERT_FIRING;
		return true;
	case JUDGED_PENDING:
	default:
		*v = jv.state == ALERT_PENDING;
		return true;
	}
}

static bool
value_scrapes(const struct target *t, int i, double *v)
{
	*v = (double)t->st.scrapes[i];
	return true;
}

/* What the last profile's summary says, of a target of its kind. */
enum latest_value {
	LATEST_HEAP_BYTES,
	LATEST_HEAP_OBJECTS,
	LATEST_GOROUTINES
};

static bool
value_latest(const struct target *t, int what, double *v)
{
	const struct summary	*s;

	if ((s = target_latest(t)) == NULL ||
	    strcmp(config_target_kind(t->cfg), what == LATEST_GOROUTINES ?
	    "goroutine" : "heap") != 0)
		return false;
	*v = (double)(what == LATEST_HEAP_OBJECTS ? s->objects : s->total);
	return true;
}

/* What the last GC of a target's gctrace said, once one was seen. */
enum gc_value { GC_LIVE, GC_GOAL, GC_CYCLES, GC_PAUSE, GC_CPU };

static bool
value_gc(const struct target *t, int what, double *v)
{
	const struct target_status	*ts = &t->st;

	switch (what) {
	case GC_LIVE:
		*v = (double)ts->last_gc.heap_live;
		break;
	case GC_GOAL:
		*v = (double)ts->last_gc.goal;
		break;
	case GC_CYCLES:
		*v = (double)ts->gc_cycles;
		break;
	case GC_PAUSE:
		*v = ts->gc_pause;
		break;
	case GC_CPU:
		*v = (double)ts->last_gc.cpu_percent / 100;
		break;
	}
	return ts->gc_cycles > 0;
}

static const char *
label_outcome(int i)
{
	return target_outcome_name((enum scrape_outcome)i);
}

static const char *
label_gc_line(int i)
{
	return target_gc_line_name((enum gc_line)i);
}

static bool
value_gc_lines(const struct target *t, int i, double *v)
{
	*v = (double)t->st.gc_lines[i];
	return t->cfg->gctrace.source != GCTRACE_SRC_NONE;
}

static const struct target_family target_families[] = {
	{ "heapwatch_target_up", "gauge",
	  "Whether the last scrape of the target brought a profile.",
	  VALUE_WHOLE, value_status, STATUS_UP, NULL, 1, NULL },
	{ "heapwatch_scrapes_total", "counter",
	  "Scrapes of the target, by result.",
	  VALUE_WHOLE, value_scrapes, 0, "result", SCRAPE_NOUTCOMES,
	  label_outcome },
	{ "heapwatch_scrape_duration_seconds", "gauge",
	  "How long the last scrape of the target took.",
	  VALUE_6F, value_status, STATUS_DURATION, NULL, 1, NULL },
	{ "heapwatch_heap_inuse_bytes", "gauge",
	  "In-use heap of the target's last profile, as of its last GC.",
	  VALUE_WHOLE, value_latest, LATEST_HEAP_BYTES, NULL, 1, NULL },
	{ "heapwatch_heap_inuse_objects", "gauge",
	  "In-use heap objects of the target's last profile.",
	  VALUE_WHOLE, value_latest, LATEST_HEAP_OBJECTS, NULL, 1, NULL },
	{ "heapwatch_goroutines", "gauge",
	  "Goroutines in the target's last goroutine profile.",
	  VALUE_WHOLE, value_latest, LATEST_GOROUTINES, NULL, 1, NULL },
	{ "heapwatch_window_snapshots", "gauge",
	  "Snapshots summarised in the target's window, in memory.",
	  VALUE_WHOLE, value_judged, JUDGED_WINDOW, NULL, 1, NULL },
	{ "heapwatch_restarts_total", "counter",
	  "Restarts of the target seen, each a new baseline.",
	  VALUE_WHOLE, value_judged, JUDGED_RESTARTS, NULL, 1, NULL },
	{ "heapwatch_growth_per_second", "gauge",
	  "How fast the target's in-use heap (or goroutines) grows over "
	  "its window: the Theil-Sen slope.",
	  VALUE_6G, value_judged, JUDGED_GROWTH, NULL, 1, NULL },
	{ "heapwatch_forced_gcs_total", "counter",
	  "Heap scrapes that asked the target for a GC first (?gc=1), as "
	  "its force_gc says.",
	  VALUE_WHOLE, value_status, STATUS_FORCED_GCS, NULL, 1, NULL },
	{ "heapwatch_time_to_limit_seconds", "gauge",
	  "When the target reaches its limit at the current rate; only for "
	  "targets with a limit that grow.",
	  VALUE_3F, value_status, STATUS_TIME_TO_LIMIT, NULL, 1, NULL },
	{ "heapwatch_alert_firing", "gauge",
	  "Whether the target's leak alert is firing.",
	  VALUE_WHOLE, value_judged, JUDGED_FIRING, NULL, 1, NULL },
	{ "heapwatch_alert_pending", "gauge",
	  "Whether the target is growing, not yet for long enough to fire.",
	  VALUE_WHOLE, value_judged, JUDGED_PENDING, NULL, 1, NULL },
	{ "heapwatch_snapshots", "gauge",
	  "Snapshots of the target in the store.",
	  VALUE_WHOLE, value_status, STATUS_SNAPSHOTS, NULL, 1, NULL },
	{ "heapwatch_store_bytes", "gauge",
	  "Bytes the target's snapshots take on disk: their files, and the "
	  "database that holds those packed, with its log.",
	  VALUE_WHOLE, value_status, STATUS_STORE_BYTES, NULL, 1, NULL },
	{ "heapwatch_last_scrape_timestamp_seconds", "gauge",
	  "When the target was last scraped.",
	  VALUE_3F, value_status, STATUS_LAST_SCRAPE, NULL, 1, NULL },
	{ "heapwatch_gc_live_heap_bytes", "gauge",
	  "Live heap after the target's last GC, from gctrace (MB as Go "
	  "prints it, in bytes).",
	  VALUE_WHOLE, value_gc, GC_LIVE, NULL, 1, NULL },
	{ "heapwatch_gc_heap_goal_bytes", "gauge",
	  "Heap size at which the target's next GC starts.",
	  VALUE_WHOLE, value_gc, GC_GOAL, NULL, 1, NULL },
	{ "heapwatch_gc_cycles_total", "counter",
	  "GCs of the target seen in its gctrace since heapwatchd started.",
	  VALUE_WHOLE, value_gc, GC_CYCLES, NULL, 1, NULL },
	{ "heapwatch_gc_pause_seconds_total", "counter",
	  "Stop-the-world time of those GCs: sweep and mark termination.",
	  VALUE_6F, value_gc, GC_PAUSE, NULL, 1, NULL },
	{ "heapwatch_gc_cpu_fraction", "gauge",
	  "Share of the target's CPU spent in GC since it started, as its "
	  "last GC says.",
	  VALUE_2F, value_gc, GC_CPU, NULL, 1, NULL },
	{ "heapwatch_gctrace_lines_total", "counter",
	  "Lines read from the target's gctrace source, by what they were.",
	  VALUE_WHOLE, value_gc_lines, 0, "result", GC_LINE_NRESULTS,
	  label_gc_line },
};

static void
target_metric_value(struct buf *b, enum value_format format, double v)
{
	switch (format) {
	case VALUE_WHOLE:
		/* printf took a third of a render of 10,000 targets. */
		buf_add(b, " ", 1);
		buf_whole(b, v);
		buf_add(b, "\n", 1);
		break;
	case VALUE_2F:
		buf_printf(b, " %.2f\n", v);
		break;
	case VALUE_3F:
		buf_printf(b, " %.3f\n", v);
		break;
	case VALUE_6F:
		buf_printf(b, " %.6f\n", v);
		break;
	case VALUE_6G:
		buf_printf(b, " %.6g\n", v);
		break;
	}
}

/* One target's series of one family: none, one, or one a label value. */
static void
target_metrics_one(struct buf *b, const struct target_family *f,
    const struct target *t)
{
	double	v;
	int	i;

	for (i = 0; i < f->nlabels; i++) {
		if (!f->value(t, f->label != NULL ? i : f->what, &v))
			break;
		buf_add(b, f->name, strlen(f->name));
		target_metric_labels(b, t, f->label, f->label != NULL ?
		    f->label_value(i) : NULL);
		target_metric_value(b, f->format, v);
	}
}

void
target_metrics_begin(struct target_metrics_pos *pos)
{
	pos->family = 0;
	pos->next = NULL;
	pos->started = false;
}

/*
 * Up to n (family, target) steps of the per-target families from pos, in
 * the order target_metrics() gives them; how many were taken. The render
 * is over when target_metrics_done() says so.
 */
size_t
target_metrics_step(struct buf *b, const struct targets *list,
    struct target_metrics_pos *pos, size_t n)
{
	const size_t			 nf = sizeof target_families /
					    sizeof *target_families;
	const struct target_family	*f;
	size_t				 done = 0;

	while (done < n && pos->family < nf) {
		f = &target_families[pos->family];
		if (!pos->started) {
			buf_family(b, f->name, f->type, f->help);
			pos->next = TAILQ_FIRST(list);
			pos->started = true;
		}
		if (pos->next == NULL) {
			pos->family++;
			pos->started = false;
			continue;
		}
		target_metrics_one(b, f, pos->next);
		pos->next = TAILQ_NEXT(pos->next, entry);
		done++;
	}
	return done;
}

bool
target_metrics_done(const struct target_metrics_pos *pos)
{
	return pos->family >= sizeof target_families /
	    sizeof *target_families;
}

/* Every per-target family, a row of target_families at a time. */
void
target_metrics(struct buf *b, const struct targets *list)
{
	struct target_metrics_pos	pos;

	target_metrics_begin(&pos);
	while (!target_metrics_done(&pos))
		target_metrics_step(b, list, &pos, SIZE_MAX);
}

struct target *
target_new(const struct target_deps *deps, const struct target_config *cfg)
{
	struct target		*t;
	struct store_snapshot	*snaps;
	struct judge_params	 jp;
	struct judge_view	 v;
	size_t			 n;
	char			*cause = NULL;

	t = xcalloc(1, sizeof *t);
	t->deps = *deps;
	t->cfg = cfg;
	target_metric_prefix(t);
	t->st.health = TARGET_UNKNOWN;
	t->timer = evtimer_new(deps->base, target_scrape, t);
	target_judge_params(cfg, &jp);
	jp.names = deps->names;
	t->st.judge = judge_new(&jp);
	t->st.hist = history_new();
	target_history_load(t);
	if (store_list(deps->store, cfg->name, &snaps, &n, &cause) == 0) {
		t->st.snapshots = n;
		t->st.store_bytes = store_bytes(deps->store, cfg->name, snaps,
		    n);
		window_load(t, snaps, n);
		store_list_free(snaps);
	} else {
		log_warnx("%s: %s", cfg->name, cause);
		free(cause);
		cause = NULL;
	}
	/*
	 * An alert open again from the store (a restart, a reload that made
	 * the target anew) has its evidence, taken when it went pending.
	 */
	if (judge_state(t->st.judge) != ALERT_INACTIVE) {
		judge_view(t->st.judge, &v);
		if (evidence_find(store_root(deps->store), cfg->name, v.active,
		    t->st.evidence, &cause) == -1) {
			log_warnx("%s: evidence: %s", cfg->name, cause);
			free(cause);
		}
	}
	/*
	 * What is older than retention goes, but that evidence, and any
	 * half-written file a crash left.
	 */
	target_evidence_prune(t);
	return t;
}

void
target_free(struct target *t)
{
	if (t == NULL)
		return;
	scrape_cancel(t->job);
	scrape_cancel(t->evidence_job);
	decode_cancel(t->decoding);
	store_cache_free(t->store_cache);
	event_free(t->timer);
	if (t->evidence_timer != NULL)
		event_free(t->evidence_timer);
	follow_free(t->st.gctrace);
	sites_clear(t);
	notified_free(t->notified, t->nnotified);
	history_free(t->st.hist);
	judge_free(t->st.judge);
	free(t->st.last_error);
	free(t->mlabels);
	free(t);
}

/* Arm the timer ev to fire in ms milliseconds, at once if none are left. */
static void
timer_in(struct event *ev, int64_t ms)
{
	struct timeval	tv;

	tv = clock_tv_ms(ms);
	evtimer_add(ev, &tv);
}

/* Arm the timer for t->next_ms. */
static void
target_arm(struct target *t)
{
	timer_in(t->timer, t->next_ms - clock_mono_ms());
}

/*
 * Start scraping: at once, or after a random part of the interval, so
 * that targets started together do not scrape in lockstep.
 */
void
target_start(struct target *t, bool jitter)
{
	const struct gctrace_config	*g = &t->cfg->gctrace;
	struct follow_options		 fo;
	uint64_t			 delay = 0;
	char				*cause = NULL;

	if (g->source != GCTRACE_SRC_NONE && t->st.gctrace == NULL) {
		memset(&fo, 0, sizeof fo);
		fo.name = t->cfg->name;
		if (g->source == GCTRACE_SRC_FILE) {
			fo.kind = FOLLOW_FILE;
			fo.path = g->file;
		} else if (g->source == GCTRACE_SRC_JOURNAL) {
			fo.kind = FOLLOW_JOURNAL;
			fo.unit = g->journal_unit;
			fo.directory = g->journal_directory;
		} else {
			fo.kind = FOLLOW_COMMAND;
			fo.argv = g->argv;
		}
		if ((t->st.gctrace = follow_new(t->deps.base, &fo,
		    target_gc_line, t, &cause)) == NULL) {
			log_warnx("%s: gctrace: %s", t->cfg->name, cause);
			target_set_error(t, "gctrace: %s", cause);
			free(cause);
		}
	}
	if (t->cfg->url == NULL)
		return;		/* gctrace alone: nothing to scrape */
	if (jitter && t->cfg->interval_ms > 1)
		delay = arc4random_uniform(t->cfg->interval_ms > UINT32_MAX ?
		    UINT32_MAX : (uint32_t)t->cfg->interval_ms);
	t->next_ms = clock_mono_ms() + (int64_t)delay;
	target_arm(t);
}

void
target_carry_take(const struct target *t, struct target_carry *c)
{
	c->severity = t->severity;
	snprintf(c->evidence, sizeof c->evidence, "%s", t->st.evidence);
}

void
target_carry_give(struct target *t, const struct target_carry *c)
{
	if (judge_state(t->st.judge) == ALERT_INACTIVE)
		return;
	t->severity = c->severity;
	if (c->evidence[0] != '\0')
		snprintf(t->st.evidence, sizeof t->st.evidence, "%s",
		    c->evidence);
}

void
target_reconfigure(struct target *t, const struct target_config *cfg)
{
	t->cfg = cfg;
	target_metric_prefix(t);
	/* The next body is summarised anew, whatever changed. */
	t->print.set = false;
	/* The reload changed retention's age: the evidence follows now. */
	if (t->evidence_age != t->deps.retention->age_ms)
		target_evidence_prune(t);
}

/* Record the error fmt says as the target's last, or none for NULL. */
static void
target_verror(struct target *t, const char *fmt, va_list ap)
{
	free(t->st.last_error);
	t->st.last_error = NULL;
	if (fmt != NULL && vasprintf(&t->st.last_error, fmt, ap) == -1)
		fatal("vasprintf");
}

static void
target_set_error(struct target *t, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	target_verror(t, fmt, ap);
	va_end(ap);
}

/*
 * The one place a scrape's outcome is taken in, as judge_enter() is for an
 * alert: it is counted, the health follows (a profile, stored or not, is
 * up; anything else down, one more failure in a row for the backoff), and
 * the error fmt says is recorded and logged once. A skipped scrape does not
 * change the health: the target was not asked.
 */
static void
target_enter(struct target *t, enum scrape_outcome o, const char *fmt, ...)
{
	/* What the log line says before the error, by outcome. */
	static const char *const logged[SCRAPE_NOUTCOMES] = {
		[SCRAPE_FAILED] = "scrape failed: ",
		[SCRAPE_INVALID] = "",
		[SCRAPE_NOT_STORED] = "snapshot ",
	};
	va_list	ap;

	t->st.scrapes[o]++;
	t->last_outcome = o;
	/* A repeat is of the last snapshot stored: the outcome before. */
	if (o != SCRAPE_SUCCESS)
		t->print.set = false;
	switch (o) {
	case SCRAPE_SUCCESS:
	case SCRAPE_NOT_STORED:
		t->st.health = TARGET_UP;
		t->st.failures = 0;
		t->decoded = true;
		break;
	case SCRAPE_INVALID:
		t->decoded = false;
		/* FALLTHROUGH */
	case SCRAPE_FAILED:
		t->st.health = TARGET_DOWN;
		t->st.failures++;
		break;
	default:
		break;
	}
	va_start(ap, fmt);
	target_verror(t, fmt, ap);
	va_end(ap);
	if (fmt != NULL && logged[o] != NULL)
		log_warnx("%s: %s%s", t->cfg->name, logged[o],
		    t->st.last_error);
}

/*
 * A body that is text is no profile, whatever the decoder made of it: say
 * what it is (an HTML page, the usual answer of a wrong URL or a login
 * form) and quote its start. Returns -1 when the body is not text.
 */
static int
describe_text(const struct target *t, const char *body, size_t len,
    char *out, size_t size)
{
	char	 quote[64];
	size_t	 i, n = 0;
	bool	 html, space = false;

	for (i = 0; i < len && i < 512; i++)
		if ((unsigned char)body[i] < 0x20 && body[i] != '\t' &&
		    body[i] != '\n' && body[i] != '\r')
			return -1;
	/* Up to two characters a turn, and room for "..." after. */
	for (i = 0; i < len && n + 6 < sizeof quote; i++) {
		if (isspace((unsigned char)body[i])) {
			if (n > 0)
				space = true;
			continue;
		}
		if (space)
			quote[n++] = ' ';
		space = false;
		/* Printable ASCII only: a cut UTF-8 sequence stays out. */
		quote[n++] = isprint((unsigned char)body[i]) ? body[i] : '?';
	}
	if (i < len) {
		while (i < len && isspace((unsigned char)body[i]))
			i++;
		if (i < len)
			n += snprintf(quote + n, sizeof quote - n, "...");
	}
	quote[n] = '\0';
	html = strncasecmp(t->content_type, "text/html", 9) == 0 ||
	    quote[0] == '<';
	snprintf(out, size, "%s, not a pprof profile%s%s%s: \"%s\"",
	    html ? "an HTML page" : "text",
	    t->content_type[0] != '\0' ? " (Content-Type " : "",
	    t->content_type, t->content_type[0] != '\0' ? ")" : "", quote);
	return 0;
}

/*
 * What the worker makes of a scraped body once it is decoded: its summary
 * (under names of its own, which the loop maps to the target's), and the
 * snapshot stored, its total added to the series, retention applied. It
 * holds copies of all it needs, so that the loop may drop the target
 * meanwhile.
 */
struct took {
	struct target		*t;		/* the loop's only */
	struct store		*store;
	char			*name;
	const char		*kind;
	int64_t			 now;
	struct store_retention	 keep;
	struct store_put	 put;		/* its cache the target's,
						   meanwhile */

	struct names		*names;		/* its own, for the summary */
	struct summary		*s;		/* NULL: not a profile of kind */
	struct decode_print	 dp;		/* repeat: not summarised */
	int64_t			 last_total;	/* of the judge's latest */
	char			*cause;		/* why not, or why not stored */
	bool			 stored;
	char			*series_cause;	/* the series not written */
};

static void
took_free(void *arg)
{
	struct took	*w = arg;

	summary_free(w->s);
	store_cache_free(w->put.cache);
	summary_names_free(w->names);
	free(w->name);
	free(w->cause);
	free(w->series_cause);
	free(w->put.retain_cause);
	free(w);
}

/*
 * On the worker: summarise, store, and keep the series and retention. A
 * repeat of the last snapshot stored is stored as it came, its total the
 * last one; the loop makes its summary.
 */
static void
took_work(const struct profile *p, const void *body, size_t len,
    const struct profile_raw *parsed, void *arg)
{
	struct took		*w = arg;
	char			 line[64];
	int64_t			 total;
	int			 rc;

	if (w->dp.repeat)
		total = w->last_total;
	else if (p == NULL || (w->s = summary_make(p, w->kind, "", w->now,
	    w->names, &w->cause)) == NULL)
		return;
	else
		total = w->s->total;
	w->put.parsed = parsed;
	/* A packed store stores its newest snapshot again, with the times. */
	w->put.repeat = w->dp.repeat;
	w->put.time_nanos = w->dp.print.time_nanos;
	w->put.duration_nanos = w->dp.print.duration_nanos;
	rc = store_put_retain(w->store, w->name, w->now, body, len, &w->put,
	    &w->cause);
	w->put.parsed = NULL;
	if (rc == -1)
		return;
	w->stored = true;
	snprintf(line, sizeof line, "%lld %lld", (long long)w->now,
	    (long long)total);
	if (store_series_append(w->store, w->name, line,
	    &w->series_cause) == -1) {
		/* Said by the loop. */
	}
}

/*
 * The target's snapshots and the bytes they take, as a put left them:
 * the store's count when it has one, which takes in what the syncer's
 * drops set aside since (see store_tick()) and what was deleted by hand,
 * neither of which a put's count of removed ones holds.
 */
static void
target_count(struct target *t, const struct took *w)
{
	if (w->stored && w->put.listed != STORE_LISTED_UNKNOWN) {
		t->st.snapshots = w->put.listed;
	} else {
		if (w->stored)
			t->st.snapshots++;
		t->st.snapshots -= w->put.removed < t->st.snapshots ?
		    w->put.removed : t->st.snapshots;
	}
	/* Not known when retention could not list the folder. */
	if (w->stored && w->put.bytes != 0)
		t->st.store_bytes = w->put.bytes;
}

/*
 * Record what a scrape brought, as the worker found and stored it: why
 * it did not decode, or NULL.
 */
static void
target_took(struct target *t, const char *why, const void *body, size_t len,
    struct took *w)
{
	const struct summary	*last;
	struct summary		*s = w->s;
	char			 text[256];

	/*
	 * A repeat: the profile of the judge's latest summary but for its
	 * time, which is all a summary made of it would change. The target
	 * gives the previous fingerprint only while that summary is the
	 * latest (see target_done()).
	 */
	if (w->dp.repeat) {
		if ((last = judge_latest(t->st.judge)) == NULL)
			why = "repeat of a profile no longer judged";
		else {
			s = w->s = summary_again(last, "", w->now,
			    w->dp.print.time_nanos);
		}
	}
	/* A profile of the wrong kind is as bad as no profile. */
	if (why != NULL && describe_text(t, body, len, text,
	    sizeof text) == 0)
		why = text;
	else if (why == NULL && s == NULL)
		why = w->cause;
	/*
	 * Retention may have run though the snapshot was taken back, or
	 * a repeat stored when its summary was no longer the latest.
	 */
	if (w->put.retain_cause != NULL)
		log_warnx("%s: retention: %s", t->cfg->name,
		    w->put.retain_cause);
	target_count(t, w);
	if (s == NULL) {
		target_enter(t, SCRAPE_INVALID, "invalid profile: %s", why);
		return;
	}
	if (!w->stored) {
		target_enter(t, SCRAPE_NOT_STORED, "not stored: %s", w->cause);
		return;
	}
	target_enter(t, SCRAPE_SUCCESS, NULL);
	t->print = w->dp.print;
	if (w->dp.repeat && t->deps.repeats != NULL)
		(*t->deps.repeats)++;
	if (w->series_cause != NULL)
		log_warnx("%s: history not written: %s", t->cfg->name,
		    w->series_cause);
	/* The summary is the judge's from here, under its names. */
	w->s = NULL;
	snprintf(s->id, sizeof s->id, "%s", w->put.id);
	history_add(t->st.hist, w->now, s->total);
	target_judge(t, s, false);
	log_debug("%s: snapshot %s, %zu bytes%s", t->cfg->name, w->put.id, len,
	    w->put.repeated ? ", the last packed one again" : "");
}

uint64_t
target_backoff_ms(uint64_t interval_ms, unsigned int failures)
{
	uint64_t	 delay = interval_ms;
	unsigned int	 shift;

	/* One failure is retried an interval on; the second backs off. */
	if (failures > 1) {
		shift = failures - 1 > 3 ? 3 : failures - 1;
		delay <<= shift;
		if (delay > TARGET_BACKOFF_MAX_MS &&
		    interval_ms < TARGET_BACKOFF_MAX_MS)
			delay = TARGET_BACKOFF_MAX_MS;
	}
	return delay;
}

/*
 * Arm the next scrape: an interval on, or more while it keeps failing.
 * A target's scrapes never overlap: the next is armed once the last is
 * over, its body decoded. When that took longer than an interval, the
 * scrape due is made at once and each interval gone by before it is
 * skipped and counted, as Prometheus's scrape loop drops the ticks it
 * was too busy to take.
 */
static void
target_next(struct target *t)
{
	uint64_t	 delay;
	int64_t		 now = clock_mono_ms();

	delay = target_backoff_ms(t->cfg->interval_ms, t->st.failures);
	t->next_ms += (int64_t)delay;
	if (t->next_ms < now) {
		if (delay > 0)
			t->st.scrapes[SCRAPE_SKIPPED] +=
			    (uint64_t)(now - t->next_ms) / delay;
		t->next_ms = now;
	}
	target_arm(t);
}

/* The body is decoded, or not: take it, then scrape again in due time. */
static void
target_decoded(const struct profile *p, const char *cause, const void *body,
    size_t len, void *arg)
{
	struct took	*w = arg;
	struct target	*t = w->t;

	t->decoding = NULL;
	t->store_cache = w->put.cache;
	w->put.cache = NULL;
	target_took(t, cause, body, len, w);
	target_next(t);
}

static void
target_done(struct scrape_result *r, void *arg)
{
	struct target		*t = arg;
	struct took		*w;
	const struct summary	*last;

	t->job = NULL;
	t->st.last_scrape = clock_real_ms();
	t->st.last_duration = r->seconds;
	if (!r->ok) {
		target_enter(t, SCRAPE_FAILED, "%s", r->error);
		target_next(t);
		return;
	}
	/*
	 * Decoded and stored by the worker, the loop free meanwhile. The
	 * bodies of targets not known to serve profiles (new ones, and those
	 * whose last body did not decode) wait until the others are decoded,
	 * so that a target's bombs never delay another's profiles for long.
	 */
	snprintf(t->content_type, sizeof t->content_type, "%s",
	    r->content_type);
	t->body_len = r->len;
	w = xcalloc(1, sizeof *w);
	w->t = t;
	w->store = t->deps.store;
	w->name = xstrdup(t->cfg->name);
	w->kind = config_target_kind(t->cfg);
	w->now = t->st.last_scrape;
	w->keep = *t->deps.retention;
	memcpy(w->keep.pinned, t->pinned, sizeof w->keep.pinned);
	/*
	 * The worker names the summary's functions in a table of its own,
	 * dropped once the judge has moved them to the shared one: the
	 * shared table is the loop's, and one kept by each target between
	 * scrapes cost 8 KB a target (its 96 names, and the hash slots).
	 */
	w->names = summary_names_new();
	w->put.keep = &w->keep;
	w->put.cache = t->store_cache;
	t->store_cache = NULL;
	/*
	 * A body the same as the last snapshot stored but for its time (no
	 * GC since) is not parsed again: the worker compares fingerprints,
	 * and a packed store stores its newest snapshot again rather than
	 * coding a parse (store_put.repeat).
	 */
	if (t->print.set &&
	    (last = judge_latest(t->st.judge)) != NULL) {
		w->dp.prev = t->print;
		w->last_total = last->total;
	}
	/* A packed store codes the parse: the worker keeps it for the put. */
	t->decoding = decode_start_work(t->deps.decode, r->body, r->len,
	    PROFILE_MAX_INFLATED, !t->decoded, took_work,
	    store_get_format(t->deps.store) == STORE_PACK, &w->dp,
	    target_decoded, took_free, w);
	r->body = NULL;
}

/*
 * Fill req with the target's URL and how to fetch it; the headers
 * returned, to free once the scrape is started.
 */
static struct scrape_header *
target_request(const struct target *t, struct scrape_request *req)
{
	const struct target_config	*c = t->cfg;
	struct scrape_header		*h;
	size_t				 i;

	memset(req, 0, sizeof *req);
	req->url = c->url;
	req->timeout_ms = c->timeout_ms;
	req->max_size = c->max_size;
	req->size_hint = t->body_len;
	/* Not known to serve profiles: waits behind those that are. */
	req->later = !t->decoded;
	req->max_redirects = c->max_redirects;
	req->ca_file = c->tls.ca_file;
	req->cert_file = c->tls.cert_file;
	req->key_file = c->tls.key_file;
	req->insecure = c->tls.insecure_skip_verify;
	req->bearer_token = c->bearer_token;
	req->bearer_token_file = c->bearer_token_file;
	req->username = c->basic_auth.username;
	req->password = c->basic_auth.password;
	req->password_file = c->basic_auth.password_file;
	h = xcalloc(c->nheaders + 1, sizeof *h);
	for (i = 0; i < c->nheaders; i++) {
		h[i].name = c->headers[i].name;
		h[i].value = c->headers[i].value;
	}
	req->headers = h;
	req->nheaders = c->nheaders;
	return h;
}

static void
target_evidence_tick(evutil_socket_t fd, short what, void *arg)
{
	target_evidence_prune(arg);
}

/* Arm the target's evidence timer for t->evidence_due, or none. */
static void
target_evidence_arm(struct target *t)
{
	int64_t	ms;

	if (t->evidence_due == 0) {
		if (t->evidence_timer != NULL)
			evtimer_del(t->evidence_timer);
		return;
	}
	/* Made the first time it is needed: most targets never alert. */
	if (t->evidence_timer == NULL)
		t->evidence_timer = evtimer_new(t->deps.base,
		    target_evidence_tick, t);
	/*
	 * Real time, taken again there: a step back makes it early (it
	 * finds nothing to drop, and waits again), one forward late, by
	 * no more than TARGET_EVIDENCE_CHECK_MS.
	 */
	ms = t->evidence_due - clock_real_ms();
	timer_in(t->evidence_timer, ms < TARGET_EVIDENCE_CHECK_MS ? ms :
	    TARGET_EVIDENCE_CHECK_MS);
}

/*
 * Drop the evidence past retention's age or beyond EVIDENCE_KEEP, but the
 * open alert's, and note when the oldest left will be past that age: a
 * timer prunes again then, whether the target is scraped or not (a long
 * interval, or gctrace alone); so does a reload that changes the age
 * (target_reconfigure()), and the timer a minute after a prune that
 * failed (logged as a warning when it starts failing, then at debug).
 */
static void
target_evidence_prune(struct target *t)
{
	char	*cause = NULL;
	size_t	 removed;
	int64_t	 now = clock_real_ms();
	int64_t	 retry = now + TARGET_EVIDENCE_RETRY_MS;

	t->evidence_age = t->deps.retention->age_ms;
	if (evidence_prune(store_root(t->deps.store), t->cfg->name,
	    t->st.evidence[0] != '\0' ? t->st.evidence : NULL,
	    t->evidence_age, now, &removed, &t->evidence_due, &cause) == 0) {
		if (t->evidence_failing)
			log_info("%s: evidence pruned again", t->cfg->name);
		t->evidence_failing = false;
		target_evidence_arm(t);
		return;
	}
	if (t->evidence_failing)
		log_debug("%s: evidence: %s", t->cfg->name, cause);
	else
		log_warnx("%s: evidence: %s", t->cfg->name, cause);
	free(cause);
	t->evidence_failing = true;
	if (t->evidence_due == 0 || t->evidence_due > retry)
		t->evidence_due = retry;
	target_evidence_arm(t);
}

/* The evidence is taken: keep it beside the snapshots while it is open. */
static void
target_evidence_done(struct scrape_result *r, void *arg)
{
	struct target	*t = arg;
	char		*cause = NULL;
	bool		 text;

	t->evidence_job = NULL;
	if (!r->ok) {
		log_warnx("%s: evidence not taken: %s", t->cfg->name,
		    r->error);
		return;
	}
	text = strncmp(config_target_kind(t->cfg), "goroutine", 9) == 0;
	if (evidence_put(store_root(t->deps.store), t->cfg->name,
	    clock_real_ms(), text, r->body, r->len, t->st.evidence,
	    &cause) == -1) {
		log_warnx("%s: evidence not stored: %s", t->cfg->name, cause);
		free(cause);
		return;
	}
	log_info("%s: evidence %s taken, %zu bytes", t->cfg->name,
	    t->st.evidence, r->len);
	target_evidence_prune(t);
}

/*
 * The alert went pending: take, once, what a person wants at once, with
 * the scrape's own limits: a heap profile right after a GC, so that it is
 * the live heap (unless force_gc is never), or the goroutine dump with
 * every stack (for goroutine and goroutine leak targets).
 */
static void
target_evidence(struct target *t)
{
	struct scrape_request	 req;
	struct scrape_header	*h;
	const char		*kind;
	char			*url;
	size_t			 n;

	if (t->cfg->url == NULL || t->evidence_job != NULL)
		return;
	h = target_request(t, &req);
	kind = config_target_kind(t->cfg);
	if (strncmp(kind, "goroutine", 9) == 0) {
		n = strcspn(t->cfg->url, "?");
		/*
		 * A leak profile's evidence is the same dump of every
		 * goroutine: .../goroutineleak[/] becomes .../goroutine.
		 */
		if (strcmp(kind, "goroutineleak") == 0) {
			if (t->cfg->url[n - 1] == '/')
				n--;
			n -= strlen("leak");
		}
		xasprintf(&url, "%.*s?debug=2", (int)n, t->cfg->url);
	} else if (t->cfg->force_gc == FORCE_GC_NEVER)
		url = xstrdup(t->cfg->url);	/* no GC, as it says */
	else
		xasprintf(&url, "%s%cgc=1", t->cfg->url,
		    strchr(t->cfg->url, '?') != NULL ? '&' : '?');
	req.url = url;
	req.size_hint = 0;
	t->evidence_job = scrape_start(t->deps.scrape, &req,
	    target_evidence_done, t);
	free(url);
	free(h);
}

/* The alert resolved: its evidence is kept no longer than retention. */
static void
target_evidence_close(struct target *t)
{
	scrape_cancel(t->evidence_job);
	t->evidence_job = NULL;
	if (t->st.evidence[0] == '\0')
		return;
	t->st.evidence[0] = '\0';
	target_evidence_prune(t);
}

/*
 * Whether this scrape asks the service for a GC first (Go's ?gc=1), as
 * force_gc says: every heap scrape, none, or, on suspicion, while the
 * alert is pending on a stale profile (the last scrape repeated the GC
 * before it, or the judgement finds no GC for a span of the window), so
 * that the pending verdict is checked against a fresh live heap.
 */
static bool
target_wants_gc(const struct target *t)
{
	const struct judge	*j = t->st.judge;

	if (t->cfg->url == NULL ||
	    strcmp(config_target_kind(t->cfg), "heap") != 0)
		return false;
	switch (t->cfg->force_gc) {
	case FORCE_GC_ALWAYS:
		return true;
	case FORCE_GC_NEVER:
		return false;
	case FORCE_GC_ON_SUSPICION:
		break;
	}
	return judge_state(j) == ALERT_PENDING && (judge_repeats(j) ||
	    judge_wants_gc(j, clock_real_ms()));
}

static void
target_scrape(evutil_socket_t fd, short what, void *arg)
{
	struct target			*t = arg;
	const struct target_config	*c = t->cfg;
	struct scrape_request		 req;
	struct scrape_header		*h;
	size_t				 pending, bytes;
	char				*gc_url = NULL;

	if (t->job != NULL || t->decoding != NULL)
		return;		/* the last is still running */
	/*
	 * A target has at most one body waiting for the workers: its next
	 * scrape is armed once its body is decoded. When more than
	 * DECODE_BACKLOG_MAX bodies wait all the same (many bombs, or a
	 * slow machine), the targets whose last body did not decode pay
	 * for it: their scrapes are skipped, counted, and tried again at
	 * their next interval. A target whose last body decoded is scraped
	 * as usual and its body decoded first (it is not queued "later"),
	 * and one that brings no body adds nothing to wait, so neither is
	 * ever skipped.
	 */
	pending = decode_pending(t->deps.decode);
	bytes = decode_pending_bytes(t->deps.decode);
	if (t->last_outcome == SCRAPE_INVALID &&
	    (pending >= DECODE_BACKLOG_MAX || bytes >= DECODE_BACKLOG_SKIP)) {
		t->st.scrapes[SCRAPE_SKIPPED]++;
		if (t->deps.behind != NULL)
			t->deps.behind(true, t->deps.behind_arg);
		target_next(t);
		return;
	}
	if (pending < DECODE_BACKLOG_MAX / 2 &&
	    bytes < DECODE_BACKLOG_SKIP / 2 && t->deps.behind != NULL)
		t->deps.behind(false, t->deps.behind_arg);
	h = target_request(t, &req);
	if (target_wants_gc(t)) {
		xasprintf(&gc_url, "%s%cgc=1", c->url,
		    strchr(c->url, '?') != NULL ? '&' : '?');
		req.url = gc_url;
		t->st.forced_gcs++;
	}
	t->job = scrape_start(t->deps.scrape, &req, target_done, t);
	free(h);
	free(gc_url);
}
