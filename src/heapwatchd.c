/*
 * heapwatchd: scrapes the pprof endpoints of Go services, keeps the
 * snapshots, and serves what it knows over HTTP. One libevent loop owns
 * everything but the decoding of scraped bodies, which a worker thread does
 * (decode.c); systemd supervises it (sd_notify when built with libsystemd).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#include <pthread.h>
#endif
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "clock.h"
#include "decode.h"
#include "discovery.h"
#include "api.h"
#include "conf.h"
#include "store.h"
#include "target.h"
#include "log.h"
#include "procstat.h"
#include "profile.h"
#include "scrape.h"
#include "server.h"
#include "summary.h"
#include "notifier.h"
#include "xmalloc.h"
#include "yamlx.h"

/*
 * How often the store's file system is synced: the snapshots of the last
 * second are what a power loss may take (store_defer_sync()).
 */
#define HWD_SYNC_MS	1000

/* The ways scrapes give way to the decoding workers, see hwd_behind(). */
enum hwd_behind {
	HWD_GATED,		/* scrapes wait to start: hwd_backlog_room() */
	HWD_SKIPPED,		/* invalid targets' scrapes skipped: target.c */
	HWD_NBEHIND
};

/*
 * The daemon's state: one event loop owns the configuration, the store,
 * the scraper, the HTTP server and the targets; nothing here is touched
 * from another thread but sync_failing and the counter st.syncs_failed.
 */
struct hwd {
	struct event_base	*base;
	struct config		*conf;
	struct store		*store;
	struct scrape		*scrape;
	struct decode		*decode;
	struct server		*server;
	struct notifier		*notifier;
	struct store_retention	 retention;	/* conf's, for the targets */
	struct names		*names;		/* the targets' functions' */
	struct targets		 targets;
	struct discovery	*discovery;
	bool			 behind[HWD_NBEHIND];	/* said, by way */
	struct api		*api;
	struct api_state	 st;		/* what the api shows */
	struct event		*ev_sig[3];	/* SIGHUP, SIGTERM, SIGINT */
	struct event		*ev_wd;		/* systemd's watchdog, or NULL */
	struct event		*ev_tick;	/* the store's, each sync */
	bool			 sync_failing;	/* said; the syncer's thread's
						   alone (hwd_sync_failed()) */
	int64_t			 trim_ms;	/* the last trim, or 0 */
	struct event		*ev_trim;	/* a trim put off, or NULL */
};

/* What the command line asks for. */
struct hwd_options {
	const char	*path;		/* -c */
	const char	*user;		/* -u, or NULL */
	bool		 check;		/* -t */
	bool		 as_root;	/* -R */
	int		 verbose;	/* 1, and 1 more a -v */
};

static void
notify(const char *state)
{
#ifdef HAVE_SYSTEMD
	sd_notify(0, state);
#else
	(void)state;
#endif
}

/* Become USER for good: its groups, its gid, its uid. */
static void
drop_privileges(const char *user)
{
	struct passwd	*pw;

	if ((pw = getpwnam(user)) == NULL)
		fatalx("-u %s: no such user", user);
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		fatal("-u %s: dropping privileges", user);
	if (setuid(0) != -1 && pw->pw_uid != 0)
		fatalx("-u %s: root could be taken back", user);
	log_info("running as %s", user);
}

/*
 * Each scrape in flight holds a socket: take every file the hard limit
 * allows. systemd leaves the soft limit at 1024 for programs that use
 * select(); libevent, curl's multi socket interface and libmicrohttpd in
 * epoll mode do not.
 */
static void
raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("raising the limit of open files");
}

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: heapwatchd [-RtvV] [-u USER] -c FILE\n"
	    "  -c FILE    the configuration (YAML)\n"
	    "  -t         check the configuration and exit\n"
	    "  -u USER    drop to USER once listening (when started as root)\n"
	    "  -R         run as root all the same\n"
	    "  -v         debug logging\n"
	    "  -V, --version  print the version\n"
	    "  -h, --help     print this\n");
	exit(status);
}

/* A usage error: why, on one line, then the usage; exits 2. */
static void __attribute__((noreturn))
usage_error(const char *why, const char *what)
{
	fprintf(stderr, "heapwatchd: %s%s\n", why, what);
	usage(2);
}

