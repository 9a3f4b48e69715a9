#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "conf.h"
#include "log.h"
#include "units.h"
#include "xmalloc.h"
#include "yamlx.h"

/*
 * The file is loaded whole with libyaml's document API, then walked by the
 * schema below: each map's keys are first sorted into slots (reporting
 * unknown, repeated and non-scalar keys) and the slots are then read in a
 * fixed order, so that defaults apply whatever the order of the file. The
 * walk never follows structure the schema does not expect, which keeps it
 * finite on aliases that refer to themselves.
 */

/* A known key of a map: where it and its value are, NULL when absent. */
struct slot {
	yaml_node_t	*key;
	yaml_node_t	*value;
};

enum root_key { RK_LISTEN, RK_WEB, RK_STORAGE, RK_DEFAULTS, RK_TARGETS,
	RK_DISCOVERY, RK_SHARD, RK_ALERTING, RK_MAX };
static const char *const root_keys[RK_MAX] = {
	[RK_LISTEN] = "listen", [RK_WEB] = "web", [RK_STORAGE] = "storage",
	[RK_DEFAULTS] = "defaults", [RK_TARGETS] = "targets",
	[RK_DISCOVERY] = "discovery", [RK_SHARD] = "shard",
	[RK_ALERTING] = "alerting",
};

enum discovery_key { DS_FILE_SD, DS_MAX };
static const char *const discovery_keys[DS_MAX] = {
	[DS_FILE_SD] = "file_sd",
};

/* A file_sd entry's own keys; it also takes a target's, but three. */
enum file_sd_key { FS_FILES, FS_PATH, FS_SCHEME, FS_REFRESH_INTERVAL,
	FS_MAX };
static const char *const file_sd_keys[FS_MAX] = {
	[FS_FILES] = "files", [FS_PATH] = "path", [FS_SCHEME] = "scheme",
	[FS_REFRESH_INTERVAL] = "refresh_interval",
};

enum shard_key { SH_COUNT, SH_INDEX, SH_MAX };
static const char *const shard_keys[SH_MAX] = {
	[SH_COUNT] = "count", [SH_INDEX] = "index",
};

enum web_key { WB_TLS, WB_BASIC_AUTH_USERS, WB_BEARER_TOKEN,
	WB_BEARER_TOKEN_FILE, WB_EXTERNAL_URL, WB_MAX };
static const char *const web_keys[WB_MAX] = {
	[WB_TLS] = "tls", [WB_BASIC_AUTH_USERS] = "basic_auth_users",
	[WB_BEARER_TOKEN] = "bearer_token",
	[WB_BEARER_TOKEN_FILE] = "bearer_token_file",
	[WB_EXTERNAL_URL] = "external_url",
};

enum web_tls_key { WT_CERT_FILE, WT_KEY_FILE, WT_MAX };
static const char *const web_tls_keys[WT_MAX] = {
	[WT_CERT_FILE] = "cert_file", [WT_KEY_FILE] = "key_file",
};

enum storage_key { SK_PATH, SK_FORMAT, SK_RETENTION, SK_MAX };
static const char *const storage_keys[SK_MAX] = {
	[SK_PATH] = "path", [SK_FORMAT] = "format",
	[SK_RETENTION] = "retention",
};

enum retention_key { RT_SNAPSHOTS, RT_AGE, RT_SIZE, RT_DOWNSAMPLE, RT_MAX };
static const char *const retention_keys[RT_MAX] = {
	[RT_SNAPSHOTS] = "snapshots", [RT_AGE] = "age", [RT_SIZE] = "size",
	[RT_DOWNSAMPLE] = "downsample",
};

/* A target's keys; the first TK_TIMING are also the keys of defaults. */
enum target_key { TK_INTERVAL, TK_TIMEOUT, TK_WINDOW, TK_FOR, TK_MIN_GROWTH,
	TK_PAGE_WITHIN, TK_FORCE_GC, TK_SLOW_WINDOW, TK_SLOW_MIN_GROWTH,
	TK_NAME, TK_URL, TK_LABELS, TK_TLS, TK_BEARER_TOKEN,
	TK_BEARER_TOKEN_FILE, TK_BASIC_AUTH, TK_HEADERS, TK_MAX_SIZE,
	TK_MAX_REDIRECTS, TK_GCTRACE, TK_LIMIT, TK_SOURCE_PATH, TK_MAX };
#define TK_TIMING	(TK_SLOW_MIN_GROWTH + 1)
static const char *const target_keys[TK_MAX] = {
	[TK_INTERVAL] = "interval", [TK_TIMEOUT] = "timeout",
	[TK_WINDOW] = "window", [TK_FOR] = "for",
	[TK_MIN_GROWTH] = "min_growth", [TK_PAGE_WITHIN] = "page_within",
	[TK_FORCE_GC] = "force_gc", [TK_SLOW_WINDOW] = "slow_window",
	[TK_SLOW_MIN_GROWTH] = "slow_min_growth", [TK_NAME] = "name",
	[TK_URL] = "url",
	[TK_LABELS] = "labels", [TK_TLS] = "tls",
	[TK_BEARER_TOKEN] = "bearer_token",
	[TK_BEARER_TOKEN_FILE] = "bearer_token_file",
	[TK_BASIC_AUTH] = "basic_auth", [TK_HEADERS] = "headers",
	[TK_MAX_SIZE] = "max_size", [TK_MAX_REDIRECTS] = "max_redirects",
	[TK_GCTRACE] = "gctrace", [TK_LIMIT] = "limit",
	[TK_SOURCE_PATH] = "source_path",
};

enum gctrace_key { GK_FILE, GK_JOURNAL_UNIT, GK_COMMAND,
	GK_JOURNAL_DIRECTORY, GK_MAX };
#define GK_SOURCES	(GK_COMMAND + 1)	/* exactly one of these */
static const char *const gctrace_keys[GK_MAX] = {
	[GK_FILE] = "file", [GK_JOURNAL_UNIT] = "journal_unit",
	[GK_COMMAND] = "command", [GK_JOURNAL_DIRECTORY] = "journal_directory",
};

enum tls_key { TL_CA_FILE, TL_CERT_FILE, TL_KEY_FILE, TL_INSECURE, TL_MAX };
static const char *const tls_keys[TL_MAX] = {
	[TL_CA_FILE] = "ca_file", [TL_CERT_FILE] = "cert_file",
	[TL_KEY_FILE] = "key_file", [TL_INSECURE] = "insecure_skip_verify",
};

enum basic_key { BK_USERNAME, BK_PASSWORD, BK_PASSWORD_FILE, BK_MAX };
static const char *const basic_keys[BK_MAX] = {
	[BK_USERNAME] = "username", [BK_PASSWORD] = "password",
	[BK_PASSWORD_FILE] = "password_file",
};

enum alerting_key { AK_WEBHOOKS, AK_MAX };
static const char *const alerting_keys[AK_MAX] = {
	[AK_WEBHOOKS] = "webhooks",
};

enum webhook_key { WK_URL, WK_FORMAT, WK_TIMEOUT, WK_REPEAT_INTERVAL,
	WK_HEADERS, WK_MAX };
static const char *const webhook_keys[WK_MAX] = {
	[WK_URL] = "url", [WK_FORMAT] = "format", [WK_TIMEOUT] = "timeout",
	[WK_REPEAT_INTERVAL] = "repeat_interval", [WK_HEADERS] = "headers",
};

struct loader {
	const char		*file;
	char			*dir;		/* of file; NULL: the cwd */
	struct yamlx		 y;
	struct yamlx_errors	 errs;
	struct config		*cf;
	struct target_config	 defaults;	/* timing, growth, limits */
	uint64_t		 goroutine_growth;
	struct slot		 dslots[TK_TIMING];	/* defaults' keys */
	struct slot		 rslots[RT_MAX];	/* retention's keys */
	size_t			*name_lines;	/* of each target's name */
	uint64_t		 need_snapshots; /* the most any target needs */
	uint64_t		 longest_window;	/* of any target, ms */
};

#define error(l, node, ...)	yamlx_error(&(l)->y, (node), __VA_ARGS__)

/* Write ms the way a user would, "1h30m", for messages. */
static void
fmt_duration(uint64_t ms, char *buf, size_t len)
{
	static const struct {
		const char	*name;
		uint64_t	 ms;
	} units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 },
		{ "s", 1000 }, { "ms", 1 },
	};
	size_t	 i, off = 0;
	int	 n;

	if (ms == 0) {
		snprintf(buf, len, "0s");
		return;
	}
	buf[0] = '\0';
	for (i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (ms < units[i].ms)
			continue;
		n = snprintf(buf + off, len - off, "%llu%s",
		    (unsigned long long)(ms / units[i].ms), units[i].name);
		if (n < 0 || (size_t)n >= len - off)
			return;
		off += n;
		ms %= units[i].ms;
	}
}

/*
 * Where a key unknown in one map belongs, when it is a key of another:
 * "defaults or a target" for interval at the top level. NULL when it is
 * no key of any (a misspelling).
 */
static const char *
key_home(const char *key, char *buf, size_t len)
{
	static const struct {
		const char		*where;
		const char *const	*names;
		size_t			 n;
	} homes[] = {
		{ "the top level", root_keys, RK_MAX },
		{ "web", web_keys, WB_MAX },
		{ "storage", storage_keys, SK_MAX },
		{ "storage.retention", retention_keys, RT_MAX },
		{ "defaults", target_keys, TK_TIMING },
		{ "a target", target_keys, TK_MAX },
		{ "discovery", discovery_keys, DS_MAX },
		{ "a file_sd entry", file_sd_keys, FS_MAX },
		{ "shard", shard_keys, SH_MAX },
		{ "alerting", alerting_keys, AK_MAX },
		{ "a webhook", webhook_keys, WK_MAX },
	};
	size_t	i, k, found = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof homes / sizeof homes[0]; i++)
		for (k = 0; k < homes[i].n; k++)
			if (strcmp(homes[i].names[k], key) == 0) {
				snprintf(buf + strlen(buf), len - strlen(buf),
				    "%s%s", found++ > 0 ? " or " : "",
				    homes[i].where);
				break;
			}
	return found > 0 ? buf : NULL;
}

/* Sort the pairs of a map into slots by key, reporting unknown keys. */
static void
collect(struct loader *l, yaml_node_t *map, const char *const *names,
    size_t n, struct slot *slots)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k;
	size_t			 i, j;
	bool			*usable;
	const char		*home;
	char			 buf[128];

	memset(slots, 0, n * sizeof *slots);
	usable = yamlx_keys(&l->y, map);
	for (j = 0, p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; j++, p++) {
		if (!usable[j])
			continue;
		k = yamlx_node(&l->y, p->key);
		for (i = 0; i < n; i++)
			if (strcmp(names[i], yamlx_text(k)) == 0)
				break;
		if (i == n && (home = key_home(yamlx_text(k), buf,
		    sizeof buf)) != NULL) {
			error(l, k, "unknown key \"%s\" here (a key of %s)",
			    yamlx_text(k), home);
			continue;
		}
		if (i == n) {
			error(l, k, "unknown key \"%s\"", yamlx_text(k));
			continue;
		}
		slots[i].key = k;
		slots[i].value = yamlx_node(&l->y, p->value);
	}
	free(usable);
}

