/* SPDX-License-Identifier: Apache-2.0 */
/* libteevault: service teevault.v1.Secrets (operator side). */
#include "tv_client_int.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

int tv_secret_put(tv_client *c, const char *name, const void *value, size_t len,
                  const tv_put_opts *opts, uint64_t *version)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__PutRequest req;
    teevault__v1__put_request__init(&req);
    Teevault__V1__PutResponse *resp = NULL;

    if (!c || (len && !value))
        return TV_ERR_INVALID;
    if ((r = tv_check_str(c, "secret name", name, TV_NAME_MAX)) < 0)
        return r;
    if (len > TV_SECRET_MAX)
        return tv_fail(c, TV_ERR_TOO_LARGE, "value is larger than %u bytes", TV_SECRET_MAX);
    req.name = (char *)(uintptr_t)name;
    req.value.data = (uint8_t *)(uintptr_t)value;
    req.value.len = len;
    if (opts) {
        req.cas_set = opts->cas_set != 0;
        req.cas = opts->cas;
        req.max_versions = opts->max_versions;
    }
    if ((r = tv_call(c, TV_SVC_SECRETS, "Put", &req.base, &teevault__v1__put_response__descriptor,
                     (ProtobufCMessage **)&resp)) < 0)
        return r;
    if (version)
        *version = resp->version;
    tv_msg_free((ProtobufCMessage *)resp);
    return 0;
}

int tv_secret_get(tv_client *c, const char *name, uint64_t version, uint8_t **value, size_t *len,
                  uint64_t *version_out)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__GetRequest req;
    teevault__v1__get_request__init(&req);
    Teevault__V1__GetResponse *resp = NULL;
    uint8_t *v;

    if (!c || !value || !len)
        return TV_ERR_INVALID;
    if ((r = tv_check_str(c, "secret name", name, TV_NAME_MAX)) < 0)
        return r;
    req.name = (char *)(uintptr_t)name;
    req.version = version;
    if ((r = tv_call(c, TV_SVC_SECRETS, "Get", &req.base, &teevault__v1__get_response__descriptor,
                     (ProtobufCMessage **)&resp)) < 0)
        return r;
    if (resp->sealed_value.len && !resp->value.len) {
        r = tv_fail(c, TV_ERR_UNIMPLEMENTED,
                    "the vault returned a sealed value (function session); use tv_secrets_get()");
        goto out;
    }
    if (!(v = tv_secret_alloc(resp->value.len))) {
        r = tv_fail(c, TV_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (resp->value.len)
        memcpy(v, resp->value.data, resp->value.len);
    *value = v;
    *len = resp->value.len;
    if (version_out)
        *version_out = resp->version;
    r = 0;
out:
    if (resp->value.data)
        sodium_memzero(resp->value.data, resp->value.len);
    tv_msg_free((ProtobufCMessage *)resp);
    return r;
}

int tv_secret_list(tv_client *c, const char *prefix, uint32_t limit, const char *cursor,
                   char ***names, size_t *n, char **next_cursor)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__ListRequest req;
    teevault__v1__list_request__init(&req);
    Teevault__V1__ListResponse *resp = NULL;
    char **v = NULL, *nc = NULL;

    if (!c || !names || !n)
        return TV_ERR_INVALID;
    if (prefix && (r = tv_check_str(c, "prefix", prefix, TV_NAME_MAX)) < 0)
        return r;
    if (cursor && (r = tv_check_str(c, "cursor", cursor, 4096)) < 0)
        return r;
    req.prefix = (char *)(uintptr_t)(prefix ? prefix : "");
    req.limit = limit;
    req.cursor = (char *)(uintptr_t)(cursor ? cursor : "");
    if ((r = tv_call(c, TV_SVC_SECRETS, "List", &req.base, &teevault__v1__list_response__descriptor,
                     (ProtobufCMessage **)&resp)) < 0)
        return r;
    if (!(v = tv_strv_dup(resp->names, resp->n_names)) ||
        (next_cursor && !(nc = tv_xstrdup(resp->next_cursor)))) {
        r = tv_fail(c, TV_ERR_NOMEM, "out of memory");
        tv_strv_free(v, v ? resp->n_names : 0);
        goto out;
    }
    *names = v;
    *n = resp->n_names;
    if (next_cursor)
        *next_cursor = nc;
    r = 0;
out:
    tv_msg_free((ProtobufCMessage *)resp);
    return r;
}

