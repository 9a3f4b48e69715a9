/*
 * heapwatchd's configuration: the YAML file read at start-up and on SIGHUP,
 * checked in full, into plain structs the daemon reads and never changes.
 *
 * The header of config.c is conf.h, not config.h: every source file
 * includes autoconf's header as "config.h", and a src/config.h would be
 * found first from src/ and hide it.
 *
 * Every error is reported, as "FILE:LINE:COL: message", and then the load
 * fails as a whole. Only settings the file writes can conflict; an error
 * names the others of the conflict the file writes, with their place. Relative paths (storage.path, tls files, token and
 * password files) are taken from the directory of the configuration file.
 * Files named in a target's settings are not opened here: the scraper
 * reads them, so a rotated token or certificate is picked up without a
 * reload. The files of web (the endpoint's certificate, key and token) are
 * read here, whole, so that a reload applies them or keeps the old ones.
 *
 * The ranges config_load() enforces; durations are milliseconds and may be
 * at most CONFIG_DURATION_MAX:
 *   listen			HOST:PORT, [IPV6]:PORT or :PORT; port 1 to 65535
 *   interval			at least 100ms
 *   timeout			more than 0 and less than interval; not
 *				written: CONFIG_TIMEOUT or the interval,
 *				whichever is shorter, as in Prometheus
 *   window			at least twice interval
 *   for			at most window (0: fire as soon as the growth
 *				over the window reaches min_growth)
 *   min_growth			more than 0: bytes (a size) for heap targets, a
 *				number of goroutines for goroutine targets. When
 *				defaults.min_growth is written with a unit it
 *				applies to heap targets only, and goroutine
 *				targets keep CONFIG_GOROUTINE_GROWTH.
 *   slow_window		0 (no slow horizon) or a duration;
 *				CONFIG_SLOW_WINDOW when not written
 *   slow_min_growth		more than 0, bytes or goroutines as
 *				min_growth; not written: CONFIG_SLOW_FACTOR
 *				times min_growth
 *   max_size			1KiB to 4GiB
 *   max_redirects		0 to 20
 *   retention.snapshots	0 (no limit) or at least 2, and at least the
 *				number of scrapes in every target's window, plus
 *				one; not written: that number for the longest
 *				window, and at least CONFIG_RETENTION_SNAPSHOTS,
 *				or CONFIG_RETENTION_PACKED with storage.format
 *				pack
 *   retention.age		0 (no limit) or at least every target's window;
 *				not written: the longest window, and at least
 *				CONFIG_RETENTION_AGE
 *   retention.size		0 (no limit) or at least 1MiB
 *				(the three are not all 0)
 *   retention.downsample	a map of ages to periods, at most
 *				CONFIG_TIERS_MAX; every age at least every
 *				target's window, every period more than 0; {}
 *				for none
 *   target name		[A-Za-z0-9_.-], 1 to 128 characters, not "." or
 *				"..", unique: it names the target's folder
 *   url			http:// or https://, a host, a port of 1 to
 *				65535 if any, no user:password@, no spaces
 *   label names		[a-zA-Z_][a-zA-Z0-9_]*, not starting with "__",
 *				not "target" or "alertname" (heapwatch sets them)
 *   header names		HTTP tokens, not Host, Connection, Content-Length
 *				or Transfer-Encoding, nor Authorization with
 *				bearer_token(_file) or basic_auth; values without
 *				control characters (no CR or LF)
 *   tls			cert_file and key_file together; only for https
 *   auth			one of bearer_token, bearer_token_file and
 *				basic_auth; basic_auth needs a username and at
 *				most one of password and password_file
 *   web.tls			cert_file and key_file together, each a
 *				regular file of at most CONFIG_FILE_MAX with a
 *				PEM block (CERTIFICATE, PRIVATE KEY)
 *   web.basic_auth_users	user names without ":" or control characters;
 *				bcrypt hashes ($2a$, $2b$, $2y$, cost 04 to 31)
 *   web.bearer_token		one of bearer_token and bearer_token_file; no
 *				spaces or control characters (the file's
 *				trailing white space is dropped)
 *   webhook timeout		more than 0
 *   webhook repeat_interval	at least 1s
 *   file_sd files		glob(3) patterns ending in .json, .yml or .yaml
 *   file_sd path		absolute, no spaces or control characters
 *   file_sd refresh_interval	at least 1s
 *   file_sd			no name, url or gctrace: the files name the
 *				targets, and a GC trace is one process's
 *   shard.count		1 to CONFIG_SHARD_MAX; index 0 to count - 1
 *   limit			more than 0: bytes for heap targets, a count
 *				for goroutine targets; not in defaults
 *   page_within		more than 0
 *   force_gc			never, on_suspicion or always; not always
 *				in a goroutine target (its profile is live,
 *				no GC to ask for)
 */
