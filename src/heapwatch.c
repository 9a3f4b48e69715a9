/*
 * heapwatch: the profile engine on the command line. `top` lists the
 * functions of one pprof profile, `diff` the growth between two, with the
 * numbers `go tool pprof -top [-base]` prints.
 */
#include "config.h"

#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "log.h"
#include "profile.h"
#include "render.h"
#include "report.h"
#include "units.h"
#include "xmalloc.h"

struct options {
	const char		*sample_type;
	size_t			 nmax;
	enum report_order	 order;
	bool			 json;
	bool			 times;
	size_t			 max_size;
};

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: heapwatch top [-i SAMPLE_TYPE] [-n N] [--cum] [--json] "
	    "PROFILE\n"
	    "       heapwatch diff [-i SAMPLE_TYPE] [-n N] [--cum] [--json] "
	    "BASE CURRENT\n"
	    "options:\n"
	    "  -i, --sample-index TYPE  sample type (inuse_space, "
	    "alloc_objects, ...)\n"
	    "  -n, --nodes N            show the first N functions only\n"
	    "      --cum                sort by cumulative value\n"
	    "      --json               print one JSON object\n"
	    "      --max-size SIZE      refuse profiles larger than SIZE once"
	    " decompressed\n"
	    "                           (default 256MiB)\n"
	    "      --times              print where the time went on stderr\n"
	    "  -V, --version            print the version\n");
	exit(status);
}

static double
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
print_times(const char *what, const struct profile *p)
{
	fprintf(stderr, "%s: %zu bytes, %zu decompressed; inflate %.1f ms, "
	    "parse %.1f ms, intern %.1f ms\n", what, p->stats.bytes_in,
	    p->stats.bytes_out, p->stats.inflate_ms, p->stats.parse_ms,
	    p->stats.reduce_ms);
}

/* Reading, inflating and unpacking one file: the part run on a thread. */
struct job {
	const char		*path;
	size_t			 max;
	struct profile_raw	*raw;
	char			*cause;
	pthread_t		 thread;
};