/* The text of the scalar in s, or NULL once the reason is reported. */
static const char *
get_scalar(struct loader *l, const struct slot *s, const char *want)
{
	const char	*name = yamlx_text(s->key);

	if (s->value->type == YAML_SCALAR_NODE && yamlx_is_null(s->value)) {
		error(l, s->key, "%s: missing value", name);
		return NULL;
	}
	return yamlx_scalar(&l->y, s->value, name, want);
}

/* Copy the string in s to *out, refusing an empty one if nonempty. */
static bool
get_string(struct loader *l, const struct slot *s, bool nonempty,
    char **out)
{
	const char	*v;

	if ((v = get_scalar(l, s, "a string")) == NULL)
		return false;
	if (nonempty && *v == '\0') {
		error(l, s->value, "%s: must not be empty", yamlx_text(s->key));
		return false;
	}
	free(*out);
	*out = xstrdup(v);
	return true;
}

/* A file or folder name, taken from the configuration's folder. */
static bool
get_path(struct loader *l, const struct slot *s, char **out)
{
	char	*p = NULL;

	if (!get_string(l, s, true, &p))
		return false;
	free(*out);
	if (*p == '/' || l->dir == NULL)
		*out = p;
	else {
		xasprintf(out, "%s/%s", l->dir, p);
		free(p);
	}
	return true;
}

/* Read the duration in s, at least min milliseconds. */
static bool
get_duration(struct loader *l, const struct slot *s, uint64_t min,
    uint64_t *out)
{
	const char	*v, *errstr;
	uint64_t	 ms;
	char		 buf[64];

	if ((v = get_scalar(l, s, "a duration")) == NULL)
		return false;
	if (units_duration(v, &ms, &errstr) == -1) {
		error(l, s->value, "%s \"%s\": %s", yamlx_text(s->key), v,
		    errstr);
		return false;
	}
	if (ms < min && min == 1) {
		error(l, s->value, "%s \"%s\": must be more than 0",
		    yamlx_text(s->key), v);
		return false;
	}
	if (ms < min) {
		fmt_duration(min, buf, sizeof buf);
		error(l, s->value, "%s \"%s\": too short (at least %s)",
		    yamlx_text(s->key), v, buf);
		return false;
	}
	if (ms > CONFIG_DURATION_MAX) {
		fmt_duration(CONFIG_DURATION_MAX, buf, sizeof buf);
		error(l, s->value, "%s \"%s\": too long (at most %s)",
		    yamlx_text(s->key), v, buf);
		return false;
	}
	*out = ms;
	return true;
}

/* Read the size in s, in bytes, from min to max. */
static bool
get_size(struct loader *l, const struct slot *s, uint64_t min, uint64_t max,
    uint64_t *out)
{
	const char	*v, *errstr;
	uint64_t	 n;

	if ((v = get_scalar(l, s, "a size")) == NULL)
		return false;
	if (units_size(v, &n, &errstr) == -1) {
		error(l, s->value, "%s \"%s\": %s", yamlx_text(s->key), v,
		    errstr);
		return false;
	}
	if (n < min && min == 1) {
		error(l, s->value, "%s \"%s\": must be more than 0",
		    yamlx_text(s->key), v);
		return false;
	}
	if (n < min) {
		error(l, s->value, "%s \"%s\": too small (at least %s)",
		    yamlx_text(s->key), v, units_fmt_size(min));
		return false;
	}
	if (n > max) {
		error(l, s->value, "%s \"%s\": too large (at most %s)",
		    yamlx_text(s->key), v, units_fmt_size(max));
		return false;
	}
	*out = n;
	return true;
}

/* Read the whole number in s, from min to max. */
static bool
get_count(struct loader *l, const struct slot *s, long long min,
    long long max, uint64_t *out)
{
	const char	*v, *errstr;
	long long	 n;

	if ((v = get_scalar(l, s, "a number")) == NULL)
		return false;
	if (units_number(v, min, max, &n, &errstr) == -1) {
		if (strcmp(errstr, "too small") == 0 && min == 1)
			error(l, s->value, "%s \"%s\": must be more than 0",
			    yamlx_text(s->key), v);
		else if (strcmp(errstr, "too small") == 0)
			error(l, s->value, "%s \"%s\": too small (at least "
			    "%lld)", yamlx_text(s->key), v, min);
		else if (strcmp(errstr, "too large") == 0)
			error(l, s->value, "%s \"%s\": too large (at most "
			    "%lld)", yamlx_text(s->key), v, max);
		else
			error(l, s->value, "%s \"%s\": %s",
			    yamlx_text(s->key), v, errstr);
		return false;
	}
	*out = (uint64_t)n;
	return true;
}

/* Read true or false. */
static bool
get_bool(struct loader *l, const struct slot *s, bool *out)
{
	const char	*v;

	if ((v = get_scalar(l, s, "true or false")) == NULL)
		return false;
	if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 ||
	    strcmp(v, "TRUE") == 0)
		*out = true;
	else if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0 ||
	    strcmp(v, "FALSE") == 0)
		*out = false;
	else {
		error(l, s->value, "%s \"%s\": expected true or false",
		    yamlx_text(s->key), v);
		return false;
	}
	return true;
}

/* The map in s; NULL when it is null (an empty map) or not a map. */
static yaml_node_t *
get_map(struct loader *l, const struct slot *s)
{
	if (s->value->type == YAML_MAPPING_NODE)
		return s->value;
	if (!yamlx_is_null(s->value))
		error(l, s->value, "%s: expected a map, not %s",
		    yamlx_text(s->key), yamlx_kind(s->value));
	return NULL;
}

/* The list in s; NULL when it is null (an empty list) or not a list. */
static yaml_node_t *
get_list(struct loader *l, const struct slot *s)
{
	if (s->value->type == YAML_SEQUENCE_NODE)
		return s->value;
	if (!yamlx_is_null(s->value))
		error(l, s->value, "%s: expected a list, not %s",
		    yamlx_text(s->key), yamlx_kind(s->value));
	return NULL;
}

/* Why u is not an http(s) URL heapwatch can use, or NULL. */
static const char *
url_problem(const char *u)
{
	const char	*p, *host, *end, *errstr;
	char		 port[8];
	long long	 n;
	size_t		 len;

	for (p = u; *p != '\0'; p++)
		if (iscntrl((unsigned char)*p) || *p == ' ')
			return "contains spaces or control characters";
	if (strncasecmp(u, "http://", 7) == 0)
		host = u + 7;
	else if (strncasecmp(u, "https://", 8) == 0)
		host = u + 8;
	else
		return "expected an http:// or https:// URL";
	end = host + strcspn(host, "/?#");
	if (memchr(host, '@', end - host) != NULL)
		return "credentials (user:password@) do not belong in the URL";
	if (*host == '[') {
		if ((p = memchr(host, ']', end - host)) == NULL || p == host + 1)
			return "bad IPv6 address";
		p++;
		if (p != end && *p != ':')
			return "bad IPv6 address";
	} else {
		p = memchr(host, ':', end - host);
		if (p == NULL)
			p = end;
		if (p == host)
			return "missing host";
	}
	if (p == end)
		return NULL;
	len = end - (p + 1);
	if (len == 0 || len >= sizeof port)
		return "bad port";
	memcpy(port, p + 1, len);
	port[len] = '\0';
	if (!isdigit((unsigned char)port[0]) ||
	    units_number(port, 1, 65535, &n, &errstr) == -1)
		return "bad port";
	return NULL;
}

const char *
config_url_problem(const char *u)
{
	return url_problem(u);
}

/* Read a URL to scrape or to post to. */
static bool
get_url(struct loader *l, const struct slot *s, char **out)
{
	const char	*why;

	if (!get_string(l, s, true, out))
		return false;
	if ((why = url_problem(*out)) != NULL) {
		error(l, s->value, "url \"%s\": %s", *out, why);
		free(*out);
		*out = NULL;
		return false;
	}
	return true;
}

/* Split HOST:PORT, [V6]:PORT or :PORT; NULL or why it is not one. */
static const char *
listen_problem(const char *s, char **host, uint16_t *port)
{
	const char	*colon, *p, *errstr;
	long long	 n;

	if (strstr(s, "://") != NULL)
		return "expected HOST:PORT, not a URL";
	if (*s == '[') {
		if ((p = strchr(s, ']')) == NULL || p == s + 1 || p[1] != ':')
			return "expected HOST:PORT or [IPV6]:PORT";
		for (colon = s + 1; colon < p; colon++)
			if (!isxdigit((unsigned char)*colon) &&
			    strchr(":.", *colon) == NULL)
				break;
		if (colon != p)
			return "bad IPv6 address";
		colon = p + 1;
		*host = xstrndup(s + 1, p - (s + 1));
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return "expected HOST:PORT or [IPV6]:PORT";
		for (p = s; p < colon; p++)
			if (!isalnum((unsigned char)*p) && *p != '.' &&
			    *p != '-')
				break;
		if (p != colon)
			return memchr(s, ':', colon - s) != NULL ?
			    "an IPv6 address goes in brackets" : "bad host";
		*host = xstrndup(s, colon - s);
	}
	if (!isdigit((unsigned char)colon[1]) ||
	    units_number(colon + 1, 1, 65535, &n, &errstr) == -1) {
		free(*host);
		*host = NULL;
		return "the port must be 1 to 65535";
	}
	*port = (uint16_t)n;
	return NULL;
}

/* Read listen, keeping its host and port apart for the server. */
static void
load_listen(struct loader *l, const struct slot *s)
{
	struct config	*cf = l->cf;
	const char	*why;
	char		*v = NULL, *host = NULL;
	uint16_t	 port;

	if (!get_string(l, s, true, &v))
		return;
	if ((why = listen_problem(v, &host, &port)) != NULL) {
		error(l, s->value, "listen \"%s\": %s", v, why);
		free(v);
		return;
	}
	free(cf->listen);
	free(cf->listen_host);
	cf->listen = v;
	cf->listen_host = host;
	cf->listen_port = port;
}

/*
 * Read retention.downsample, a map of ages to periods ("24h: 10m"), into
 * tiers sorted by age.
 */
