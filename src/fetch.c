#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "fetch.h"
#include "units.h"
#include "xmalloc.h"

/* As many redirects as Go's HTTP client, and so go tool pprof, follows. */
#define FETCH_MAX_REDIRECTS	10L

struct body {
	char	*data;
	size_t	 len;
	size_t	 cap;
	size_t	 max;
	bool	 too_big;
};

bool
fetch_is_url(const char *s)
{
	return strncasecmp(s, "http://", 7) == 0 ||
	    strncasecmp(s, "https://", 8) == 0;
}

/* curl's write callback: keep the body, up to its cap. */
static size_t
fetch_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct body	*b = arg;
	size_t		 n = size * nmemb;

	if (n > b->max - b->len) {
		b->too_big = true;
		return 0;		/* aborts the transfer */
	}
	if (b->len + n > b->cap) {
		while (b->len + n > b->cap)
			b->cap = b->cap == 0 ? 65536 : b->cap * 2;
		if (b->cap > b->max)
			b->cap = b->max;
		b->data = xreallocarray(b->data, b->cap, 1);
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	return n;
}

int
fetch_url(const char *url, size_t max, uint64_t timeout_ms, void **data,
    size_t *len, char **cause)
{
	struct body	 b;
	CURL		*easy;
	CURLcode	 rc;
	char		 errbuf[CURL_ERROR_SIZE];
	long		 status = 0, oserr = 0;

	*cause = NULL;
	memset(&b, 0, sizeof b);
	b.max = max;
	errbuf[0] = '\0';
	if ((easy = curl_easy_init()) == NULL) {
		xasprintf(cause, "%s: cannot start an HTTP client", url);
		return -1;
	}
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, fetch_write);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(easy, CURLOPT_MAXREDIRS, FETCH_MAX_REDIRECTS);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, PACKAGE "/" PACKAGE_VERSION);
	/*
	 * No Accept-Encoding: a body gzip'd in transit would be inflated by
	 * curl past the cap. Go serves profiles gzip-compressed anyway, and
	 * the decoder inflates them under its own cap.
	 */
	curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, NULL);
	rc = curl_easy_perform(easy);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	if (b.too_big)
		xasprintf(cause, "%s: response larger than %s", url,
		    units_fmt_size(max));
	else if (rc != CURLE_OK) {
		curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &oserr);
		/* curl says it could not connect; the system says why. */
		xasprintf(cause, "%s: %s%s%s%s", url, errbuf[0] != '\0' ?
		    errbuf : curl_easy_strerror(rc),
		    rc == CURLE_COULDNT_CONNECT && oserr != 0 ? " (" : "",
		    rc == CURLE_COULDNT_CONNECT && oserr != 0 ?
		    strerror(oserr) : "",
		    rc == CURLE_COULDNT_CONNECT && oserr != 0 ? ")" : "");
	} else if (status != 200)
		xasprintf(cause, "%s: HTTP status %ld", url, status);
	else if (b.len == 0)
		xasprintf(cause, "%s: empty response", url);
	curl_easy_cleanup(easy);
	if (*cause != NULL) {
		free(b.data);
		return -1;
	}
	*data = b.data;
	*len = b.len;
	return 0;
}
