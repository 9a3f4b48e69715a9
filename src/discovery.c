#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <stddef.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <yaml.h>

#include "buf.h"
#include "clock.h"
#include "conf.h"
#include "discovery.h"
#include "log.h"
#include "xmalloc.h"
#include "yamlx.h"

/*
 * Files are polled rather than watched with inotify: a glob can start to
 * match in a folder that did not exist, configuration management replaces
 * files by rename, and some are on network file systems; a stat(2) of each
 * match every DISCOVERY_POLL_MS sees all of these the same way. A file is
 * read again when its inode, size, mtime or ctime changed and has then
 * held for DISCOVERY_HELD_MS, by the clock rather than by checks (a loop
 * held up runs two close together), so that a file written in place (cut
 * to nothing, then written) is read once the writer is done rather than
 * empty: read empty, its targets would stop, and start afresh at the next
 * read. A file that goes on changing is read DISCOVERY_CHANGING_MS after
 * its first change all the same; one that changed while it was read is
 * held afresh. A new file is read at once, and every file of an entry at
 * its refresh_interval, as Prometheus does, and at start-up and reload,
 * but for a changed one, which is held all the same.
 */

/* A file some pattern matched, and what it held when last read well. */
struct sd_file {
	char			*path;
	struct stat		 read;		/* as last read */
	struct stat		 moved;		/* as changed since */
	int64_t			 moved_ms;	/* when, monotonic */
	int64_t			 moving_ms;	/* the first change since */
	bool			 stated;	/* read is set */
	bool			 moving;	/* the above are set */
	bool			 seen;		/* matched in this scan */
	bool			 failing;	/* the last read failed */
	struct sd_target	*targets;
	size_t			 ntargets;
};

/* A file_sd entry: its settings, copied, and the files it matched. */
struct sd_entry {
	struct file_sd_config	 cfg;		/* tmpl copied; files shared */
	char			**files;	/* patterns, owned */
	size_t			 nfiles;
	struct sd_file		**matched;	/* in this scan, sorted */
	size_t			 nmatched;
	int64_t			 next_refresh;	/* monotonic ms */
};

struct discovery {
	struct event		*timer;
	discovery_cb		 cb;
	void			*arg;
	struct sd_entry		*entries;
	size_t			 nentries;
	struct sd_file		**files;	/* every file, any entry */
	size_t			 nfiles;
	struct target_config	*targets;	/* what the daemon watches */
	size_t			 ntargets;
	struct target_config	*retired;	/* to free on release */
	size_t			 nretired;
	uint64_t		 reads;
	uint64_t		 errors;
};


