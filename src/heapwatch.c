/*
 * heapwatch: the profile engine on the command line. `top` lists the
 * functions of one pprof profile, `diff` the growth between two, with the
 * numbers `go tool pprof -top [-base]` prints.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "clock.h"
#include "conf.h"
#include "fetch.h"
#include "judge.h"
#include "list.h"
#include "log.h"
#include "profile.h"
#include "render.h"
#include "replay.h"
#include "report.h"
#include "store.h"
#include "summary.h"
#include "units.h"
#include "xmalloc.h"

struct options {
	uint64_t		 window_ms;
	uint64_t		 for_ms;
	uint64_t		 min_growth;
	bool			 min_growth_set;
	const char		*sample_type;
	size_t			 nmax;
	enum report_order	 order;
	bool			 json;
	bool			 times;
	size_t			 max_size;
	char			*source_path;	/* list's, ':'-separated */
	char			*trim_path;
	uint64_t		 timeout_ms;	/* of a URL's fetch */
	uint64_t		 interval_ms;	/* between diff's snapshots */
	const char		*interval;	/* as given */
	bool			 pack;		/* import: packed */
	bool			 interval_set;
};

/*
 * The options' codes, as getopt_long() gives them; each command says which
 * of them it takes.
 */
#define OPTION_CODES	"incjmtWFGSOITP"

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: heapwatch top [-i SAMPLE_TYPE] [-n N] [--cum] [--json] "
	    "PROFILE\n"
	    "       heapwatch diff [-i SAMPLE_TYPE] [-n N] [--cum] [--json] "
	    "BASE CURRENT\n"
	    "       heapwatch diff [-i SAMPLE_TYPE] [-n N] [--cum] [--json] "
	    "[--interval D] URL\n"
	    "       heapwatch list [-i SAMPLE_TYPE] [--source-path DIR] "
	    "[--trim-path PREFIX]\n"
	    "                      [--json] REGEX PROFILE | REGEX BASE CURRENT\n"
	    "       heapwatch judge [--window D] [--for D] [--min-growth N] "
	    "[--json] DIR\n"
	    "       heapwatch export DIR ID > PROFILE\n"
	    "       heapwatch import [--pack] DIR PROFILE...\n"
	    "options:\n"
	    "  -i, --sample-index TYPE  sample type (inuse_space, "
	    "alloc_objects, ...)\n"
	    "  -n, --nodes N            show the first N functions only\n"
	    "      --cum                sort by cumulative value\n"
	    "      --json               print one JSON object\n"
	    "      --max-size SIZE      refuse profiles larger than SIZE once"
	    " decompressed\n"
	    "                           (default 256MiB)\n"
	    "      --source-path DIR    list: where to look for source files"
	    " (the current\n"
	    "                           directory; several: DIR:DIR or the"
	    " option again)\n"
	    "      --trim-path PREFIX   list: cut PREFIX from the paths in the"
	    " profile\n"
	    "      --pack               import: pack the snapshots into the"
	    " folder's database\n"
	    "      --times              print where the time went on stderr\n"
	    "      --timeout D          give up fetching a URL after D"
	    " (default 60s)\n"
	    "      --interval D         diff URL: the time between its two"
	    " snapshots\n"
	    "                           (default 30s)\n"
	    "      --window D, --for D, --min-growth N\n"
	    "                           judge's settings, as heapwatchd.yaml's"
	    " (30m, 15m,\n"
	    "                           16MiB or 100 goroutines)\n"
	    "  -V, --version            print the version\n");
	exit(status);
}

/* A usage error: why, on one line, then the usage; exits 2. */
static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list	ap;

	fputs("heapwatch: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage(2);
}