#ifndef CONF_H
#define CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_LISTEN			"127.0.0.1:9470"
#define CONFIG_STORAGE_PATH		"/var/lib/heapwatchd"
#define CONFIG_RETENTION_SNAPSHOTS	500
/*
 * Packed: a month of one-minute scrapes under the default tiers (2,856),
 * not a count that cuts them to eight hours; and a count all the same,
 * since a put lists what is kept (some 3 ms of CPU at 3,000, growing
 * with the count) and shorter intervals would keep tens of thousands.
 */
#define CONFIG_RETENTION_PACKED		3000
#define CONFIG_RETENTION_AGE		(30 * 86400000ULL)
#define CONFIG_RETENTION_SIZE		(1ULL << 30)
/*
 * retention.downsample: every snapshot for a day, then one per 10 minutes
 * for a week, then one an hour: a month of one-minute scrapes in 2,856
 * snapshots a target rather than 43,200.
 */
#define CONFIG_TIERS_MAX		4
#define CONFIG_TIERS_DEFAULT		{ { 86400000ULL, 600000ULL }, \
					  { 7 * 86400000ULL, 3600000ULL } }
#define CONFIG_NTIERS_DEFAULT		2
#define CONFIG_INTERVAL			60000
#define CONFIG_TIMEOUT			10000
#define CONFIG_WINDOW			(30 * 60000)
#define CONFIG_FOR			(15 * 60000)
#define CONFIG_MIN_GROWTH		(16ULL << 20)
#define CONFIG_PAGE_WITHIN		(6 * 3600000)
#define CONFIG_GOROUTINE_GROWTH		100
#define CONFIG_SLOW_WINDOW		(24 * 3600000ULL)
#define CONFIG_SLOW_FACTOR		4	/* slow_min_growth: this times
						   min_growth, unless written */
#define CONFIG_GROWTH_MAX		(1ULL << 50)	/* 1024 TiB: min_growth,
						   slow_min_growth, times
						   CONFIG_SLOW_FACTOR too,
						   fit an int64 */
#define CONFIG_MAX_SIZE			(64ULL << 20)
#define CONFIG_MAX_REDIRECTS		5
#define CONFIG_WEBHOOK_TIMEOUT		10000
#define CONFIG_WEBHOOK_REPEAT		(4 * 3600000)

#define CONFIG_INTERVAL_MIN		100
#define CONFIG_DURATION_MAX		(365 * 86400000ULL)
#define CONFIG_NAME_MAX			128
#define CONFIG_FILE_MAX			(1 << 20)	/* web's files */
#define CONFIG_NAME_CHARS		"abcdefghijklmnopqrstuvwxyz" \
					"ABCDEFGHIJKLMNOPQRSTUVWXYZ" \
					"0123456789_.-"
#define CONFIG_SD_PATH			"/debug/pprof/heap"
#define CONFIG_SD_REFRESH		(5 * 60000)
#define CONFIG_SHARD_MAX		65536

struct yamlx_errors;		/* yamlx.h */

/* A label or a header. */
struct config_pair {
	char		*name;
	char		*value;
};

