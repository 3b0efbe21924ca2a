#include "grant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

#define JWT_BEARER "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
/* Longest piece of a server's description kept in a message. */
#define DESC_MAX 200
#define SHORT_MAX 64
#define HINT_MAX 320

void grant_form_init(struct grant_form *f)
{
	memset(f, 0, sizeof(*f));
	buf_init_secret(&f->body, 0);
	buf_init_secret(&f->assertion, 0);
}

void grant_form_release(struct grant_form *f)
{
	buf_release(&f->body);
	buf_release(&f->assertion);
	f->nsecrets = 0;
}

enum pl_status grant_form_add(struct grant_form *f, const char *name,
			      const char *value, struct pl_err *err)
{
	if(auth_http_form_add(&f->body, name, value))
		return pl_fail(err, PL_ENOMEM, "out of memory");
	return PL_OK;
}

enum pl_status grant_form_add_secret(struct grant_form *f, const char *name,
				     const char *value, struct pl_err *err)
{
	if(f->nsecrets < GRANT_MAX_SECRETS)
		f->secrets[f->nsecrets++] = value;
	return grant_form_add(f, name, value, err);
}

enum pl_status grant_token_url(const struct grant_client *c, struct buf *out)
{
	buf_reset(out);
	return buf_addf(out, "%s/%s/oauth2/%stoken", c->authority, c->tenant,
			c->v1 ? "" : "v2.0/");
}

enum pl_status grant_devicecode_url(const struct grant_client *c,
				    struct buf *out)
{
	buf_reset(out);
	return buf_addf(out, "%s/%s/oauth2/v2.0/devicecode", c->authority,
			c->tenant);
}

enum pl_status grant_add_client(const struct grant_client *c, const char *url,
				int64_t now_s, struct grant_form *f,
				struct pl_err *err)
{
	enum pl_status st = grant_form_add(f, "client_id", c->client_id, err);
	const char *sig;

	if(st)
		return st;
	if(c->cert) {
		st = assertion_build(c->cert, c->client_id, url, now_s, NULL,
				     &f->assertion, err);
		if(st)
			return st;
		/* The signature alone must not leak either. */
		sig = strrchr(f->assertion.data, '.');
		if(sig && f->nsecrets < GRANT_MAX_SECRETS)
			f->secrets[f->nsecrets++] = sig + 1;
		st = grant_form_add(f, "client_assertion_type", JWT_BEARER,
				    err);
		if(!st)
			st = grant_form_add_secret(f, "client_assertion",
						   f->assertion.data, err);
		return st;
	}
	if(c->secret)
		return grant_form_add_secret(f, "client_secret", c->secret,
					     err);
	return PL_OK;
}