uint64_t
discovery_hash(const char *s)
{
	uint64_t	h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * Lamping and Veach's jump consistent hash of the name's FNV-1a, in exact
 * integer arithmetic: the same shard on every machine and in every
 * version, and when count grows by one only a 1/count share of the
 * targets moves, all of them to the new shard.
 */
uint32_t
discovery_shard(const char *name, uint32_t count)
{
	uint64_t	key = discovery_hash(name);
	int64_t		b = -1, j = 0;

	if (count <= 1)
		return 0;
	while (j < (int64_t)count) {
		b = j;
		key = key * 2862933555777941757ULL + 1;
		j = (int64_t)(((uint64_t)(b + 1) << 31) / ((key >> 33) + 1));
	}
	return (uint32_t)b;
}

/* Why an address is not HOST or HOST:PORT heapwatch can reach, or NULL. */
static const char *
address_problem(const char *a)
{
	char		*url;
	const char	*why;

	if (*a == '\0')
		return "empty";
	if (strpbrk(a, "/?#@") != NULL)
		return "expected HOST:PORT, without a scheme, path or user";
	xasprintf(&url, "http://%s", a);
	why = config_url_problem(url);
	free(url);
	return why;
}

/* The name of a target without one: its address, made a folder name. */
static char *
address_name(const char *a)
{
	char	*name, *p;

	name = xstrdup(a);
	for (p = name; *p != '\0'; p++)
		if (strchr(CONFIG_NAME_CHARS, *p) == NULL)
			*p = '_';
	if (name[0] == '.')
		name[0] = '_';
	return name;
}

/*
 * Read one group's labels. "name" names the targets; __scheme__ and
 * __metrics_path__ say how they are reached, as in Prometheus; other
 * labels starting with "__" are dropped, as Prometheus drops them after
 * relabelling, and so are labels with an empty value, which Prometheus
 * takes for no label. false once a problem is reported.
 */
static bool
parse_labels(struct yamlx *y, yaml_node_t *map, struct sd_target *g,
    size_t *room, bool *full)
{
	struct yamlx_pairs	 w;
	yaml_node_t		*k, *v;
	const char		*name, *value, *why;
	size_t			 len;
	bool			 good = true;

	if (map->type != YAML_MAPPING_NODE) {
		yamlx_error(y, map, "labels: expected a map, not %s",
		    yamlx_kind(map));
		return false;
	}
	g->labels = xcalloc(map->data.mapping.pairs.top -
	    map->data.mapping.pairs.start + 1, sizeof *g->labels);
	/* A repeated name would give the target two labels of that name. */
	memset(&w, 0, sizeof w);
	while (yamlx_pairs_next(y, map, &w, &k, &v)) {
		name = yamlx_text(k);
		if ((value = yamlx_scalar(y, v, name, "a string")) == NULL) {
			good = false;
			continue;
		}
		/* Values may be aliases of one long value: counted each. */
		if ((len = strlen(name) + strlen(value)) > *room) {
			yamlx_error(y, v, "labels of more than %d MiB in the "
			    "file", DISCOVERY_LABEL_BYTES >> 20);
			*full = true;
			good = false;
			break;
		}
		*room -= len;
		if (strcmp(name, "name") == 0) {
			if ((why = config_name_problem(value)) != NULL) {
				yamlx_error(y, v, "name \"%s\": %s", value,
				    why);
				good = false;
			} else {
				free(g->name);
				g->name = xstrdup(value);
			}
		} else if (strcmp(name, "__scheme__") == 0) {
			if (strcmp(value, "http") != 0 &&
			    strcmp(value, "https") != 0) {
				yamlx_error(y, v, "__scheme__ \"%s\": expected "
				    "http or https", value);
				good = false;
			} else {
				free(g->scheme);
				g->scheme = xstrdup(value);
			}
		} else if (strcmp(name, "__metrics_path__") == 0) {
			if (value[0] != '/' || strpbrk(value, " \t\r\n#") !=
			    NULL) {
				yamlx_error(y, v, "__metrics_path__ \"%s\": "
				    "expected an absolute path, without "
				    "spaces", value);
				good = false;
			} else {
				free(g->path);
				g->path = xstrdup(value);
			}
		} else if (strncmp(name, "__", 2) == 0)
			continue;
		else if ((why = config_label_problem(name)) != NULL) {
			yamlx_error(y, k, "label \"%s\": %s", name, why);
			good = false;
		} else if (*value == '\0')
			continue;	/* Prometheus: an empty label is none */
		else {
			g->labels[g->nlabels].name = xstrdup(name);
			g->labels[g->nlabels].value = xstrdup(value);
			g->nlabels++;
		}
	}
	free(w.usable);		/* left by a break: NULL at the end */
	if (w.bad)
		good = false;
	if (g->nlabels > 1)
		qsort(g->labels, g->nlabels, sizeof *g->labels,
		    config_pair_cmp);
	return good;
}

static void
discovery_target_clear(struct sd_target *t)
{
	free(t->name);
	free(t->address);
	free(t->scheme);
	free(t->path);
	config_pairs_free(t->labels, t->nlabels);
	memset(t, 0, sizeof *t);
}

/*
 * A group's keys: its list of targets (*list) and its labels (*labels,
 * NULL when it has none); false once reported.
 */
static bool
group_keys(struct yamlx *y, yaml_node_t *map, yaml_node_t **list,
    yaml_node_t **labels)
{
	struct yamlx_pairs	 w;
	yaml_node_t		*k, *v;
	const char		*key;
	bool			 good = true;

	*list = *labels = NULL;
	if (map->type != YAML_MAPPING_NODE) {
		yamlx_error(y, map, "expected a map with targets and labels, "
		    "not %s", yamlx_kind(map));
		return false;
	}
	memset(&w, 0, sizeof w);
	while (yamlx_pairs_next(y, map, &w, &k, &v)) {
		key = yamlx_text(k);
		if (strcmp(key, "targets") == 0)
			*list = v;
		else if (strcmp(key, "labels") == 0)
			*labels = v;
		else {
			yamlx_error(y, k, "unknown key \"%s\"", key);
			good = false;
		}
	}
	if (!good || w.bad)
		return false;
	if (*list == NULL) {
		yamlx_error(y, map, "missing key \"targets\"");
		return false;
	}
	if ((*list)->type != YAML_SEQUENCE_NODE) {
		yamlx_error(y, *list, "targets: expected a list of HOST:PORT, "
		    "not %s", yamlx_kind(*list));
		return false;
	}
	return true;
}

/* A target at addr with its group's name, scheme, path and labels. */
static void
group_target(struct sd_target *t, const struct sd_target *g, const char *addr)
{
	size_t	i;

	memset(t, 0, sizeof *t);
	t->address = xstrdup(addr);
	t->name = g->name != NULL ? xstrdup(g->name) : address_name(addr);
	if (g->scheme != NULL)
		t->scheme = xstrdup(g->scheme);
	if (g->path != NULL)
		t->path = xstrdup(g->path);
	if (g->nlabels > 0) {
		t->labels = xcalloc(g->nlabels, sizeof *t->labels);
		for (i = 0; i < g->nlabels; i++) {
			t->labels[i].name = xstrdup(g->labels[i].name);
			t->labels[i].value = xstrdup(g->labels[i].value);
		}
		t->nlabels = g->nlabels;
	}
}

/*
 * Append the targets of one group to *out; false once reported, with *full
 * when they would take the file past DISCOVERY_TARGETS_MAX. The bytes
 * bound what a file holds, not what it gives: a group named once and
 * repeated by thousands of YAML aliases would give millions of targets,
 * made on the loop.
 */
static bool
parse_group(struct yamlx *y, yaml_node_t *map, struct sd_target **out,
    size_t *nout, size_t *room, bool *full)
{
	yaml_node_t		*list, *labels, *v;
	yaml_node_item_t	*it;
	struct sd_target	 g, *t;
	const char		*addr, *why;
	bool			 good = true;
	size_t			 n, i, gbytes;

	if (!group_keys(y, map, &list, &labels))
		return false;
	memset(&g, 0, sizeof g);
	if (labels != NULL && !parse_labels(y, labels, &g, room, full)) {
		discovery_target_clear(&g);
		return false;
	}
	n = list->data.sequence.items.top - list->data.sequence.items.start;
	if (n > DISCOVERY_TARGETS_MAX - *nout) {
		yamlx_error(y, list, "more than %d targets in the file",
		    DISCOVERY_TARGETS_MAX);
		discovery_target_clear(&g);
		*full = true;
		return false;
	}
	/* Each target has its own copy of the group's labels. */
	for (gbytes = 0, i = 0; i < g.nlabels; i++)
		gbytes += strlen(g.labels[i].name) + strlen(g.labels[i].value);
	gbytes += (g.name != NULL ? strlen(g.name) : 0) + (g.scheme != NULL ?
	    strlen(g.scheme) : 0) + (g.path != NULL ? strlen(g.path) : 0);
	if (gbytes > 0 && n > *room / gbytes) {
		yamlx_error(y, labels, "labels of more than %d MiB in the "
		    "file", DISCOVERY_LABEL_BYTES >> 20);
		discovery_target_clear(&g);
		*full = true;
		return false;
	}
	*room -= n * gbytes;
	*out = xreallocarray(*out, *nout + n, sizeof **out);
	for (it = list->data.sequence.items.start;
	    it < list->data.sequence.items.top; it++) {
		v = yamlx_node(y, *it);
		if ((addr = yamlx_scalar(y, v, "target", "HOST:PORT")) ==
		    NULL) {
			good = false;
			continue;
		}
		if ((why = address_problem(addr)) != NULL) {
			yamlx_error(y, v, "target \"%s\": %s", addr, why);
			good = false;
			continue;
		}
		t = &(*out)[(*nout)++];
		group_target(t, &g, addr);
		if ((why = config_name_problem(t->name)) != NULL) {
			yamlx_error(y, v, "target \"%s\": its name \"%s\": %s",
			    addr, t->name, why);
			good = false;
		}
	}
	discovery_target_clear(&g);
	return good;
}

static bool
ts_same(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Whether a and b are the same file, as far as telling a change goes. */
static bool
stat_same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size && ts_same(&a->st_mtim, &b->st_mtim) &&
	    ts_same(&a->st_ctim, &b->st_ctim);
}

/*
 * JSON is read as the YAML it also is (libyaml reads flow style, escapes
 * included), so both kinds of file give errors with line and column.
 */
int
discovery_parse(const char *path, const struct stat *held,
    struct sd_target **out, size_t *nout, struct yamlx_errors *errs)
{
	struct yamlx		 y;
	yaml_node_t		*root;
	yaml_node_item_t	*it;
	struct stat		 st;
	FILE			*fp;
	bool			 good, full = false;
	size_t			 room = DISCOVERY_LABEL_BYTES;
	char			*msg;
	size_t			 i;

	*out = NULL;
	*nout = 0;
	if ((fp = fopen(path, "r")) == NULL) {
		yamlx_errors_add(errs, path, 0, 0, strerror(errno));
		return -1;
	}
	if (fstat(fileno(fp), &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > DISCOVERY_FILE_MAX) {
		xasprintf(&msg, "not a regular file of at most %d MiB",
		    DISCOVERY_FILE_MAX >> 20);
		yamlx_errors_add(errs, path, 0, 0, msg);
		free(msg);
		fclose(fp);
		return -1;
	}
	good = yamlx_load(&y, path, fp, errs) == 0;
	if (held != NULL && (fstat(fileno(fp), &st) == -1 ||
	    !stat_same(held, &st))) {
		/* Changed since held: what was read may be half of it. */
		fclose(fp);
		yamlx_free(&y);
		yamlx_errors_free(errs);
		return 1;
	}
	fclose(fp);

	/* The first document is checked even when a second is refused. */
	root = yamlx_root(&y);
	if (root == NULL || yamlx_is_null(root))
		;	/* an empty file: no targets */
	else if (root->type != YAML_SEQUENCE_NODE) {
		yamlx_error(&y, root, "expected a list of target groups, not "
		    "%s", yamlx_kind(root));
		good = false;
	} else
		for (it = root->data.sequence.items.start;
		    it < root->data.sequence.items.top && !full; it++)
			if (!parse_group(&y, yamlx_node(&y, *it), out, nout,
			    &room, &full))
				good = false;
	yamlx_free(&y);
	if (good)
		return 0;
	for (i = 0; i < *nout; i++)
		discovery_target_clear(&(*out)[i]);
	free(*out);
	*out = NULL;
	*nout = 0;
	return -1;
}

void
discovery_targets_free(struct sd_target *t, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		discovery_target_clear(&t[i]);
	free(t);
}

static void
file_free(struct sd_file *f)
{
	if (f == NULL)
		return;
	discovery_targets_free(f->targets, f->ntargets);
	free(f->path);
	free(f);
}

static void
entries_free(struct sd_entry *e, size_t n)
{
	size_t	i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < e[i].nfiles; j++)
			free(e[i].files[j]);
		free(e[i].files);
		free(e[i].cfg.path);
		free(e[i].cfg.scheme);
		config_target_clear(&e[i].cfg.tmpl);
		free(e[i].matched);
	}
	free(e);
}