static void
load_downsample(struct loader *l, const struct slot *s)
{
	struct retention_config	*r = &l->cf->retention;
	struct retention_tier	 t;
	yaml_node_pair_t	*p;
	struct slot		 e;
	const char		*errstr = NULL;
	bool			*usable;
	size_t			 i, j;
	yaml_node_t		*map, *long_node;
	char			 buf[64];

	if ((map = get_map(l, s)) == NULL)
		return;
	r->ntiers = 0;
	usable = yamlx_keys(&l->y, map);
	for (j = 0, p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; j++, p++) {
		if (!usable[j])
			continue;
		e.key = yamlx_node(&l->y, p->key);
		e.value = yamlx_node(&l->y, p->value);
		if (units_duration(yamlx_text(e.key), &t.after_ms,
		    &errstr) == -1) {
			error(l, e.key, "downsample: age \"%s\": %s",
			    yamlx_text(e.key), errstr);
			continue;
		}
		if (e.value->type != YAML_SCALAR_NODE) {
			error(l, e.value, "downsample: the period for age %s "
			    "is not a duration", yamlx_text(e.key));
			continue;
		}
		if (units_duration(yamlx_text(e.value), &t.every_ms,
		    &errstr) == -1 || t.every_ms == 0) {
			error(l, e.value, "downsample: period \"%s\" for age "
			    "%s: %s", yamlx_text(e.value), yamlx_text(e.key),
			    t.every_ms == 0 ? "must be more than 0" : errstr);
			continue;
		}
		if (t.after_ms > CONFIG_DURATION_MAX ||
		    t.every_ms > CONFIG_DURATION_MAX) {
			long_node = t.after_ms > CONFIG_DURATION_MAX ? e.key :
			    e.value;
			fmt_duration(CONFIG_DURATION_MAX, buf, sizeof buf);
			error(l, long_node, "downsample: %s \"%s\": too long "
			    "(at most %s)", long_node == e.key ? "age" :
			    "period", yamlx_text(long_node), buf);
			continue;
		}
		/* One age in two spellings ("24h", "1d"): which period? */
		for (i = 0; i < r->ntiers; i++)
			if (r->tiers[i].after_ms == t.after_ms)
				break;
		if (i < r->ntiers) {
			error(l, e.key, "downsample: age \"%s\" is given "
			    "twice", yamlx_text(e.key));
			continue;
		}
		if (r->ntiers == CONFIG_TIERS_MAX) {
			error(l, e.key, "downsample: more than %d ages",
			    CONFIG_TIERS_MAX);
			break;
		}
		for (i = r->ntiers; i > 0 &&
		    r->tiers[i - 1].after_ms > t.after_ms; i--)
			r->tiers[i] = r->tiers[i - 1];
		r->tiers[i] = t;
		r->ntiers++;
	}
	free(usable);
}

/* Read storage.retention, remembering where each key is for later checks. */
static void
load_retention(struct loader *l, const struct slot *s)
{
	struct retention_config	*r = &l->cf->retention;
	yaml_node_t		*map;
	struct slot		*rs = l->rslots;

	if ((map = get_map(l, s)) == NULL)
		return;
	collect(l, map, retention_keys, RT_MAX, rs);
	if (rs[RT_SNAPSHOTS].key != NULL &&
	    get_count(l, &rs[RT_SNAPSHOTS], 0, LLONG_MAX, &r->snapshots) &&
	    r->snapshots == 1) {
		error(l, rs[RT_SNAPSHOTS].value, "snapshots \"%s\": too small "
		    "(0 for no limit, or at least 2)",
		    yamlx_text(rs[RT_SNAPSHOTS].value));
		r->snapshots = CONFIG_RETENTION_SNAPSHOTS;
	}
	if (rs[RT_AGE].key != NULL)
		(void)get_duration(l, &rs[RT_AGE], 0, &r->age_ms);
	if (rs[RT_SIZE].key != NULL &&
	    get_size(l, &rs[RT_SIZE], 0, UINT64_MAX, &r->size) &&
	    r->size != 0 && r->size < (1 << 20)) {
		error(l, rs[RT_SIZE].value, "size \"%s\": too small (0 for no "
		    "limit, or at least 1 MiB)", yamlx_text(rs[RT_SIZE].value));
		r->size = CONFIG_RETENTION_SIZE;
	}
	if (rs[RT_DOWNSAMPLE].key != NULL)
		load_downsample(l, &rs[RT_DOWNSAMPLE]);
	if (r->snapshots == 0 && r->age_ms == 0 && r->size == 0)
		error(l, s->key, "retention: snapshots, age and size are all "
		    "0; keep at least one limit");
}

/* Read storage: the folder of snapshots and what it keeps. */
static void
load_storage(struct loader *l, const struct slot *s)
{
	struct slot	 ss[SK_MAX];
	yaml_node_t	*map;
	const char	*v;

	if ((map = get_map(l, s)) == NULL)
		return;
	collect(l, map, storage_keys, SK_MAX, ss);
	if (ss[SK_PATH].key != NULL)
		(void)get_path(l, &ss[SK_PATH], &l->cf->storage_path);
	if (ss[SK_FORMAT].key != NULL &&
	    (v = get_scalar(l, &ss[SK_FORMAT], "a string")) != NULL) {
		if (strcmp(v, "pack") == 0)
			l->cf->storage_pack = true;
		else if (strcmp(v, "pprof") == 0)
			l->cf->storage_pack = false;
		else
			error(l, ss[SK_FORMAT].value, "format \"%s\": "
			    "pack or pprof", v);
	}
	if (ss[SK_RETENTION].key != NULL)
		load_retention(l, &ss[SK_RETENTION]);
}

