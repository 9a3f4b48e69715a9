/* Allocation that never returns NULL: out of memory is fatal. */
#ifndef XMALLOC_H
#define XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xreallocarray(void *, size_t, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
int xasprintf(char **, const char *, ...)
    __attribute__((format(printf, 2, 3)));
/* On huge pages where it is large enough; freed with free(). */
void *xmalloc_huge(size_t, size_t);
/* Map in the pages of a block about to be written whole; returns it. */
void *xmalloc_populate(void *, size_t);
/*
 * This process writes fresh memory: let xmalloc_populate() map it in, and
 * put malloc's heap on huge pages.
 */
void xmalloc_fresh(void);
void xmalloc_tune(void);

#endif