static void
configs_free(struct target_config *t, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		config_target_clear(&t[i]);
	free(t);
}

static struct sd_file *
file_find(struct discovery *d, const char *path)
{
	size_t	i;

	for (i = 0; i < d->nfiles; i++)
		if (strcmp(d->files[i]->path, path) == 0)
			return d->files[i];
	return NULL;
}

/* f is seen changed, as st, at now: held from now. */
static void
file_moved(struct sd_file *f, const struct stat *st, int64_t now)
{
	if (!f->moving)
		f->moving_ms = now;
	f->moving = true;
	f->moved = *st;
	f->moved_ms = now;
}

/*
 * Read f again if it changed and has held since, or changed long enough
 * ago; true if its targets changed. force reads a file whose stat is as
 * last read, and a new one, at once; a changed one is held all the same,
 * so that a reload or a refresh does not take a writer's cut either. The
 * file read must be the one whose stat held: one changed between the
 * stat and the end of the read is held afresh, unless it has been
 * changing for long.
 */
static bool
file_check(struct discovery *d, struct sd_file *f, bool force)
{
	struct yamlx_errors	 errs;
	struct sd_target	*t;
	struct stat		 st;
	size_t			 n, i;
	int64_t			 now = clock_mono_ms();
	bool			 changing;
	int			 rc;

	if (stat(f->path, &st) == -1) {
		/* Gone between glob(3) and now: the next scan drops it. */
		return false;
	}
	if (f->stated && stat_same(&f->read, &st)) {
		f->moving = false;
		if (!force)
			return false;
	} else if (f->stated || f->moving) {
		if (!f->moving || !stat_same(&f->moved, &st))
			file_moved(f, &st, now);
		if (now - f->moved_ms < DISCOVERY_HELD_MS &&
		    now - f->moving_ms < DISCOVERY_CHANGING_MS)
			return false;
	}
	changing = f->moving && now - f->moving_ms >= DISCOVERY_CHANGING_MS;
	memset(&errs, 0, sizeof errs);
	rc = discovery_parse(f->path, changing ? NULL : &st, &t, &n, &errs);
	if (rc == 1) {
		log_debug("file_sd: %s: changed while read; read again once "
		    "it holds", f->path);
		file_moved(f, &st, now);
		return false;
	}
	f->stated = true;
	f->moving = false;
	f->read = st;
	d->reads++;
	if (rc == -1) {
		d->errors++;
		for (i = 0; i < errs.n; i++)
			log_warnx("file_sd: %s", errs.list[i].text);
		log_warnx("file_sd: %s: keeping its %zu targets", f->path,
		    f->ntargets);
		yamlx_errors_free(&errs);
		f->failing = true;
		return false;
	}
	if (f->failing)
		log_info("file_sd: %s: read again", f->path);
	f->failing = false;
	discovery_targets_free(f->targets, f->ntargets);
	f->targets = t;
	f->ntargets = n;
	log_debug("file_sd: %s: %zu targets", f->path, n);
	return true;
}

