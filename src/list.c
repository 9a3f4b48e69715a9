#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "list.h"
#include "render.h"
#include "xmalloc.h"

/* Lines shown above the first sampled line and below the last, as pprof. */
#define LIST_MARGIN	5
/*
 * pprof reads source files with Go's bufio.Scanner, which gives up at a
 * line of 64 KiB or more: the lines before it are shown, the rest of the
 * file is not.
 */
#define LIST_MAX_LINE	65535

/*
 * A node: one source line of one function, keyed as pprof keys its nodes
 * at line granularity (function name, file, start line, line number and
 * the binary the location is in).
 */
struct lnode {
	uint32_t	 name;		/* string ids; SYM_NONE: no function */
	uint32_t	 file;
	uint32_t	 objfile;	/* SYM_NONE: none or "" */
	int64_t		 start_line;
	int64_t		 line;
	int64_t		 flat;
	int64_t		 cum;
	uint32_t	 stamp;		/* the last sample counted in cum */
	const char	*shown;		/* file as pprof shows it; "" none */
};

struct lnodes {
	struct lnode	*v;
	uint32_t	 n, cap;
	struct idset	 set;
};

/* A source file as read, split into lines (NUL-terminated in data). */
struct list_src {
	char		*path;		/* as shown: the key */
	char		*data;
	const char	**line;		/* line[i - 1] is line i */
	size_t		*len;
	size_t		 nlines;
	char		*error;
	struct list_src	*next;
};

static uint32_t
lnode_hash(const struct lnode *k)
{
	uint64_t	h;

	h = hash_word(0, (uint64_t)k->name << 32 | k->file);
	h = hash_word(h, k->objfile);
	h = hash_word(h, (uint64_t)k->start_line);
	return (uint32_t)hash_word(h, (uint64_t)k->line);
}

static bool
lnode_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct lnode	*a = &((const struct lnodes *)ctx)->v[id];
	const struct lnode	*b = key;

	return a->name == b->name && a->file == b->file &&
	    a->objfile == b->objfile && a->start_line == b->start_line &&
	    a->line == b->line;
}

/* The id of the node with k's key, added if new. */
static uint32_t
lnodes_get(struct lnodes *ns, const struct lnode *k)
{
	uint32_t	h = lnode_hash(k), id;

	if ((id = hash_set_find(&ns->set, h, lnode_eq, ns, k)) != HASH_NONE)
		return id;
	if (ns->n == ns->cap) {
		ns->cap = ns->cap == 0 ? 64 : ns->cap * 2;
		ns->v = xreallocarray(ns->v, ns->cap, sizeof *ns->v);
	}
	ns->v[ns->n] = *k;
	hash_set_add(&ns->set, h, ns->n);
	return ns->n++;
}

/*
 * Go's path.Clean into out (at least strlen(p) + 2 bytes): the shortest
 * path naming the same file lexically, "." for an empty one.
 */