void tv_secret_meta_free(tv_secret_meta *m)
{
    if (!m)
        return;
    free(m->name);
    free(m->versions);
    free(m);
}

int tv_secret_describe(tv_client *c, const char *name, tv_secret_meta **out)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__NameRequest req;
    teevault__v1__name_request__init(&req);
    Teevault__V1__DescribeResponse *resp = NULL;
    tv_secret_meta *m = NULL;

    if (!c || !out)
        return TV_ERR_INVALID;
    if ((r = tv_check_str(c, "secret name", name, TV_NAME_MAX)) < 0)
        return r;
    req.name = (char *)(uintptr_t)name;
    if ((r = tv_call(c, TV_SVC_SECRETS, "Describe", &req.base,
                     &teevault__v1__describe_response__descriptor, (ProtobufCMessage **)&resp)) < 0)
        return r;
    r = TV_ERR_NOMEM;
    if (!(m = calloc(1, sizeof(*m))) || !(m->name = tv_xstrdup(resp->name)) ||
        !(m->versions = calloc(resp->n_versions ? resp->n_versions : 1, sizeof(*m->versions))))
        goto out;
    m->current_version = resp->current_version;
    m->max_versions = resp->max_versions;
    m->created_at = resp->created_at;
    m->updated_at = resp->updated_at;
    m->n_versions = resp->n_versions;
    for (size_t i = 0; i < resp->n_versions; i++) {
        const Teevault__V1__VersionInfo *vi = resp->versions[i];
        m->versions[i].version = vi->version;
        m->versions[i].created_at = vi->created_at;
        m->versions[i].deleted_at = vi->deleted_at;
        m->versions[i].destroyed = vi->destroyed;
        m->versions[i].kek_epoch = vi->kek_epoch;
    }
    *out = m;
    m = NULL;
    r = 0;
out:
    if (r == TV_ERR_NOMEM)
        tv_fail(c, r, "out of memory");
    tv_secret_meta_free(m);
    tv_msg_free((ProtobufCMessage *)resp);
    return r;
}

static int versions_call(tv_client *c, const char *method, const char *name,
                         const uint64_t *versions, size_t n)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__VersionsRequest req;
    teevault__v1__versions_request__init(&req);
    ProtobufCMessage *resp = NULL;

    if (!c || (n && !versions))
        return TV_ERR_INVALID;
    if ((r = tv_check_str(c, "secret name", name, TV_NAME_MAX)) < 0)
        return r;
    if (n > 1000)
        return tv_fail(c, TV_ERR_TOO_LARGE, "too many versions in one call");
    req.name = (char *)(uintptr_t)name;
    req.n_versions = n;
    req.versions = (uint64_t *)(uintptr_t)versions;
    if ((r = tv_call(c, TV_SVC_SECRETS, method, &req.base, &teevault__v1__empty__descriptor,
                     &resp)) < 0)
        return r;
    tv_msg_free(resp);
    return 0;
}

int tv_secret_delete(tv_client *c, const char *name, const uint64_t *versions, size_t n)
{
    return versions_call(c, "Delete", name, versions, n);
}

int tv_secret_undelete(tv_client *c, const char *name, const uint64_t *versions, size_t n)
{
    return versions_call(c, "Undelete", name, versions, n);
}

int tv_secret_destroy(tv_client *c, const char *name, const uint64_t *versions, size_t n)
{
    return versions_call(c, "Destroy", name, versions, n);
}
