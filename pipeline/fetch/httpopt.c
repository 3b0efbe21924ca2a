#include "httpopt.h"

#include <stddef.h>

#define SYSTEM_CA_DIR "/etc/ssl/certs"

static enum pl_status refused(CURLcode cc, const char *what,
			      struct pl_err *err)
{
	return pl_fail(err, cc == CURLE_OUT_OF_MEMORY ? PL_ENOMEM
						      : PL_EINTERNAL,
		       "libcurl refuses %s: %s", what, curl_easy_strerror(cc));
}

enum pl_status httpopt_harden(CURL *c, const struct httpopt *o,
			      struct pl_err *err)
{
	const char *ua = o->user_agent ? o->user_agent : HTTPOPT_USER_AGENT;
	CURLcode cc;

	/* TLS verification is never turned off, whatever the options */
	if((cc = curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L)))
		return refused(cc, "CURLOPT_SSL_VERIFYPEER", err);
	if((cc = curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L)))
		return refused(cc, "CURLOPT_SSL_VERIFYHOST", err);
	/* --cacert adds to the system's CAs: the bundle file and, with the
	 * OpenSSL backend, the system's hashed certificate directory are
	 * both searched. */
	if(o->cacert) {
		if((cc = curl_easy_setopt(c, CURLOPT_CAINFO, o->cacert)))
			return refused(cc, "CURLOPT_CAINFO", err);
		/* a TLS backend without CA directories has only the file */
		cc = curl_easy_setopt(c, CURLOPT_CAPATH, SYSTEM_CA_DIR);
		if(cc && cc != CURLE_NOT_BUILT_IN)
			return refused(cc, "CURLOPT_CAPATH", err);
	}
#if LIBCURL_VERSION_NUM >= 0x075500
	if((cc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https")))
		return refused(cc, "CURLOPT_PROTOCOLS_STR", err);
#else
	if((cc = curl_easy_setopt(c, CURLOPT_PROTOCOLS,
				  (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS))))
		return refused(cc, "CURLOPT_PROTOCOLS", err);
#endif
	if((cc = curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L)))
		return refused(cc, "CURLOPT_FOLLOWLOCATION", err);
	if((cc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L)))
		return refused(cc, "CURLOPT_NOSIGNAL", err);
	if((cc = curl_easy_setopt(c, CURLOPT_USERAGENT, ua)))
		return refused(cc, "CURLOPT_USERAGENT", err);
	return PL_OK;
}