bool grant_is_token_usable(const char *t, size_t len)
{
	if(!len)
		return false;
	for(size_t i = 0; i < len; i++)
		if((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return false;
	return true;
}

void grant_clean_text(char *out, size_t outsz, const char *in, size_t max,
		      bool first_line, const char *const *secrets, size_t n)
{
	static const char red[] = "[redacted]";
	size_t o = 0;
	bool space = false;

	if(outsz < 4) {
		if(outsz)
			out[0] = '\0';
		return;
	}
	if(max > outsz - 4)
		max = outsz - 4;
	while(*in && o < max) {
		size_t hit = 0;

		for(size_t i = 0; i < n && !hit; i++) {
			size_t sl = secrets[i] ? strlen(secrets[i]) : 0;

			if(sl >= 4 && !strncmp(in, secrets[i], sl))
				hit = sl;
		}
		if(hit) {
			if(o + sizeof(red) - 1 > max)
				break;
			memcpy(out + o, red, sizeof(red) - 1);
			o += sizeof(red) - 1;
			in += hit;
			space = false;
		} else if((unsigned char)*in < 0x20 || *in == 0x7f) {
			if(first_line && (*in == '\r' || *in == '\n'))
				break;
			if(!space && o > 0)
				out[o++] = ' ';
			space = true;
			in++;
		} else {
			out[o++] = *in++;
			space = false;
		}
	}
	while(o > 0 && out[o - 1] == ' ')
		o--;
	if(*in && !(first_line && (*in == '\r' || *in == '\n'))) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* The AADSTS code of a refusal: error_codes, else the description's
 * "AADSTS<n>:" prefix. 0 when none. */
static long aadsts(const struct token_response *r)
{
	static const long known[] = {
		700082, 70008, 65001, 50076, 50078, 700007, 50173, 700027,
		7000215, 7000222, 700016, 90002, 700024, 7000218, 70002,
		9002313, 50079,
	};
	long code = 0;

	for(size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
		if(token_response_has_code(r, known[k]))
			return known[k];
	if(r->n_error_codes)
		return r->error_codes[0];
	if(r->error_description &&
	   sscanf(r->error_description, "AADSTS%ld:", &code) == 1)
		return code;
	return 0;
}

/* The sentence saying what to do about refusal code (0 when none is
 * known). */
static void hint(const struct grant_client *c, const struct grant_what *w,
		 const struct token_response *r, long code, char *out,
		 size_t outsz)
{
	const char *cred = w && w->credential ? w->credential : NULL;
	const char *relogin = w && w->relogin ? w->relogin : NULL;
	char certdesc[512];

	out[0] = '\0';
	if(c->cert)
		snprintf(certdesc, sizeof(certdesc), "the certificate %s "
			 "(thumbprint %s)", assertion_key_path(c->cert),
			 assertion_key_thumbprint(c->cert));
	switch(code) {
	case 700082:
	case 70008:
		if(cred && relogin)
			snprintf(out, outsz, "%s has expired (unused for 90 "
				 "days, or revoked): %s", cred, relogin);
		break;
	case 65001:
		snprintf(out, outsz, "client %s has no consent for Partner "
			 "Center in tenant %s: an administrator must grant "
			 "the app's API permissions%s%s", c->client_id,
			 c->tenant, relogin ? ", then " : "",
			 relogin ? relogin : "");
		break;
	case 50076:
	case 50079:
		if(cred && relogin)
			snprintf(out, outsz, "multi-factor authentication is "
				 "required for the user of %s: %s and sign in "
				 "with MFA", cred, relogin);
		break;
	case 50078:
		if(cred && relogin)
			snprintf(out, outsz, "the multi-factor authentication "
				 "behind %s has expired: %s and sign in with "
				 "MFA", cred, relogin);
		break;
	case 700007:
		if(cred && relogin)
			snprintf(out, outsz, "%s was issued to another client "
				 "ID than %s: %s", cred, c->client_id,
				 relogin);
		break;
	case 50173:
		if(cred && relogin)
			snprintf(out, outsz, "%s was revoked when the user's "
				 "password changed: %s", cred, relogin);
		break;
	case 700027:
		if(c->cert)
			snprintf(out, outsz, "%.200s is not registered for "
				 "client "
				 "%s: upload it under Certificates & secrets "
				 "of the app registration", certdesc,
				 c->client_id);
		break;
	case 700024:
		if(c->cert)
			snprintf(out, outsz, "the client assertion signed with "
				 "%.200s was refused for its time range: check "
				 "this machine's clock", certdesc);
		break;
	case 7000215:
	case 7000222:
		if(c->secret)
			snprintf(out, outsz, "the client secret of client %s "
				 "was refused (mistyped, or expired in the app "
				 "registration): put the current one in "
				 "PARTNER_CENTER_CLIENT_SECRET or "
				 "--client-secret-file", c->client_id);
		break;
	case 7000218:
		snprintf(out, outsz, "client %s is a confidential app: give "
			 "its secret (--client-secret-file) or certificate "
			 "(--client-cert)", c->client_id);
		break;
	case 700016:
		snprintf(out, outsz, "no app with client ID %s in tenant %s: "
			 "check --client-id and --tenant", c->client_id,
			 c->tenant);
		break;
	case 90002:
		snprintf(out, outsz, "tenant %s was not found: check --tenant "
			 "and --cloud", c->tenant);
		break;
	default:
		/* An invalid_grant on a stored grant means it is no good,
		 * whatever the code. */
		if(r->error && !strcmp(r->error, "invalid_grant") && cred &&
		   relogin)
			snprintf(out, outsz, "%s was refused: %s", cred,
				 relogin);
		break;
	}
}

/* The answers a device-code poll expects while the person signs in. */
static bool is_pending(const struct token_response *r)
{
	return r->error && (!strcmp(r->error, "authorization_pending") ||
			    !strcmp(r->error, "slow_down"));
}

enum pl_status grant_refusal(const struct grant_client *c, const char *url,
			     const struct grant_form *f,
			     const struct grant_what *what, long status,
			     const struct token_response *r,
			     struct pl_err *err)
{
	char how[HINT_MAX], error[SHORT_MAX + 8], desc[DESC_MAX + 8];
	char trace[SHORT_MAX + 8], corr[SHORT_MAX + 8], ids[3 * SHORT_MAX];
	char full[1024 + 8];
	const char *const *sec = f->secrets;
	size_t ns = f->nsecrets;
	long code = aadsts(r);

	hint(c, what, r, code, how, sizeof(how));
	grant_clean_text(error, sizeof(error), r->error ? r->error : "",
			 SHORT_MAX, true, sec, ns);
	grant_clean_text(trace, sizeof(trace), r->trace_id ? r->trace_id :
			 "", SHORT_MAX, true, sec, ns);
	grant_clean_text(corr, sizeof(corr), r->correlation_id ?
			 r->correlation_id : "", SHORT_MAX, true, sec, ns);
	ids[0] = '\0';
	if(*trace || *corr)
		snprintf(ids, sizeof(ids), "trace ID %s, correlation ID %s",
			 *trace ? trace : "-", *corr ? corr : "-");
	/* With a hint the message has no room for the platform's own words:
	 * they go on a line of their own. */
	if(*how && r->error_description && !is_pending(r)) {
		grant_clean_text(full, sizeof(full), r->error_description,
				 1024, true, sec, ns);
		log_warn("the identity platform at %s refused the request: "
			 "%s%s%s%s", url, full, *ids ? " [" : "", ids,
			 *ids ? "]" : "");
	}
	if(*how)
		return pl_fail(err, PL_EAUTH, "%s (AADSTS%ld %s%s%s)", how,
			       code, error, *ids ? ", " : "", ids);
	grant_clean_text(desc, sizeof(desc), r->error_description ?
			 r->error_description : "", DESC_MAX, true, sec, ns);
	return pl_fail(err, PL_EAUTH, "token request for client %s at %s/%s "
		       "failed: HTTP %ld%s%s%s%s%s%s%s", c->client_id,
		       c->authority, c->tenant, status, *error ? " " : "",
		       error, *ids ? " [" : "", ids, *ids ? "]" : "",
		       *desc ? ": " : "", desc);
}

enum pl_status grant_request(const struct grant_client *c, const char *url,
			     const struct grant_form *f,
			     const struct grant_what *what,
			     struct token_response *r, long *status,
			     int64_t *started_ms, struct pl_err *err)
{
	struct buf reply;
	struct pl_err why = {{0}};
	char shown[SHORT_MAX + 8];
	enum pl_status st, pst;

	buf_init_secret(&reply, AUTH_HTTP_REPLY_MAX);
	token_response_release(r);
	st = auth_http_post(&c->http, url, &f->body, status, &reply,
			    started_ms, err);
	if(st)
		goto out;
	pst = token_response_parse(r, reply.data, reply.len, &why);
	if(*status != 200) {
		if(pst)
			token_response_release(r);
		st = grant_refusal(c, url, f, what, *status, r, err);
		goto out;
	}
	if(pst == PL_ENOMEM) {
		st = pl_fail(err, PL_ENOMEM, "out of memory");
		goto out;
	}
	if(pst) {
		st = pl_fail(err, PL_EAUTH, "token endpoint %s sent an invalid "
			     "reply: %s", url, why.msg);
		goto out;
	}
	if(!r->access_token.len) {
		st = pl_fail(err, PL_EAUTH, "token endpoint %s sent no "
			     "access_token", url);
		goto out;
	}
	if(r->token_type && strcasecmp(r->token_type, "Bearer")) {
		grant_clean_text(shown, sizeof(shown), r->token_type, 32, true,
				 f->secrets, f->nsecrets);
		st = pl_fail(err, PL_EAUTH, "token endpoint %s sent "
			     "token_type %s, not Bearer", url, shown);
		goto out;
	}
	if(!grant_is_token_usable(r->access_token.data, r->access_token.len))
		st = pl_fail(err, PL_EAUTH, "token endpoint %s sent an "
			     "unusable access_token (empty, spaces or "
			     "control characters)", url);
out:
	buf_release(&reply);
	if(st && *status == 200)
		token_response_release(r);
	return st;
}