static void
go_clean(const char *p, char *out)
{
	size_t	n = strlen(p), r = 0, w = 0, dotdot = 0;
	bool	rooted = n > 0 && p[0] == '/';

	if (rooted) {
		out[w++] = '/';
		r = dotdot = 1;
	}
	while (r < n) {
		if (p[r] == '/')
			r++;
		else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/'))
			r++;
		else if (p[r] == '.' && p[r + 1] == '.' &&
		    (r + 2 == n || p[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			while (r < n && p[r] != '/')
				out[w++] = p[r++];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
}

static char *
go_clean_dup(const char *p)
{
	char	*out = xmalloc(strlen(p) + 2);

	go_clean(p, out);
	return out;
}

/* Go's filepath.Base. */
static char *
go_base(const char *p)
{
	const char	*s;
	size_t		 n = strlen(p);

	if (n == 0)
		return xstrdup(".");
	while (n > 0 && p[n - 1] == '/')
		n--;
	if (n == 0)
		return xstrdup("/");
	for (s = p + n; s > p && s[-1] != '/'; s--)
		;
	return xstrndup(s, n - (s - p));
}

/* Go's filepath.Dir. */
static char *
go_dir(const char *p)
{
	const char	*s = strrchr(p, '/');
	char		*head, *out;

	head = xstrndup(p, s != NULL ? (size_t)(s - p + 1) : 0);
	out = go_clean_dup(head);
	free(head);
	return out;
}

/* Go's filepath.Join of two elements, empty ones left out. */
static char *
go_join(const char *a, const char *b)
{
	char	*j, *out;

	if (*a == '\0')
		return *b == '\0' ? xstrdup("") : go_clean_dup(b);
	if (*b == '\0')
		return go_clean_dup(a);
	xasprintf(&j, "%s/%s", a, b);
	out = go_clean_dup(j);
	free(j);
	return out;
}

/*
 * The next element of a ':'-separated list at *p, as Go's
 * filepath.SplitList gives them (an empty list has none, an empty element
 * is one); NULL when there are no more.
 */
static char *
split_next(const char **p, bool *first)
{
	const char	*s = *p, *e;

	if (s == NULL || (*s == '\0' && *first))
		return NULL;
	if (!*first) {
		if (*s != ':')
			return NULL;
		s++;
	}
	*first = false;
	e = strchr(s, ':');
	if (e == NULL)
		e = s + strlen(s);
	*p = e;
	return xstrndup(s, e - s);
}

/*
 * pprof's trimPath: without trim prefixes, guess one from the source path
 * (all up to a "/BASE/" of one of its directories); then cut the first of
 * the trim prefixes that path starts with, and the two that bazel's
 * /proc/self/cwd leaves. Returns a suffix of path.
 */
static const char *
trim_path(const char *path, const char *trim, const char *search)
{
	static const char	*deflt[] = { "/proc/self/cwd/./",
				    "/proc/self/cwd/" };
	const char		*p, *found;
	char			*dir, *base, *want;
	size_t			 i, n;
	bool			 first = true;

	if (trim == NULL || *trim == '\0') {
		for (p = search; (dir = split_next(&p, &first)) != NULL;) {
			base = go_base(dir);
			xasprintf(&want, "/%s/", base);
			found = strstr(path, want);
			n = strlen(want);
			free(want);
			free(base);
			free(dir);
			if (found != NULL)
				return found + n;
		}
	}
	first = true;
	for (p = trim; (dir = split_next(&p, &first)) != NULL;) {
		n = strlen(dir);
		found = NULL;
		if (n == 0 || dir[n - 1] != '/') {
			if (strncmp(path, dir, n) == 0 && path[n] == '/')
				found = path + n + 1;
		} else if (strncmp(path, dir, n) == 0)
			found = path + n;
		free(dir);
		if (found != NULL)
			return found;
	}
	for (i = 0; i < sizeof deflt / sizeof deflt[0]; i++)
		if (strncmp(path, deflt[i], strlen(deflt[i])) == 0)
			return path + strlen(deflt[i]);
	return path;
}

/* The working directory as Go's os.Getwd gives it: $PWD when it is ".". */
static char *
go_getwd(void)
{
	struct stat	 dot, pwd;
	const char	*env = getenv("PWD");
	char		*buf;

	if (env != NULL && env[0] == '/' && stat(".", &dot) == 0 &&
	    stat(env, &pwd) == 0 && dot.st_dev == pwd.st_dev &&
	    dot.st_ino == pwd.st_ino)
		return xstrdup(env);
	if ((buf = getcwd(NULL, 0)) == NULL)
		return NULL;
	return buf;
}

/* os.Open's message: "open PATH: no such file or directory". */
static char *
open_error(const char *path, int errnum)
{
	const char	*e = strerror(errnum);
	char		*msg;

	/* Go's words for errno are the C library's, but in lower case. */
	xasprintf(&msg, "open %s: %c%s", path,
	    *e >= 'A' && *e <= 'Z' ? *e - 'A' + 'a' : *e, *e != '\0' ?
	    e + 1 : "");
	return msg;
}

/*
 * Read fd into src's lines as Go's bufio.Scanner splits them: at '\n',
 * with a '\r' before it dropped, and a last line without '\n' kept. A
 * line too long for the scanner ends the file, as does a read error
 * (reading a directory, say): pprof shows what it had.
 */
static void
src_read(struct list_src *src, int fd)
{
	size_t	 cap = 8192, len = 0, start = 0, i, cut;
	ssize_t	 r;
	bool	 stop = false;

	src->data = xmalloc(cap + 1);
	while (!stop) {
		if (len == cap) {
			cap *= 2;
			src->data = xreallocarray(src->data, cap + 1, 1);
		}
		r = read(fd, src->data + len, cap - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += r;
		/* The partial line at the end is checked for length. */
		for (i = len; i > start && src->data[i - 1] != '\n'; i--)
			;
		if (len - i > LIST_MAX_LINE) {
			len = i;
			stop = true;
		}
	}
	src->data[len] = '\0';
	/* Split; line pointers are set once data no longer moves. */
	cut = 0;
	for (i = 0; i < len; i = start) {
		for (start = i; start < len && src->data[start] != '\n';
		    start++)
			;
		if (start - i > LIST_MAX_LINE)
			break;
		if (src->nlines % 256 == 0) {
			src->line = xreallocarray(src->line, src->nlines + 256,
			    sizeof *src->line);
			src->len = xreallocarray(src->len, src->nlines + 256,
			    sizeof *src->len);
		}
		cut = start;
		if (start > i && src->data[start - 1] == '\r')
			cut--;
		src->data[cut] = '\0';
		src->line[src->nlines] = src->data + i;
		src->len[src->nlines] = cut - i;
		src->nlines++;
		if (start < len)
			start++;
	}
}

/*
 * Open a file named in a profile as pprof does: an absolute path (after
 * trimming) must exist as it is; a relative one is looked for below each
 * directory of the source path and each of their parents.
 */
static int
src_open(const char *file, const char *search, const char *trim,
    char **cause)
{
	const char	*path, *p;
	char		*dir, *name, *parent;
	bool		 first = true;
	int		 fd;

	path = trim_path(file, trim, search);
	if (*path == '/') {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			*cause = open_error(path, errno);
		return fd;
	}
	for (p = search; (dir = split_next(&p, &first)) != NULL;) {
		for (;;) {
			name = go_join(dir, path);
			/* Go opens "" as no file at all. */
			fd = *name != '\0' ? open(name, O_RDONLY | O_CLOEXEC) :
			    -1;
			free(name);
			if (fd != -1) {
				free(dir);
				return fd;
			}
			parent = go_dir(dir);
			if (strcmp(parent, dir) == 0) {
				free(parent);
				break;
			}
			free(dir);
			dir = parent;
		}
		free(dir);
	}
	xasprintf(cause, "could not find file %s on path %s", path, search);
	return -1;
}

/*
 * Open a file named in a profile for heapwatchd: only path relative to
 * dir, without a ".." that would leave it, and only a regular file (a
 * FIFO would hold the daemon up at open, a device at read).
 */
static int
src_open_within(const char *file, const char *dir, const char *trim,
    char **cause)
{
	const char	*path, *p;
	char		*name;
	struct stat	 sb;
	int		 fd;

	if (dir == NULL) {
		xasprintf(cause, "no source_path is set for the target");
		return -1;
	}
	path = trim_path(file, trim, dir);
	for (p = path; *p != '\0'; p += strcspn(p, "/"), p += *p == '/')
		if (strncmp(p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0'))
			break;
	if (*path == '/' || *p != '\0') {
		xasprintf(cause, "could not find file %s below %s", path, dir);
		return -1;
	}
	name = go_join(dir, path);
	fd = open(name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd != -1 && (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode))) {
		close(fd);
		fd = -1;
		errno = EINVAL;
	}
	if (fd == -1)
		xasprintf(cause, "could not find file %s below %s", path, dir);
	free(name);
	return fd;
}

/* The file shown as file, read once for all the functions in it. */
static struct list_src *
src_get(struct list *l, const char *file, const char *search,
    const char *trim)
{
	struct list_src	*src;
	int		 fd;

	for (src = l->sources; src != NULL; src = src->next)
		if (strcmp(src->path, file) == 0)
			return src;
	src = xcalloc(1, sizeof *src);
	src->path = xstrdup(file);
	src->next = l->sources;
	l->sources = src;
	if ((fd = l->within ? src_open_within(file, search, trim,
	    &src->error) : src_open(file, search, trim, &src->error)) == -1)
		return src;
	src_read(src, fd);
	close(fd);
	return src;
}

/*
 * A Go regular expression as a POSIX extended one: the common Perl
 * classes \d and \D spelled out, and a leading (?i) made a flag. What
 * else Go takes that POSIX does not is refused by regcomp().
 */
static int
regex_compile(regex_t *re, const char *src, char **cause)
{
	char	*ere, *q, err[256];
	int	 flags = REG_EXTENDED | REG_NOSUB, rc;
	bool	 bracket = false;

	if (strncmp(src, "(?i)", 4) == 0) {
		flags |= REG_ICASE;
		src += 4;
	}
	q = ere = xmalloc(strlen(src) * 5 + 1);
	for (; *src != '\0'; src++) {
		if (!bracket && src[0] == '\\' && (src[1] == 'd' ||
		    src[1] == 'D')) {
			q = stpcpy(q, src[1] == 'd' ? "[0-9]" : "[^0-9]");
			src++;
			continue;
		}
		if (!bracket && src[0] == '\\' && src[1] != '\0') {
			*q++ = *src++;
			*q++ = *src;
			continue;
		}
		if (*src == '[')
			bracket = true;
		else if (*src == ']')
			bracket = false;
		*q++ = *src;
	}
	*q = '\0';
	rc = regcomp(re, ere, flags);
	free(ere);
	if (rc != 0) {
		regerror(rc, re, err, sizeof err);
		xasprintf(cause, "regular expression: %s", err);
		return -1;
	}
	return 0;
}

/* Add each sample's value, times sign, to the nodes of its stack. */
static void
list_add(struct lnodes *ns, const uint32_t *slotnode, const struct profile *p,
    int idx, int sign, uint32_t *stamp)
{
	const struct sym_loc	*locs = symtab_locs(p->st), *loc;
	const uint32_t		*stack;
	uint32_t		 i, j, k, n, id;
	size_t			 s;
	int64_t			 v;

	for (s = 0; s < p->nsamples; s++) {
		if ((v = p->values[s * p->ntypes + idx]) == 0)
			continue;
		if (sign < 0)
			v = (int64_t)(0 - (uint64_t)v);
		(*stamp)++;
		stack = &p->stacks[p->stack_off[s]];
		n = p->stack_off[s + 1] - p->stack_off[s];
		for (i = 0; i < n; i++) {
			loc = &locs[stack[i]];
			k = loc->nlines > 0 ? loc->nlines : 1;
			for (j = 0; j < k; j++) {
				if ((id = slotnode[loc->line0 + j]) == 0 ||
				    ns->v[id - 1].stamp == *stamp)
					continue;
				ns->v[id - 1].stamp = *stamp;
				ns->v[id - 1].cum += v;
			}
		}
		/* Flat goes to the innermost line of the leaf. */
		if (n > 0 && (id = slotnode[locs[stack[0]].line0]) != 0)
			ns->v[id - 1].flat += v;
	}
}

struct sort_ctx {
	const struct lnodes	*ns;
	const struct symtab	*st;
};

static const char *
lnode_name(const struct symtab *st, const struct lnode *n)
{
	return n->name == SYM_NONE ? "" : symtab_str(st, n->name)->s;
}

/* pprof's order: functions by name, each one's files by name; lines. */
static int
lnode_cmp(const void *a, const void *b, void *arg)
{
	const struct sort_ctx	*c = arg;
	const struct lnode	*x = &c->ns->v[*(const uint32_t *)a];
	const struct lnode	*y = &c->ns->v[*(const uint32_t *)b];
	int			 r;

	if ((r = strcmp(lnode_name(c->st, x), lnode_name(c->st, y))) != 0)
		return r;
	if ((r = strcmp(x->shown, y->shown)) != 0)
		return r;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return 0;
}

/*
 * The lines of one function in one file: with the file read, pprof's
 * range around the sampled lines (from the function's start line when the
 * profile has it, else a margin above the first, to a margin below the
 * last, the whole cut at the file's end); without, the sampled lines.
 */
static void
fn_lines(struct list_fn *fn, const struct lnode *const *g, size_t ng,
    const struct list_src *src)
{
	int64_t		 start, end, ns, lineno;
	size_t		 i, k;

	fn->lines = xreallocarray(NULL, ng + 2 * LIST_MARGIN + 2,
	    sizeof *fn->lines);
	if (src->error != NULL) {
		for (i = 0; i < ng; i = k) {
			fn->lines[fn->nlines].line = g[i]->line;
			fn->lines[fn->nlines].flat = 0;
			fn->lines[fn->nlines].cum = 0;
			fn->lines[fn->nlines].text = NULL;
			fn->lines[fn->nlines].len = 0;
			for (k = i; k < ng && g[k]->line == g[i]->line; k++) {
				fn->lines[fn->nlines].flat += g[k]->flat;
				fn->lines[fn->nlines].cum += g[k]->cum;
			}
			fn->nlines++;
		}
		return;
	}
	/* As pprof computes it, its else-if and all. */
	start = g[0]->start_line != 0 ? g[0]->start_line :
	    g[0]->line - LIST_MARGIN;
	end = g[0]->line + LIST_MARGIN;
	for (i = 0; i < ng; i++) {
		ns = g[i]->start_line != 0 ? g[i]->start_line :
		    g[i]->line - LIST_MARGIN;
		if (ns < start)
			start = ns;
		else if (g[i]->line + LIST_MARGIN > end)
			end = g[i]->line + LIST_MARGIN;
	}
	if (start < 1)
		start = 1;
	if (end > (int64_t)src->nlines)
		end = (int64_t)src->nlines;
	if (end >= start)
		fn->lines = xreallocarray(fn->lines, end - start + 1,
		    sizeof *fn->lines);
	for (lineno = start, k = 0; lineno <= end; lineno++) {
		struct list_line *ln = &fn->lines[fn->nlines++];

		ln->line = lineno;
		ln->flat = ln->cum = 0;
		ln->text = src->line[lineno - 1];
		ln->len = src->len[lineno - 1];
		while (k < ng && g[k]->line < lineno)
			k++;
		for (; k < ng && g[k]->line == lineno; k++) {
			ln->flat += g[k]->flat;
			ln->cum += g[k]->cum;
		}
	}
}

/* The listing's functions from the nodes with a value, in order. */
static void
list_group(struct list *l, const struct lnodes *ns, const uint32_t *ids,
    size_t n, const struct symtab *st, const char *search, const char *trim)
{
	const struct lnode	**g;
	struct list_src		*src;
	struct list_fn		*fn;
	const char		*name;
	size_t			 i, j, k, m;

	g = xreallocarray(NULL, n + 1, sizeof *g);
	l->fns = xreallocarray(NULL, n + 1, sizeof *l->fns);
	for (i = 0; i < n; i = j) {
		name = lnode_name(st, &ns->v[ids[i]]);
		for (j = i; j < n && strcmp(lnode_name(st, &ns->v[ids[j]]),
		    name) == 0; j++)
			;
		/* The nodes without a file sort first. */
		for (k = i; k < j && *ns->v[ids[k]].shown == '\0'; k++)
			;
		if (k == j) {
			fn = &l->fns[l->nfns++];
			memset(fn, 0, sizeof *fn);
			fn->name = xstrdup(name);
			for (k = i; k < j; k++) {
				fn->flat += ns->v[ids[k]].flat;
				fn->cum += ns->v[ids[k]].cum;
			}
			continue;
		}
		for (; k < j; k += m) {
			fn = &l->fns[l->nfns++];
			memset(fn, 0, sizeof *fn);
			fn->name = xstrdup(name);
			fn->file = xstrdup(ns->v[ids[k]].shown);
			for (m = 0; k + m < j && strcmp(ns->v[ids[k + m]].shown,
			    fn->file) == 0; m++) {
				g[m] = &ns->v[ids[k + m]];
				fn->flat += g[m]->flat;
				fn->cum += g[m]->cum;
			}
			src = src_get(l, fn->file, search, trim);
			fn_lines(fn, g, m, src);
			if (src->error != NULL)
				fn->error = xstrdup(src->error);
		}
	}
	free(g);
}

/*
 * Each line of each location: the node it is (slotnode[line] - 1), if its
 * function matches re; 0 when it does not.
 */
static void
list_nodes(const struct symtab *st, regex_t *re, struct lnodes *ns,
    uint32_t *slotnode)
{
	const struct sym_loc	*locs = symtab_locs(st), *loc;
	const struct sym_line	*lines = symtab_lines(st), *ln;
	const struct sym_func	*f;
	const struct sym_mapping *m;
	struct lnode		 key;
	uint32_t		 i, j, k, nlocs;
	uint8_t			*match;
	bool			 match_none;

	nlocs = symtab_nlocs(st);
	match = xcalloc(symtab_nnodes(st) + 1, sizeof *match);
	match_none = regexec(re, "", 0, NULL, 0) == 0;
	for (i = 0; i < nlocs; i++) {
		loc = &locs[i];
		memset(&key, 0, sizeof key);
		key.objfile = SYM_NONE;
		if (loc->mapping != SYM_NONE) {
			m = symtab_mapping(st, loc->mapping);
			if (*symtab_str(st, m->file)->s != '\0')
				key.objfile = m->file;
		}
		k = loc->nlines > 0 ? loc->nlines : 1;
		for (j = 0; j < k; j++) {
			ln = &lines[loc->line0 + j];
			if (ln->func == SYM_NONE) {
				/* pprof's node for a line without a function. */
				if (!match_none)
					continue;
				key.name = key.file = SYM_NONE;
				key.start_line = key.line = 0;
			} else {
				f = symtab_func(st, ln->func);
				if (match[ln->node] == 0)
					match[ln->node] = regexec(re,
					    symtab_str(st, f->name)->s, 0, NULL,
					    0) == 0 ? 1 : 2;
				if (match[ln->node] != 1)
					continue;
				key.name = f->name;
				key.file = f->filename;
				key.start_line = f->start_line;
				key.line = ln->line;
			}
			slotnode[loc->line0 + j] = lnodes_get(ns, &key) + 1;
		}
	}
	free(match);
}

struct list *
list_make(const struct profile *base, const struct profile *cur, int idx,
    int64_t total, const struct list_options *o, char **cause)
{
	const struct symtab	*st = cur->st;
	struct sort_ctx		 sc;
	struct lnodes		 ns;
	struct lnode		*nd;
	struct list		*l = NULL;
	regex_t			 re;
	uint32_t		*slotnode, *ids = NULL, i, stamp = 0;
	const char		*file;
	char			*search = NULL;
	size_t			 n = 0;

	if (regex_compile(&re, o->regex, cause) == -1)
		return NULL;
	if (o->source_path != NULL && *o->source_path != '\0')
		search = xstrdup(o->source_path);
	else if (o->within)
		search = NULL;
	else if ((search = go_getwd()) == NULL) {
		xasprintf(cause, "could not stat current dir: %s",
		    strerror(errno));
		regfree(&re);
		return NULL;
	}
	memset(&ns, 0, sizeof ns);
	hash_set_init(&ns.set, 64);
	slotnode = xcalloc(symtab_nlines(st) + 1, sizeof *slotnode);
	list_nodes(st, &re, &ns, slotnode);
	list_add(&ns, slotnode, cur, idx, 1, &stamp);
	if (base != NULL)
		list_add(&ns, slotnode, base, idx, -1, &stamp);

	ids = xreallocarray(NULL, ns.n + 1, sizeof *ids);
	for (i = 0; i < ns.n; i++) {
		nd = &ns.v[i];
		nd->shown = "";
		if (nd->flat == 0 && nd->cum == 0)
			continue;
		/* The file name as pprof shows it: trimmed, then cleaned. */
		if (nd->file != SYM_NONE) {
			file = trim_path(symtab_str(st, nd->file)->s,
			    o->trim_path, o->source_path);
			if (*file != '\0')
				nd->shown = go_clean_dup(file);
		}
		ids[n++] = i;
	}
	if (n == 0) {
		xasprintf(cause, "no matches found for regexp: %s", o->regex);
		goto out;
	}
	sc.ns = &ns;
	sc.st = st;
	qsort_r(ids, n, sizeof *ids, lnode_cmp, &sc);
	l = xcalloc(1, sizeof *l);
	l->sample_type = profile_type_name(cur, idx);
	l->unit = profile_type_unit(cur, idx);
	l->total = total;
	l->within = o->within;
	list_group(l, &ns, ids, n, st, search, o->trim_path);
out:
	for (i = 0; i < ns.n; i++)
		if (*ns.v[i].shown != '\0')
			free((char *)ns.v[i].shown);
	free(ids);
	free(ns.v);
	hash_set_free(&ns.set);
	free(slotnode);
	free(search);
	regfree(&re);
	return l;
}

void
list_free(struct list *l)
{
	struct list_src	*src;
	size_t		 i;

	if (l == NULL)
		return;
	for (i = 0; i < l->nfns; i++) {
		free((char *)l->fns[i].name);
		free((char *)l->fns[i].file);
		free(l->fns[i].error);
		free(l->fns[i].lines);
	}
	free(l->fns);
	while ((src = l->sources) != NULL) {
		l->sources = src->next;
		free(src->path);
		free(src->data);
		free(src->line);
		free(src->len);
		free(src->error);
		free(src);
	}
	free(l);
}

/* A value as pprof's list shows it: each in the unit that suits it. */
static const char *
list_value(char *buf, size_t len, int64_t v, const struct list *l)
{
	render_value(buf, len, v, l->unit, "minimum");
	return buf;
}

void
list_text(FILE *f, const struct list *l)
{
	const struct list_fn	*fn;
	const struct list_line	*ln;
	char			 a[64], b[64], pct[32];
	size_t			 i, j;

	fprintf(f, "Total: %s\n", list_value(a, sizeof a, l->total, l));
	for (i = 0; i < l->nfns; i++) {
		fn = &l->fns[i];
		if (fn->file == NULL) {
			fprintf(f, "No source information for %s\n", fn->name);
			continue;
		}
		fprintf(f, "ROUTINE ======================== %s in %s\n",
		    fn->name, fn->file);
		render_percent(pct, sizeof pct, fn->cum, l->total);
		fprintf(f, "%10s %10s (flat, cum) %s of Total\n",
		    list_value(a, sizeof a, fn->flat, l),
		    list_value(b, sizeof b, fn->cum, l), pct);
		if (fn->error != NULL) {
			fprintf(f, " Error: %s\n", fn->error);
			continue;
		}
		for (j = 0; j < fn->nlines; j++) {
			ln = &fn->lines[j];
			fprintf(f, "%10s %10s %6lld:",
			    ln->flat != 0 ? list_value(a, sizeof a, ln->flat,
			    l) : ".", ln->cum != 0 ? list_value(b, sizeof b,
			    ln->cum, l) : ".", (long long)ln->line);
			fwrite(ln->text, 1, ln->len, f);
			fputc('\n', f);
		}
	}
}

json_t *
list_json(const struct list *l)
{
	const struct list_fn	*fn;
	const struct list_line	*ln;
	json_t			*o, *fns, *jf, *jl, *lines;
	size_t			 i, j;

	o = json_object();
	json_object_set_new(o, "sample_type", render_string(l->sample_type));
	json_object_set_new(o, "unit", render_string(l->unit));
	json_object_set_new(o, "total", json_integer(l->total));
	fns = json_array();
	for (i = 0; i < l->nfns; i++) {
		fn = &l->fns[i];
		jf = json_object();
		json_object_set_new(jf, "name", render_string(fn->name));
		json_object_set_new(jf, "file", render_string(fn->file));
		json_object_set_new(jf, "flat", json_integer(fn->flat));
		json_object_set_new(jf, "cum", json_integer(fn->cum));
		if (fn->error != NULL)
			json_object_set_new(jf, "error",
			    render_string(fn->error));
		lines = json_array();
		for (j = 0; j < fn->nlines; j++) {
			ln = &fn->lines[j];
			jl = json_object();
			json_object_set_new(jl, "line", json_integer(ln->line));
			json_object_set_new(jl, "flat", json_integer(ln->flat));
			json_object_set_new(jl, "cum", json_integer(ln->cum));
			json_object_set_new(jl, "text", render_string(ln->text));
			json_array_append_new(lines, jl);
		}
		json_object_set_new(jf, "lines", lines);
		json_array_append_new(fns, jf);
	}
	json_object_set_new(o, "functions", fns);
	return o;
}
