/*
 * The YAML layer under the configuration and the file_sd target files:
 * one document read whole with libyaml's document API, and the checks and
 * messages both readers share. Every problem goes to a yamlx_errors list
 * as "FILE:LINE:COL: message", at the place it is in the file.
 *
 * What any file read here must be: one YAML document (a second one is
 * refused, not silently ignored), readable text (a bad byte is reported at
 * its line and column), and maps without repeated keys (YAML forbids them,
 * and a reader that took the first or the last would hide the other).
 */
#ifndef YAMLX_H
#define YAMLX_H

#include <stdbool.h>
#include <stdio.h>

#include <yaml.h>

/* One problem in the file; line and column are 1-based, 0 for the file. */
struct yamlx_errmsg {
	size_t		 line;
	size_t		 column;
	char		*message;
	char		*text;		/* "FILE:LINE:COL: message" */
};

/* All the problems of one load, in the order of their place in the file. */
struct yamlx_errors {
	struct yamlx_errmsg	*list;
	size_t			 n;
};

/* Add a problem of FILE at LINE:COLUMN (0: the whole file), in order. */
void		 yamlx_errors_add(struct yamlx_errors *, const char *,
		    size_t, size_t, const char *);
void		 yamlx_errors_print(const struct yamlx_errors *, FILE *);
void		 yamlx_errors_free(struct yamlx_errors *);

/* A file's document and where its problems go. */
struct yamlx {
	const char		*file;
	struct yamlx_errors	*errs;
	yaml_document_t		 doc;
	bool			 loaded;	/* doc is to be deleted */
};

/* Read the one document of fp, named file; -1 once the reason is added. */
int		 yamlx_load(struct yamlx *, const char *, FILE *,
		    struct yamlx_errors *)
		    __attribute__((warn_unused_result));
void		 yamlx_free(struct yamlx *);
/* The document's root node; NULL for an empty file. */
yaml_node_t	*yamlx_root(struct yamlx *);
/* The node of an id from the document (of a pair or an item). */
yaml_node_t	*yamlx_node(struct yamlx *, int);

/* Add a problem at mark, or at node (NULL: the whole file). */
void		 yamlx_error_at(struct yamlx *, yaml_mark_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
void		 yamlx_error(struct yamlx *, const yaml_node_t *,
		    const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* The text of a scalar node. */
const char	*yamlx_text(const yaml_node_t *);
/* Whether n is YAML's null: a plain "", "~" or "null". */
bool		 yamlx_is_null(const yaml_node_t *);
/* What n is, for "expected a map, not a list". */
const char	*yamlx_kind(const yaml_node_t *);
/*
 * The text of scalar n, or NULL once "NAME: expected WANT, not a list"
 * or a NUL inside it is reported.
 */
const char	*yamlx_scalar(struct yamlx *, const yaml_node_t *,
		    const char *name, const char *want);
/*
 * Which pairs of map have a usable key: a scalar that is not null, has no
 * NUL, and is not the key of an earlier pair; the others are reported.
 * One bool for each pair, in order, to free.
 */
bool		*yamlx_keys(struct yamlx *, yaml_node_t *);

/* A walk over the pairs of a map whose key is usable, as yamlx_keys(). */
struct yamlx_pairs {
	bool			 started;
	bool			*usable;
	yaml_node_pair_t	*pair;
	size_t			 i;
	bool			 bad;		/* a key was not usable */
};
/*
 * Start with a zeroed walk; each call gives the next usable pair's key
 * and value. At the end, false: the walk has let go of what it held, and
 * bad says whether a key was reported. Walk to the end.
 */
bool		 yamlx_pairs_next(struct yamlx *, yaml_node_t *map,
		    struct yamlx_pairs *, yaml_node_t **k, yaml_node_t **v);

#endif
