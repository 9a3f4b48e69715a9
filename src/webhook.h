/*
 * The bodies heapwatchd POSTs to its webhooks, one for each format.
 *
 * Format json, the body of SPEC.md:
 *   {"status", "target", "labels", "kind", "since", "growth",
 *    "window_seconds", "top": [{"function", "growth", "file", "line",
 *    "stack"}], "base_snapshot", "current_snapshot"}
 * After them "severity" ("critical" when the target's limit is reached
 * within its page_within at the current rate, else "warning") and, for a
 * target with a limit, "time_to_limit_seconds" (null while it does not
 * grow), "evidence", EXTERNAL_URL/api/v1/targets/NAME/evidence/ID, when
 * it was taken (see evidence.h), "signals" and "horizon" ("fast" or
 * "slow"), when the judgement said.
 * "since" is when the status began: the start of the alert when firing,
 * the time it ended when resolved (as "state" and "since" in
 * /api/v1/alerts). Times are RFC 3339 in UTC with milliseconds. A
 * function's "file" and "line" are null when unknown, and so is a
 * snapshot's URL, EXTERNAL_URL/api/v1/targets/NAME/snapshots/ID, without
 * an id.
 *
 * Format alertmanager, Alertmanager's POST /api/v2/alerts: a list of one
 * alert with labels alertname ("HeapGrowth" for heap targets,
 * "GoroutineGrowth" for goroutine targets, so that routes and inhibitions
 * can tell them apart), severity, target and the target's labels;
 * annotations summary, description (the top functions, their growth and
 * file:line, the time to limit, and the diff between the two snapshots),
 * signals, time_to_limit (as "3h20m", when known), evidence (its URL,
 * when taken) and horizon; startsAt, the start of the alert; generatorURL,
 * EXTERNAL_URL/targets/NAME, the target's page. endsAt follows
 * Prometheus: when resolved, the time it ended; when firing, now + 4 x
 * repeat_interval, as Prometheus sets now + 4 x its resend delay, so that
 * the alert stays active through two missed repeats yet resolves by itself
 * if heapwatchd goes away. Leaving it out would let Alertmanager resolve
 * the alert after its resolve_timeout (5 min), long before the next repeat.
 */
#ifndef WEBHOOK_H
#define WEBHOOK_H

#include <stdint.h>

#include "conf.h"
#include "note.h"

/* The body POSTed for a note to a receiver at now_ms; free() it. */
char		*webhook_render(const struct alert_note *,
		    const struct webhook_config *, const char *external_url,
		    int64_t now_ms);
/* "json" or "alertmanager", as the configuration spells them. */
const char	*webhook_format_name(enum webhook_format);

#endif