/*
 * Glob every pattern and check every match; drop files that no longer
 * match. true if the files or their targets changed.
 */
static bool
discovery_scan(struct discovery *d, bool force)
{
	struct sd_entry	*e;
	struct sd_file	*f;
	glob_t		 g;
	size_t		 i, j, k;
	int64_t		 now = clock_mono_ms();
	bool		 changed = false, refresh;
	int		 rc;

	for (i = 0; i < d->nfiles; i++)
		d->files[i]->seen = false;
	for (i = 0; i < d->nentries; i++) {
		e = &d->entries[i];
		refresh = force || now >= e->next_refresh;
		if (refresh)
			e->next_refresh = now + (int64_t)e->cfg.refresh_ms;
		e->nmatched = 0;
		for (j = 0; j < e->nfiles; j++) {
			memset(&g, 0, sizeof g);
			rc = glob(e->files[j], GLOB_NOSORT, NULL, &g);
			if (rc != 0 && rc != GLOB_NOMATCH)
				log_warnx("file_sd: %s: glob failed",
				    e->files[j]);
			if (rc != 0) {
				globfree(&g);
				continue;
			}
			e->matched = xreallocarray(e->matched,
			    e->nmatched + g.gl_pathc, sizeof *e->matched);
			for (k = 0; k < g.gl_pathc; k++) {
				if ((f = file_find(d, g.gl_pathv[k])) == NULL) {
					f = xcalloc(1, sizeof *f);
					f->path = xstrdup(g.gl_pathv[k]);
					d->files = xreallocarray(d->files,
					    d->nfiles + 1, sizeof *d->files);
					d->files[d->nfiles++] = f;
					log_info("file_sd: %s: found", f->path);
					changed = true;
				}
				if (f->seen && !refresh)
					;	/* checked for another entry */
				else if (file_check(d, f, refresh))
					changed = true;
				f->seen = true;
				e->matched[e->nmatched++] = f;
			}
			globfree(&g);
		}
	}
	for (i = 0; i < d->nfiles; ) {
		if (d->files[i]->seen) {
			i++;
			continue;
		}
		log_info("file_sd: %s: gone, its %zu targets with it",
		    d->files[i]->path, d->files[i]->ntargets);
		file_free(d->files[i]);
		d->files[i] = d->files[--d->nfiles];
		changed = true;
	}
	return changed;
}

