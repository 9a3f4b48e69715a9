#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "log.h"
#include "xmalloc.h"
#include "yamlx.h"

/*
 * Add one error, keeping the list in the order of positions in the file.
 * Content reused through an alias is checked each time: say it once.
 */
void
yamlx_errors_add(struct yamlx_errors *errs, const char *file, size_t line,
    size_t column, const char *message)
{
	struct yamlx_errmsg	*e;
	size_t			 i;
	char			*p;

	for (i = 0; i < errs->n; i++)
		if (errs->list[i].line == line &&
		    errs->list[i].column == column &&
		    strcmp(errs->list[i].message, message) == 0)
			return;
	i = errs->n;
	while (i > 0 && (errs->list[i - 1].line > line ||
	    (errs->list[i - 1].line == line &&
	    errs->list[i - 1].column > column)))
		i--;
	errs->list = xreallocarray(errs->list, errs->n + 1, sizeof *e);
	memmove(&errs->list[i + 1], &errs->list[i],
	    (errs->n - i) * sizeof *e);
	errs->n++;
	e = &errs->list[i];
	e->line = line;
	e->column = column;
	e->message = xstrdup(message);
	/* Keys and values are quoted as written: keep terminals safe. */
	for (p = e->message; *p != '\0'; p++)
		if (iscntrl((unsigned char)*p))
			*p = '?';
	if (line == 0)
		xasprintf(&e->text, "%s: %s", file, e->message);
	else
		xasprintf(&e->text, "%s:%zu:%zu: %s", file, line, column,
		    e->message);
}

void
yamlx_errors_print(const struct yamlx_errors *errs, FILE *fp)
{
	size_t	i;

	for (i = 0; i < errs->n; i++)
		fprintf(fp, "%s\n", errs->list[i].text);
}

void
yamlx_errors_free(struct yamlx_errors *errs)
{
	size_t	i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->n; i++) {
		free(errs->list[i].message);
		free(errs->list[i].text);
	}
	free(errs->list);
	errs->list = NULL;
	errs->n = 0;
}

void
yamlx_error_at(struct yamlx *y, yaml_mark_t mark, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	yamlx_errors_add(y->errs, y->file, mark.line + 1, mark.column + 1,
	    msg);
	free(msg);
}

void
yamlx_error(struct yamlx *y, const yaml_node_t *n, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	if (n == NULL)
		yamlx_errors_add(y->errs, y->file, 0, 0, msg);
	else
		yamlx_errors_add(y->errs, y->file, n->start_mark.line + 1,
		    n->start_mark.column + 1, msg);
	free(msg);
}

/*
 * Move a line and column past byte c. Columns count characters, as
 * libyaml's marks do, so continuation bytes of UTF-8 are not counted.
 */
static void
advance(int c, size_t *line, size_t *column)
{
	if (c == '\n') {
		(*line)++;
		*column = 1;
	} else if ((c & 0xc0) != 0x80)
		(*column)++;
}

/*
 * Line and column of a byte offset of fp, for libyaml's reader errors,
 * which have an offset and no mark.
 */
static void
offset_position(FILE *fp, size_t offset, size_t *line, size_t *column)
{
	size_t	i;
	int	c;

	*line = *column = 1;
	clearerr(fp);
	if (fseek(fp, 0, SEEK_SET) == -1)
		return;
	for (i = 0; i < offset && (c = getc(fp)) != EOF; i++)
		advance(c, line, column);
}

/*
 * The character of fp at a mark's line and column, both from 1, counted
 * as advance() counts them; EOF when fp cannot be read again
 * (a pipe) or there is none.
 */
static int
char_at(FILE *fp, size_t line, size_t column)
{
	size_t	l = 1, col = 1;
	int	c;

	clearerr(fp);
	if (fseek(fp, 0, SEEK_SET) == -1)
		return EOF;
	while ((c = getc(fp)) != EOF && l <= line) {
		if (l == line && col == column && (c & 0xc0) != 0x80)
			return c;
		advance(c, &l, &col);
	}
	return EOF;
}

/* Report why libyaml could not read the file, where it stopped. */
static void
syntax_error(struct yamlx *y, const yaml_parser_t *p, FILE *fp)
{
	const char	*problem = p->problem ? p->problem : "unknown error";
	size_t		 line, column;
	char		*msg, *tab;

	if (p->error == YAML_MEMORY_ERROR)
		fatalx("%s: out of memory", y->file);
	if (p->error == YAML_READER_ERROR) {
		offset_position(fp, p->problem_offset, &line, &column);
		if (p->problem_value != -1)
			xasprintf(&msg, "%s (0x%x)", problem, p->problem_value);
		else
			msg = xstrdup(problem);
	} else {
		line = p->problem_mark.line + 1;
		column = p->problem_mark.column + 1;
		if (p->context == NULL)
			xasprintf(&msg, "syntax error: %s", problem);
		else if (p->context_mark.line == p->problem_mark.line &&
		    p->context_mark.column == p->problem_mark.column)
			xasprintf(&msg, "syntax error: %s (%s)", problem,
			    p->context);
		else
			xasprintf(&msg, "syntax error: %s (%s started at line "
			    "%zu, column %zu)", problem, p->context,
			    p->context_mark.line + 1,
			    p->context_mark.column + 1);
		/* libyaml's words for a tab do not say it is one. */
		if (char_at(fp, line, column) == '\t') {
			xasprintf(&tab, "%s: a tab, and YAML indents with "
			    "spaces", msg);
			free(msg);
			msg = tab;
		}
	}
	yamlx_errors_add(y->errs, y->file, line, column, msg);
	free(msg);
}

