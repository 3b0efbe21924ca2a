#include "url_check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#define HOST_MAX 256

bool url_check_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if(!strcasecmp(host, "localhost") || !strcasecmp(host, "localhost."))
		return true;
	if(inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if(inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

/* ":N" with 1 <= N <= 65535, or nothing; p..end is what follows the
 * host. */
static bool is_port_ok(const char *p, const char *end)
{
	unsigned long port = 0;

	if(p == end)
		return true;
	if(*p != ':' || ++p == end)
		return false;
	for(; p < end; p++) {
		if(*p < '0' || *p > '9')
			return false;
		port = port * 10 + (unsigned long)(*p - '0');
		if(port > 65535)
			return false;
	}
	return port > 0;
}

enum pl_status url_check(const char *url, const char *option,
			 struct pl_err *err)
{
	const char *p, *end, *h;
	char host[HOST_MAX];
	size_t hlen;
	bool https, bracketed = false;
	struct in6_addr a6;

	if(!url || !*url)
		return pl_fail(err, PL_EUSAGE, "%s: empty URL", option);
	for(p = url; *p; p++)
		if((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return pl_fail(err, PL_EUSAGE,
				       "%s '%s': invalid character (space, "
				       "control or non-ASCII)", option, url);
	if(!strncasecmp(url, "https://", 8)) {
		https = true;
		p = url + 8;
	} else if(!strncasecmp(url, "http://", 7)) {
		https = false;
		p = url + 7;
	} else {
		return pl_fail(err, PL_EUSAGE,
			       "%s '%s': unsupported scheme: use https://",
			       option, url);
	}
	if(strpbrk(p, "?#"))
		return pl_fail(err, PL_EUSAGE,
			       "%s '%s': must not have a query or fragment",
			       option, url);
	end = p + strcspn(p, "/");
	if(memchr(p, '@', (size_t)(end - p)))
		return pl_fail(err, PL_EUSAGE,
			       "%s '%s': must not carry credentials", option,
			       url);
	if(*p == '[') {
		h = memchr(p, ']', (size_t)(end - p));
		if(!h)
			return pl_fail(err, PL_EUSAGE,
				       "%s '%s': invalid host", option, url);
		bracketed = true;
		hlen = (size_t)(h - p - 1);
		p++;
		h++;
	} else {
		h = p;
		while(h < end && *h != ':')
			h++;
		hlen = (size_t)(h - p);
	}
	if(!hlen || hlen >= sizeof(host))
		return pl_fail(err, PL_EUSAGE, "%s '%s': no valid host",
			       option, url);
	memcpy(host, p, hlen);
	host[hlen] = '\0';
	/* brackets hold an IPv6 address and nothing else (RFC 3986 3.2.2) */
	if(bracketed && inet_pton(AF_INET6, host, &a6) != 1)
		return pl_fail(err, PL_EUSAGE, "%s '%s': invalid host",
			       option, url);
	if(!is_port_ok(h, end))
		return pl_fail(err, PL_EUSAGE,
			       "%s '%s': invalid port: want a number from 1 "
			       "to 65535", option, url);
	if(https || url_check_is_loopback(host))
		return PL_OK;
	return pl_fail(err, PL_EUSAGE,
		       "%s '%s': refusing plain http:// to non-loopback host "
		       "'%s': use https://", option, url, host);
}
