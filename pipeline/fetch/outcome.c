#include "outcome.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "norm.h"
#include "retry.h"

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

/*
 * Every CURLcode of libcurl 7.88 (curl/curl.h, docs/libcurl-errors.3), and
 * what it means for a GET of ours over http or https. A zero entry is a
 * code missing from the table: test_outcome checks there is none.
 */
enum { UNSET = 0, RETRY, ROW, FATAL };

static const unsigned char kinds[CURL_LAST] = {
	/* the bytes may have been damaged on the way, or a new connection
	 * (through another proxy hop, to another server) may do better */
	[CURLE_UNSUPPORTED_PROTOCOL] = RETRY, /* from a reply: HTTP/0.9,
					       * a bad status line */
	[CURLE_COULDNT_RESOLVE_PROXY] = RETRY,
	[CURLE_COULDNT_RESOLVE_HOST] = RETRY,
	[CURLE_COULDNT_CONNECT] = RETRY,
	[CURLE_WEIRD_SERVER_REPLY] = RETRY,   /* header syntax, NUL bytes,
					       * bad Content-Length */
	[CURLE_HTTP2] = RETRY,
	[CURLE_PARTIAL_FILE] = RETRY,
	[CURLE_OPERATION_TIMEDOUT] = RETRY,
	[CURLE_SSL_CONNECT_ERROR] = RETRY,
	[CURLE_GOT_NOTHING] = RETRY,
	[CURLE_SEND_ERROR] = RETRY,
	[CURLE_RECV_ERROR] = RETRY,           /* resets, bad chunking; "too
					       * large response headers" is
					       * a row (classify) */
	[CURLE_SEND_FAIL_REWIND] = RETRY,
	[CURLE_SSL_SHUTDOWN_FAILED] = RETRY,
	[CURLE_AGAIN] = RETRY,
	[CURLE_NO_CONNECTION_AVAILABLE] = RETRY,
	[CURLE_HTTP2_STREAM] = RETRY,         /* RST_STREAM, a stream reset
					       * mid-body */
	[CURLE_HTTP3] = RETRY,
	[CURLE_QUIC_CONNECT_ERROR] = RETRY,
	[CURLE_PROXY] = RETRY,

	/* the server's answer or identity: the same request gets the same */
	[CURLE_REMOTE_ACCESS_DENIED] = ROW,
	[CURLE_HTTP_RETURNED_ERROR] = ROW,    /* only with FAILONERROR */
	[CURLE_TOO_MANY_REDIRECTS] = ROW,     /* redirects are not followed */
	[CURLE_SSL_CIPHER] = ROW,
	[CURLE_PEER_FAILED_VERIFICATION] = ROW, /* its certificate */
	[CURLE_BAD_CONTENT_ENCODING] = ROW,   /* a Transfer-Encoding libcurl
					       * does not know; our own decoder
					       * does Content-Encoding */
	[CURLE_FILESIZE_EXCEEDED] = ROW,
	[CURLE_USE_SSL_FAILED] = ROW,
	[CURLE_LOGIN_DENIED] = ROW,
	[CURLE_SSL_ISSUER_ERROR] = ROW,
	[CURLE_SSL_PINNEDPUBKEYNOTMATCH] = ROW,
	[CURLE_SSL_INVALIDCERTSTATUS] = ROW,
	[CURLE_AUTH_ERROR] = ROW,
	[CURLE_SSL_CLIENTCERT] = ROW,         /* it wants a client
					       * certificate we do not have */
	/* other protocols' codes: unreachable with http(s) only, but should
	 * one come, it is about that transfer */
	[CURLE_FTP_ACCEPT_FAILED] = ROW,
	[CURLE_FTP_WEIRD_PASS_REPLY] = ROW,
	[CURLE_FTP_ACCEPT_TIMEOUT] = ROW,
	[CURLE_FTP_WEIRD_PASV_REPLY] = ROW,
	[CURLE_FTP_WEIRD_227_FORMAT] = ROW,
	[CURLE_FTP_CANT_GET_HOST] = ROW,
	[CURLE_FTP_COULDNT_SET_TYPE] = ROW,
	[CURLE_FTP_COULDNT_RETR_FILE] = ROW,
	[CURLE_OBSOLETE20] = ROW,
	[CURLE_QUOTE_ERROR] = ROW,
	[CURLE_OBSOLETE24] = ROW,
	[CURLE_UPLOAD_FAILED] = ROW,
	[CURLE_OBSOLETE29] = ROW,
	[CURLE_FTP_PORT_FAILED] = ROW,
	[CURLE_FTP_COULDNT_USE_REST] = ROW,
	[CURLE_OBSOLETE32] = ROW,
	[CURLE_RANGE_ERROR] = ROW,
	[CURLE_HTTP_POST_ERROR] = ROW,
	[CURLE_BAD_DOWNLOAD_RESUME] = ROW,
	[CURLE_FILE_COULDNT_READ_FILE] = ROW,
	[CURLE_LDAP_CANNOT_BIND] = ROW,
	[CURLE_LDAP_SEARCH_FAILED] = ROW,
	[CURLE_OBSOLETE40] = ROW,
	[CURLE_OBSOLETE44] = ROW,
	[CURLE_OBSOLETE46] = ROW,
	[CURLE_OBSOLETE50] = ROW,
	[CURLE_OBSOLETE51] = ROW,
	[CURLE_OBSOLETE57] = ROW,
	[CURLE_OBSOLETE62] = ROW,
	[CURLE_TFTP_NOTFOUND] = ROW,
	[CURLE_TFTP_PERM] = ROW,
	[CURLE_REMOTE_DISK_FULL] = ROW,
	[CURLE_TFTP_ILLEGAL] = ROW,
	[CURLE_TFTP_UNKNOWNID] = ROW,
	[CURLE_REMOTE_FILE_EXISTS] = ROW,
	[CURLE_TFTP_NOSUCHUSER] = ROW,
	[CURLE_OBSOLETE75] = ROW,
	[CURLE_OBSOLETE76] = ROW,
	[CURLE_REMOTE_FILE_NOT_FOUND] = ROW,
	[CURLE_SSH] = ROW,
	[CURLE_FTP_PRET_FAILED] = ROW,
	[CURLE_RTSP_CSEQ_ERROR] = ROW,
	[CURLE_RTSP_SESSION_ERROR] = ROW,
	[CURLE_FTP_BAD_FILE_LIST] = ROW,
	[CURLE_CHUNK_FAILED] = ROW,

	/* our machine, our files, our use of libcurl */
	[CURLE_FAILED_INIT] = FATAL,
	[CURLE_URL_MALFORMAT] = FATAL,        /* our URL: checked up front */
	[CURLE_NOT_BUILT_IN] = FATAL,
	[CURLE_WRITE_ERROR] = FATAL,          /* our callbacks: a fault of
					       * the answer decides first */
	[CURLE_READ_ERROR] = FATAL,
	[CURLE_OUT_OF_MEMORY] = FATAL,        /* unless libcurl's allocations
					       * all succeeded (classify) */
	[CURLE_FUNCTION_NOT_FOUND] = FATAL,
	[CURLE_ABORTED_BY_CALLBACK] = FATAL,
	[CURLE_BAD_FUNCTION_ARGUMENT] = FATAL,
	[CURLE_INTERFACE_FAILED] = FATAL,
	[CURLE_UNKNOWN_OPTION] = FATAL,
	[CURLE_SETOPT_OPTION_SYNTAX] = FATAL,
	[CURLE_SSL_ENGINE_NOTFOUND] = FATAL,
	[CURLE_SSL_ENGINE_SETFAILED] = FATAL,
	[CURLE_SSL_CERTPROBLEM] = FATAL,      /* a local certificate */
	[CURLE_SSL_ENGINE_INITFAILED] = FATAL,
	[CURLE_SSL_CACERT_BADFILE] = FATAL,   /* --cacert, the system CAs */
	[CURLE_SSL_CRL_BADFILE] = FATAL,
	[CURLE_RECURSIVE_API_CALL] = FATAL,
	[CURLE_UNRECOVERABLE_POLL] = FATAL,
};