/*
 * libyaml's loader reads one document at a time; a second load tells
 * whether the stream ends there. It costs a parse of what follows, which
 * is reported if it is broken, as the rest of the file would be.
 */
int
yamlx_load(struct yamlx *y, const char *file, FILE *fp,
    struct yamlx_errors *errs)
{
	yaml_parser_t	 parser;
	yaml_document_t	 next;
	yaml_node_t	*root;
	int		 rc = -1;

	memset(y, 0, sizeof *y);
	y->file = file;
	y->errs = errs;
	if (!yaml_parser_initialize(&parser))
		fatalx("%s: yaml_parser_initialize", __func__);
	yaml_parser_set_input_file(&parser, fp);
	if (!yaml_parser_load(&parser, &y->doc))
		syntax_error(y, &parser, fp);
	else {
		y->loaded = true;
		if (!yaml_parser_load(&parser, &next))
			syntax_error(y, &parser, fp);
		else {
			if ((root = yaml_document_get_root_node(&next)) ==
			    NULL)
				rc = 0;
			else
				yamlx_error(y, root, "only one YAML document "
				    "is allowed");
			yaml_document_delete(&next);
		}
	}
	yaml_parser_delete(&parser);
	return rc;
}

void
yamlx_free(struct yamlx *y)
{
	if (y->loaded)
		yaml_document_delete(&y->doc);
	y->loaded = false;
}

yaml_node_t *
yamlx_root(struct yamlx *y)
{
	return y->loaded ? yaml_document_get_root_node(&y->doc) : NULL;
}

/* libyaml hands out only ids that exist: a missing one is a bug. */
yaml_node_t *
yamlx_node(struct yamlx *y, int id)
{
	yaml_node_t	*n;

	if ((n = yaml_document_get_node(&y->doc, id)) == NULL)
		fatalx("%s: YAML node %d missing", __func__, id);
	return n;
}

const char *
yamlx_text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

bool
yamlx_is_null(const yaml_node_t *n)
{
	const char	*s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = yamlx_text(n);
	return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

const char *
yamlx_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a map";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return yamlx_is_null(n) ? "nothing" : "a scalar";
	}
}

const char *
yamlx_scalar(struct yamlx *y, const yaml_node_t *n, const char *name,
    const char *want)
{
	if (n->type != YAML_SCALAR_NODE) {
		yamlx_error(y, n, "%s: expected %s, not %s", name, want,
		    yamlx_kind(n));
		return NULL;
	}
	/* C strings end at a NUL: a value cut there is not the value. */
	if (strlen(yamlx_text(n)) != n->data.scalar.length) {
		yamlx_error(y, n, "%s: contains a NUL character", name);
		return NULL;
	}
	return yamlx_text(n);
}

/* A key of a map, for finding repeats by sorting. */
struct key_ref {
	const yaml_node_t	*node;
	size_t			 i;	/* its pair */
};

static int
key_ref_cmp(const void *a, const void *b)
{
	const struct key_ref	*ka = a, *kb = b;
	int			 c;

	if ((c = strcmp(yamlx_text(ka->node), yamlx_text(kb->node))) != 0)
		return c;
	return ka->i < kb->i ? -1 : ka->i > kb->i;
}

/*
 * Sorting the keys finds the repeats in n log n: a target file may hold
 * a map of many labels, and it is read on the daemon's event loop.
 */
bool *
yamlx_keys(struct yamlx *y, yaml_node_t *map)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k;
	struct key_ref		*refs;
	bool			*usable;
	size_t			 n, nrefs = 0, i, first;

	n = map->data.mapping.pairs.top - map->data.mapping.pairs.start;
	usable = xcalloc(n + 1, sizeof *usable);
	refs = xcalloc(n + 1, sizeof *refs);
	for (i = 0, p = map->data.mapping.pairs.start; i < n; i++, p++) {
		k = yamlx_node(y, p->key);
		if (k->type != YAML_SCALAR_NODE || yamlx_is_null(k))
			yamlx_error(y, k, "expected a name as key, not %s",
			    yamlx_kind(k));
		else if (strlen(yamlx_text(k)) != k->data.scalar.length)
			yamlx_error(y, k, "key contains a NUL character");
		else {
			refs[nrefs].node = k;
			refs[nrefs++].i = i;
		}
	}
	qsort(refs, nrefs, sizeof *refs, key_ref_cmp);
	for (i = 0; i < nrefs; i = first) {
		usable[refs[i].i] = true;
		for (first = i + 1; first < nrefs &&
		    strcmp(yamlx_text(refs[first].node),
		    yamlx_text(refs[i].node)) == 0; first++)
			yamlx_error(y, refs[first].node, "duplicate key \"%s\" "
			    "(first on line %zu)", yamlx_text(refs[first].node),
			    refs[i].node->start_mark.line + 1);
	}
	free(refs);
	return usable;
}

bool
yamlx_pairs_next(struct yamlx *y, yaml_node_t *map, struct yamlx_pairs *w,
    yaml_node_t **k, yaml_node_t **v)
{
	if (!w->started) {
		w->started = true;
		w->usable = yamlx_keys(y, map);
		w->pair = map->data.mapping.pairs.start;
		w->i = 0;
	} else if (w->usable != NULL) {
		w->pair++;
		w->i++;
	}
	for (; w->usable != NULL && w->pair < map->data.mapping.pairs.top;
	    w->pair++, w->i++) {
		if (w->usable[w->i]) {
			*k = yamlx_node(y, w->pair->key);
			*v = yamlx_node(y, w->pair->value);
			return true;
		}
		w->bad = true;
	}
	free(w->usable);
	w->usable = NULL;
	return false;
}
