#include "outcome.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

void outcome_format_secs(long ms, char *out, size_t n)
{
	if(ms % 1000 == 0)
		snprintf(out, n, "%ld", ms / 1000);
	else
		snprintf(out, n, "%g", (double)ms / 1000.0);
}

void outcome_failure_get(struct outcome_failure *f, CURL *easy,
			 CURLcode res, const char *errbuf)
{
	curl_off_t connect_us = 0;

	f->res = res;
	f->os_errno = 0;
	f->errbuf = errbuf ? errbuf : "";
	curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &f->os_errno);
	/* a reused connection has no connect time, but the request went
	 * out: pre-transfer time is set */
	curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connect_us);
	if(!connect_us)
		curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T,
				  &connect_us);
	f->connected = connect_us != 0;
}

bool outcome_is_permanent(CURLcode res)
{
	switch(res) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_BAD_CONTENT_ENCODING:
		return true;
	default:
		return false;
	}
}

void outcome_describe(const struct outcome_failure *f, unsigned attempts,
		      const struct outcome_limits *lim, char *out, size_t n)
{
	char secs[32], what[CURL_ERROR_SIZE + 64];
	long oserr = f->os_errno;

	switch(f->res) {
	case CURLE_OPERATION_TIMEDOUT:
		if(!f->connected) {
			long ms = lim->connect_timeout_ms < lim->timeout_ms
					  ? lim->connect_timeout_ms
					  : lim->timeout_ms;

			outcome_format_secs(ms, secs, sizeof(secs));
			snprintf(what, sizeof(what),
				 "cannot connect: timeout after %s s", secs);
		} else {
			outcome_format_secs(lim->timeout_ms, secs,
					    sizeof(secs));
			snprintf(what, sizeof(what), "timeout after %s s",
				 secs);
		}
		break;
	case CURLE_COULDNT_CONNECT:
		if(oserr == ECONNREFUSED)
			snprintf(what, sizeof(what), "connection refused");
		else if(oserr)
			snprintf(what, sizeof(what), "cannot connect: %s",
				 strerror((int)oserr));
		else
			snprintf(what, sizeof(what), "cannot connect");
		break;
	case CURLE_GOT_NOTHING:
		snprintf(what, sizeof(what),
			 "connection closed without response");
		break;
	case CURLE_PARTIAL_FILE:
		snprintf(what, sizeof(what),
			 "connection closed before the end of the body");
		break;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		if(oserr == ECONNRESET) {
			snprintf(what, sizeof(what), "connection reset");
			break;
		}
		/* fall through */
	default:
		snprintf(what, sizeof(what), "%s",
			 f->errbuf[0] ? f->errbuf
				      : curl_easy_strerror(f->res));
		/* git style: "could not resolve host", but keep "SSL ..." */
		if(isupper((unsigned char)what[0]) &&
		   islower((unsigned char)what[1]))
			what[0] = (char)tolower((unsigned char)what[0]);
		break;
	}
	if(attempts > 1)
		snprintf(out, n, "%s (%u attempts)", what, attempts);
	else
		snprintf(out, n, "%s", what);
}