struct tls_config {
	char		*ca_file;	/* NULL: the system's CAs */
	char		*cert_file;	/* client certificate, with key_file */
	char		*key_file;
	bool		 insecure_skip_verify;
};

struct basic_auth_config {
	char		*username;	/* NULL: no basic auth */
	char		*password;
	char		*password_file;
};

/* Where a target's GODEBUG=gctrace=1 lines come from, if anywhere. */
enum gctrace_source {
	GCTRACE_SRC_NONE,
	GCTRACE_SRC_FILE,	/* a log file, followed like tail -F */
	GCTRACE_SRC_JOURNAL,	/* a systemd unit's journal */
	GCTRACE_SRC_COMMAND	/* the output of a command */
};

struct gctrace_config {
	enum gctrace_source	 source;
	char			*file;
	char			*journal_unit;
	char			*journal_directory; /* NULL: the system's */
	char			**argv;		/* NULL-terminated */
	size_t			 argc;
};

/*
 * When a heap scrape asks the service for a GC first (Go's ?gc=1): a GC
 * costs the service CPU and a short stop-the-world pause, so by default
 * only when a pending alert is to be checked against a fresh live heap.
 */
enum force_gc {
	FORCE_GC_ON_SUSPICION,
	FORCE_GC_NEVER,
	FORCE_GC_ALWAYS
};

struct target_config {
	char			*name;
	char			*url;		/* NULL: gctrace alone */
	struct config_pair	*labels;	/* sorted by name */
	size_t			 nlabels;
	uint64_t		 interval_ms;
	uint64_t		 timeout_ms;
	uint64_t		 window_ms;
	uint64_t		 for_ms;
	uint64_t		 min_growth;	/* bytes, or goroutines */
	uint64_t		 slow_window_ms;	/* 0: none */
	uint64_t		 slow_min_growth;	/* 0: CONFIG_SLOW_FACTOR
						   times min_growth */
	struct tls_config	 tls;
	char			*bearer_token;
	char			*bearer_token_file;
	struct basic_auth_config basic_auth;
	struct config_pair	*headers;	/* sorted by name, ignoring case */
	size_t			 nheaders;
	uint64_t		 max_size;	/* bytes of response, at most */
	unsigned int		 max_redirects;
	struct gctrace_config	 gctrace;
	uint64_t		 limit;		/* bytes, or goroutines; 0:
						   none */
	uint64_t		 page_within_ms; /* critical when the limit
						   is this near */
	enum force_gc		 force_gc;
	char			*source_path;	/* the service's source, for
						   the line view; or NULL */
};

/*
 * Every field of struct target_config, nested ones by their path, once,
 * with its kind; config_target_copy(), config_target_clear() and
 * config_target_equal() are made from this list, so a field added to the
 * struct is added here and nowhere else. The kinds: STRING, a char * that
 * is NULL or owned; PAIRS, an owned array of config_pair and its count;
 * ARGV, an owned NULL-terminated array of strings and its count; SCALAR,
 * anything copied and compared by value.
 */
#define CONFIG_TARGET_FIELDS(STRING, PAIRS, ARGV, SCALAR)		\
	STRING(name)							\
	STRING(url)							\
	PAIRS(labels, nlabels)						\
	SCALAR(interval_ms)						\
	SCALAR(timeout_ms)						\
	SCALAR(window_ms)						\
	SCALAR(for_ms)							\
	SCALAR(min_growth)						\
	SCALAR(slow_window_ms)						\
	SCALAR(slow_min_growth)						\
	STRING(tls.ca_file)						\
	STRING(tls.cert_file)						\
	STRING(tls.key_file)						\
	SCALAR(tls.insecure_skip_verify)				\
	STRING(bearer_token)						\
	STRING(bearer_token_file)					\
	STRING(basic_auth.username)					\
	STRING(basic_auth.password)					\
	STRING(basic_auth.password_file)				\
	PAIRS(headers, nheaders)					\
	SCALAR(max_size)						\
	SCALAR(max_redirects)						\
	SCALAR(gctrace.source)						\
	STRING(gctrace.file)						\
	STRING(gctrace.journal_unit)					\
	STRING(gctrace.journal_directory)				\
	ARGV(gctrace.argv, gctrace.argc)				\
	SCALAR(limit)							\
	SCALAR(page_within_ms)						\
	SCALAR(force_gc)						\
	STRING(source_path)