/*
 * Load a configuration; on errors print them all and return NULL, with
 * *first, when not NULL, the first of them and how many more.
 */
static struct config *
load(const char *path, bool quiet, char **first)
{
	struct yamlx_errors	 errs;
	struct config		*conf;

	memset(&errs, 0, sizeof errs);
	if ((conf = config_load(path, &errs)) == NULL && !quiet)
		yamlx_errors_print(&errs, stderr);
	if (conf == NULL && first != NULL && errs.n > 1)
		xasprintf(first, "%s (and %zu more errors, in the log)",
		    errs.list[0].text, errs.n - 1);
	else if (conf == NULL && first != NULL)
		xasprintf(first, "%s", errs.n == 1 ? errs.list[0].text :
		    "the file did not load");
	yamlx_errors_free(&errs);
	return conf;
}

/* Check what the store holds for a target before scraping it again. */
static void
recover_target(struct hwd *hwd, const char *name)
{
	struct store_recovery	 rec;
	char			*cause = NULL;

	memset(&rec, 0, sizeof rec);
	if (store_recover(hwd->store, name, PROFILE_MAX_INFLATED, &rec,
	    &cause) == -1) {
		log_warnx("%s: recovery: %s", name, cause);
		free(cause);
		return;
	}
	if (rec.tmp_removed > 0)
		log_info("%s: removed %zu unfinished snapshot writes", name,
		    rec.tmp_removed);
	if (rec.quarantined > 0)
		log_warnx("%s: set aside %zu snapshots that do not decode in "
		    "%s/%s (first: %s)", name, rec.quarantined, name,
		    STORE_QUARANTINE, rec.first_cause);
	store_recovery_clear(&rec);
}

/* A target's settings and where they sit in the list of all targets. */
struct candidate {
	const struct target_config	*cfg;
	size_t				 pos;
};

static int
candidate_cmp(const void *a, const void *b)
{
	const struct candidate	*ca = a, *cb = b;
	int			 c;

	if ((c = strcmp(ca->cfg->name, cb->cfg->name)) != 0)
		return c;
	return ca->pos < cb->pos ? -1 : ca->pos > cb->pos;
}

static int
candidate_pos_cmp(const void *a, const void *b)
{
	const struct candidate	*ca = a, *cb = b;

	return ca->pos < cb->pos ? -1 : ca->pos > cb->pos;
}

#ifdef HAVE_MALLOC_TRIM
/*
 * The memory a backlog's bodies took is given back to the system once the
 * workers have caught up: glibc keeps it between the blocks still in use,
 * where it never trims a heap, so that the RSS stayed at the backlog's
 * peak. With 1,000 packed targets of bench/scale.sh, wrk on /metrics and
 * stress-ng beside them, a backlog at its 16 MiB left the RSS at 97.7
 * MiB 20 s after; trimmed on a thread, in a run of the same setup, 36.8
 * MiB went back in 11.3 ms, and 20 s after the RSS was 79.9 MiB. The
 * trim also gives back what xmalloc_tune() lets each thread keep (up to
 * 16 MiB free, so that the workers do not fault their arrays in at every
 * profile) and splits the huge pages of what it frees: the next profiles
 * fault some of it in again. So it is done on a thread of its own, the
 * loop waiting only if it allocates from an arena while the trim holds
 * its lock, and at most once every HWD_TRIM_EVERY_MS: a backlog that
 * ends sooner after the last trim has its trim put off until then.
 */
#define HWD_TRIM_EVERY_MS	(10 * 60 * 1000)

static void *
hwd_trim_run(void *arg)
{
	uint64_t	before, after;
	int64_t		t0, t1;

	before = procstat_rss();
	t0 = clock_mono_us();
	(void)malloc_trim(0);
	t1 = clock_mono_us();
	after = procstat_rss();
	if (before == 0 || after == 0)
		log_info("the memory the backlog took is given back, in %.1f "
		    "ms", (double)(t1 - t0) / 1e3);
	else
		log_info("the memory the backlog took is given back: %.1f MiB "
		    "in %.1f ms, resident %.1f MiB",
		    before > after ? (double)(before - after) / (1 << 20) :
		    0.0, (double)(t1 - t0) / 1e3, (double)after / (1 << 20));
	return NULL;
}

