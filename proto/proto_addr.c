/* SPDX-License-Identifier: Apache-2.0 */
#include "proto_addr.h"

#include <string.h>

int proto_split_hostport(const char *s, int allow_empty_host, char *host, size_t hostlen,
                         char *port, size_t portlen)
{
    const char *colon, *h;
    size_t hl, pl;
    unsigned long v = 0;

    if (!s || !host || !port)
        return TV_ERR_INVALID;
    h = s;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return TV_ERR_INVALID;
        h = s + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        if (!(colon = strrchr(s, ':')))
            return TV_ERR_INVALID;
        hl = (size_t)(colon - s);
    }
    pl = strlen(colon + 1);
    if ((hl == 0 && !allow_empty_host) || hl >= hostlen || pl == 0 || pl > 5 || pl >= portlen)
        return TV_ERR_INVALID;
    for (size_t i = 0; i < pl; i++) {
        char c = colon[1 + i];
        if (c < '0' || c > '9')
            return TV_ERR_INVALID;
        v = v * 10 + (unsigned long)(c - '0');
    }
    if (v > 65535)
        return TV_ERR_INVALID;
    memcpy(host, h, hl);
    host[hl] = '\0';
    memcpy(port, colon + 1, pl + 1);
    return 0;
}
