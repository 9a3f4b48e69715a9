/*
 * The notifier: the set of webhook receivers, kept over reconfigures by
 * url, each note handed to every one, and the spool read back at start.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "curlev.h"
#include "entry.h"
#include "log.h"
#include "note.h"
#include "notifier.h"
#include "receiver.h"
#include "spool.h"
#include "webhook.h"
#include "xmalloc.h"

/*
 * The receivers' series of /metrics, one row each, in their families: a
 * row with a help starts a family, one without adds a series to the
 * family above. Every series has a receiver label, the receiver's url.
 */
static const struct notifier_metric {
	const char	*name;
	const char	*type;
	const char	*help;
	const char	*result;	/* the result label; NULL: none */
	size_t		 offset;	/* of the value in receiver_stats */
} notifier_metrics_table[] = {
	{ "heapwatch_notifications_total", "counter",
	  "Webhook notes: delivered (sent), attempts that failed, notes "
	  "dropped from a full queue, queued repeats replaced by newer, and "
	  "notes queued again from the spool at start-up (restored).",
	  "sent", offsetof(struct receiver_stats, sent) },
	{ "heapwatch_notifications_total", NULL, NULL,
	  "failed", offsetof(struct receiver_stats, failed) },
	{ "heapwatch_notifications_total", NULL, NULL,
	  "dropped", offsetof(struct receiver_stats, dropped) },
	{ "heapwatch_notifications_total", NULL, NULL,
	  "replaced", offsetof(struct receiver_stats, replaced) },
	{ "heapwatch_notifications_total", NULL, NULL,
	  "restored", offsetof(struct receiver_stats, restored) },
	{ "heapwatch_notifications_queued", "gauge",
	  "Webhook notes waiting to be delivered.",
	  NULL, offsetof(struct receiver_stats, queued) },
};

struct notifier {
	struct receiver_env	 env;		/* of every receiver */
	struct curlev		*cev;
	char			*external_url;	/* without a trailing slash */
	struct receiver		**rcv;
	size_t			 nrcv;
};


struct notifier *
notifier_new(struct event_base *base, const struct webhook_config *wc,
    size_t n, const char *external_url)
{
	struct notifier	*nf;

	nf = xcalloc(1, sizeof *nf);
	nf->env.base = base;
	nf->cev = curlev_new(base, receiver_curl_done, NULL);
	nf->env.multi = curlev_multi(nf->cev);
	nf->env.nextseq = 1;
	notifier_set_external_url(nf, external_url);
	notifier_reconfigure(nf, wc, n);
	return nf;
}

void
notifier_free(struct notifier *nf)
{
	size_t	i;

	if (nf == NULL)
		return;
	/* What is queued stays in the spool for the next start. */
	for (i = 0; i < nf->nrcv; i++)
		receiver_free(nf->rcv[i], false);
	free(nf->rcv);
	spool_close(nf->env.spool);
	/* Closing its connections calls sock_cb and timer_cb. */
	curlev_free(nf->cev);
	free(nf->external_url);
	free(nf);
}

void
notifier_reconfigure(struct notifier *nf, const struct webhook_config *wc,
    size_t n)
{
	struct receiver		**old = nf->rcv, **rcv;
	struct receiver_stats	  st;
	size_t			  nold = nf->nrcv, i, j;

	rcv = xcalloc(n, sizeof *rcv);
	for (i = 0; i < n; i++) {
		for (j = 0; j < nold; j++)
			if (old[j] != NULL && strcmp(receiver_config(
			    old[j])->url, wc[i].url) == 0)
				break;
		if (j < nold) {
			rcv[i] = old[j];
			old[j] = NULL;
			receiver_configure(rcv[i], &wc[i]);
		} else
			rcv[i] = receiver_new(&nf->env, &wc[i]);
	}
	for (j = 0; j < nold; j++) {
		if (old[j] == NULL)
			continue;
		receiver_stats(old[j], &st);
		if (st.queued > 0)
			log_warnx("webhook %s: removed, %llu notes not sent",
			    receiver_config(old[j])->url,
			    (unsigned long long)st.queued);
		receiver_free(old[j], true);
	}
	free(old);
	nf->rcv = rcv;
	nf->nrcv = n;
}