/* Trim on a thread of its own, or on the loop when none starts. */
static void
hwd_trim(struct hwd *hwd)
{
	pthread_t	t;
	sigset_t	all, old;
	int		rc;

	hwd->trim_ms = clock_mono_ms();
	/* Signals are the loop's: the thread takes none. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&t, NULL, hwd_trim_run, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0) {
		pthread_detach(t);
		return;
	}
	log_warnx("no thread to give memory back: %s; given back on the "
	    "loop", strerror(rc));
	(void)hwd_trim_run(NULL);
}

/* A trim put off is due: made unless scrapes wait for a backlog again. */
static void
on_trim_due(evutil_socket_t fd, short what, void *arg)
{
	struct hwd	*hwd = arg;

	if (!hwd->behind[HWD_GATED])
		hwd_trim(hwd);
}

/* Trim now, or once HWD_TRIM_EVERY_MS since the last trim is over. */
static void
hwd_trim_soon(struct hwd *hwd)
{
	int64_t		now = clock_mono_ms(), wait;
	struct timeval	tv;

	if (hwd->trim_ms == 0 || now - hwd->trim_ms >= HWD_TRIM_EVERY_MS) {
		hwd_trim(hwd);
		return;
	}
	if (hwd->ev_trim == NULL)
		hwd->ev_trim = evtimer_new(hwd->base, on_trim_due, hwd);
	if (!evtimer_pending(hwd->ev_trim, NULL)) {
		wait = hwd->trim_ms + HWD_TRIM_EVERY_MS - now;
		tv = clock_tv_ms(wait);
		evtimer_add(hwd->ev_trim, &tv);
	}
}
#endif

/*
 * The one place that says the decoding workers are behind, once each time
 * scrapes start to give way to them in one of the ways, and again only
 * after that way has been left (behind unset); bytes: the backlog, or 0.
 * The end of a wait for the backlog is said too, and the memory it took
 * given back (hwd_trim_run()).
 */
static void
hwd_behind(struct hwd *hwd, enum hwd_behind way, bool behind, size_t bytes)
{
	static const char *const what[HWD_NBEHIND] = {
		[HWD_GATED] = "scrapes wait to start",
		[HWD_SKIPPED] = "targets serving invalid profiles are skipped",
	};

	if (behind && !hwd->behind[way]) {
		if (bytes > 0)
			log_warnx("the decoding workers are behind: %zu bytes "
			    "of bodies fetched or waiting, %s until they "
			    "catch up", bytes, what[way]);
		else
			log_warnx("the decoding workers are behind: %s until "
			    "they catch up", what[way]);
	} else if (!behind && hwd->behind[way] && way == HWD_GATED) {
		log_info("the decoding workers caught up");
#ifdef HAVE_MALLOC_TRIM
		hwd_trim_soon(hwd);
#endif
	}
	hwd->behind[way] = behind;
}

/* target.c's way of telling hwd_behind() of its skipped scrapes. */
static void
hwd_skipping(bool skipping, void *arg)
{
	hwd_behind(arg, HWD_SKIPPED, skipping, 0);
}

/*
 * The targets this heapwatchd watches: the static ones, then the
 * discovered ones whose names are free, of those the ones of its shard.
 * Every instance of a shard set computes the same list from the same
 * files, so each target falls to exactly one of them.
 */
static struct candidate *
select_targets(struct hwd *hwd, const struct config *conf, size_t *nout)
{
	const struct target_config	*disc = NULL;
	struct candidate		*c;
	size_t				 ndisc = 0, n, i, j;

	if (hwd->discovery != NULL)
		disc = discovery_targets(hwd->discovery, &ndisc);
	n = conf->ntargets + ndisc;
	c = xcalloc(n == 0 ? 1 : n, sizeof *c);
	for (i = 0; i < conf->ntargets; i++) {
		c[i].cfg = &conf->targets[i];
		c[i].pos = i;
	}
	for (i = 0; i < ndisc; i++) {
		c[conf->ntargets + i].cfg = &disc[i];
		c[conf->ntargets + i].pos = conf->ntargets + i;
	}
	/* The first of a name keeps it; static targets come first. */
	qsort(c, n, sizeof *c, candidate_cmp);
	hwd->st.nclashes = 0;
	for (i = j = 0; i < n; i++) {
		if (j > 0 && strcmp(c[j - 1].cfg->name, c[i].cfg->name) == 0) {
			log_warnx("%s: %s is skipped, the name is taken",
			    c[i].cfg->name, c[i].cfg->url);
			hwd->st.nclashes++;
			continue;
		}
		c[j++] = c[i];
	}
	n = j;
	qsort(c, n, sizeof *c, candidate_pos_cmp);
	hwd->st.nstatic = hwd->st.ndiscovered = 0;
	for (i = j = 0; i < n; i++) {
		if (conf->shard.count > 1 && discovery_shard(c[i].cfg->name,
		    conf->shard.count) != conf->shard.index)
			continue;
		if (c[i].pos < conf->ntargets)
			hwd->st.nstatic++;
		else
			hwd->st.ndiscovered++;
		c[j++] = c[i];
	}
	*nout = j;
	return c;
}

/*
 * A running target by its name. The name is its settings', which outlive
 * apply_targets() (the old configuration and the discovered targets are
 * freed after it), so the index stays sorted once the target is freed.
 */
struct named {
	const char	*name;
	struct target	*t;
};

static int
named_cmp(const void *a, const void *b)
{
	const struct named	*na = a, *nb = b;

	return strcmp(na->name, nb->name);
}

static int
named_key_cmp(const void *key, const void *b)
{
	const struct named	*nb = b;

	return strcmp(key, nb->name);
}

/* Make the targets of a configuration and the files, keeping unchanged. */
static void
apply_targets(struct hwd *hwd, struct config *conf, bool start)
{
	struct targets		 old = TAILQ_HEAD_INITIALIZER(old);
	struct target		*t;
	struct target_deps	 deps;
	struct target_carry	 carry;
	struct named		*byname, *found;
	struct candidate	*c;
	const struct target_config *cfg;
	size_t			 i, n, nold = 0;

	/* Every target reads the retention here, which follows reloads. */
	hwd->retention.snapshots = conf->retention.snapshots;
	hwd->retention.age_ms = conf->retention.age_ms;
	hwd->retention.size = conf->retention.size;
	hwd->retention.ntiers = conf->retention.ntiers;
	for (i = 0; i < conf->retention.ntiers && i < STORE_TIERS_MAX; i++) {
		hwd->retention.tiers[i].after_ms =
		    conf->retention.tiers[i].after_ms;
		hwd->retention.tiers[i].every_ms =
		    conf->retention.tiers[i].every_ms;
	}
	memset(&deps, 0, sizeof deps);
	deps.base = hwd->base;
	deps.store = hwd->store;
	deps.scrape = hwd->scrape;
	deps.decode = hwd->decode;
	deps.notifier = hwd->notifier;
	deps.retention = &hwd->retention;
	deps.behind = hwd_skipping;
	deps.behind_arg = hwd;
	deps.names = hwd->names;
	deps.repeats = &hwd->st.scrape_repeats;
	c = select_targets(hwd, conf, &n);
	/* Thousands of discovered targets: find the old ones by name. */
	byname = xcalloc(hwd->st.ntargets + 1, sizeof *byname);
	TARGET_FOREACH(t, &hwd->targets) {
		byname[nold].name = target_config(t)->name;
		byname[nold++].t = t;
	}
	qsort(byname, nold, sizeof *byname, named_cmp);
	target_list_move(&old, &hwd->targets);
	hwd->st.ntargets = 0;
	for (i = 0; i < n; i++) {
		cfg = c[i].cfg;
		found = bsearch(cfg->name, byname, nold, sizeof *byname,
		    named_key_cmp);
		t = found != NULL ? found->t : NULL;
		if (t != NULL && config_target_equal(target_config(t), cfg)) {
			target_list_remove(&old, t);
			target_reconfigure(t, cfg);
		} else {
			memset(&carry, 0, sizeof carry);
			if (t != NULL) {
				log_info("%s: changed", cfg->name);
				target_list_remove(&old, t);
				target_carry_take(t, &carry);
				target_free(t);
			} else if (!start)
				log_info("%s: added", cfg->name);
			recover_target(hwd, cfg->name);
			t = target_new(&deps, cfg);
			target_carry_give(t, &carry);
			target_start(t, true);
		}
		target_list_append(&hwd->targets, t);
		hwd->st.ntargets++;
	}
	while ((t = TAILQ_FIRST(&old)) != NULL) {
		log_info("%s: removed", target_config(t)->name);
		target_list_remove(&old, t);
		target_free(t);
	}
	free(byname);
	free(c);
}

/* The target files changed: take what they say now. */
static void
on_discovered(void *arg)
{
	struct hwd	*hwd = arg;

	apply_targets(hwd, hwd->conf, false);
	api_metrics_forget(hwd->api);
	log_info("targets discovered anew: watching %zu", hwd->st.ntargets);
}

/* How people and receivers reach this heapwatchd, for links. */
static char *
hwd_external_url(const struct config *conf)
{
	const char	*scheme = conf->web.cert != NULL ? "https" : "http";
	char		*url;
	bool		 any;

	if (conf->web.external_url != NULL)
		return xstrdup(conf->web.external_url);
	any = conf->listen_host[0] == '\0' ||
	    strcmp(conf->listen_host, "0.0.0.0") == 0 ||
	    strcmp(conf->listen_host, "::") == 0;
	if (any)
		xasprintf(&url, "%s://localhost:%u", scheme, conf->listen_port);
	else if (strchr(conf->listen_host, ':') != NULL)
		xasprintf(&url, "%s://[%s]:%u", scheme, conf->listen_host,
		    conf->listen_port);
	else
		xasprintf(&url, "%s://%s:%u", scheme, conf->listen_host,
		    conf->listen_port);
	return url;
}

static bool
str_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Check what config_load() cannot: that web.tls can serve HTTPS. */
static int
check_web(const struct config *conf, char **cause)
{
	char	*why = NULL;

	if (conf->web.cert == NULL)
		return 0;
	if (server_check_tls(conf->web.cert, conf->web.key, &why) == -1) {
		xasprintf(cause, "%s: web.tls: %s, %s: %s", conf->path,
		    conf->web.cert_file, conf->web.key_file, why);
		free(why);
		return -1;
	}
	return 0;
}

static int
hwd_reload(struct hwd *hwd, char **cause)
{
	struct config	*conf, *config_free_later;

	notify("RELOADING=1");
	if ((conf = load(hwd->conf->path, false, cause)) == NULL)
		goto fail;
	if (strcmp(conf->storage_path, hwd->conf->storage_path) != 0) {
		xasprintf(cause, "storage.path cannot change on reload; "
		    "restart heapwatchd");
		config_free(conf);
		goto fail;
	}
	if (check_web(conf, cause) == -1) {
		config_free(conf);
		goto fail;
	}
	/*
	 * A new address or certificate: the server starts anew on it and
	 * the requests under way (this one, for POST /-/reload) finish on
	 * the old settings.
	 */
	if (server_restart(hwd->server, conf->listen, conf->web.cert,
	    conf->web.key, cause) == -1) {
		log_warnx("%s; staying on %s", *cause, hwd->conf->listen);
		config_free(conf);
		goto fail;
	}
	if (strcmp(conf->listen, hwd->conf->listen) != 0 ||
	    !str_same(conf->web.cert, hwd->conf->web.cert) ||
	    !str_same(conf->web.key, hwd->conf->web.key))
		log_info("listening on %s%s", conf->listen,
		    conf->web.cert != NULL ? " (https)" : "");
	server_set_auth(hwd->server, conf->web.users, conf->web.nusers,
	    conf->web.bearer_token);
	{
		char *url = hwd_external_url(conf);

		notifier_reconfigure(hwd->notifier, conf->webhooks,
		    conf->nwebhooks);
		notifier_set_external_url(hwd->notifier, url);
		free(url);
	}
	/* Targets judge with the new file's webhooks. */
	config_free_later = hwd->conf;
	hwd->conf = conf;
	/* Snapshots from now on; those stored stay readable in theirs. */
	store_set_format(hwd->store, conf->storage_pack ? STORE_PACK :
	    STORE_PPROF);
	hwd->st.conf = conf;
	discovery_configure(hwd->discovery, conf);
	apply_targets(hwd, conf, false);
	discovery_release(hwd->discovery);
	config_free(config_free_later);
	hwd->st.last_reload_ok = true;
	hwd->st.last_reload = clock_real_ms();
	api_metrics_forget(hwd->api);
	log_info("configuration reloaded: %zu targets", hwd->st.ntargets);
	notify("READY=1");
	return 0;
fail:
	hwd->st.reloads_failed++;
	hwd->st.last_reload_ok = false;
	api_metrics_forget(hwd->api);
	log_warnx("reload refused, the old configuration stays: %s", *cause);
	notify("READY=1");
	return -1;
}

/* POST /-/reload, from the API: the same reload as SIGHUP's. */
static int
on_reload_request(void *arg, char **cause)
{
	return hwd_reload(arg, cause);
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	char	*cause = NULL;

	if (hwd_reload(arg, &cause) == -1)
		free(cause);
}

static void
on_term(evutil_socket_t sig, short what, void *arg)
{
	struct hwd	*hwd = arg;

	log_info("stopping on signal %d", (int)sig);
	notify("STOPPING=1");
	event_base_loopexit(hwd->base, NULL);
}

/*
 * Once a sync period: delete the snapshots retention dropped that the
 * syncer has now synced the displacing ones of (store_tick()), so that a
 * target not stored again soon holds no more than retention keeps.
 */
static void
on_store_tick(evutil_socket_t fd, short what, void *arg)
{
	struct hwd	*hwd = arg;
	char		*cause = NULL;

	if (store_tick(hwd->store, &cause) == -1) {
		log_warnx("retention: %s", cause);
		free(cause);
	}
}

#ifdef HAVE_SYSTEMD
static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}
#endif