static int
file_ptr_cmp(const void *a, const void *b)
{
	const struct sd_file	*fa = *(struct sd_file *const *)a;
	const struct sd_file	*fb = *(struct sd_file *const *)b;

	return strcmp(fa->path, fb->path);
}

/* One target's settings: its entry's, its file's labels over them. */
static void
discovery_render_target(const struct sd_entry *e, const struct sd_target *s,
    struct target_config *t)
{
	struct config_pair	*l;
	size_t			 i, j, n;

	config_target_copy(t, &e->cfg.tmpl);
	/* The entry's settings have no name or URL: the file gives them. */
	free(t->name);
	free(t->url);
	t->name = xstrdup(s->name);
	xasprintf(&t->url, "%s://%s%s", s->scheme != NULL ? s->scheme :
	    e->cfg.scheme, s->address, s->path != NULL ? s->path :
	    e->cfg.path);
	if (s->nlabels == 0)
		return;
	/* Both are sorted: merge, the file's label winning. */
	l = xcalloc(t->nlabels + s->nlabels, sizeof *l);
	for (i = j = n = 0; i < t->nlabels || j < s->nlabels; n++) {
		if (j == s->nlabels || (i < t->nlabels &&
		    strcmp(t->labels[i].name, s->labels[j].name) < 0)) {
			l[n].name = xstrdup(t->labels[i].name);
			l[n].value = xstrdup(t->labels[i].value);
			i++;
			continue;
		}
		if (i < t->nlabels &&
		    strcmp(t->labels[i].name, s->labels[j].name) == 0)
			i++;
		l[n].name = xstrdup(s->labels[j].name);
		l[n].value = xstrdup(s->labels[j].value);
		j++;
	}
	config_pairs_free(t->labels, t->nlabels);
	t->labels = l;
	t->nlabels = n;
}

