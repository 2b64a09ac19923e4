/* SPDX-License-Identifier: Apache-2.0 */
/* libteevault: service teevault.v1.Policies. */
#include "tv_client_int.h"

#include <stdlib.h>
#include <string.h>

static int name_call(tv_client *c, const char *method, const char *name,
                     const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp)
{
    int r;
    Teevault__V1__NameRequest req;
    teevault__v1__name_request__init(&req);

    if ((r = tv_check_str(c, "policy name", name, TV_NAME_MAX)) < 0)
        return r;
    req.name = (char *)(uintptr_t)name;
    return tv_call(c, TV_SVC_POLICIES, method, &req.base, desc, resp);
}

int tv_policy_write(tv_client *c, const char *name, const char *document)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__PolicyDocument req;
    teevault__v1__policy_document__init(&req);
    ProtobufCMessage *resp = NULL;

    if (!c)
        return TV_ERR_INVALID;
    if ((r = tv_check_str(c, "policy name", name, TV_NAME_MAX)) < 0 ||
        (r = tv_check_str(c, "policy document", document, TV_TEXT_MAX)) < 0)
        return r;
    req.name = (char *)(uintptr_t)name;
    req.document = (char *)(uintptr_t)document;
    if ((r = tv_call(c, TV_SVC_POLICIES, "Write", &req.base, &teevault__v1__empty__descriptor,
                     &resp)) < 0)
        return r;
    tv_msg_free(resp);
    return 0;
}

int tv_policy_read(tv_client *c, const char *name, char **document)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__PolicyDocument *resp = NULL;
    char *d;

    if (!c || !document)
        return TV_ERR_INVALID;
    if ((r = name_call(c, "Read", name, &teevault__v1__policy_document__descriptor,
                       (ProtobufCMessage **)&resp)) < 0)
        return r;
    d = tv_xstrdup(resp->document);
    tv_msg_free((ProtobufCMessage *)resp);
    if (!d)
        return tv_fail(c, TV_ERR_NOMEM, "out of memory");
    *document = d;
    return 0;
}

int tv_policy_list(tv_client *c, char ***names, size_t *n)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__Empty req;
    teevault__v1__empty__init(&req);
    Teevault__V1__PolicyListResponse *resp = NULL;
    char **v;

    if (!c || !names || !n)
        return TV_ERR_INVALID;
    if ((r = tv_call(c, TV_SVC_POLICIES, "List", &req.base,
                     &teevault__v1__policy_list_response__descriptor, (ProtobufCMessage **)&resp)) <
        0)
        return r;
    v = tv_strv_dup(resp->names, resp->n_names);
    if (v) {
        *names = v;
        *n = resp->n_names;
    }
    tv_msg_free((ProtobufCMessage *)resp);
    return v ? 0 : tv_fail(c, TV_ERR_NOMEM, "out of memory");
}

int tv_policy_delete(tv_client *c, const char *name)
{
    int r;
    ProtobufCMessage *resp = NULL;

    if (!c)
        return TV_ERR_INVALID;
    if ((r = name_call(c, "Delete", name, &teevault__v1__empty__descriptor, &resp)) < 0)
        return r;
    tv_msg_free(resp);
    return 0;
}

void tv_explain_free(tv_explain *e)
{
    if (!e)
        return;
    free(e->policy);
    free(e->rule);
    free(e->reason);
    free(e);
}

int tv_policy_explain(tv_client *c, const char *principal_kind, const char *principal,
                      const char *secret, const char *capability, tv_explain **out)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__ExplainRequest req;
    teevault__v1__explain_request__init(&req);
    Teevault__V1__ExplainResponse *resp = NULL;
    tv_explain *e = NULL;

    if (!c || !out)
        return TV_ERR_INVALID;
    if ((r = tv_check_str(c, "principal kind", principal_kind, 32)) < 0 ||
        (r = tv_check_str(c, "principal", principal, TV_NAME_MAX)) < 0 ||
        (r = tv_check_str(c, "secret name", secret, TV_NAME_MAX)) < 0 ||
        (capability && (r = tv_check_str(c, "capability", capability, 32)) < 0))
        return r;
    req.principal_kind = (char *)(uintptr_t)principal_kind;
    req.principal = (char *)(uintptr_t)principal;
    req.secret = (char *)(uintptr_t)secret;
    req.capability = (char *)(uintptr_t)(capability ? capability : "read");
    if ((r = tv_call(c, TV_SVC_POLICIES, "Explain", &req.base,
                     &teevault__v1__explain_response__descriptor, (ProtobufCMessage **)&resp)) < 0)
        return r;
    r = TV_ERR_NOMEM;
    if (!(e = calloc(1, sizeof(*e))) || !(e->policy = tv_xstrdup(resp->policy)) ||
        !(e->rule = tv_xstrdup(resp->rule)) || !(e->reason = tv_xstrdup(resp->reason)))
        goto out;
    e->allowed = resp->allowed;
    *out = e;
    e = NULL;
    r = 0;
out:
    if (r == TV_ERR_NOMEM)
        tv_fail(c, r, "out of memory");
    tv_explain_free(e);
    tv_msg_free((ProtobufCMessage *)resp);
    return r;
}