/* Read the command line into o; exits on --version, -V, -h or a mistake. */
static void
hwd_options(int argc, char **argv, struct hwd_options *o)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch;

	memset(o, 0, sizeof *o);
	o->verbose = 1;
	/* getopt_long() names the program as argv[0] in what it prints. */
	argv[0] = (char *)"heapwatchd";
	while ((ch = getopt_long(argc, argv, "c:hRtu:vV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->path = optarg;
			break;
		case 'R':
			o->as_root = true;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 't':
			o->check = true;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'V':
			printf("heapwatchd %s\n", PACKAGE_VERSION);
			exit(0);
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (optind != argc)
		usage_error("unexpected argument: ", argv[optind]);
	if (o->path == NULL)
		usage_error("-c FILE, the configuration, is needed", "");
}

/* -t: say whether the configuration loaded is good, and how many targets. */
static int
hwd_check(struct hwd *hwd, const char *path)
{
	struct discovery_stats	st;
	size_t			ntargets;
	bool			sd;

	/*
	 * The target files' problems, which a running heapwatchd logs and
	 * outlives (keeping what a file gave last), fail the check, as
	 * promtool's check of file_sd files fails.
	 */
	hwd->discovery = discovery_new(NULL, NULL, NULL);
	discovery_configure(hwd->discovery, hwd->conf);
	discovery_stats(hwd->discovery, &st);
	discovery_free(hwd->discovery);
	ntargets = hwd->conf->ntargets;
	sd = hwd->conf->nfile_sd > 0;
	config_free(hwd->conf);
	if (st.files_failing > 0) {
		fprintf(stderr, "%s: %llu of %llu target files failing\n", path,
		    (unsigned long long)st.files_failing,
		    (unsigned long long)st.files);
		return 1;
	}
	printf("%s: configuration OK, %zu targets", path, ntargets);
	if (sd)
		printf(", %llu discovered in %llu files",
		    (unsigned long long)st.targets,
		    (unsigned long long)st.files);
	printf("\n");
	return 0;
}

/*
 * Whether another scrape may start: while the bodies being fetched and
 * those waiting for the workers are under DECODE_BACKLOG_BYTES. Beyond,
 * scrapes wait their turn rather than pile up bodies the workers cannot
 * take yet. The scrapes of targets not known to serve profiles (new ones,
 * and those whose last body did not decode) wait from half of it, so that
 * their bodies, bombs among them, always leave the other half to the
 * targets that serve profiles.
 */
static bool
hwd_backlog_room(bool later, void *arg)
{
	struct hwd	*hwd = arg;
	size_t		 bytes;

	bytes = scrape_bytes(hwd->scrape) + decode_pending_bytes(hwd->decode);
	if (bytes < (later ? DECODE_BACKLOG_BYTES / 2 : DECODE_BACKLOG_BYTES)) {
		/* Said once a backlog, until it has drained to a quarter. */
		if (bytes < DECODE_BACKLOG_BYTES / 4)
			hwd_behind(hwd, HWD_GATED, false, 0);
		return true;
	}
	hwd_behind(hwd, HWD_GATED, true, bytes);
	return false;
}

/*
 * The store's syncer could not sync, or syncs again (error 0): on its
 * thread. Each failure is counted; a run of them, retried once a second,
 * is said once, and its end.
 */
static void
hwd_sync_failed(int error, void *arg)
{
	struct hwd	*hwd = arg;

	if (error == 0) {
		log_info("%s: synced again", store_root(hwd->store));
		hwd->sync_failing = false;
		return;
	}
	__atomic_add_fetch(&hwd->st.syncs_failed, 1, __ATOMIC_RELAXED);
	if (hwd->sync_failing)
		return;
	hwd->sync_failing = true;
	errno = error;
	log_warn("%s: sync (tried again each second; the snapshots that "
	    "retention drops are kept meanwhile)",
	    store_root(hwd->store));
}

/* Bodies were decoded and freed: the scrapes waiting may start. */
static void
hwd_backlog_drained(void *arg)
{
	struct hwd	*hwd = arg;

	scrape_resume(hwd->scrape);
}

/*
 * Make the daemon's parts from its configuration: listen first, which
 * may take root, then let root go; open the store; restore the webhooks'
 * spool; start the targets.
 */
static void
hwd_start(struct hwd *hwd, const char *user)
{
	char	*cause = NULL, *url;

	raise_nofile();
	/* Writes fail with EFBIG instead of killing the daemon. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	/* Raised when a lease the store holds on its spare file is broken. */
	signal(SIGIO, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("curl_global_init failed");
	if ((hwd->base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	hwd->st.conf = hwd->conf;
	hwd->api = api_new(hwd->base, &hwd->st, on_reload_request, hwd);
	if ((hwd->server = server_new(hwd->base, hwd->conf->listen,
	    hwd->conf->web.cert, hwd->conf->web.key, api_route, hwd->api,
	    &cause)) == NULL)
		fatalx("%s", cause);
	server_set_auth(hwd->server, hwd->conf->web.users,
	    hwd->conf->web.nusers, hwd->conf->web.bearer_token);
	if (user != NULL)
		drop_privileges(user);
	if ((hwd->store = store_open(hwd->conf->storage_path, &cause)) == NULL)
		fatalx("%s", cause);
	store_set_format(hwd->store, hwd->conf->storage_pack ? STORE_PACK :
	    STORE_PPROF);
	if (store_defer_sync(hwd->store, HWD_SYNC_MS, hwd_sync_failed,
	    hwd) == -1)
		log_warnx("%s: no thread to sync the store: each snapshot is "
		    "synced as it is written", store_root(hwd->store));
	hwd->scrape = scrape_new(hwd->base);
	hwd->decode = decode_new(hwd->base, 0);
	scrape_set_gate(hwd->scrape, hwd_backlog_room, hwd);
	decode_set_drained(hwd->decode, hwd_backlog_drained, hwd);
	hwd->st.scrape = hwd->scrape;
	hwd->st.decode = hwd->decode;
	hwd->names = summary_names_new();
	url = hwd_external_url(hwd->conf);
	hwd->notifier = notifier_new(hwd->base, hwd->conf->webhooks,
	    hwd->conf->nwebhooks, url);
	free(url);
	/* What was not delivered before the restart goes first. */
	notifier_spool(hwd->notifier, store_root(hwd->store), STORE_SPOOL);
	hwd->st.started = hwd->st.last_reload = clock_real_ms();
	hwd->st.last_reload_ok = true;
	hwd->discovery = discovery_new(hwd->base, on_discovered, hwd);
	hwd->st.store = hwd->store;
	hwd->st.notifier = hwd->notifier;
	hwd->st.discovery = hwd->discovery;
	discovery_configure(hwd->discovery, hwd->conf);
	apply_targets(hwd, hwd->conf, true);
	discovery_release(hwd->discovery);
}

/*
 * SIGHUP reloads, SIGTERM and SIGINT stop; the store ticks; systemd's
 * watchdog is fed.
 */
static void
hwd_events(struct hwd *hwd)
{
	static const int	 sigs[3] = { SIGHUP, SIGTERM, SIGINT };
	struct timeval		 tick;
	size_t			 i;
#ifdef HAVE_SYSTEMD
	uint64_t		 usec;
	struct timeval		 tv;
#endif

	for (i = 0; i < 3; i++) {
		hwd->ev_sig[i] = evsignal_new(hwd->base, sigs[i],
		    sigs[i] == SIGHUP ? on_hup : on_term, hwd);
		event_add(hwd->ev_sig[i], NULL);
	}
	tick = clock_tv_ms(HWD_SYNC_MS);
	hwd->ev_tick = event_new(hwd->base, -1, EV_PERSIST, on_store_tick,
	    hwd);
	event_add(hwd->ev_tick, &tick);
#ifdef HAVE_SYSTEMD
	/* At half the interval systemd allows, as sd_watchdog_enabled(3)
	 * advises. */
	if (sd_watchdog_enabled(0, &usec) > 0) {
		tv = clock_tv_us((int64_t)(usec / 2));
		hwd->ev_wd = event_new(hwd->base, -1, EV_PERSIST, on_watchdog,
		    NULL);
		event_add(hwd->ev_wd, &tv);
	}
#endif
}

/* Free the daemon's parts, the targets first: they use the others. */
static void
hwd_stop(struct hwd *hwd)
{
	struct target	*t;
	size_t		 i;

	while ((t = TAILQ_FIRST(&hwd->targets)) != NULL) {
		target_list_remove(&hwd->targets, t);
		target_free(t);
	}
	discovery_free(hwd->discovery);
	for (i = 0; i < 3; i++)
		event_free(hwd->ev_sig[i]);
	if (hwd->ev_wd != NULL)
		event_free(hwd->ev_wd);
	if (hwd->ev_tick != NULL)
		event_free(hwd->ev_tick);
	if (hwd->ev_trim != NULL)
		event_free(hwd->ev_trim);
	server_free(hwd->server);
	notifier_free(hwd->notifier);
	api_free(hwd->api);
	scrape_free(hwd->scrape);
	decode_free(hwd->decode);
	summary_names_free(hwd->names);
	profile_thread_done();
	store_close(hwd->store);
	config_free(hwd->conf);
	event_base_free(hwd->base);
	curl_global_cleanup();
}

int
main(int argc, char **argv)
{
	struct hwd		 hwd;
	struct hwd_options	 o;
	char			*cause = NULL;

	hwd_options(argc, argv, &o);
	xmalloc_tune();
	log_init("heapwatchd", o.verbose);

	memset(&hwd, 0, sizeof hwd);
	TAILQ_INIT(&hwd.targets);
	hwd.st.targets = &hwd.targets;
	if ((hwd.conf = load(o.path, false, NULL)) == NULL)
		return 1;
	if (check_web(hwd.conf, &cause) == -1) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		config_free(hwd.conf);
		return 1;
	}
	if (o.check)
		return hwd_check(&hwd, o.path);
	if (geteuid() == 0 && o.user == NULL && !o.as_root)
		fatalx("refusing to run as root: use -u USER to drop to a user "
		    "once listening, or -R to run as root all the same");

	hwd_start(&hwd, o.user);
	hwd_events(&hwd);
	hwd.st.ready = true;
	log_info("listening on %s%s, %zu targets, storing in %s",
	    hwd.conf->listen, hwd.conf->web.cert != NULL ? " (https)" : "",
	    hwd.st.ntargets, hwd.conf->storage_path);
	if (hwd.conf->shard.count > 1)
		log_info("shard %u of %u", hwd.conf->shard.index,
		    hwd.conf->shard.count);
	notify("READY=1");

	event_base_dispatch(hwd.base);

	hwd_stop(&hwd);
	log_info("stopped");
	return 0;
}
