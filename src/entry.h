/*
 * The notifier's spool entries: each delivery queued for a webhook, with
 * its receiver's url and format, when it was queued and every field of its
 * note, as one JSON object of version ENTRY_VERSION; entry_parse() checks
 * every field of what it reads back, so that a damaged entry is an error
 * with a reason, never a note with holes.
 */
#ifndef ENTRY_H
#define ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "note.h"

/* What a spool entry says, taken apart. */
struct entry {
	char			*url;		/* of the receiver */
	enum webhook_format	 format;
	int64_t			 queued;	/* unix ms */
	struct note		*note;		/* no reference counted yet */
};

/* The text of the entry of a note queued for url at queued; free() it. */
char	*entry_text(const char *url, enum webhook_format, int64_t queued,
	    const struct alert_note *);
/* Read an entry; on success the caller owns e->url and e->note. */
int	 entry_parse(const char *, size_t, struct entry *e, char **cause)
	    __attribute__((warn_unused_result));
/* Let go of e->url, not of the note. */
void	 entry_clear(struct entry *e);

#endif