/* Whether the whole of s is a plain count: digits only. */
static bool
is_count(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/*
 * Read the timing keys of a target (or of defaults, when goroutine is
 * NULL) over the values inherited in t; false if any was bad.
 */
static bool
load_timing(struct loader *l, const struct slot *s, struct target_config *t,
    const bool *goroutine)
{
	const char	*v, *errstr;
	uint64_t	 n;
	bool		 good = true;

	if (s[TK_INTERVAL].key != NULL && !get_duration(l, &s[TK_INTERVAL],
	    CONFIG_INTERVAL_MIN, &t->interval_ms))
		good = false;
	if (s[TK_TIMEOUT].key != NULL &&
	    !get_duration(l, &s[TK_TIMEOUT], 1, &t->timeout_ms))
		good = false;
	if (s[TK_WINDOW].key != NULL &&
	    !get_duration(l, &s[TK_WINDOW], 1, &t->window_ms))
		good = false;
	if (s[TK_FOR].key != NULL &&
	    !get_duration(l, &s[TK_FOR], 0, &t->for_ms))
		good = false;
	if (s[TK_SLOW_WINDOW].key != NULL &&
	    !get_duration(l, &s[TK_SLOW_WINDOW], 0, &t->slow_window_ms))
		good = false;
	if (s[TK_SLOW_MIN_GROWTH].key != NULL && (goroutine == NULL ||
	    !*goroutine ? !get_size(l, &s[TK_SLOW_MIN_GROWTH], 1,
	    CONFIG_GROWTH_MAX, &t->slow_min_growth) :
	    !get_count(l, &s[TK_SLOW_MIN_GROWTH], 1,
	    (long long)CONFIG_GROWTH_MAX, &t->slow_min_growth)))
		good = false;
	if (s[TK_MIN_GROWTH].key == NULL)
		return good;
	if (goroutine == NULL || !*goroutine) {
		if (!get_size(l, &s[TK_MIN_GROWTH], 1, CONFIG_GROWTH_MAX,
		    &t->min_growth))
			return false;
		if (goroutine == NULL &&
		    is_count(yamlx_text(s[TK_MIN_GROWTH].value)))
			l->goroutine_growth = t->min_growth;
		return good;
	}
	if ((v = get_scalar(l, &s[TK_MIN_GROWTH], "a number")) == NULL)
		return false;
	if (!is_count(v) && units_size(v, &n, &errstr) == 0) {
		error(l, s[TK_MIN_GROWTH].value, "min_growth \"%s\": a "
		    "goroutine target counts goroutines, not bytes", v);
		return false;
	}
	if (!get_count(l, &s[TK_MIN_GROWTH], 1, (long long)CONFIG_GROWTH_MAX,
	    &t->min_growth))
		return false;
	return good;
}

/*
 * Read what a target's limit and GC settings are (page_within and force_gc
 * also in defaults, when goroutine is NULL): a limit is bytes for heap
 * targets and a count for goroutine targets, as min_growth is.
 */
static void
load_limit(struct loader *l, const struct slot *s, struct target_config *t,
    const bool *goroutine)
{
	const char	*v, *errstr;
	uint64_t	 n;

	if (s[TK_PAGE_WITHIN].key != NULL)
		(void)get_duration(l, &s[TK_PAGE_WITHIN], 1,
		    &t->page_within_ms);
	if (s[TK_FORCE_GC].key != NULL &&
	    (v = get_scalar(l, &s[TK_FORCE_GC], "a string")) != NULL) {
		if (strcmp(v, "never") == 0)
			t->force_gc = FORCE_GC_NEVER;
		else if (strcmp(v, "on_suspicion") == 0)
			t->force_gc = FORCE_GC_ON_SUSPICION;
		else if (strcmp(v, "always") == 0)
			t->force_gc = FORCE_GC_ALWAYS;
		else
			error(l, s[TK_FORCE_GC].value, "force_gc \"%s\": "
			    "expected never, on_suspicion or always", v);
		if (goroutine != NULL && *goroutine &&
		    t->force_gc == FORCE_GC_ALWAYS)
			error(l, s[TK_FORCE_GC].key, "force_gc: a GC before "
			    "the profile is for heap targets only");
	}
	if (goroutine == NULL || s[TK_LIMIT].key == NULL)
		return;
	if (!*goroutine) {
		(void)get_size(l, &s[TK_LIMIT], 1, INT64_MAX, &t->limit);
		return;
	}
	if ((v = get_scalar(l, &s[TK_LIMIT], "a number")) == NULL)
		return;
	if (!is_count(v) && units_size(v, &n, &errstr) == 0) {
		error(l, s[TK_LIMIT].value, "limit \"%s\": a goroutine "
		    "target counts goroutines, not bytes", v);
		return;
	}
	(void)get_count(l, &s[TK_LIMIT], 1, LLONG_MAX, &t->limit);
}

/* The value node of the first slot that is set, to place an error. */
static yaml_node_t *
first_set(const struct slot *a, const struct slot *b, const struct slot *c)
{
	if (a != NULL && a->key != NULL)
		return a->value;
	if (b != NULL && b->key != NULL)
		return b->value;
	if (c != NULL && c->key != NULL)
		return c->value;
	return NULL;
}

/* The slot that is set, this level's first, or NULL: where it was written. */
static const struct slot *
written(const struct slot *here, const struct slot *defaults)
{
	if (here->key != NULL)
		return here;
	if (defaults != NULL && defaults->key != NULL)
		return defaults;
	return NULL;
}

/*
 * Add "; WHAT is set at FILE:LINE:COL" to *msg for a setting the user
 * wrote somewhere else than at, the place of the error: a conflict names
 * both sides, which may be far apart (defaults and a target).
 */
static void
also_at(struct loader *l, char **msg, const char *what, const struct slot *s,
    const yaml_node_t *at)
{
	char	*m;

	if (s == NULL || s->key == NULL || s->value == at)
		return;
	xasprintf(&m, "%s; %s is set at %s:%zu:%zu", *msg, what, l->file,
	    s->value->start_mark.line + 1, s->value->start_mark.column + 1);
	free(*msg);
	*msg = m;
}

/*
 * Check how a target's (or the defaults') durations fit together and with
 * retention, and fill in the timeout nobody wrote. An error is placed on a
 * key of this level, so that values inherited from a bad defaults section
 * are reported once, there; it names the other settings of the conflict
 * the user wrote. Settings nobody wrote never conflict: an unset timeout
 * follows the interval here, and unset retention limits follow the
 * targets' windows in retention_follow().
 */
static void
check_timing(struct loader *l, struct target_config *t,
    const struct slot *s, bool defaults, const char *who)
{
	const struct retention_config	*r = &l->cf->retention;
	const struct slot		*d = defaults ? NULL : l->dslots;
	const struct slot		*ts, *is, *ws;
	const struct slot		*rsnap = &l->rslots[RT_SNAPSHOTS];
	const struct slot		*rage = &l->rslots[RT_AGE];
	yaml_node_t			*at;
	char				 a[64], b[64], *msg;
	uint64_t			 need;

	ts = written(&s[TK_TIMEOUT], d != NULL ? &d[TK_TIMEOUT] : NULL);
	is = written(&s[TK_INTERVAL], d != NULL ? &d[TK_INTERVAL] : NULL);
	ws = written(&s[TK_WINDOW], d != NULL ? &d[TK_WINDOW] : NULL);

	/*
	 * Prometheus's rule: a scrape timeout nobody wrote is the default
	 * or the interval, whichever is shorter. A timeout equal to the
	 * interval is fine, since a target's scrapes never overlap: the
	 * next is armed when one ends. A timeout the user wrote keeps the
	 * stricter rule, so that a slow target leaves room between scrapes.
	 */
	if (ts == NULL)
		t->timeout_ms = t->interval_ms < CONFIG_TIMEOUT ?
		    t->interval_ms : CONFIG_TIMEOUT;
	fmt_duration(t->interval_ms, b, sizeof b);
	if (ts != NULL && t->timeout_ms >= t->interval_ms &&
	    (at = first_set(&s[TK_TIMEOUT], &s[TK_INTERVAL], NULL)) != NULL) {
		fmt_duration(t->timeout_ms, a, sizeof a);
		xasprintf(&msg, "%stimeout (%s) must be shorter than interval "
		    "(%s)", who, a, b);
		also_at(l, &msg, "the timeout", ts, at);
		also_at(l, &msg, "the interval", is, at);
		error(l, at, "%s", msg);
		free(msg);
	}
	if (t->interval_ms > t->window_ms / 2 &&
	    (at = first_set(&s[TK_WINDOW], &s[TK_INTERVAL], NULL)) != NULL) {
		fmt_duration(t->window_ms, a, sizeof a);
		error(l, at, "%swindow (%s) must be at least twice the "
		    "interval (%s)", who, a, b);
		return;
	}
	fmt_duration(t->window_ms, b, sizeof b);
	if (t->for_ms > t->window_ms &&
	    (at = first_set(&s[TK_FOR], &s[TK_WINDOW], NULL)) != NULL) {
		fmt_duration(t->for_ms, a, sizeof a);
		error(l, at, "%sfor (%s) must not be longer than window (%s)",
		    who, a, b);
	}
	/*
	 * A slow horizon written is off (0s) or reaches past the window;
	 * one within it would judge less than the window does, and one
	 * under 96 ms has floors of no width. The default gives way to a
	 * window longer than it.
	 */
	if (written(&s[TK_SLOW_WINDOW], d != NULL ? &d[TK_SLOW_WINDOW] :
	    NULL) != NULL && t->slow_window_ms != 0 &&
	    t->slow_window_ms <= t->window_ms &&
	    (at = first_set(&s[TK_SLOW_WINDOW], &s[TK_WINDOW], NULL)) !=
	    NULL) {
		fmt_duration(t->slow_window_ms, a, sizeof a);
		error(l, at, "%sslow_window (%s) must be 0s or longer than "
		    "window (%s)", who, a, b);
	}

	/* Every scrape of the window, and the one that starts it. */
	need = (t->window_ms + t->interval_ms - 1) / t->interval_ms + 1;
	if (!defaults) {
		if (need > l->need_snapshots)
			l->need_snapshots = need;
		if (t->window_ms > l->longest_window)
			l->longest_window = t->window_ms;
	}
	if (rsnap->key != NULL && r->snapshots != 0 && r->snapshots < need &&
	    (at = first_set(&s[TK_WINDOW], &s[TK_INTERVAL],
	    defaults ? rsnap : NULL)) != NULL) {
		fmt_duration(t->interval_ms, a, sizeof a);
		xasprintf(&msg, "%sa window of %s at an interval of %s needs "
		    "%llu snapshots, retention keeps %llu", who, b, a,
		    (unsigned long long)need,
		    (unsigned long long)r->snapshots);
		also_at(l, &msg, "the window", ws, at);
		also_at(l, &msg, "the interval", is, at);
		also_at(l, &msg, "retention.snapshots", rsnap, at);
		error(l, at, "%s", msg);
		free(msg);
	}
	if (rage->key != NULL && r->age_ms != 0 && r->age_ms < t->window_ms &&
	    (at = first_set(&s[TK_WINDOW], defaults ? rage : NULL,
	    NULL)) != NULL) {
		fmt_duration(r->age_ms, a, sizeof a);
		xasprintf(&msg, "%swindow (%s) is longer than retention age "
		    "(%s)", who, b, a);
		also_at(l, &msg, "the window", ws, at);
		also_at(l, &msg, "retention.age", rage, at);
		error(l, at, "%s", msg);
		free(msg);
	}
}

/*
 * Retention limits nobody wrote follow the targets: enough snapshots and
 * age for the longest window, and never less than the defaults, which
 * for the packed form keep a month of one-minute scrapes under the tiers.
 */
static void
retention_follow(struct loader *l)
{
	struct retention_config	*r = &l->cf->retention;

	if (l->rslots[RT_SNAPSHOTS].key == NULL) {
		if (l->cf->storage_pack && r->snapshots < CONFIG_RETENTION_PACKED)
			r->snapshots = CONFIG_RETENTION_PACKED;
		if (l->need_snapshots > r->snapshots)
			r->snapshots = l->need_snapshots;
	}
	if (l->rslots[RT_AGE].key == NULL && l->longest_window > r->age_ms)
		r->age_ms = l->longest_window;
	/*
	 * Downsampling must leave every snapshot of a window: ages nobody
	 * wrote follow the longest window, one written shorter is an error.
	 */
	if (r->ntiers > 0 && r->tiers[0].after_ms < l->longest_window) {
		char	a[64], b[64];
		size_t	i;

		if (l->rslots[RT_DOWNSAMPLE].key != NULL) {
			fmt_duration(r->tiers[0].after_ms, a, sizeof a);
			fmt_duration(l->longest_window, b, sizeof b);
			error(l, l->rslots[RT_DOWNSAMPLE].key, "downsample: "
			    "age %s is shorter than the longest window (%s)",
			    a, b);
		} else
			for (i = 0; i < r->ntiers; i++)
				if (r->tiers[i].after_ms < l->longest_window)
					r->tiers[i].after_ms =
					    l->longest_window;
	}
}

/* Read defaults (if s) and check them, with retention, once for all. */
static void
load_defaults(struct loader *l, const struct slot *s)
{
	yaml_node_t	*map;

	if (s == NULL || (map = get_map(l, s)) == NULL) {
		check_timing(l, &l->defaults, l->dslots, true, "");
		return;
	}
	collect(l, map, target_keys, TK_TIMING, l->dslots);
	if (load_timing(l, l->dslots, &l->defaults, NULL))
		check_timing(l, &l->defaults, l->dslots, true, "");
	load_limit(l, l->dslots, &l->defaults, NULL);
}

/* Whether s is a Prometheus label name. */
static bool
label_name_ok(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (s++; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

int
config_pair_cmp(const void *a, const void *b)
{
	const struct config_pair	*pa = a, *pb = b;

	return strcmp(pa->name, pb->name);
}

static int
pair_casecmp(const void *a, const void *b)
{
	const struct config_pair	*pa = a, *pb = b;

	return strcasecmp(pa->name, pb->name);
}

/* A check of one entry of a map of strings, such as a label. */
typedef bool (*pair_check_cb)(struct loader *, yaml_node_t *,
    const struct slot *, const void *);

/* Read a map of strings, each entry checked with check (if any). */
static void
load_pairs(struct loader *l, const struct slot *s, struct config_pair **out,
    size_t *nout, pair_check_cb check, const void *arg)
{
	yaml_node_t		*map;
	yaml_node_pair_t	*p;
	struct slot		 e;
	char			*v;
	bool			*usable;
	size_t			 i;

	if ((map = get_map(l, s)) == NULL)
		return;
	*out = xreallocarray(NULL, map->data.mapping.pairs.top -
	    map->data.mapping.pairs.start, sizeof **out);
	usable = yamlx_keys(&l->y, map);
	for (i = 0, p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; i++, p++) {
		if (!usable[i])
			continue;
		e.key = yamlx_node(&l->y, p->key);
		e.value = yamlx_node(&l->y, p->value);
		if (check != NULL && !check(l, map, &e, arg))
			continue;
		v = NULL;
		if (!get_string(l, &e, false, &v))
			continue;
		(*out)[*nout].name = xstrdup(yamlx_text(e.key));
		(*out)[*nout].value = v;
		(*nout)++;
	}
	free(usable);
}

static bool
check_label(struct loader *l, yaml_node_t *map, const struct slot *e,
    const void *arg)
{
	const char	*name = yamlx_text(e->key), *why;

	if ((why = config_label_problem(name)) == NULL)
		return true;
	error(l, e->key, "label \"%s\": %s", name, why);
	return false;
}

const char *
config_label_problem(const char *name)
{
	if (!label_name_ok(name))
		return "not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)";
	if (strncmp(name, "__", 2) == 0)
		return "names starting with \"__\" are reserved";
	/* Its series' own (result) and its alerts' (alertname, severity). */
	if (strcmp(name, "target") == 0 || strcmp(name, "alertname") == 0 ||
	    strcmp(name, "severity") == 0 || strcmp(name, "result") == 0)
		return "reserved (heapwatch sets it)";
	return NULL;
}

/* Whether s is an HTTP token (RFC 9110), as a header name must be. */
static bool
config_http_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) &&
		    strchr("!#$%&'*+-.^_`|~", *s) == NULL)
			return false;
	return true;
}