enum webhook_format {
	WEBHOOK_JSON,
	WEBHOOK_ALERTMANAGER
};

struct webhook_config {
	char			*url;
	enum webhook_format	 format;
	uint64_t		 timeout_ms;
	uint64_t		 repeat_interval_ms;
	struct config_pair	*headers;	/* sorted by name, ignoring case */
	size_t			 nheaders;
};

/* The daemon's own endpoint: TLS, and who may use it (nobody set: all). */
struct web_config {
	char			*cert_file;	/* NULL: plain HTTP */
	char			*key_file;
	char			*cert;		/* their PEM, read at load */
	char			*key;
	struct config_pair	*users;		/* name and bcrypt hash, sorted */
	size_t			 nusers;
	char			*bearer_token;	/* given, or read from the file */
	char			*bearer_token_file;
	char			*external_url;	/* no trailing '/'; NULL: listen */
};

/*
 * One entry of discovery.file_sd: files of targets, Prometheus's format,
 * and what the targets found there share. tmpl has the defaults and the
 * entry's own settings, and no name or url.
 */
struct file_sd_config {
	char			**files;	/* glob(3) patterns, absolute */
	size_t			 nfiles;
	char			*path;		/* of each target's URL */
	char			*scheme;	/* "http" or "https" */
	uint64_t		 refresh_ms;	/* read all again this often */
	struct target_config	 tmpl;
};

/* Which of count heapwatchd this one is; count 1: it watches all. */
struct shard_config {
	uint32_t		 count;
	uint32_t		 index;
};

/* Of the snapshots older than after_ms, one per every_ms is kept. */
struct retention_tier {
	uint64_t	 after_ms;
	uint64_t	 every_ms;
};

/* What each target keeps; 0 is no limit. Tiers are sorted by after_ms. */
struct retention_config {
	uint64_t	 snapshots;
	uint64_t	 age_ms;
	uint64_t	 size;
	size_t			 ntiers;
	struct retention_tier	 tiers[CONFIG_TIERS_MAX];
};

struct config {
	char			*path;		/* the file, as given */
	char			*listen;	/* as written */
	char			*listen_host;	/* no brackets; "": any */
	uint16_t		 listen_port;
	struct web_config	 web;
	char			*storage_path;
	bool			 storage_pack;	/* storage.format: pack */
	struct retention_config	 retention;
	struct target_config	*targets;	/* in the file's order */
	size_t			 ntargets;
	struct file_sd_config	*file_sd;
	size_t			 nfile_sd;
	struct shard_config	 shard;
	struct webhook_config	*webhooks;
	size_t			 nwebhooks;
};

/* Load and check the file; NULL with every problem in *errs on error. */
struct config	*config_load(const char *, struct yamlx_errors *);
void		 config_free(struct config *);
void		 config_pairs_free(struct config_pair *, size_t);
/* qsort(3) order of config_pairs: by name, as labels are kept. */
int		 config_pair_cmp(const void *, const void *);
/*
 * Copy a target's settings, every string its own; clear frees them and
 * leaves the target zeroed, so clearing twice is harmless.
 */
void		 config_target_copy(struct target_config *,
		    const struct target_config *);
void		 config_target_clear(struct target_config *);
/* Why a name, a label name or a URL is not usable, or NULL. */
const char	*config_name_problem(const char *);
const char	*config_label_problem(const char *);
const char	*config_url_problem(const char *);
/* Whether two target settings are the same, so a reload keeps its state. */
bool		 config_target_equal(const struct target_config *,
		    const struct target_config *);
/* "goroutine" when the URL's path ends in /goroutine, else "heap". */
const char	*config_target_kind(const struct target_config *);

#endif