enum outcome_kind outcome_curl_kind(CURLcode res)
{
	if(res <= CURLE_OK || res >= CURL_LAST)
		return OUTCOME_KIND_ROW;
	switch(kinds[res]) {
	case RETRY:
		return OUTCOME_KIND_RETRY;
	case FATAL:
		return OUTCOME_KIND_FATAL;
	default:
		return OUTCOME_KIND_ROW;
	}
}

bool outcome_is_permanent(CURLcode res)
{
	return res != CURLE_OK && outcome_curl_kind(res) != OUTCOME_KIND_RETRY;
}

/* Local TLS files: a configuration problem, exit 2. */
static bool is_local_tls(CURLcode res)
{
	return res == CURLE_SSL_CACERT_BADFILE ||
	       res == CURLE_SSL_CRL_BADFILE ||
	       res == CURLE_SSL_CERTPROBLEM ||
	       res == CURLE_SSL_ENGINE_NOTFOUND ||
	       res == CURLE_SSL_ENGINE_SETFAILED ||
	       res == CURLE_SSL_ENGINE_INITFAILED;
}

/* git style: "could not resolve host", but keep "SSL ..." and "HTTP/2" */
static void lower_first(char *s)
{
	if(isupper((unsigned char)s[0]) && !isupper((unsigned char)s[1]) &&
	   !isdigit((unsigned char)s[1]))
		s[0] = (char)tolower((unsigned char)s[0]);
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/*
 * libcurl keeps the first message of a transfer in the error buffer: when
 * it resent the request on a fresh connection because a reused one had
 * died, the message is that connection's, not what went wrong after.
 */
static bool is_stale_words(const struct outcome_failure *f)
{
	if(!f->errbuf || !f->errbuf[0])
		return false;
	if(f->res == CURLE_SEND_ERROR || f->res == CURLE_RECV_ERROR)
		return false;
	return starts_with(f->errbuf, "Recv failure") ||
	       starts_with(f->errbuf, "Send failure") ||
	       starts_with(f->errbuf, "Connection died");
}

/* libcurl's words for res: the error buffer, else its generic text. */
static void curl_words(const struct outcome_failure *f, char *out, size_t n)
{
	snprintf(out, n, "%s", f->errbuf && f->errbuf[0] &&
				       !is_stale_words(f)
				       ? f->errbuf
				       : curl_easy_strerror(f->res));
	lower_first(out);
}

/* Why the attempt failed, for a CURLcode, without the attempts count. */
static void why_of(const struct outcome_failure *f,
		   const struct outcome_limits *lim, char *what, size_t n)
{
	char secs[32], words[CURL_ERROR_SIZE + 64];
	const char *chunked;
	long oserr = f->os_errno;

	switch(f->res) {
	case CURLE_OPERATION_TIMEDOUT:
		if(!f->connected) {
			long ms = lim->connect_timeout_ms < lim->timeout_ms
					  ? lim->connect_timeout_ms
					  : lim->timeout_ms;

			outcome_format_secs(ms, secs, sizeof(secs));
			snprintf(what, n, "cannot connect: timeout after %s s",
				 secs);
		} else {
			outcome_format_secs(lim->timeout_ms, secs,
					    sizeof(secs));
			snprintf(what, n, "timeout after %s s", secs);
		}
		return;
	case CURLE_COULDNT_CONNECT:
		if(oserr == ECONNREFUSED)
			snprintf(what, n, "connection refused");
		else if(oserr)
			snprintf(what, n, "cannot connect: %s",
				 strerror((int)oserr));
		else
			snprintf(what, n, "cannot connect");
		return;
	case CURLE_GOT_NOTHING:
		snprintf(what, n, "connection closed without response");
		return;
	case CURLE_PARTIAL_FILE:
		snprintf(what, n,
			 "connection closed before the end of the body");
		return;
	case CURLE_UNSUPPORTED_PROTOCOL:
		/* no "HTTP/" at the start: HTTP/0.9, TLS on plain http, or
		 * anything else that is not HTTP; else a status line libcurl
		 * refused (its words, "Unsupported HTTP version (1.2) in
		 * response", may be lost to a stale buffer, so the text does
		 * not depend on them) */
		if(f->errbuf && starts_with(f->errbuf, "Received HTTP/0.9"))
			snprintf(what, n, "not an HTTP response");
		else
			snprintf(what, n, "invalid HTTP status line");
		return;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
		curl_words(f, words, sizeof(words));
		snprintf(what, n, "invalid HTTP response: %s", words);
		return;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		/* libcurl's words first: the OS error may be a stale one of
		 * the connection when the fault was in what arrived */
		chunked = f->errbuf ? strstr(f->errbuf, " in chunked-encoding")
				    : NULL;
		if(chunked) {
			snprintf(words, sizeof(words), "%.*s",
				 (int)(chunked - f->errbuf), f->errbuf);
			lower_first(words);
			snprintf(what, n, "invalid chunked encoding: %s",
				 words);
			return;
		}
		if(f->errbuf &&
		   starts_with(f->errbuf, "Too large response headers")) {
			snprintf(what, n, "response headers too large");
			return;
		}
		if(oserr == ECONNRESET) {
			snprintf(what, n, "connection reset");
			return;
		}
		break;
	case CURLE_OUT_OF_MEMORY:
		snprintf(what, n, "out of memory");
		return;
	default:
		break;
	}
	curl_words(f, what, n);
}

void outcome_describe(const struct outcome_failure *f, unsigned attempts,
		      const struct outcome_limits *lim, char *out, size_t n)
{
	char what[OUTCOME_WHY_MAX];

	why_of(f, lim, what, sizeof(what));
	outcome_with_attempts(what, attempts, out, n);
}

void outcome_with_attempts(const char *why, unsigned attempts, char *out,
			   size_t n)
{
	if(attempts > 1)
		snprintf(out, n, "%s (%u attempts)", why, attempts);
	else
		snprintf(out, n, "%s", why);
}

static void set(struct outcome *out, enum outcome_action action,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set(struct outcome *out, enum outcome_action action,
		const char *fmt, ...)
{
	va_list ap;

	out->action = action;
	va_start(ap, fmt);
	vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
}

static const char *encoding_word(const struct answer *a)
{
	return a->encoding == ANSWER_GZIP ? "gzip" : "deflate";
}

/* A fault of the answer module: what arrived was wrong (answer.h). */
static void classify_fault(const struct answer *a, struct outcome *out)
{
	const char *d = a->fault_detail;

	switch(a->fault) {
	case ANSWER_FINE:
		break;
	case ANSWER_NOMEM:
		out->fatal = PL_ENOMEM;
		set(out, OUTCOME_FATAL, "out of memory");
		break;
	case ANSWER_TOO_BIG:
		if(d[0])
			set(out, OUTCOME_ROW, "body larger than %zu MiB "
			    "(Content-Length: %s)", a->body.limit >> 20, d);
		else
			set(out, OUTCOME_ROW, "body larger than %zu MiB",
			    a->body.limit >> 20);
		break;
	case ANSWER_RAW_TOO_BIG:
		if(d[0])
			set(out, OUTCOME_ROW, "compressed body larger than "
			    "16 MiB (Content-Length: %s)", d);
		else
			set(out, OUTCOME_ROW, "compressed body larger than "
			    "16 MiB");
		break;
	case ANSWER_HEADERS_TOO_BIG:
		set(out, OUTCOME_ROW, "response headers larger than 256 KiB");
		break;
	case ANSWER_LENGTH_CONFLICT:
		set(out, OUTCOME_RETRY, "invalid HTTP response: conflicting "
		    "Content-Length headers (%s)", d);
		break;
	case ANSWER_ENCODING_UNSUPPORTED:
		set(out, OUTCOME_ROW, "unsupported Content-Encoding '%s'", d);
		break;
	case ANSWER_ENCODING_CORRUPT:
		set(out, OUTCOME_ROW, "corrupt %s body: %s", encoding_word(a),
		    d);
		break;
	case ANSWER_ENCODING_TRUNCATED:
		/* the length was met, the stream was not: a connection cut
		 * where nothing else told (HTTP/1.0, no length) */
		set(out, OUTCOME_RETRY, "truncated %s body", encoding_word(a));
		break;
	case ANSWER_FOREIGN_ID:
		set(out, OUTCOME_RETRY, "answer for another request "
		    "(MS-RequestId %s)", a->foreign_id);
		out->answered = false;
		break;
	case ANSWER_MISSING_ID:
		set(out, OUTCOME_RETRY, "answer without the MS-RequestId sent");
		out->answered = false;
		break;
	case ANSWER_HEADERS_CUT:
		set(out, OUTCOME_RETRY,
		    "connection closed inside the response headers");
		break;
	}
}

/* A complete HTTP answer: its status class decides. */
static void classify_status(long status, const struct answer *a,
			    struct outcome *out)
{
	const char *phrase;

	if(status < 100 || status > 599) {
		set(out, OUTCOME_ROW, "invalid HTTP status %ld", status);
		return;
	}
	if(status < 200) {
		set(out, OUTCOME_RETRY, "no final answer after HTTP %ld",
		    status);
		return;
	}
	if(status >= 300 && status < 400) {
		/* never followed: the token must not go to another host,
		 * and the API does not redirect */
		phrase = norm_status_phrase(status);
		if(a && a->location[0])
			set(out, OUTCOME_ROW, "HTTP %ld%s%s: redirect to %s "
			    "not followed", status, phrase ? " " : "",
			    phrase ? phrase : "", a->location);
		else
			set(out, OUTCOME_ROW, "HTTP %ld%s%s", status,
			    phrase ? " " : "", phrase ? phrase : "");
		return;
	}
	switch(retry_classify(status)) {
	case RETRY_AGAIN:
		out->action = OUTCOME_USE_RETRY;
		break;
	case RETRY_REAUTH:
		out->action = OUTCOME_REAUTH;
		break;
	case RETRY_FINAL:
		out->action = OUTCOME_USE;
		break;
	}
}

/* Faults about the content of an answer whose status says "later": the
 * status decides, the body is not needed. */
static bool is_content_fault(enum answer_fault f)
{
	return f == ANSWER_TOO_BIG || f == ANSWER_RAW_TOO_BIG ||
	       f == ANSWER_ENCODING_UNSUPPORTED ||
	       f == ANSWER_ENCODING_CORRUPT || f == ANSWER_ENCODING_TRUNCATED;
}

void outcome_classify(const struct outcome_attempt *in,
		      const struct outcome_limits *lim, struct outcome *out)
{
	const struct answer *a = in->ans;
	enum answer_fault fault = a ? a->fault : ANSWER_FINE;
	CURLcode res = in->f.res;

	memset(out, 0, sizeof(*out));
	out->status = in->status > 0 ? in->status : 0;
	out->answered = out->status > 0;
	if(fault == ANSWER_NOMEM ||
	   (res == CURLE_OUT_OF_MEMORY && in->curl_alloc_failed)) {
		out->fatal = PL_ENOMEM;
		set(out, OUTCOME_FATAL, "out of memory");
		return;
	}
	if(fault && is_content_fault(fault) && out->status &&
	   retry_classify(out->status) == RETRY_AGAIN) {
		classify_status(out->status, a, out);
		return;
	}
	if(fault) {
		/* it stopped the transfer (CURLE_WRITE_ERROR) or came at
		 * the end (answer_finish) */
		classify_fault(a, out);
		if(!out->answered)
			out->status = 0;
		return;
	}
	if(res == CURLE_OUT_OF_MEMORY) {
		/* libcurl 7.88's bounded header buffer, not our memory */
		set(out, OUTCOME_ROW, "response header line longer than "
		    "100 KiB");
		return;
	}
	if(res == CURLE_RECV_ERROR && in->f.errbuf &&
	   starts_with(in->f.errbuf, "Too large response headers")) {
		set(out, OUTCOME_ROW, "response headers too large");
		return;
	}
	if(res != CURLE_OK) {
		char what[OUTCOME_WHY_MAX];

		why_of(&in->f, lim, what, sizeof(what));
		switch(outcome_curl_kind(res)) {
		case OUTCOME_KIND_RETRY:
			set(out, OUTCOME_RETRY, "%s", what);
			break;
		case OUTCOME_KIND_ROW:
			set(out, OUTCOME_ROW, "%s", what);
			break;
		case OUTCOME_KIND_FATAL:
			if(is_local_tls(res)) {
				out->fatal = PL_EUSAGE;
				set(out, OUTCOME_FATAL, "cannot use the local "
				    "TLS files: %s", what);
			} else {
				out->fatal = PL_EINTERNAL;
				set(out, OUTCOME_FATAL, "internal error: "
				    "libcurl: %s", what);
			}
			break;
		}
		return;
	}
	if(!out->status) {
		set(out, OUTCOME_RETRY, "no HTTP status");
		return;
	}
	classify_status(out->status, a, out);
}

void outcome_wait_refused(const struct answer *ans, int64_t wait_ms,
			  long max_wait_s, char *out, size_t n)
{
	const char *v = ans->retry_after;

	if(ans->retry_after_ms < 0) {
		/* not from a Retry-After */
		snprintf(out, n, "server asked to wait %lld s, more than "
			 "--max-retry-wait %ld s",
			 (long long)((wait_ms + 999) / 1000), max_wait_s);
	} else if(*v >= '0' && *v <= '9') {
		while(v[0] == '0' && v[1] >= '0' && v[1] <= '9')
			v++;
		snprintf(out, n, "server asked to wait %s s, more than "
			 "--max-retry-wait %ld s", v, max_wait_s);
	} else {
		snprintf(out, n, "server asked to wait until %s, more than "
			 "--max-retry-wait %ld s", v, max_wait_s);
	}
}

enum outcome_multi outcome_multi_kind(CURLMcode mc, bool adding,
				      bool curl_alloc_failed)
{
	switch(mc) {
	case CURLM_OK:
	case CURLM_CALL_MULTI_PERFORM:
		return OUTCOME_MULTI_OK;
	case CURLM_OUT_OF_MEMORY:
		if(curl_alloc_failed)
			return OUTCOME_MULTI_FATAL;
		return adding ? OUTCOME_MULTI_ATTEMPT : OUTCOME_MULTI_IGNORE;
	/* our socket callback failed (the event loop): it says why */
	case CURLM_ABORTED_BY_CALLBACK:
	case CURLM_UNRECOVERABLE_POLL:
		return OUTCOME_MULTI_FATAL;
	/* a socket libcurl closed before we handed over its event */
	case CURLM_BAD_SOCKET:
		return adding ? OUTCOME_MULTI_ATTEMPT : OUTCOME_MULTI_IGNORE;
	case CURLM_BAD_HANDLE:
	case CURLM_BAD_EASY_HANDLE:
	case CURLM_INTERNAL_ERROR:
	case CURLM_UNKNOWN_OPTION:
	case CURLM_ADDED_ALREADY:
	case CURLM_RECURSIVE_API_CALL:
	case CURLM_WAKEUP_FAILURE:
	case CURLM_BAD_FUNCTION_ARGUMENT:
	default:
		return adding ? OUTCOME_MULTI_ATTEMPT : OUTCOME_MULTI_IGNORE;
	}
}