/* Check a header; arg names the auth setting that owns Authorization. */
static bool
check_header(struct loader *l, yaml_node_t *map, const struct slot *e,
    const void *arg)
{
	static const char *const reserved[] = {
		"Host", "Connection", "Content-Length", "Transfer-Encoding",
	};
	const char		*name = yamlx_text(e->key), *auth = arg, *v;
	yaml_node_pair_t	*q;
	yaml_node_t		*other;
	size_t			 i;

	if (!config_http_token(name)) {
		error(l, e->key, "header \"%s\": not a valid header name", name);
		return false;
	}
	for (i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
		if (strcasecmp(name, reserved[i]) == 0) {
			error(l, e->key, "header \"%s\": set by heapwatch", name);
			return false;
		}
	if (auth != NULL && strcasecmp(name, "Authorization") == 0) {
		error(l, e->key, "header \"%s\": conflicts with %s", name, auth);
		return false;
	}
	/* yamlx_keys() caught exact repeats; header names also ignore case. */
	for (q = map->data.mapping.pairs.start;
	    (other = yamlx_node(&l->y, q->key)) != e->key; q++)
		if (other->type == YAML_SCALAR_NODE &&
		    strcasecmp(yamlx_text(other), name) == 0) {
			error(l, e->key, "header \"%s\": already set as \"%s\" "
			    "(header names ignore case)", name,
			    yamlx_text(other));
			return false;
		}
	if (e->value->type == YAML_SCALAR_NODE)
		for (v = yamlx_text(e->value); *v != '\0'; v++)
			if (iscntrl((unsigned char)*v) && *v != '\t') {
				error(l, e->value, "header \"%s\": the value "
				    "contains a control character", name);
				return false;
			}
	return true;
}

/* Read headers, sorted so that reordering them changes nothing. */
static void
load_headers(struct loader *l, const struct slot *s, struct config_pair **out,
    size_t *nout, const char *auth)
{
	load_pairs(l, s, out, nout, check_header, auth);
	if (*nout > 1)
		qsort(*out, *nout, sizeof **out, pair_casecmp);
}

/* Read a target's tls settings; https tells whether they can apply. */
static void
load_tls(struct loader *l, const struct slot *s, struct tls_config *tls,
    bool https)
{
	struct slot	 ts[TL_MAX];
	yaml_node_t	*map;

	if ((map = get_map(l, s)) == NULL)
		return;
	collect(l, map, tls_keys, TL_MAX, ts);
	if (ts[TL_CA_FILE].key != NULL)
		(void)get_path(l, &ts[TL_CA_FILE], &tls->ca_file);
	if (ts[TL_CERT_FILE].key != NULL)
		(void)get_path(l, &ts[TL_CERT_FILE], &tls->cert_file);
	if (ts[TL_KEY_FILE].key != NULL)
		(void)get_path(l, &ts[TL_KEY_FILE], &tls->key_file);
	if (ts[TL_INSECURE].key != NULL)
		(void)get_bool(l, &ts[TL_INSECURE], &tls->insecure_skip_verify);
	if (ts[TL_CERT_FILE].key != NULL && ts[TL_KEY_FILE].key == NULL)
		error(l, ts[TL_CERT_FILE].key, "tls: cert_file needs key_file");
	if (ts[TL_KEY_FILE].key != NULL && ts[TL_CERT_FILE].key == NULL)
		error(l, ts[TL_KEY_FILE].key, "tls: key_file needs cert_file");
	if (!https)
		error(l, s->key, "tls: the url is not https://");
}

/* Read basic_auth; false if it sets nothing. */
static bool
load_basic_auth(struct loader *l, const struct slot *s,
    struct basic_auth_config *ba)
{
	struct slot	 bs[BK_MAX];
	yaml_node_t	*map;

	if ((map = get_map(l, s)) == NULL)
		return false;
	collect(l, map, basic_keys, BK_MAX, bs);
	if (bs[BK_USERNAME].key == NULL)
		error(l, map, "basic_auth: missing key \"username\"");
	else
		(void)get_string(l, &bs[BK_USERNAME], true, &ba->username);
	if (bs[BK_PASSWORD].key != NULL)
		(void)get_string(l, &bs[BK_PASSWORD], false, &ba->password);
	if (bs[BK_PASSWORD_FILE].key != NULL) {
		if (bs[BK_PASSWORD].key != NULL)
			error(l, bs[BK_PASSWORD_FILE].key, "basic_auth: password "
			    "and password_file are mutually exclusive");
		else
			(void)get_path(l, &bs[BK_PASSWORD_FILE],
			    &ba->password_file);
	}
	return true;
}

/*
 * Read a target's gctrace: exactly one source of GC trace lines, and
 * for the journal, which one.
 */
static void
load_gctrace(struct loader *l, const struct slot *s, struct gctrace_config *g)
{
	struct slot		 gs[GK_MAX], item;
	yaml_node_t		*map, *list;
	yaml_node_item_t	*it;
	size_t			 i, n = 0, first = GK_MAX;

	if ((map = get_map(l, s)) == NULL)
		return;
	collect(l, map, gctrace_keys, GK_MAX, gs);
	if (gs[GK_JOURNAL_DIRECTORY].key != NULL &&
	    gs[GK_JOURNAL_UNIT].key == NULL)
		error(l, gs[GK_JOURNAL_DIRECTORY].key, "gctrace: "
		    "journal_directory needs journal_unit");
	for (i = 0; i < GK_SOURCES; i++) {
		if (gs[i].key == NULL)
			continue;
		if (n++ > 0) {
			error(l, gs[i].key, "gctrace: %s and %s are mutually "
			    "exclusive", gctrace_keys[first], gctrace_keys[i]);
			return;
		}
		first = i;
	}
	if (n == 0) {
		if (gs[GK_JOURNAL_DIRECTORY].key == NULL)
			error(l, map, "gctrace: expected one of file, "
			    "journal_unit or command");
		return;
	}
	if (gs[GK_FILE].key != NULL) {
		if (get_path(l, &gs[GK_FILE], &g->file))
			g->source = GCTRACE_SRC_FILE;
	} else if (gs[GK_JOURNAL_UNIT].key != NULL) {
#ifdef HAVE_SYSTEMD
		if (gs[GK_JOURNAL_DIRECTORY].key != NULL &&
		    !get_path(l, &gs[GK_JOURNAL_DIRECTORY],
		    &g->journal_directory))
			return;
		if (get_string(l, &gs[GK_JOURNAL_UNIT], true,
		    &g->journal_unit))
			g->source = GCTRACE_SRC_JOURNAL;
#else
		error(l, gs[GK_JOURNAL_UNIT].key, "journal_unit: heapwatchd "
		    "was built without libsystemd");
#endif
	} else {
		if ((list = get_list(l, &gs[GK_COMMAND])) == NULL) {
			if (yamlx_is_null(gs[GK_COMMAND].value))
				error(l, gs[GK_COMMAND].key,
				    "command: missing value");
			return;
		}
		n = list->data.sequence.items.top -
		    list->data.sequence.items.start;
		if (n == 0) {
			error(l, list, "command: expected a program and its "
			    "arguments, not an empty list");
			return;
		}
		g->argv = xcalloc(n + 1, sizeof *g->argv);
		item.key = gs[GK_COMMAND].key;
		for (it = list->data.sequence.items.start;
		    it < list->data.sequence.items.top; it++) {
			item.value = yamlx_node(&l->y, *it);
			if (!get_string(l, &item, g->argc == 0,
			    &g->argv[g->argc]))
				return;
			g->argc++;
		}
		g->source = GCTRACE_SRC_COMMAND;
	}
}

const char *
config_name_problem(const char *v)
{
	if (*v == '\0')
		return "must not be empty";
	if (strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
		return "not allowed";
	if (strlen(v) > CONFIG_NAME_MAX)
		return "longer than 128 characters";
	if (strspn(v, CONFIG_NAME_CHARS) != strlen(v))
		return "only letters, digits, \"_\", \".\" and \"-\" are "
		    "allowed";
	/* The store keeps its own files under such names. */
	if (v[0] == '.')
		return "must not start with \".\"";
	return NULL;
}

/* Read and check target idx's name: a folder name, unique. */
static bool
load_name(struct loader *l, const struct slot *s, size_t idx)
{
	struct config	*cf = l->cf;
	const char	*why;
	char		*v = NULL;
	size_t		 i;

	if (!get_string(l, s, false, &v))
		return false;
	if ((why = config_name_problem(v)) != NULL &&
	    (*v == '\0' || strlen(v) > CONFIG_NAME_MAX))
		error(l, s->value, "name: %s", why);
	else if (why != NULL)
		error(l, s->value, "name \"%s\": %s", v, why);
	else {
		for (i = 0; i < idx; i++)
			if (cf->targets[i].name != NULL &&
			    strcmp(cf->targets[i].name, v) == 0)
				break;
		if (i == idx) {
			cf->targets[idx].name = v;
			l->name_lines[idx] = s->value->start_mark.line + 1;
			return true;
		}
		error(l, s->value, "name \"%s\": already used by the target "
		    "on line %zu", v, l->name_lines[i]);
	}
	free(v);
	return false;
}

static void	load_options(struct loader *, const struct slot *,
		    struct target_config *, const char *, bool, bool);

/* Read and check one target of the list, over the defaults. */
static void
load_target(struct loader *l, yaml_node_t *map)
{
	struct config		*cf = l->cf;
	struct target_config	*t;
	struct slot		 s[TK_MAX];
	char			 who[CONFIG_NAME_MAX + 16];
	size_t			 idx;
	bool			 goroutine, https;

	if (map->type != YAML_MAPPING_NODE) {
		error(l, map, "targets: expected a map for each target, not %s",
		    yamlx_kind(map));
		return;
	}
	collect(l, map, target_keys, TK_MAX, s);
	idx = cf->ntargets++;
	t = &cf->targets[idx];
	*t = l->defaults;

	snprintf(who, sizeof who, "target: ");
	if (s[TK_NAME].key == NULL)
		error(l, map, "target: missing key \"name\"");
	else if (load_name(l, &s[TK_NAME], idx))
		snprintf(who, sizeof who, "target \"%s\": ", t->name);
	if (s[TK_URL].key == NULL && s[TK_GCTRACE].key == NULL)
		error(l, map, "%smissing key \"url\" (or \"gctrace\", to "
		    "follow its GC lines alone)", who);
	else if (s[TK_URL].key != NULL)
		(void)get_url(l, &s[TK_URL], &t->url);

	goroutine = strncmp(config_target_kind(t), "goroutine", 9) == 0;
	https = t->url == NULL || strncasecmp(t->url, "https://", 8) == 0;
	load_options(l, s, t, who, goroutine, https);
	/*
	 * A goroutine target's GC lines tell its restarts, which its
	 * profiles cannot; a leak profile's verdict needs no history.
	 */
	if (s[TK_GCTRACE].key != NULL) {
		if (strcmp(config_target_kind(t), "goroutineleak") == 0)
			error(l, s[TK_GCTRACE].key, "gctrace: a goroutine "
			    "leak profile is judged without it");
		else
			load_gctrace(l, &s[TK_GCTRACE], &t->gctrace);
	}
}

/*
 * Read the settings a target shares with a file_sd entry, over the
 * defaults in t: timing, labels, authentication, TLS, headers, limits.
 */
static void
load_options(struct loader *l, const struct slot *s, struct target_config *t,
    const char *who, bool goroutine, bool https)
{
	const char	*auth = NULL;
	uint64_t	 n;

	if (goroutine) {
		t->min_growth = l->goroutine_growth;
		/* defaults' slow_min_growth is bytes: not for goroutines. */
		t->slow_min_growth = 0;
	}
	if (load_timing(l, s, t, &goroutine))
		check_timing(l, t, s, false, who);
	load_limit(l, s, t, &goroutine);

	if (s[TK_LABELS].key != NULL) {
		load_pairs(l, &s[TK_LABELS], &t->labels, &t->nlabels,
		    check_label, NULL);
		if (t->nlabels > 1)
			qsort(t->labels, t->nlabels, sizeof *t->labels,
			    config_pair_cmp);
	}
	if (s[TK_BEARER_TOKEN].key != NULL &&
	    get_string(l, &s[TK_BEARER_TOKEN], true, &t->bearer_token))
		auth = "bearer_token";
	if (s[TK_BEARER_TOKEN_FILE].key != NULL) {
		if (s[TK_BEARER_TOKEN].key != NULL)
			error(l, s[TK_BEARER_TOKEN_FILE].key, "bearer_token and "
			    "bearer_token_file are mutually exclusive");
		else if (get_path(l, &s[TK_BEARER_TOKEN_FILE],
		    &t->bearer_token_file))
			auth = "bearer_token_file";
	}
	if (s[TK_BASIC_AUTH].key != NULL) {
		if (s[TK_BEARER_TOKEN].key != NULL ||
		    s[TK_BEARER_TOKEN_FILE].key != NULL)
			error(l, s[TK_BASIC_AUTH].key, "basic_auth and %s are "
			    "mutually exclusive", target_keys[
			    s[TK_BEARER_TOKEN].key != NULL ? TK_BEARER_TOKEN :
			    TK_BEARER_TOKEN_FILE]);
		else if (load_basic_auth(l, &s[TK_BASIC_AUTH], &t->basic_auth))
			auth = "basic_auth";
	}
	if (s[TK_TLS].key != NULL)
		load_tls(l, &s[TK_TLS], &t->tls, https);
	if (s[TK_HEADERS].key != NULL)
		load_headers(l, &s[TK_HEADERS], &t->headers, &t->nheaders,
		    auth);
	if (s[TK_MAX_SIZE].key != NULL)
		(void)get_size(l, &s[TK_MAX_SIZE], 1ULL << 10, 4ULL << 30,
		    &t->max_size);
	if (s[TK_MAX_REDIRECTS].key != NULL &&
	    get_count(l, &s[TK_MAX_REDIRECTS], 0, 20, &n))
		t->max_redirects = (unsigned int)n;
	if (s[TK_SOURCE_PATH].key != NULL)
		(void)get_path(l, &s[TK_SOURCE_PATH], &t->source_path);
}

/* Read the list of targets; errors leave gaps the caller never sees. */
static void
load_targets(struct loader *l, const struct slot *s)
{
	yaml_node_t		*list;
	yaml_node_item_t	*it;
	size_t			 n;

	if ((list = get_list(l, s)) == NULL)
		return;
	n = list->data.sequence.items.top - list->data.sequence.items.start;
	l->cf->targets = xcalloc(n, sizeof *l->cf->targets);
	l->name_lines = xcalloc(n, sizeof *l->name_lines);
	for (it = list->data.sequence.items.start;
	    it < list->data.sequence.items.top; it++)
		load_target(l, yamlx_node(&l->y, *it));
}

/* Whether a file_sd pattern names JSON or YAML files, by its end. */
static bool
sd_pattern_ok(const char *p)
{
	static const char *const exts[] = { ".json", ".yml", ".yaml" };
	size_t	 i, len = strlen(p), n;

	for (i = 0; i < sizeof exts / sizeof exts[0]; i++) {
		n = strlen(exts[i]);
		if (len > n && strcasecmp(p + len - n, exts[i]) == 0)
			return true;
	}
	return false;
}

/* Read the files of a file_sd entry: glob(3) patterns, made absolute. */
static void
load_sd_files(struct loader *l, const struct slot *s,
    struct file_sd_config *sd)
{
	yaml_node_t		*list;
	yaml_node_item_t	*it;
	struct slot		 item;
	size_t			 n;

	if ((list = get_list(l, s)) == NULL ||
	    list->data.sequence.items.top == list->data.sequence.items.start) {
		error(l, s->key, "files: expected a list of patterns");
		return;
	}
	n = list->data.sequence.items.top - list->data.sequence.items.start;
	sd->files = xcalloc(n, sizeof *sd->files);
	item.key = s->key;
	for (it = list->data.sequence.items.start;
	    it < list->data.sequence.items.top; it++) {
		item.value = yamlx_node(&l->y, *it);
		if (!get_path(l, &item, &sd->files[sd->nfiles]))
			continue;
		if (!sd_pattern_ok(sd->files[sd->nfiles])) {
			error(l, item.value, "files \"%s\": must end in .json, "
			    ".yml or .yaml", yamlx_text(item.value));
			free(sd->files[sd->nfiles]);
			sd->files[sd->nfiles] = NULL;
			continue;
		}
		sd->nfiles++;
	}
}

/*
 * Read one entry of discovery.file_sd: its files, how its targets are
 * reached, and the settings all of them share, over the defaults.
 */
static void
load_file_sd(struct loader *l, yaml_node_t *map)
{
	static const enum target_key	 own[] = { TK_NAME, TK_URL,
	    TK_GCTRACE };
	struct config			*cf = l->cf;
	struct file_sd_config		*sd;
	struct slot			 all[TK_MAX + FS_MAX];
	struct slot			*fs = all + TK_MAX;
	const char			*names[TK_MAX + FS_MAX], *v;
	size_t				 i;
	bool				 goroutine;

	if (map->type != YAML_MAPPING_NODE) {
		error(l, map, "file_sd: expected a map for each entry, not %s",
		    yamlx_kind(map));
		return;
	}
	memcpy(names, target_keys, sizeof target_keys);
	memcpy(names + TK_MAX, file_sd_keys, sizeof file_sd_keys);
	collect(l, map, names, TK_MAX + FS_MAX, all);
	sd = &cf->file_sd[cf->nfile_sd++];
	sd->tmpl = l->defaults;
	sd->path = xstrdup(CONFIG_SD_PATH);
	sd->scheme = xstrdup("http");
	sd->refresh_ms = CONFIG_SD_REFRESH;
	for (i = 0; i < sizeof own / sizeof own[0]; i++)
		if (all[own[i]].key != NULL)
			error(l, all[own[i]].key, "file_sd: %s is not set here: "
			    "%s", target_keys[own[i]], own[i] == TK_GCTRACE ?
			    "it belongs to one process" :
			    "the target files give it");
	if (fs[FS_FILES].key == NULL)
		error(l, map, "file_sd: missing key \"files\"");
	else
		load_sd_files(l, &fs[FS_FILES], sd);
	if (fs[FS_SCHEME].key != NULL &&
	    (v = get_scalar(l, &fs[FS_SCHEME], "a string")) != NULL) {
		if (strcmp(v, "http") != 0 && strcmp(v, "https") != 0)
			error(l, fs[FS_SCHEME].value, "scheme \"%s\": expected "
			    "http or https", v);
		else {
			free(sd->scheme);
			sd->scheme = xstrdup(v);
		}
	}
	if (fs[FS_PATH].key != NULL &&
	    get_string(l, &fs[FS_PATH], true, &sd->path)) {
		xasprintf(&sd->tmpl.url, "%s://h%s", sd->scheme, sd->path);
		if (sd->path[0] != '/' || url_problem(sd->tmpl.url) != NULL)
			error(l, fs[FS_PATH].value, "path \"%s\": expected an "
			    "absolute path, without spaces", sd->path);
		free(sd->tmpl.url);
		sd->tmpl.url = NULL;
	}
	if (fs[FS_REFRESH_INTERVAL].key != NULL)
		(void)get_duration(l, &fs[FS_REFRESH_INTERVAL], 1000,
		    &sd->refresh_ms);

	/* The kind of profile, for min_growth, follows from the path. */
	xasprintf(&sd->tmpl.url, "%s://h%s", sd->scheme, sd->path);
	goroutine = strncmp(config_target_kind(&sd->tmpl), "goroutine", 9) ==
	    0;
	free(sd->tmpl.url);
	sd->tmpl.url = NULL;
	/*
	 * tls whatever the scheme: a group's __scheme__ may make its targets
	 * https (Prometheus's tls_config applies to those alone, likewise).
	 */
	load_options(l, all, &sd->tmpl, "file_sd: ", goroutine, true);
}

/* Read discovery: where targets come from besides the targets list. */
static void
load_discovery(struct loader *l, const struct slot *s)
{
	struct slot		 ds[DS_MAX];
	yaml_node_t		*map, *list;
	yaml_node_item_t	*it;
	size_t			 n;

	if ((map = get_map(l, s)) == NULL)
		return;
	collect(l, map, discovery_keys, DS_MAX, ds);
	if (ds[DS_FILE_SD].key == NULL ||
	    (list = get_list(l, &ds[DS_FILE_SD])) == NULL)
		return;
	n = list->data.sequence.items.top - list->data.sequence.items.start;
	l->cf->file_sd = xcalloc(n, sizeof *l->cf->file_sd);
	for (it = list->data.sequence.items.start;
	    it < list->data.sequence.items.top; it++)
		load_file_sd(l, yamlx_node(&l->y, *it));
}

/* Read shard: which of count heapwatchd this one is. */
static void
load_shard(struct loader *l, const struct slot *s)
{
	struct shard_config	*sh = &l->cf->shard;
	struct slot		 ss[SH_MAX];
	yaml_node_t		*map;
	uint64_t		 n;

	if ((map = get_map(l, s)) == NULL)
		return;
	collect(l, map, shard_keys, SH_MAX, ss);
	if (ss[SH_COUNT].key == NULL) {
		error(l, map, "shard: missing key \"count\"");
		return;
	}
	if (ss[SH_INDEX].key == NULL) {
		error(l, map, "shard: missing key \"index\"");
		return;
	}
	if (!get_count(l, &ss[SH_COUNT], 1, CONFIG_SHARD_MAX, &n))
		return;
	sh->count = (uint32_t)n;
	if (get_count(l, &ss[SH_INDEX], 0, LLONG_MAX, &n) && n >= sh->count) {
		error(l, ss[SH_INDEX].value, "index \"%s\": must be less than "
		    "count (%u)", yamlx_text(ss[SH_INDEX].value), sh->count);
		return;
	}
	sh->index = (uint32_t)n;
}

/* Read and check one webhook of alerting.webhooks. */
static void
load_webhook(struct loader *l, yaml_node_t *map)
{
	struct config		*cf = l->cf;
	struct webhook_config	*w;
	struct slot		 s[WK_MAX];
	const char		*v;
	size_t			 i;

	if (map->type != YAML_MAPPING_NODE) {
		error(l, map, "webhooks: expected a map for each webhook, not "
		    "%s", yamlx_kind(map));
		return;
	}
	collect(l, map, webhook_keys, WK_MAX, s);
	w = &cf->webhooks[cf->nwebhooks++];
	w->format = WEBHOOK_JSON;
	w->timeout_ms = CONFIG_WEBHOOK_TIMEOUT;
	w->repeat_interval_ms = CONFIG_WEBHOOK_REPEAT;
	if (s[WK_URL].key == NULL)
		error(l, map, "webhook: missing key \"url\"");
	else if (get_url(l, &s[WK_URL], &w->url)) {
		/* A receiver is known by its URL: its series, its queue. */
		for (i = 0; i + 1 < cf->nwebhooks; i++)
			if (cf->webhooks[i].url != NULL &&
			    strcmp(cf->webhooks[i].url, w->url) == 0)
				break;
		if (i + 1 < cf->nwebhooks)
			error(l, s[WK_URL].value, "url \"%s\": already that "
			    "of another webhook", w->url);
	}
	if (s[WK_FORMAT].key != NULL &&
	    (v = get_scalar(l, &s[WK_FORMAT], "a string")) != NULL) {
		if (strcmp(v, "json") == 0)
			w->format = WEBHOOK_JSON;
		else if (strcmp(v, "alertmanager") == 0)
			w->format = WEBHOOK_ALERTMANAGER;
		else
			error(l, s[WK_FORMAT].value, "format \"%s\": expected "
			    "json or alertmanager", v);
	}
	if (s[WK_TIMEOUT].key != NULL)
		(void)get_duration(l, &s[WK_TIMEOUT], 1, &w->timeout_ms);
	if (s[WK_REPEAT_INTERVAL].key != NULL)
		(void)get_duration(l, &s[WK_REPEAT_INTERVAL], 1000,
		    &w->repeat_interval_ms);
	if (s[WK_HEADERS].key != NULL)
		load_headers(l, &s[WK_HEADERS], &w->headers, &w->nheaders,
		    NULL);
}

/* Read alerting and its webhooks. */
static void
load_alerting(struct loader *l, const struct slot *s)
{
	struct slot		 as[AK_MAX];
	yaml_node_t		*map, *list;
	yaml_node_item_t	*it;
	size_t			 n;

	if ((map = get_map(l, s)) == NULL)
		return;
	collect(l, map, alerting_keys, AK_MAX, as);
	if (as[AK_WEBHOOKS].key == NULL ||
	    (list = get_list(l, &as[AK_WEBHOOKS])) == NULL)
		return;
	n = list->data.sequence.items.top - list->data.sequence.items.start;
	l->cf->webhooks = xcalloc(n, sizeof *l->cf->webhooks);
	for (it = list->data.sequence.items.start;
	    it < list->data.sequence.items.top; it++)
		load_webhook(l, yamlx_node(&l->y, *it));
}

/*
 * Read a small regular file named by s (already resolved to path) whole,
 * with no NUL byte in it; false once the reason is reported.
 */
static bool
read_small(struct loader *l, const struct slot *s, const char *path,
    char **out)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd;

	/* Non-blocking: a FIFO named by mistake must not hang a reload. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		error(l, s->value, "%s \"%s\": %s", yamlx_text(s->key), path,
		    strerror(errno));
		return false;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		error(l, s->value, "%s \"%s\": not a regular file",
		    yamlx_text(s->key), path);
		close(fd);
		return false;
	}
	if (st.st_size > CONFIG_FILE_MAX) {
		error(l, s->value, "%s \"%s\": larger than %s",
		    yamlx_text(s->key), path, units_fmt_size(CONFIG_FILE_MAX));
		close(fd);
		return false;
	}
	buf = xmalloc(st.st_size + 1);
	while (len < (size_t)st.st_size &&
	    (n = read(fd, buf + len, st.st_size - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			error(l, s->value, "%s \"%s\": %s",
			    yamlx_text(s->key), path, strerror(errno));
			free(buf);
			close(fd);
			return false;
		}
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	if (strlen(buf) != len) {
		error(l, s->value, "%s \"%s\": contains a NUL byte",
		    yamlx_text(s->key), path);
		free(buf);
		return false;
	}
	free(*out);
	*out = buf;
	return true;
}

/* Read a PEM file of web.tls; what names the block it must hold. */
static bool
load_pem(struct loader *l, const struct slot *s, const char *what,
    char **path, char **pem)
{
	if (!get_path(l, s, path) || !read_small(l, s, *path, pem))
		return false;
	if (strstr(*pem, "-----BEGIN ") == NULL ||
	    strstr(*pem, what) == NULL) {
		error(l, s->value, "%s \"%s\": no PEM %s in the file",
		    yamlx_text(s->key), *path, what);
		free(*pem);
		*pem = NULL;
		return false;
	}
	return true;
}

/* Read web.tls: the endpoint's certificate and key, read now. */
static void
load_web_tls(struct loader *l, const struct slot *s, struct web_config *w)
{
	struct slot	 ts[WT_MAX];
	yaml_node_t	*map;

	if ((map = get_map(l, s)) == NULL)
		return;
	collect(l, map, web_tls_keys, WT_MAX, ts);
	if (ts[WT_CERT_FILE].key == NULL && ts[WT_KEY_FILE].key == NULL)
		error(l, s->key, "tls: needs cert_file and key_file");
	else if (ts[WT_KEY_FILE].key == NULL)
		error(l, ts[WT_CERT_FILE].key, "tls: cert_file needs key_file");
	else if (ts[WT_CERT_FILE].key == NULL)
		error(l, ts[WT_KEY_FILE].key, "tls: key_file needs cert_file");
	if (ts[WT_CERT_FILE].key != NULL)
		(void)load_pem(l, &ts[WT_CERT_FILE], "CERTIFICATE",
		    &w->cert_file, &w->cert);
	if (ts[WT_KEY_FILE].key != NULL)
		(void)load_pem(l, &ts[WT_KEY_FILE], "PRIVATE KEY",
		    &w->key_file, &w->key);
}

/* Why h is not a bcrypt hash crypt(3) can check, or NULL. */
static const char *
bcrypt_problem(const char *h)
{
	static const char	b64[] = "./ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789";
	int			cost;

	if (strncmp(h, "$2a$", 4) != 0 && strncmp(h, "$2b$", 4) != 0 &&
	    strncmp(h, "$2y$", 4) != 0)
		return "not a bcrypt hash ($2a$, $2b$ or $2y$)";
	if (!isdigit((unsigned char)h[4]) || !isdigit((unsigned char)h[5]) ||
	    h[6] != '$')
		return "bad bcrypt cost";
	cost = (h[4] - '0') * 10 + (h[5] - '0');
	if (cost < 4 || cost > 31)
		return "bcrypt cost must be 04 to 31";
	if (strlen(h) != 60 || strspn(h + 7, b64) != 53)
		return "bad bcrypt hash (53 characters of salt and hash "
		    "after the cost)";
	return NULL;
}

/* Check one entry of web.basic_auth_users: a user name and its hash. */
static bool
check_user(struct loader *l, yaml_node_t *map, const struct slot *e,
    const void *arg)
{
	const char	*name = yamlx_text(e->key), *why, *p;

	for (p = name; *p != '\0'; p++)
		if (iscntrl((unsigned char)*p) || *p == ':') {
			error(l, e->key, "user \"%s\": no \":\" or control "
			    "characters in a user name", name);
			return false;
		}
	if (e->value->type != YAML_SCALAR_NODE || yamlx_is_null(e->value))
		return true;	/* get_string() says what is wrong */
	if ((why = bcrypt_problem(yamlx_text(e->value))) != NULL) {
		error(l, e->value, "user \"%s\": %s", name, why);
		return false;
	}
	return true;
}

/* Whether a bearer token is usable in an Authorization header. */
static bool
token_ok(const char *t)
{
	if (*t == '\0')
		return false;
	for (; *t != '\0'; t++)
		if (iscntrl((unsigned char)*t) || *t == ' ')
			return false;
	return true;
}

/*
 * Read web.external_url, where people and receivers reach heapwatchd (a
 * proxy, a load balancer): the start of the links in alerts, as
 * Prometheus's --web.external-url, without the trailing '/'.
 */
static void
load_external_url(struct loader *l, const struct slot *s,
    struct web_config *w)
{
	const char	*why;
	size_t		 len;

	if (!get_string(l, s, true, &w->external_url))
		return;
	/* Valid, it starts with the scheme and its "://". */
	if ((why = url_problem(w->external_url)) == NULL &&
	    strpbrk(strstr(w->external_url, "://") + 3, "?#") != NULL)
		why = "no query or fragment: links are added after it";
	if (why != NULL) {
		error(l, s->value, "external_url \"%s\": %s", w->external_url,
		    why);
		free(w->external_url);
		w->external_url = NULL;
		return;
	}
	len = strlen(w->external_url);
	while (len > 0 && w->external_url[len - 1] == '/')
		w->external_url[--len] = '\0';
}

/* Read web: TLS and who may use the endpoint. */
static void
load_web(struct loader *l, const struct slot *s)
{
	struct web_config	*w = &l->cf->web;
	struct slot		 ws[WB_MAX];
	yaml_node_t		*map;
	size_t			 len;

	if ((map = get_map(l, s)) == NULL)
		return;
	collect(l, map, web_keys, WB_MAX, ws);
	if (ws[WB_EXTERNAL_URL].key != NULL)
		load_external_url(l, &ws[WB_EXTERNAL_URL], w);
	if (ws[WB_TLS].key != NULL)
		load_web_tls(l, &ws[WB_TLS], w);
	if (ws[WB_BASIC_AUTH_USERS].key != NULL) {
		load_pairs(l, &ws[WB_BASIC_AUTH_USERS], &w->users, &w->nusers,
		    check_user, NULL);
		if (w->nusers > 1)
			qsort(w->users, w->nusers, sizeof *w->users, config_pair_cmp);
	}
	if (ws[WB_BEARER_TOKEN].key != NULL &&
	    get_string(l, &ws[WB_BEARER_TOKEN], true, &w->bearer_token) &&
	    !token_ok(w->bearer_token))
		error(l, ws[WB_BEARER_TOKEN].value, "bearer_token: no spaces "
		    "or control characters");
	if (ws[WB_BEARER_TOKEN_FILE].key == NULL)
		return;
	if (ws[WB_BEARER_TOKEN].key != NULL) {
		error(l, ws[WB_BEARER_TOKEN_FILE].key, "bearer_token and "
		    "bearer_token_file are mutually exclusive");
		return;
	}
	if (!get_path(l, &ws[WB_BEARER_TOKEN_FILE], &w->bearer_token_file) ||
	    !read_small(l, &ws[WB_BEARER_TOKEN_FILE], w->bearer_token_file,
	    &w->bearer_token))
		return;
	/* A token file usually ends in a newline, as echo writes it. */
	len = strlen(w->bearer_token);
	while (len > 0 && isspace((unsigned char)w->bearer_token[len - 1]))
		w->bearer_token[--len] = '\0';
	if (!token_ok(w->bearer_token))
		error(l, ws[WB_BEARER_TOKEN_FILE].value, "bearer_token_file "
		    "\"%s\": %s", w->bearer_token_file, len == 0 ? "empty" :
		    "the token has spaces or control characters");
}

/* Read the top level, in the order in which settings depend on others. */
static void
load_root(struct loader *l, yaml_node_t *root)
{
	struct slot	s[RK_MAX];

	if (root == NULL || yamlx_is_null(root))
		return;
	if (root->type != YAML_MAPPING_NODE) {
		error(l, root, "expected a map at the top level, not %s",
		    yamlx_kind(root));
		return;
	}
	collect(l, root, root_keys, RK_MAX, s);
	if (s[RK_LISTEN].key != NULL)
		load_listen(l, &s[RK_LISTEN]);
	if (s[RK_WEB].key != NULL)
		load_web(l, &s[RK_WEB]);
	if (s[RK_STORAGE].key != NULL)
		load_storage(l, &s[RK_STORAGE]);
	load_defaults(l, s[RK_DEFAULTS].key != NULL ? &s[RK_DEFAULTS] : NULL);
	if (s[RK_TARGETS].key != NULL)
		load_targets(l, &s[RK_TARGETS]);
	if (s[RK_DISCOVERY].key != NULL)
		load_discovery(l, &s[RK_DISCOVERY]);
	if (s[RK_SHARD].key != NULL)
		load_shard(l, &s[RK_SHARD]);
	if (s[RK_ALERTING].key != NULL)
		load_alerting(l, &s[RK_ALERTING]);
	retention_follow(l);
}

/*
 * Parse the file's one document into l->y; false if there is none to
 * walk. A second document is reported, and the first is still checked.
 */
static bool
parse(struct loader *l)
{
	struct stat	 st;
	FILE		*fp;

	if ((fp = fopen(l->file, "r")) == NULL) {
		yamlx_errors_add(&l->errs, l->file, 0, 0, strerror(errno));
		return false;
	}
	if (fstat(fileno(fp), &st) == -1 || S_ISDIR(st.st_mode)) {
		yamlx_errors_add(&l->errs, l->file, 0, 0,
		    strerror(S_ISDIR(st.st_mode) ? EISDIR : errno));
		fclose(fp);
		return false;
	}
	if (yamlx_load(&l->y, l->file, fp, &l->errs) == -1 && !l->y.loaded) {
		fclose(fp);
		return false;
	}
	fclose(fp);
	return true;
}

/* A configuration with every default, before the file is read. */
static struct config *
config_new(const char *path)
{
	struct config	*cf;

	cf = xcalloc(1, sizeof *cf);
	cf->path = xstrdup(path);
	cf->listen = xstrdup(CONFIG_LISTEN);
	if (listen_problem(cf->listen, &cf->listen_host,
	    &cf->listen_port) != NULL)
		fatalx("%s: bad CONFIG_LISTEN", __func__);
	cf->storage_path = xstrdup(CONFIG_STORAGE_PATH);
	cf->retention.snapshots = CONFIG_RETENTION_SNAPSHOTS;
	cf->retention.age_ms = CONFIG_RETENTION_AGE;
	cf->retention.size = CONFIG_RETENTION_SIZE;
	{
		static const struct retention_tier tiers[] =
		    CONFIG_TIERS_DEFAULT;

		memcpy(cf->retention.tiers, tiers, sizeof tiers);
		cf->retention.ntiers = CONFIG_NTIERS_DEFAULT;
	}
	cf->shard.count = 1;
	return cf;
}

struct config *
config_load(const char *path, struct yamlx_errors *errs)
{
	struct loader	 l;
	const char	*slash;

	memset(&l, 0, sizeof l);
	l.file = path;
	if ((slash = strrchr(path, '/')) != NULL)
		l.dir = xstrndup(path, slash - path);
	l.defaults.interval_ms = CONFIG_INTERVAL;
	l.defaults.timeout_ms = CONFIG_TIMEOUT;
	l.defaults.window_ms = CONFIG_WINDOW;
	l.defaults.for_ms = CONFIG_FOR;
	l.defaults.min_growth = CONFIG_MIN_GROWTH;
	l.defaults.page_within_ms = CONFIG_PAGE_WITHIN;
	l.defaults.force_gc = FORCE_GC_ON_SUSPICION;
	l.defaults.slow_window_ms = CONFIG_SLOW_WINDOW;
	l.defaults.max_size = CONFIG_MAX_SIZE;
	l.defaults.max_redirects = CONFIG_MAX_REDIRECTS;
	l.goroutine_growth = CONFIG_GOROUTINE_GROWTH;

	if (parse(&l)) {
		l.cf = config_new(path);
		load_root(&l, yamlx_root(&l.y));
	}
	yamlx_free(&l.y);
	free(l.dir);
	free(l.name_lines);
	if (l.errs.n > 0) {
		config_free(l.cf);
		l.cf = NULL;
	}
	if (errs != NULL)
		*errs = l.errs;
	else
		yamlx_errors_free(&l.errs);
	return l.cf;
}

/* Free an array of name-value pairs and the strings it holds. */
void
config_pairs_free(struct config_pair *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].value);
	}
	free(p);
}

