/*
 * libcurl's multi interface on a libevent base: curl's socket and timer
 * callbacks turned into events, and each finished transfer handed to the
 * owner's callback from the loop, after curl has returned. The scraper
 * and the webhook notifier each keep one.
 */
#ifndef CURLEV_H
#define CURLEV_H

#include <curl/curl.h>

struct event_base;
struct curlev;

/* A transfer finished; the owner may remove and free its handle here. */
typedef void (*curlev_done_cb)(CURL *, CURLcode, void *arg);

struct curlev	*curlev_new(struct event_base *, curlev_done_cb, void *arg);
void		 curlev_free(struct curlev *);
CURLM		*curlev_multi(struct curlev *);

#endif