static void *
job_run(void *arg)
{
	struct job	*j = arg;
	void		*data;
	size_t		 len;
	char		*why = NULL;

	if (profile_read_file(j->path, j->max, &data, &len, &j->cause) == -1)
		return NULL;
	j->raw = profile_parse(data, len, j->max, &why);
	free(data);
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

static int
cmd_top(int argc, char **argv, const struct options *o)
{
	struct job	 j = { 0 };
	struct profile	*p;
	struct report	*r = NULL;
	char		*cause = NULL;
	double		 t0, t1, t2;
	int		 idx, rc = 1;

	if (argc != 1)
		usage(2);
	j.path = argv[0];
	j.max = o->max_size;
	t0 = now_ms();
	job_run(&j);
	if ((p = job_finish(&j, NULL)) == NULL)
		goto out;
	if ((idx = profile_sample_index(p, o->sample_type, &cause)) == -1) {
		log_warnx("%s: %s", j.path, cause);
		goto out;
	}
	t1 = now_ms();
	if ((r = report_top(p, idx, o->order, &cause)) == NULL) {
		log_warnx("%s: %s", j.path, cause);
		goto out;
	}
	t2 = now_ms();
	print_report(r, o);
	if (o->times) {
		print_times(j.path, p);
		fprintf(stderr, "decode %.1f ms, analysis %.1f ms, output "
		    "%.1f ms\n", t1 - t0, t2 - t1, now_ms() - t2);
	}
	rc = 0;
out:
	free(cause);
	report_free(r);
	profile_free(p);
	job_free(&j);
	return rc;
}

static int
cmd_diff(int argc, char **argv, const struct options *o)
{
	struct job	 base = { 0 }, cur = { 0 };
	struct profile	*pb = NULL, *pc = NULL;
	struct symtab	*st;
	struct report	*r = NULL;
	char		*cause = NULL;
	const char	*name;
	double		 t0, t1, t2, t3;
	int		 idx, rc = 1;
	bool		 threaded;

	if (argc != 2)
		usage(2);
	base.path = argv[0];
	cur.path = argv[1];
	base.max = cur.max = o->max_size;
	/* The two files are read and unpacked at once, on two cores. */
	t0 = now_ms();
	threaded = pthread_create(&base.thread, NULL, job_run, &base) == 0;
	if (!threaded)
		job_run(&base);
	job_run(&cur);
	if (threaded)
		pthread_join(base.thread, NULL);
	t1 = now_ms();
	st = symtab_new();
	/* One error is told, the base's first. */
	if (base.raw == NULL) {
		log_warnx("%s", base.cause);
		goto out;
	}
	/* pprof merges the current profile first, then the base. */
	if ((pc = job_finish(&cur, st)) == NULL ||
	    (pb = job_finish(&base, st)) == NULL)
		goto out;
	/* pprof takes the first default sample type of the two. */
	name = o->sample_type;
	if (name == NULL && pc->default_type == 0)
		name = symtab_str(st, pb->default_type)->s;
	if ((idx = profile_sample_index(pc, name, &cause)) == -1) {
		log_warnx("%s: %s", cur.path, cause);
		goto out;
	}
	t2 = now_ms();
	if ((r = report_diff(pb, pc, idx, o->order, &cause)) == NULL) {
		log_warnx("%s", cause);
		goto out;
	}
	t3 = now_ms();
	print_report(r, o);
	if (o->times) {
		print_times(base.path, pb);
		print_times(cur.path, pc);
		fprintf(stderr, "parallel read and parse %.1f ms, intern %.1f "
		    "ms, analysis %.1f ms, output %.1f ms\n", t1 - t0,
		    t2 - t1, t3 - t2, now_ms() - t3);
	}
	rc = 0;
out:
	free(cause);
	report_free(r);
	profile_free(pb);
	profile_free(pc);
	symtab_free(st);
	job_free(&base);
	job_free(&cur);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sample-index", required_argument, NULL, 'i' },
		{ "nodes", required_argument, NULL, 'n' },
		{ "cum", no_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "max-size", required_argument, NULL, 'm' },
		{ "times", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct options	 o = { NULL, 0, REPORT_BY_FLAT, false, false,
			    PROFILE_MAX_INFLATED };
	const char	*cmd, *errstr;
	long long	 n;
	uint64_t	 size;
	int		 ch;

	log_init("heapwatch", 0);
	if (argc >= 2 && (strcmp(argv[1], "-V") == 0 ||
	    strcmp(argv[1], "--version") == 0)) {
		printf("heapwatch %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0))
		usage(0);
	if (argc < 2)
		usage(2);
	cmd = argv[1];
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "i:n:hV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'i':
			o.sample_type = optarg;
			break;
		case 'n':
			if (units_number(optarg, 1, 100000000, &n,
			    &errstr) == -1)
				fatalx("-n %s: %s", optarg, errstr);
			o.nmax = n;
			break;
		case 'c':
			o.order = REPORT_BY_CUM;
			break;
		case 'j':
			o.json = true;
			break;
		case 't':
			o.times = true;
			break;
		case 'm':
			if (units_size(optarg, &size, &errstr) == -1)
				fatalx("--max-size %s: %s", optarg, errstr);
			if (size == 0 || size > SIZE_MAX / 2)
				fatalx("--max-size %s: out of range", optarg);
			o.max_size = size;
			break;
		case 'h':
			usage(0);
		case 'V':
			printf("heapwatch %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(2);
		}
	}
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "top") == 0)
		return cmd_top(argc, argv, &o);
	if (strcmp(cmd, "diff") == 0)
		return cmd_diff(argc, argv, &o);
	log_warnx("unknown command \"%s\"", cmd);
	usage(2);
}
