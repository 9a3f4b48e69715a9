/* A growing text buffer, for the daemon's HTTP answers. */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>

struct buf {
	char	*s;
	size_t	 len, cap;
};

void	buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* n bytes of p, as they are. */
void	buf_add(struct buf *, const char *, size_t);
/*
 * What printf's "%.0f" prints of v, without printf when v is a whole
 * number below 2^53, as counts are: several times faster.
 */
void	buf_whole(struct buf *, double);
/* A label value as the Prometheus exposition format escapes it. */
void	buf_label(struct buf *, const char *);
/* The # HELP and # TYPE lines that start a family of /metrics. */
void	buf_family(struct buf *, const char *name, const char *type,
	    const char *help);
/* Text for HTML, attributes included: <, >, &, " and ' escaped. */
void	buf_html(struct buf *, const char *);

#endif