/* Whether url's profile counts goroutines (min_growth a count), not bytes. */
static bool
counts_goroutines(char *url)
{
	struct target_config	c;

	memset(&c, 0, sizeof c);
	c.url = url;
	return strncmp(config_target_kind(&c), "goroutine", 9) == 0;
}

/* Whether the profiles of entry e's path count goroutines. */
static bool
entry_counts_goroutines(const struct sd_entry *e)
{
	char	*url;
	bool	 g;

	xasprintf(&url, "%s://h%s", e->cfg.scheme, e->cfg.path);
	g = counts_goroutines(url);
	free(url);
	return g;
}

/*
 * Make the list of targets from the files; when it differs from the
 * current one, it becomes current and the old one waits for release.
 * A target whose __metrics_path__ names another kind of profile than its
 * entry's path is left out: the entry's min_growth, slow_min_growth and
 * limit were read for that kind, bytes or goroutines, and would have a
 * heap target judged in goroutines (16 MiB of them) or goroutines in
 * bytes.
 */
static bool
discovery_render(struct discovery *d)
{
	struct target_config	*t = NULL;
	struct sd_entry		*e;
	struct sd_file		*f;
	size_t			 i, j, k, n = 0;
	bool			 goroutines;

	for (i = 0; i < d->nentries; i++) {
		e = &d->entries[i];
		goroutines = entry_counts_goroutines(e);
		if (e->nmatched > 1)
			qsort(e->matched, e->nmatched, sizeof *e->matched,
			    file_ptr_cmp);
		for (j = 0; j < e->nmatched; j++) {
			f = e->matched[j];
			/* Two patterns may match one file: read it once. */
			if (j > 0 && f == e->matched[j - 1])
				continue;
			t = xreallocarray(t, n + f->ntargets, sizeof *t);
			for (k = 0; k < f->ntargets; k++) {
				discovery_render_target(e, &f->targets[k],
				    &t[n]);
				if (counts_goroutines(t[n].url) ==
				    goroutines) {
					n++;
					continue;
				}
				log_warnx("file_sd: %s: %s: __metrics_path__ "
				    "%s is not the kind of profile of the "
				    "entry's path %s (heap or goroutines): "
				    "skipped", f->path, t[n].name,
				    f->targets[k].path, e->cfg.path);
				config_target_clear(&t[n]);
			}
		}
	}
	if (n == d->ntargets) {
		for (i = 0; i < n; i++)
			if (!config_target_equal(&t[i], &d->targets[i]))
				break;
		if (i == n) {
			configs_free(t, n);
			return false;
		}
	}
	configs_free(d->retired, d->nretired);
	d->retired = d->targets;
	d->nretired = d->ntargets;
	d->targets = t;
	d->ntargets = n;
	return true;
}