void
notifier_set_external_url(struct notifier *nf, const char *url)
{
	size_t	len;

	free(nf->external_url);
	nf->external_url = xstrdup(url != NULL ? url : "");
	len = strlen(nf->external_url);
	while (len > 0 && nf->external_url[len - 1] == '/')
		nf->external_url[--len] = '\0';
	nf->env.external_url = nf->external_url;
}

void
notifier_send(struct notifier *nf, const struct alert_note *n)
{
	struct note	*nt;
	size_t		 i;

	if (n->target == NULL) {
		log_warnx("webhook: a note without a target, not sent");
		return;
	}
	if (nf->nrcv == 0)
		return;
	/* Held meanwhile: a queue may take a copy of it instead. */
	nt = note_copy(n);
	nt->refs++;
	for (i = 0; i < nf->nrcv; i++)
		receiver_enqueue(nf->rcv[i], nt);
	note_release(nt);
}

void
notifier_send_to(struct notifier *nf, size_t i, const struct alert_note *n)
{
	struct note	*nt;

	if (n->target == NULL || i >= nf->nrcv)
		return;
	nt = note_copy(n);
	nt->refs++;
	receiver_enqueue(nf->rcv[i], nt);
	note_release(nt);
}

uint64_t
notifier_repeat_interval(const struct notifier *nf, size_t i)
{
	return receiver_config(nf->rcv[i])->repeat_interval_ms;
}

const char *
notifier_url(const struct notifier *nf, size_t i)
{
	return receiver_config(nf->rcv[i])->url;
}

size_t
notifier_receivers(const struct notifier *nf)
{
	return nf->nrcv;
}

void
notifier_stats(const struct notifier *nf, size_t i, struct receiver_stats *st)
{
	receiver_stats(nf->rcv[i], st);
}

void
notifier_metrics(const struct notifier *nf, struct buf *b)
{
	const struct notifier_metric	*m;
	struct receiver_stats		 st;
	const uint64_t			*v;
	size_t				 k, i, n = nf != NULL ? nf->nrcv : 0;

	for (k = 0; k < sizeof notifier_metrics_table /
	    sizeof *notifier_metrics_table; k++) {
		m = &notifier_metrics_table[k];
		if (m->help != NULL)
			buf_family(b, m->name, m->type, m->help);
		for (i = 0; i < n; i++) {
			receiver_stats(nf->rcv[i], &st);
			v = (const uint64_t *)(const void *)
			    ((const char *)&st + m->offset);
			buf_printf(b, "%s{receiver=\"", m->name);
			buf_label(b, st.url);
			if (m->result != NULL)
				buf_printf(b, "\",result=\"%s", m->result);
			buf_printf(b, "\"} %llu\n", (unsigned long long)*v);
		}
	}
	buf_family(b, "heapwatch_notifications_spool_errors_total", "counter",
	    "Webhook spool entries that could not be written, removed or "
	    "read back.");
	buf_printf(b, "heapwatch_notifications_spool_errors_total %llu\n",
	    (unsigned long long)(nf != NULL ? nf->env.spool_errors : 0));
}

uint64_t
notifier_spool_errors(const struct notifier *nf)
{
	return nf->env.spool_errors;
}

const struct alert_note *
notifier_queued(const struct notifier *nf, size_t i, size_t j)
{
	if (i >= nf->nrcv)
		return NULL;
	return receiver_queued(nf->rcv[i], j);
}

/* Spool entries whose receiver is no longer configured, by receiver. */
struct unclaimed {
	char			*url;
	enum webhook_format	 format;
	size_t			 n;
};

static void
notifier_unclaimed_add(struct unclaimed **v, size_t *n,
    const struct entry *sp)
{
	size_t	i;

	for (i = 0; i < *n; i++)
		if ((*v)[i].format == sp->format &&
		    strcmp((*v)[i].url, sp->url) == 0)
			break;
	if (i == *n) {
		*v = xreallocarray(*v, *n + 1, sizeof **v);
		(*v)[i].url = xstrdup(sp->url);
		(*v)[i].format = sp->format;
		(*v)[i].n = 0;
		(*n)++;
	}
	(*v)[i].n++;
}