/* Sleep for ms milliseconds, signals or not. */
static void
sleep_ms(uint64_t ms)
{
	struct timespec	ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void
print_times(const char *what, const struct profile *p)
{
	fprintf(stderr, "%s: %zu bytes, %zu decompressed; inflate %.1f ms, "
	    "parse %.1f ms, intern %.1f ms\n", what, p->stats.bytes_in,
	    p->stats.bytes_out, p->stats.inflate_ms, p->stats.parse_ms,
	    p->stats.reduce_ms);
}

/*
 * Fetching or reading, inflating and unpacking one profile: the part run
 * on a thread. data is the body when fetched beforehand.
 */
struct job {
	const char		*path;		/* a file or a URL */
	size_t			 max;
	uint64_t		 timeout_ms;
	void			*data;
	size_t			 len;
	struct profile_raw	*raw;
	char			*cause;
	pthread_t		 thread;
};

/* Fetch a URL's body, or read a file's, into the job. */
static int
job_get(struct job *j)
{
	if (fetch_is_url(j->path))
		return fetch_url(j->path, j->max, j->timeout_ms, &j->data,
		    &j->len, &j->cause);
	return profile_read_file(j->path, j->max, &j->data, &j->len,
	    &j->cause);
}

static void *
job_run(void *arg)
{
	struct job	*j = arg;
	char		*why = NULL;

	if (j->data == NULL && job_get(j) == -1)
		return NULL;
	j->raw = profile_parse(j->data, j->len, j->max, &why);
	free(j->data);
	j->data = NULL;
	if (j->raw == NULL) {
		xasprintf(&j->cause, "%s: %s", j->path, why);
		free(why);
	}
	return NULL;
}

/* The job's profile interned into st, or NULL with its error told. */
static struct profile *
job_finish(struct job *j, struct symtab *st)
{
	struct profile	*p;
	char		*why = NULL;

	if (j->raw == NULL) {
		log_warnx("%s", j->cause);
		return NULL;
	}
	p = profile_reduce(j->raw, st, &why);
	j->raw = NULL;
	if (p == NULL) {
		log_warnx("%s: %s", j->path, why);
		free(why);
	}
	return p;
}

static void
job_free(struct job *j)
{
	free(j->data);
	profile_raw_free(j->raw);
	free(j->cause);
}

static void
print_report(struct report *r, const struct options *o)
{
	json_t	*j;

	report_limit(r, o->nmax);
	if (o->json) {
		j = render_json(r, o->nmax);
		if (json_dumpf(j, stdout, JSON_COMPACT) == -1)
			fatal("writing output");
		fputc('\n', stdout);
		json_decref(j);
	} else
		render_text(stdout, r, o->nmax);
	if (fflush(stdout) == EOF || ferror(stdout))
		fatal("writing output");
}

/*
 * The profiles a command reads: one, or a base and a current one decoded
 * into one symtab, and the sample index chosen as pprof chooses it.
 */
struct input {
	struct job	 base;
	struct job	 cur;
	struct profile	*pb;		/* NULL for one profile */
	struct profile	*pc;
	struct symtab	*st;
	int		 idx;
	double		 read_ms;	/* read and parse, or both at once */
	double		 intern_ms;
};

static void
input_init(struct input *in, const char *base, const char *cur,
    const struct options *o)
{
	memset(in, 0, sizeof *in);
	in->base.path = base;
	in->cur.path = cur;
	in->base.max = in->cur.max = o->max_size;
	in->base.timeout_ms = in->cur.timeout_ms = o->timeout_ms;
}

/* Read, decode and intern the input's profiles; errors are told. */
static int
input_open(struct input *in, const struct options *o)
{
	char		*cause = NULL;
	const char	*name, *base = in->base.path, *cur = in->cur.path;
	double		 t0, t1;
	bool		 threaded = false;

	t0 = clock_mono_us() / 1e3;
	if (base == NULL) {
		job_run(&in->cur);
		t1 = clock_mono_us() / 1e3;
		in->read_ms = t1 - t0;
		if ((in->pc = job_finish(&in->cur, NULL)) == NULL)
			return -1;
		in->intern_ms = clock_mono_us() / 1e3 - t1;
		if ((in->idx = profile_sample_index(in->pc, o->sample_type,
		    &cause)) == -1) {
			log_warnx("%s: %s", cur, cause);
			free(cause);
			return -1;
		}
		return 0;
	}
	/* The two files are read and unpacked at once, on two cores. */
	threaded = pthread_create(&in->base.thread, NULL, job_run,
	    &in->base) == 0;
	if (!threaded)
		job_run(&in->base);
	job_run(&in->cur);
	if (threaded)
		pthread_join(in->base.thread, NULL);
	t1 = clock_mono_us() / 1e3;
	in->read_ms = t1 - t0;
	in->st = symtab_new();
	/* One error is told, the base's first. */
	if (in->base.raw == NULL) {
		log_warnx("%s", in->base.cause);
		return -1;
	}
	/* pprof merges the current profile first, then the base. */
	if ((in->pc = job_finish(&in->cur, in->st)) == NULL ||
	    (in->pb = job_finish(&in->base, in->st)) == NULL)
		return -1;
	/* pprof takes the first default sample type of the two. */
	name = o->sample_type;
	if (name == NULL && in->pc->default_type == 0)
		name = symtab_str(in->st, in->pb->default_type)->s;
	if ((in->idx = profile_sample_index(in->pc, name, &cause)) == -1) {
		log_warnx("%s: %s", cur, cause);
		free(cause);
		return -1;
	}
	in->intern_ms = clock_mono_us() / 1e3 - t1;
	return 0;
}

static void
input_close(struct input *in)
{
	profile_free(in->pb);
	profile_free(in->pc);
	symtab_free(in->st);
	job_free(&in->base);
	job_free(&in->cur);
}

/* The report of the input: top, or the diff of the two. */
static struct report *
input_report(const struct input *in, enum report_order order)
{
	struct report	*r;
	char		*cause = NULL;

	if (in->pb == NULL)
		r = report_top(in->pc, in->idx, order, &cause);
	else
		r = report_diff(in->pb, in->pc, in->idx, order, &cause);
	if (r == NULL) {
		if (in->pb == NULL)
			log_warnx("%s: %s", in->cur.path, cause);
		else
			log_warnx("%s", cause);
		free(cause);
	}
	return r;
}

/*
 * Open the input, print its report (top, or the diff of two) and, with
 * the times asked for, what each step took; the exit status.
 */
static int
input_run(struct input *in, const struct options *o)
{
	struct report	*r = NULL;
	double		 t1, t2;
	int		 rc = 1;

	if (input_open(in, o) == -1)
		goto out;
	t1 = clock_mono_us() / 1e3;
	if ((r = input_report(in, o->order)) == NULL)
		goto out;
	t2 = clock_mono_us() / 1e3;
	print_report(r, o);
	if (o->times && in->pb == NULL) {
		print_times(in->cur.path, in->pc);
		fprintf(stderr, "decode %.1f ms, analysis %.1f ms, output "
		    "%.1f ms\n", in->read_ms + in->intern_ms, t2 - t1,
		    clock_mono_us() / 1e3 - t2);
	} else if (o->times) {
		print_times(in->base.path, in->pb);
		print_times(in->cur.path, in->pc);
		fprintf(stderr, "parallel read and parse %.1f ms, intern %.1f "
		    "ms, analysis %.1f ms, output %.1f ms\n", in->read_ms,
		    in->intern_ms, t2 - t1, clock_mono_us() / 1e3 - t2);
	}
	rc = 0;
out:
	report_free(r);
	input_close(in);
	return rc;
}

static int
cmd_top(int argc, char **argv, const struct options *o)
{
	struct input	in;

	if (argc != 1)
		usage_error("top takes one PROFILE, not %d", argc);
	input_init(&in, NULL, argv[0], o);
	return input_run(&in, o);
}

static int
cmd_diff(int argc, char **argv, const struct options *o)
{
	struct input	in;

	if (argc == 1 && fetch_is_url(argv[0])) {
		/* Two snapshots of one URL, an interval apart. */
		input_init(&in, argv[0], argv[0], o);
		if (job_get(&in.base) == -1) {
			log_warnx("%s", in.base.cause);
			input_close(&in);
			return 1;
		}
		log_info("%s: took the first snapshot, the second in %s",
		    argv[0], o->interval);
		sleep_ms(o->interval_ms);
	} else if (argc == 2 && o->interval_set)
		usage_error("diff takes --interval with one URL only");
	else if (argc == 2)
		input_init(&in, argv[0], argv[1], o);
	else if (argc == 1)
		usage_error("diff takes BASE CURRENT, or one URL");
	else
		usage_error("diff takes BASE CURRENT, not %d files", argc);
	return input_run(&in, o);
}

/*
 * The annotated source of the functions matching a regular expression,
 * in one profile or in the growth between two: `go tool pprof -list`.
 */
static int
cmd_list(int argc, char **argv, const struct options *o)
{
	struct list_options	 lo;
	struct input		 in;
	struct report		*r = NULL;
	struct list		*l = NULL;
	json_t			*j;
	char			*cause = NULL;
	int			 rc = 1;

	if (argc != 2 && argc != 3)
		usage_error("list takes REGEX and one or two profiles");
	input_init(&in, argc == 3 ? argv[1] : NULL, argv[argc - 1], o);
	if (input_open(&in, o) == -1)
		goto out;
	/* The report gives pprof's total, a diff's from merged samples. */
	if ((r = input_report(&in, REPORT_BY_FLAT)) == NULL)
		goto out;
	lo.regex = argv[0];
	lo.source_path = o->source_path;
	lo.trim_path = o->trim_path;
	lo.within = false;
	if ((l = list_make(in.pb, in.pc, in.idx, r->total, &lo,
	    &cause)) == NULL) {
		log_warnx("%s", cause);
		goto out;
	}
	if (o->json) {
		j = list_json(l);
		if (json_dumpf(j, stdout, JSON_COMPACT) == -1)
			fatal("writing output");
		fputc('\n', stdout);
		json_decref(j);
	} else
		list_text(stdout, l);
	if (fflush(stdout) == EOF || ferror(stdout))
		fatal("writing output");
	rc = 0;
out:
	free(cause);
	list_free(l);
	report_free(r);
	input_close(&in);
	return rc;
}

static void
utc(char *buf, size_t len, int64_t ms)
{
	struct tm	tm;
	time_t		t = ms / 1000;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* What cmd_judge's replay builds up. */
struct cmd_judge_run {
	const struct options	*o;
	struct judge_params	 jp;
	struct judge		*j;
	json_t			*changes;	/* with --json */
};

/* The judge is made at the first profile that decodes: its kind is that. */
static const char *
cmd_judge_kind(void *arg, const struct profile *p, struct names **names)
{
	struct cmd_judge_run	*r = arg;
	char			*cause = NULL;

	if (r->j == NULL) {
		/* Go's goroutine leak profile has its own sample type. */
		if (profile_sample_index(p, "goroutineleak", &cause) != -1)
			r->jp.kind = "goroutineleak";
		else {
			free(cause);
			cause = NULL;
			r->jp.kind = profile_sample_index(p, "goroutine",
			    &cause) != -1 ? "goroutine" : "heap";
		}
		free(cause);
		if (strncmp(r->jp.kind, "goroutine", 9) == 0 &&
		    !r->o->min_growth_set)
			r->jp.min_growth = CONFIG_GOROUTINE_GROWTH;
		r->jp.slow_min_growth = CONFIG_SLOW_FACTOR * r->jp.min_growth;
		r->j = judge_new(&r->jp);
	}
	*names = judge_names(r->j);
	return r->jp.kind;
}

/* Judge one more snapshot, and say so when the alert's state changes. */
static void
cmd_judge_add(void *arg, const struct store_snapshot *sn, struct summary *s)
{
	struct cmd_judge_run	*r = arg;
	struct judge		*j = r->j;
	enum alert_state	 from;
	char			 when[32];
	json_t			*c;

	if (!judge_add(j, s, &from))
		return;
	utc(when, sizeof when, sn->time_ms);
	if (r->changes != NULL) {
		c = json_object();
		json_object_set_new(c, "time", json_string(when));
		json_object_set_new(c, "state",
		    json_string(judge_state_name(judge_state(j))));
		json_object_set_new(c, "snapshot", json_string(sn->id));
		json_array_append_new(r->changes, c);
	} else
		printf("%s  %-8s (was %s) at snapshot %s\n", when,
		    judge_state_name(judge_state(j)), judge_state_name(from),
		    sn->id);
}

/*
 * Split a target's folder into the store's root and the target's name:
 * that of the folder it is when it ends in "." or "..". -1, said, when it
 * is no folder, or is not there and must be (import makes it).
 */
static int
cmd_target_dir(const char *arg, bool made, char **root, char **name)
{
	struct stat	 sb;
	char		*dir, *slash, *real;

	dir = xstrdup(arg);
	while (strlen(dir) > 1 && dir[strlen(dir) - 1] == '/')
		dir[strlen(dir) - 1] = '\0';
	/*
	 * The store opens a target's folder as it is named, never through a
	 * link (a trailing '/' would have followed one).
	 */
	if (lstat(dir, &sb) == -1) {
		if (errno != ENOENT || !made) {
			log_warn("%s", arg);
			free(dir);
			return -1;
		}
	} else if (S_ISLNK(sb.st_mode) || !S_ISDIR(sb.st_mode)) {
		log_warnx(S_ISLNK(sb.st_mode) ? "%s: a symbolic link; give "
		    "the folder it points to" : "%s: not a directory", arg);
		free(dir);
		return -1;
	}
	slash = strrchr(dir, '/');
	if (strcmp(slash != NULL ? slash + 1 : dir, ".") == 0 ||
	    strcmp(slash != NULL ? slash + 1 : dir, "..") == 0) {
		if ((real = realpath(dir, NULL)) == NULL) {
			log_warn("%s", arg);
			free(dir);
			return -1;
		}
		free(dir);
		dir = real;
	}
	if ((slash = strrchr(dir, '/')) == NULL) {
		*root = xstrdup(".");
		*name = dir;
		return 0;
	}
	*name = xstrdup(slash + 1);
	if (slash == dir)
		slash++;	/* the root folder */
	*slash = '\0';
	*root = dir;
	return 0;
}

/* export DIR ID: a stored snapshot, as pprof, to the standard output. */
static int
cmd_export(int argc, char **argv, const struct options *o)
{
	struct store	*store;
	char		*root, *name, *cause = NULL;
	void		*data = NULL;
	size_t		 len;
	int		 rc = 1;

	if (argc != 2)
		usage_error("export takes DIR ID");
	if (cmd_target_dir(argv[0], false, &root, &name) == -1)
		return 1;
	if ((store = store_open(root, &cause)) == NULL ||
	    store_read(store, name, argv[1], o->max_size, &data, &len,
	    &cause) == -1) {
		log_warnx("%s: %s: %s", argv[0], argv[1], cause);
		goto out;
	}
	if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
		log_warn("%s: %s: writing the standard output", argv[0],
		    argv[1]);
		goto out;
	}
	rc = 0;
out:
	free(data);
	free(cause);
	store_close(store);
	free(root);
	free(name);
	return rc;
}

/*
 * import DIR PROFILE...: store each profile that decodes as a snapshot of
 * the target, at the time the profile says it was taken, and print its
 * id; those that do not decode are named and left out.
 */
static int
cmd_import(int argc, char **argv, const struct options *o)
{
	struct store	*store;
	struct profile	*p;
	char		*root, *name, *cause = NULL, id[STORE_ID_MAX];
	void		*data;
	size_t		 len;
	int64_t		 ms;
	int		 i, rc = 0;

	if (argc < 2)
		usage_error("import takes DIR and one PROFILE or more");
	if (cmd_target_dir(argv[0], true, &root, &name) == -1)
		return 1;
	if ((store = store_open(root, &cause)) == NULL) {
		log_warnx("%s: %s", argv[0], cause);
		free(cause);
		free(root);
		free(name);
		return 1;
	}
	if (o->pack)
		store_set_format(store, STORE_PACK);
	for (i = 1; i < argc; i++) {
		data = NULL;
		p = NULL;
		/* Its cause names the file already. */
		if (profile_read_file(argv[i], o->max_size, &data, &len,
		    &cause) == -1) {
			log_warnx("%s", cause);
			free(cause);
			cause = NULL;
			rc = 1;
			continue;
		}
		if ((p = profile_decode(data, len, o->max_size, NULL,
		    &cause)) == NULL)
			goto bad;
		if (p->time_nanos <= 0) {
			cause = xstrdup("the profile has no time");
			goto bad;
		}
		ms = p->time_nanos / 1000000;
		if (store_put(store, name, ms, data, len, id, &cause) == -1)
			goto bad;
		printf("%s %s\n", id, argv[i]);
		profile_free(p);
		free(data);
		continue;
bad:
		log_warnx("%s: %s", argv[i], cause);
		free(cause);
		cause = NULL;
		profile_free(p);
		free(data);
		rc = 1;
	}
	store_close(store);
	free(root);
	free(name);
	return rc;
}

static int
cmd_cmp_ms(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The time between the newest snapshots, the median of the last
 * JUDGE_GAPS gaps (those of the history thinned out by retention's tiers
 * left behind); 0 for fewer than two snapshots.
 */
#define JUDGE_GAPS	16
static int64_t
cmd_judge_gap(const struct store_snapshot *snaps, size_t n)
{
	int64_t	gaps[JUDGE_GAPS];
	size_t	i, k = 0;

	for (i = n - 1; i > 0 && k < JUDGE_GAPS; i--)
		gaps[k++] = snaps[i].time_ms - snaps[i - 1].time_ms;
	if (k == 0)
		return 0;
	qsort(gaps, k, sizeof *gaps, cmd_cmp_ms);
	return gaps[k / 2];
}

/* A duration in the unit it is whole in, for messages. */
static const char *
cmd_ms(int64_t ms, char *buf, size_t len)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%lld s", (long long)(ms / 1000));
	else
		snprintf(buf, len, "%lld ms", (long long)ms);
	return buf;
}

/*
 * Replay the snapshots of a target's folder through a judgement made as
 * the options say: r->j is NULL when none of them decodes.
 */
static int
cmd_judge_replay(struct store *store, const char *name,
    struct cmd_judge_run *r, char **cause)
{
	static const struct replay_ops ops = { cmd_judge_kind, cmd_judge_add };
	struct store_snapshot	*snaps = NULL;
	size_t			 n = 0;
	int64_t			 gap;
	char			 a[32], b[32];

	if (store_list(store, name, &snaps, &n, cause) == -1)
		return -1;
	if (n == 0) {
		*cause = xstrdup("no snapshots");
		return -1;
	}
	/*
	 * As heapwatchd.yaml's window must be, at least twice the interval:
	 * a window of fewer snapshots has no floors to compare, and its
	 * functions' growth is of one snapshot against itself.
	 */
	gap = cmd_judge_gap(snaps, n);
	if ((int64_t)r->o->window_ms < 2 * gap) {
		xasprintf(cause, "a window of %s is less than twice the %s "
		    "between the snapshots (--window)",
		    cmd_ms((int64_t)r->o->window_ms, a, sizeof a),
		    cmd_ms(gap, b, sizeof b));
		store_list_free(snaps);
		return -1;
	}
	r->jp.window_ms = r->o->window_ms;
	r->jp.for_ms = r->o->for_ms;
	r->jp.min_growth = (int64_t)r->o->min_growth;
	r->jp.slow_window_ms = CONFIG_SLOW_WINDOW;
	replay_snapshots(store, name, snaps, n, INT64_MIN, r->o->max_size, &ops,
	    r, NULL);
	store_list_free(snaps);
	if (r->j == NULL || judge_latest(r->j) == NULL) {
		*cause = xstrdup("no snapshot decodes");
		return -1;
	}
	return 0;
}

/* What a judge --json says: the verdict, what grew, the changes on the way. */
static void
cmd_judge_json(const char *name, const struct cmd_judge_run *r,
    const struct alert_site *sites, size_t nsites)
{
	struct judge_view	 v;
	char			 when[32];
	json_t			*out, *top, *fn;
	size_t			 i;

	judge_view(r->j, &v);
	utc(when, sizeof when, v.active);
	out = json_object();
	json_object_set_new(out, "target", json_string(name));
	json_object_set_new(out, "kind", json_string(r->jp.kind));
	json_object_set_new(out, "state",
	    json_string(judge_state_name(v.state)));
	json_object_set_new(out, "since", v.state != ALERT_INACTIVE ?
	    json_string(when) : json_null());
	json_object_set_new(out, "growth", json_integer(v.growth));
	json_object_set_new(out, "per_second", json_real(v.per_second));
	json_object_set_new(out, "window_seconds",
	    json_integer(judge_horizon_ms(r->j) / 1000));
	json_object_set_new(out, "horizon", json_string(judge_horizon(r->j)));
	json_object_set_new(out, "signals", json_string(judge_signals(r->j)));
	json_object_set_new(out, "restarts", json_integer(v.restarts));
	top = json_array();
	for (i = 0; i < nsites; i++) {
		fn = json_object();
		json_object_set_new(fn, "function",
		    render_string(sites[i].function));
		json_object_set_new(fn, "growth",
		    json_integer(sites[i].growth));
		json_object_set_new(fn, "growing",
		    json_boolean(v.top[i].growing));
		if (sites[i].file != NULL) {
			json_object_set_new(fn, "file",
			    render_string(sites[i].file));
			json_object_set_new(fn, "line",
			    json_integer(sites[i].line));
		}
		json_array_append_new(top, fn);
	}
	json_object_set_new(out, "top", top);
	json_object_set_new(out, "changes", json_incref(r->changes));
	json_dumpf(out, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	json_decref(out);
}

/* What judge says for people: the verdict, then where the heap grew. */
static void
cmd_judge_text(const char *name, const struct cmd_judge_run *r,
    const struct alert_site *sites, size_t nsites)
{
	struct judge_view	 v;
	char			 when[32];
	size_t			 i, k;

	judge_view(r->j, &v);
	utc(when, sizeof when, v.active);
	printf("%s: %s", name, judge_state_name(v.state));
	if (v.state != ALERT_INACTIVE)
		printf(" since %s: %s growth %lld over %llu s (%s; "
		    "%s horizon)", when, r->jp.kind, (long long)v.growth,
		    (unsigned long long)(judge_horizon_ms(r->j) / 1000),
		    judge_signals(r->j), judge_horizon(r->j));
	/* Whole from 100, as the growth is, never in exponent form there. */
	printf(fabs(v.per_second) >= 100 ?
	    "; %zu snapshots in the window, %.0f per second\n" :
	    "; %zu snapshots in the window, %.4g per second\n",
	    v.nwin, v.per_second);
	for (i = 0; i < nsites; i++) {
		printf("  %+lld  %s", (long long)sites[i].growth,
		    sites[i].function);
		if (sites[i].file != NULL)
			printf("  %s:%lld", sites[i].file,
			    (long long)sites[i].line);
		printf("%s\n", v.top[i].growing ? "  (growing)" : "");
		for (k = 1; k < sites[i].nstack; k++)
			printf("        %s\n", sites[i].stack[k]);
	}
}

/*
 * judge DIR: replay a folder of stored snapshots (storage.path/TARGET)
 * through the daemon's judgement, and say what it concludes.
 */
static int
cmd_judge(int argc, char **argv, const struct options *o)
{
	struct alert_site	*sites = NULL;
	struct cmd_judge_run	 run;
	struct store		*store = NULL;
	char			*root, *name, *cause = NULL;
	size_t			 nsites = 0;
	int			 rc = 1;

	if (argc != 1)
		usage_error("judge takes one DIR, not %d", argc);
	if (o->window_ms == 0 || o->for_ms > o->window_ms) {
		log_warnx("--window must be more than 0 and at least --for");
		return 1;
	}
	if (cmd_target_dir(argv[0], false, &root, &name) == -1)
		return 1;
	memset(&run, 0, sizeof run);
	run.o = o;
	if (o->json)
		run.changes = json_array();
	if ((store = store_open(root, &cause)) == NULL ||
	    cmd_judge_replay(store, name, &run, &cause) == -1) {
		log_warnx("%s: %s", argv[0], cause);
		goto out;
	}
	if (judge_sites(run.j, store, name, &sites, &nsites, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		cause = NULL;
	}
	if (o->json)
		cmd_judge_json(name, &run, sites, nsites);
	else
		cmd_judge_text(name, &run, sites, nsites);
	rc = fflush(stdout) == EOF ? 1 : 0;
out:
	json_decref(run.changes);
	judge_sites_free(sites, nsites);
	judge_free(run.j);
	store_close(store);
	free(cause);
	free(root);
	free(name);
	return rc;
}

/* Add dir to a ':'-separated list, as pprof's options take them. */
static void
path_add(char **list, const char *dir)
{
	char	*s;

	if (*list == NULL) {
		*list = xstrdup(dir);
		return;
	}
	xasprintf(&s, "%s:%s", *list, dir);
	free(*list);
	*list = s;
}

/* The long options, by the codes getopt_long() gives them. */
static const struct option longopts[] = {
	{ "sample-index", required_argument, NULL, 'i' },
	{ "nodes", required_argument, NULL, 'n' },
	{ "cum", no_argument, NULL, 'c' },
	{ "json", no_argument, NULL, 'j' },
	{ "max-size", required_argument, NULL, 'm' },
	{ "times", no_argument, NULL, 't' },
	{ "window", required_argument, NULL, 'W' },
	{ "for", required_argument, NULL, 'F' },
	{ "min-growth", required_argument, NULL, 'G' },
	{ "source-path", required_argument, NULL, 'S' },
	{ "timeout", required_argument, NULL, 'O' },
	{ "interval", required_argument, NULL, 'I' },
	{ "trim-path", required_argument, NULL, 'T' },
	{ "pack", no_argument, NULL, 'P' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

/* An option's name, from its code, as a message names it. */
static const char *
option_name(int ch)
{
	static char	 name[64];
	size_t		 i;

	for (i = 0; longopts[i].name != NULL; i++)
		if (longopts[i].val == ch)
			break;
	if (ch == 'i' || ch == 'n')
		snprintf(name, sizeof name, "-%c/--%s", ch, longopts[i].name);
	else
		snprintf(name, sizeof name, "--%s", longopts[i].name);
	return name;
}

/* Take one option, ch as getopt_long() gives it, into o. */
static void
options_set(int ch, const char *arg, struct options *o)
{
	const char	*errstr;
	long long	 n;
	uint64_t	 size;

	switch (ch) {
	case 'i':
		o->sample_type = arg;
		break;
	case 'n':
		if (units_number(arg, 1, 100000000, &n, &errstr) == -1)
			fatalx("-n %s: %s", arg, errstr);
		o->nmax = n;
		break;
	case 'c':
		o->order = REPORT_BY_CUM;
		break;
	case 'j':
		o->json = true;
		break;
	case 't':
		o->times = true;
		break;
	case 'P':
		o->pack = true;
		break;
	case 'W':
	case 'F':
		if (units_duration(arg, ch == 'W' ? &o->window_ms :
		    &o->for_ms, &errstr) == -1)
			fatalx("--%s %s: %s", ch == 'W' ? "window" : "for",
			    arg, errstr);
		break;
	case 'G':
		if (units_size(arg, &o->min_growth, &errstr) == -1)
			fatalx("--min-growth %s: %s", arg, errstr);
		if (o->min_growth == 0)
			fatalx("--min-growth %s: must be more than 0", arg);
		if (o->min_growth > CONFIG_GROWTH_MAX)
			fatalx("--min-growth %s: too large (at most %s)", arg,
			    units_fmt_size(CONFIG_GROWTH_MAX));
		o->min_growth_set = true;
		break;
	case 'm':
		if (units_size(arg, &size, &errstr) == -1)
			fatalx("--max-size %s: %s", arg, errstr);
		if (size == 0 || size > SIZE_MAX / 2)
			fatalx("--max-size %s: out of range", arg);
		o->max_size = size;
		break;
	case 'O':
	case 'I':
		if (units_duration(arg, ch == 'O' ? &o->timeout_ms :
		    &o->interval_ms, &errstr) == -1)
			fatalx("--%s %s: %s", ch == 'O' ? "timeout" :
			    "interval", arg, errstr);
		if ((ch == 'O' ? o->timeout_ms : o->interval_ms) == 0 ||
		    (ch == 'O' && o->timeout_ms > LONG_MAX))
			fatalx("--%s %s: must be more than 0",
			    ch == 'O' ? "timeout" : "interval", arg);
		if (ch == 'I') {
			o->interval = arg;
			o->interval_set = true;
		}
		break;
	case 'S':
	case 'T':
		path_add(ch == 'S' ? &o->source_path : &o->trim_path, arg);
		break;
	case 'h':
		usage(0);
	case 'V':
		printf("heapwatch %s\n", PACKAGE_VERSION);
		exit(0);
	default:
		usage(2);
	}
}

/*
 * The options after command cmd, which takes those of OPTION_CODES in
 * takes; *argc and *argv are left at the rest. An option the command
 * would ignore is a mistake to say, whatever its value.
 */
static void
options_read(int *argc, char ***argv, const char *cmd, const char *takes,
    struct options *o)
{
	int	ch;

	/* getopt_long() names the program as argv[0] in what it prints. */
	(*argv)[0] = (char *)"heapwatch";
	while ((ch = getopt_long(*argc, *argv, "i:n:hV", longopts,
	    NULL)) != -1) {
		if (ch != 0 && strchr(OPTION_CODES, ch) != NULL &&
		    strchr(takes, ch) == NULL)
			usage_error("%s does not take %s", cmd,
			    option_name(ch));
		options_set(ch, optarg, o);
	}
	*argc -= optind;
	*argv += optind;
}

/* The commands, by name, and the options each takes (OPTION_CODES). */
static const struct {
	const char	*name;
	int		(*run)(int, char **, const struct options *);
	const char	*takes;
} commands[] = {
	{ "top", cmd_top, "incjmtO" },
	{ "diff", cmd_diff, "incjmtOI" },
	{ "list", cmd_list, "ijmOST" },
	{ "judge", cmd_judge, "WFGjm" },
	{ "export", cmd_export, "m" },
	{ "import", cmd_import, "Pm" },
};

int
main(int argc, char **argv)
{
	struct options	 o = { 30 * 60000, 15 * 60000, 16 << 20, false, NULL,
			    0, REPORT_BY_FLAT, false, false, PROFILE_MAX_INFLATED,
			    NULL, NULL, 60000, 30000, "30s", false, false };
	const char	*cmd;
	size_t		 i;
	int		 rc;

	log_init("heapwatch", 0);
	xmalloc_tune();
	xmalloc_fresh();
	if (argc >= 2 && (strcmp(argv[1], "-V") == 0 ||
	    strcmp(argv[1], "--version") == 0)) {
		printf("heapwatch %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0))
		usage(0);
	if (argc < 2)
		usage_error("no command given");
	cmd = argv[1];
	for (i = 0; i < sizeof commands / sizeof *commands; i++)
		if (strcmp(cmd, commands[i].name) == 0)
			break;
	if (i == sizeof commands / sizeof *commands && cmd[0] == '-')
		usage_error("%s: the command comes first (top, diff, list, "
		    "judge, export, import), then its options", cmd);
	if (i == sizeof commands / sizeof *commands)
		usage_error("unknown command \"%s\"", cmd);
	argc--;
	argv++;
	options_read(&argc, &argv, cmd, commands[i].takes, &o);
	rc = commands[i].run(argc, argv, &o);
	free(o.source_path);
	free(o.trim_path);
	fetch_done();
	return rc;
}