static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct discovery	*d = arg;

	if (!discovery_scan(d, false) || !discovery_render(d))
		return;
	d->cb(d->arg);
	discovery_release(d);
}

struct discovery *
discovery_new(struct event_base *base, discovery_cb cb, void *arg)
{
	struct discovery	*d;
	struct timeval		 tv;

	d = xcalloc(1, sizeof *d);
	d->cb = cb;
	d->arg = arg;
	if (base != NULL) {
		d->timer = event_new(base, -1, EV_PERSIST, on_poll, d);
		if (d->timer == NULL)
			fatalx("%s: event_new", __func__);
		tv = clock_tv_ms(DISCOVERY_POLL_MS);
		event_add(d->timer, &tv);
	}
	return d;
}

void
discovery_free(struct discovery *d)
{
	size_t	i;

	if (d == NULL)
		return;
	if (d->timer != NULL)
		event_free(d->timer);
	entries_free(d->entries, d->nentries);
	for (i = 0; i < d->nfiles; i++)
		file_free(d->files[i]);
	free(d->files);
	configs_free(d->targets, d->ntargets);
	configs_free(d->retired, d->nretired);
	free(d);
}

/*
 * The files read before are kept, with their targets: a file that is
 * broken when the configuration is reloaded still gives what it gave.
 */
void
discovery_configure(struct discovery *d, const struct config *conf)
{
	struct sd_entry			*e;
	const struct file_sd_config	*c;
	size_t				 i, j;

	entries_free(d->entries, d->nentries);
	d->nentries = conf->nfile_sd;
	d->entries = xcalloc(d->nentries == 0 ? 1 : d->nentries,
	    sizeof *d->entries);
	for (i = 0; i < conf->nfile_sd; i++) {
		c = &conf->file_sd[i];
		e = &d->entries[i];
		e->cfg.path = xstrdup(c->path);
		e->cfg.scheme = xstrdup(c->scheme);
		e->cfg.refresh_ms = c->refresh_ms;
		config_target_copy(&e->cfg.tmpl, &c->tmpl);
		e->files = xcalloc(c->nfiles + 1, sizeof *e->files);
		for (j = 0; j < c->nfiles; j++)
			e->files[j] = xstrdup(c->files[j]);
		e->nfiles = c->nfiles;
	}
	(void)discovery_scan(d, false);
	(void)discovery_render(d);
}

