#include "ids.h"

#include <stdio.h>
#include <string.h>
#include <uuid/uuid.h>

void ids_new_correlation(char out[GUID_STR_LEN + 1])
{
	uuid_t u;

	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}

bool ids_parse_uuid(const char *s, char out[GUID_STR_LEN + 1])
{
	uuid_t u;

	if(!s || strlen(s) != GUID_STR_LEN || uuid_parse(s, u) != 0)
		return false;
	uuid_unparse_lower(u, out);
	return true;
}

void ids_request_id(const char *correlation_id, const char *tenant_id,
		    unsigned answers, char out[GUID_STR_LEN + 1])
{
	uuid_t ns, id;
	char name[GUID_STR_LEN + 16];
	int len;

	if(uuid_parse(correlation_id, ns) != 0)
		uuid_clear(ns);
	len = snprintf(name, sizeof(name), "%s/%u", tenant_id, answers);
	uuid_generate_sha1(id, ns, name, (size_t)len);
	uuid_unparse_lower(id, out);
}
