#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "xmalloc.h"

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			fatal("vsnprintf");
		if ((size_t)n < b->cap - b->len)
			break;
		b->cap = b->cap == 0 ? 4096 : b->cap * 2;
		while (b->cap - b->len <= (size_t)n)
			b->cap *= 2;
		b->s = xreallocarray(b->s, b->cap, 1);
	}
	b->len += n;
}

void
buf_add(struct buf *b, const char *p, size_t n)
{
	if (b->cap - b->len <= n) {
		b->cap = b->cap == 0 ? 4096 : b->cap * 2;
		while (b->cap - b->len <= n)
			b->cap *= 2;
		b->s = xreallocarray(b->s, b->cap, 1);
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void
buf_whole(struct buf *b, double v)
{
	char		 s[24], *p = s + sizeof s;
	uint64_t	 u;

	/* Below 2^53 every integer is exact in a double. */
	if (!(v >= 0 && v < 9007199254740992.0) || signbit(v) ||
	    (double)(uint64_t)v != v) {
		buf_printf(b, "%.0f", v);
		return;
	}
	u = (uint64_t)v;
	do {
		*--p = '0' + u % 10;
		u /= 10;
	} while (u != 0);
	buf_add(b, p, s + sizeof s - p);
}

void
buf_label(struct buf *b, const char *v)
{
	size_t	n;

	for (;;) {
		n = strcspn(v, "\\\"\n");
		buf_add(b, v, n);
		v += n;
		if (*v == '\0')
			break;
		buf_add(b, *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : "\\n", 2);
		v++;
	}
}

void
buf_family(struct buf *b, const char *name, const char *type,
    const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
buf_html(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<':
			buf_printf(b, "&lt;");
			break;
		case '>':
			buf_printf(b, "&gt;");
			break;
		case '&':
			buf_printf(b, "&amp;");
			break;
		case '"':
			buf_printf(b, "&quot;");
			break;
		case '\'':
			buf_printf(b, "&#39;");
			break;
		default:
			buf_printf(b, "%c", *s);
		}
	}
}