const struct target_config *
discovery_targets(const struct discovery *d, size_t *n)
{
	*n = d->ntargets;
	return d->targets;
}

void
discovery_release(struct discovery *d)
{
	configs_free(d->retired, d->nretired);
	d->retired = NULL;
	d->nretired = 0;
}

void
discovery_stats(const struct discovery *d, struct discovery_stats *st)
{
	size_t	i;

	st->files = st->files_failing = st->targets = 0;
	st->reads = st->errors = 0;
	if (d == NULL)
		return;
	st->files = d->nfiles;
	for (i = 0; i < d->nfiles; i++) {
		if (d->files[i]->failing)
			st->files_failing++;
		st->targets += d->files[i]->ntargets;
	}
	st->reads = d->reads;
	st->errors = d->errors;
}

/*
 * The families of /metrics, one row a series: a row with a help starts a
 * family, one without adds a series to the family above.
 */
static const struct discovery_metric {
	const char	*name;
	const char	*type;
	const char	*help;
	const char	*labels;	/* as in {source="static"}; NULL */
	size_t		 offset;	/* of the value in discovery_stats */
} discovery_metrics_table[] = {
	{ "heapwatch_shards", "gauge",
	  "How many heapwatchd share the targets (shard.count).",
	  NULL, offsetof(struct discovery_stats, shards) },
	{ "heapwatch_shard_index", "gauge",
	  "Which of them this one is (shard.index).",
	  NULL, offsetof(struct discovery_stats, shard_index) },
	{ "heapwatch_shard_targets", "gauge",
	  "Targets this heapwatchd watches, by where they are configured.",
	  "source=\"static\"", offsetof(struct discovery_stats,
	  watched_static) },
	{ "heapwatch_shard_targets", NULL, NULL,
	  "source=\"file_sd\"", offsetof(struct discovery_stats,
	  watched_sd) },
	{ "heapwatch_discovered_targets", "gauge",
	  "Targets the target files define, for all shards.",
	  NULL, offsetof(struct discovery_stats, targets) },
	{ "heapwatch_discovery_name_clashes", "gauge",
	  "Discovered targets skipped because another target has the name.",
	  NULL, offsetof(struct discovery_stats, clashes) },
	{ "heapwatch_discovery_files", "gauge",
	  "Target files the file_sd patterns match.",
	  NULL, offsetof(struct discovery_stats, files) },
	{ "heapwatch_discovery_files_failing", "gauge",
	  "Target files whose last read failed; their earlier targets stay.",
	  NULL, offsetof(struct discovery_stats, files_failing) },
	{ "heapwatch_discovery_reads_total", "counter",
	  "Reads of target files.",
	  NULL, offsetof(struct discovery_stats, reads) },
	{ "heapwatch_discovery_errors_total", "counter",
	  "Reads of target files that failed: unreadable, or not valid.",
	  NULL, offsetof(struct discovery_stats, errors) },
};

void
discovery_metrics(const struct discovery_stats *st, struct buf *b)
{
	const struct discovery_metric	*m;
	const uint64_t			*v;
	size_t				 k;

	for (k = 0; k < sizeof discovery_metrics_table /
	    sizeof *discovery_metrics_table; k++) {
		m = &discovery_metrics_table[k];
		if (m->help != NULL)
			buf_family(b, m->name, m->type, m->help);
		v = (const uint64_t *)(const void *)((const char *)st +
		    m->offset);
		if (m->labels != NULL)
			buf_printf(b, "%s{%s} %llu\n", m->name, m->labels,
			    (unsigned long long)*v);
		else
			buf_printf(b, "%s %llu\n", m->name,
			    (unsigned long long)*v);
	}
}