/*
 * Put spool entry seq back in its receiver's queue, behind what is there.
 * An entry that cannot be read is set aside in quarantine/; one for a
 * receiver no longer configured is removed and counted in *gone.
 */
static void
notifier_restore(struct notifier *nf, uint64_t seq, struct unclaimed **gone,
    size_t *ngone)
{
	const struct webhook_config	*wc;
	struct entry			 sp;
	struct receiver			*r = NULL;
	char				*text, *cause = NULL, *why;
	size_t				 len, i;

	if (spool_read(nf->env.spool, seq, NOTIFIER_SPOOL_ENTRY_MAX, &text,
	    &len, &cause) == -1) {
		nf->env.spool_errors++;
		log_warnx("webhook spool: %s", cause);
		free(cause);
		cause = NULL;
		/* Too large to be read is as bad as corrupt. */
		if (spool_quarantine(nf->env.spool, seq, &cause) == -1) {
			log_warnx("webhook spool: %s", cause);
			free(cause);
		}
		return;
	}
	if (entry_parse(text, len, &sp, &why) == -1) {
		nf->env.spool_errors++;
		if (spool_quarantine(nf->env.spool, seq, &cause) == -1) {
			log_warnx("webhook spool: entry %llu: %s; %s",
			    (unsigned long long)seq, why, cause);
			free(cause);
		} else
			log_warnx("webhook spool: entry %llu: %s; set aside "
			    "in %s/%s", (unsigned long long)seq, why,
			    spool_path(nf->env.spool), SPOOL_QUARANTINE);
		free(why);
		free(text);
		return;
	}
	free(text);
	for (i = 0; i < nf->nrcv; i++) {
		wc = receiver_config(nf->rcv[i]);
		if (wc->format == sp.format && strcmp(wc->url, sp.url) == 0) {
			r = nf->rcv[i];
			break;
		}
	}
	if (r == NULL) {
		notifier_unclaimed_add(gone, ngone, &sp);
		if (spool_remove(nf->env.spool, seq, &cause) == -1) {
			nf->env.spool_errors++;
			log_warnx("webhook spool: %s", cause);
			free(cause);
		}
		sp.note->refs++;
		note_release(sp.note);
	} else
		receiver_restore(r, sp.note, seq, sp.queued);
	entry_clear(&sp);
}

void
notifier_spool(struct notifier *nf, const char *root, const char *name)
{
	struct receiver_stats	 st;
	struct unclaimed	*gone = NULL;
	uint64_t		*seqs = NULL;
	size_t			 n, ngone = 0, tmp, i;
	char			*cause = NULL;

	if (nf->env.spool != NULL)
		fatalx("%s: the spool is open already", __func__);
	if ((nf->env.spool = spool_open(root, name, &cause)) == NULL ||
	    spool_list(nf->env.spool, &seqs, &n, &tmp, &cause) == -1) {
		nf->env.spool_errors++;
		log_warnx("webhook spool: %s; alerts not yet delivered will "
		    "not outlive a restart", cause);
		free(cause);
		spool_close(nf->env.spool);
		nf->env.spool = NULL;
		return;
	}
	if (tmp > 0)
		log_info("webhook spool: removed %zu unfinished writes", tmp);
	nf->env.nextseq = 1;
	for (i = 0; i < n; i++) {
		if (seqs[i] >= nf->env.nextseq)
			nf->env.nextseq = seqs[i] + 1;
		notifier_restore(nf, seqs[i], &gone, &ngone);
	}
	free(seqs);
	for (i = 0; i < ngone; i++) {
		log_warnx("webhook %s (format %s): no longer configured, %zu "
		    "spooled notes removed", gone[i].url,
		    webhook_format_name(gone[i].format), gone[i].n);
		free(gone[i].url);
	}
	free(gone);
	for (i = 0; i < nf->nrcv; i++) {
		receiver_stats(nf->rcv[i], &st);
		if (st.restored == 0)
			continue;
		log_info("webhook %s: queued again what the last run left "
		    "undelivered: %llu", receiver_config(nf->rcv[i])->url,
		    (unsigned long long)st.restored);
		receiver_post(nf->rcv[i]);
	}
}