/* Free a NULL-terminated array of n strings. */
static void
argv_free(char **argv, size_t n)
{
	size_t	i;

	if (argv == NULL)
		return;
	for (i = 0; i < n; i++)
		free(argv[i]);
	free(argv);
}

void
config_target_clear(struct target_config *t)
{
#define CLEAR_STRING(f)		free(t->f);
#define CLEAR_PAIRS(f, n)	config_pairs_free(t->f, t->n);
#define CLEAR_ARGV(f, n)	argv_free(t->f, t->n);
#define CLEAR_SCALAR(f)
	CONFIG_TARGET_FIELDS(CLEAR_STRING, CLEAR_PAIRS, CLEAR_ARGV,
	    CLEAR_SCALAR)
#undef CLEAR_STRING
#undef CLEAR_PAIRS
#undef CLEAR_ARGV
#undef CLEAR_SCALAR
	memset(t, 0, sizeof *t);
}

void
config_free(struct config *cf)
{
	size_t	i, j;

	if (cf == NULL)
		return;
	for (i = 0; i < cf->ntargets; i++)
		config_target_clear(&cf->targets[i]);
	free(cf->targets);
	for (i = 0; i < cf->nfile_sd; i++) {
		for (j = 0; j < cf->file_sd[i].nfiles; j++)
			free(cf->file_sd[i].files[j]);
		free(cf->file_sd[i].files);
		free(cf->file_sd[i].path);
		free(cf->file_sd[i].scheme);
		config_target_clear(&cf->file_sd[i].tmpl);
	}
	free(cf->file_sd);
	for (i = 0; i < cf->nwebhooks; i++) {
		free(cf->webhooks[i].url);
		config_pairs_free(cf->webhooks[i].headers,
		    cf->webhooks[i].nheaders);
	}
	free(cf->webhooks);
	free(cf->web.cert_file);
	free(cf->web.key_file);
	free(cf->web.cert);
	if (cf->web.key != NULL)
		explicit_bzero(cf->web.key, strlen(cf->web.key));
	free(cf->web.key);
	config_pairs_free(cf->web.users, cf->web.nusers);
	free(cf->web.bearer_token);
	free(cf->web.bearer_token_file);
	free(cf->web.external_url);
	free(cf->path);
	free(cf->listen);
	free(cf->listen_host);
	free(cf->storage_path);
	free(cf);
}

