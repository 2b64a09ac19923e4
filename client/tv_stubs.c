/*
 * libteevault: the function-side tv_secrets_get(), declared in teevault.h
 * and implemented by the function-runtime work (engineer E), who replaces
 * this file. Until then it returns TV_ERR_UNIMPLEMENTED so callers link.
 */
#include "tv_client_int.h"

int tv_secrets_get(tv_session *s, const char *name, uint8_t **value, size_t *len)
{
    (void)s;
    (void)name;
    (void)value;
    (void)len;
    return TV_ERR_UNIMPLEMENTED;
}