static bool
streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
pairs_equal(const struct config_pair *a, size_t na,
    const struct config_pair *b, size_t nb)
{
	size_t	i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (!streq(a[i].name, b[i].name) ||
		    !streq(a[i].value, b[i].value))
			return false;
	return true;
}

static bool
argv_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t	i;

	if (na != nb || (a == NULL) != (b == NULL))
		return false;
	for (i = 0; i < na; i++)
		if (!streq(a[i], b[i]))
			return false;
	return true;
}

static struct config_pair *
pairs_copy(const struct config_pair *p, size_t n)
{
	struct config_pair	*c;
	size_t			 i;

	if (n == 0)
		return NULL;
	c = xcalloc(n, sizeof *c);
	for (i = 0; i < n; i++) {
		c[i].name = xstrdup(p[i].name);
		c[i].value = xstrdup(p[i].value);
	}
	return c;
}

static char *
strdup_or_null(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

static char **
argv_copy(char *const *argv, size_t n)
{
	char	**c;
	size_t	  i;

	if (argv == NULL)
		return NULL;
	c = xcalloc(n + 1, sizeof *c);
	for (i = 0; i < n; i++)
		c[i] = xstrdup(argv[i]);
	return c;
}

/*
 * Field by field from the list, never by struct assignment: a pointer
 * copied that way would be freed twice, once by each clear.
 */
void
config_target_copy(struct target_config *d, const struct target_config *s)
{
	memset(d, 0, sizeof *d);
#define COPY_STRING(f)		d->f = strdup_or_null(s->f);
#define COPY_PAIRS(f, n)	d->f = pairs_copy(s->f, s->n); d->n = s->n;
#define COPY_ARGV(f, n)		d->f = argv_copy(s->f, s->n); d->n = s->n;
#define COPY_SCALAR(f)		d->f = s->f;
	CONFIG_TARGET_FIELDS(COPY_STRING, COPY_PAIRS, COPY_ARGV, COPY_SCALAR)
#undef COPY_STRING
#undef COPY_PAIRS
#undef COPY_ARGV
#undef COPY_SCALAR
}

bool
config_target_equal(const struct target_config *a,
    const struct target_config *b)
{
#define EQUAL_STRING(f)		if (!streq(a->f, b->f)) return false;
#define EQUAL_PAIRS(f, n)	\
	if (!pairs_equal(a->f, a->n, b->f, b->n)) return false;
#define EQUAL_ARGV(f, n)	\
	if (!argv_equal(a->f, a->n, b->f, b->n)) return false;
#define EQUAL_SCALAR(f)		if (a->f != b->f) return false;
	CONFIG_TARGET_FIELDS(EQUAL_STRING, EQUAL_PAIRS, EQUAL_ARGV,
	    EQUAL_SCALAR)
#undef EQUAL_STRING
#undef EQUAL_PAIRS
#undef EQUAL_ARGV
#undef EQUAL_SCALAR
	return true;
}

const char *
config_target_kind(const struct target_config *t)
{
	const char	*p;
	size_t		 len;

	if (t->url == NULL || (p = strstr(t->url, "://")) == NULL)
		return "heap";
	p += 3;
	p += strcspn(p, "/?#");
	len = strcspn(p, "?#");
	if (len > 0 && p[len - 1] == '/')
		len--;
	if (len >= 10 && strncmp(p + len - 10, "/goroutine", 10) == 0)
		return "goroutine";
	if (len >= 14 && strncmp(p + len - 14, "/goroutineleak", 14) == 0)
		return "goroutineleak";
	return "heap";
}
