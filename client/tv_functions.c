/* SPDX-License-Identifier: Apache-2.0 */
/* libteevault: service teevault.v1.Functions (registered function identities). */
#include "tv_client_int.h"

#include <stdlib.h>
#include <string.h>

void tv_function_info_free(tv_function_info *f)
{
    if (!f)
        return;
    free(f->name);
    free(f->policy);
    tv_strv_free(f->acl_policies, f->n_acl_policies);
    free(f);
}

void tv_function_list_free(tv_function_info *fns, size_t n)
{
    if (!fns)
        return;
    for (size_t i = 0; i < n; i++) {
        free(fns[i].name);
        free(fns[i].policy);
        tv_strv_free(fns[i].acl_policies, fns[i].n_acl_policies);
    }
    free(fns);
}

/* Fill *d (zeroed by the caller) from m; on failure d keeps what was copied
 * (n_acl_policies only counts a complete vector) for the caller to free. */
static int fill(tv_function_info *d, const Teevault__V1__FunctionInfo *m)
{
    d->created_at = m->created_at;
    if (!(d->name = tv_xstrdup(m->name)) || !(d->policy = tv_xstrdup(m->policy)) ||
        !(d->acl_policies = tv_strv_dup(m->acl_policies, m->n_acl_policies)))
        return TV_ERR_NOMEM;
    d->n_acl_policies = m->n_acl_policies;
    return 0;
}

int tv_function_write(tv_client *c, const tv_function_info *fn)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__FunctionInfo req;
    ProtobufCMessage *resp = NULL;

    teevault__v1__function_info__init(&req);
    if (!c || !fn || (fn->n_acl_policies && !fn->acl_policies))
        return TV_ERR_INVALID;
    if ((r = tv_check_str(c, "function name", fn->name, TV_NAME_MAX)) < 0 ||
        (r = tv_check_str(c, "identity policy", fn->policy ? fn->policy : "", TV_TEXT_MAX)) < 0)
        return r;
    for (size_t i = 0; i < fn->n_acl_policies; i++)
        if ((r = tv_check_str(c, "policy name", fn->acl_policies[i], TV_NAME_MAX)) < 0)
            return r;
    req.name = fn->name;
    req.policy = fn->policy ? fn->policy : (char *)(uintptr_t) "";
    req.n_acl_policies = fn->n_acl_policies;
    req.acl_policies = fn->acl_policies;
    if ((r = tv_call(c, TV_SVC_FUNCTIONS, "Write", &req.base, &teevault__v1__empty__descriptor,
                     &resp)) < 0)
        return r;
    tv_msg_free(resp);
    return 0;
}

int tv_function_show(tv_client *c, const char *name, tv_function_info **out)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__NameRequest req;
    Teevault__V1__FunctionInfo *resp = NULL;
    tv_function_info *f = NULL;

    teevault__v1__name_request__init(&req);
    if (!c || !out)
        return TV_ERR_INVALID;
    if ((r = tv_check_str(c, "function name", name, TV_NAME_MAX)) < 0)
        return r;
    req.name = (char *)(uintptr_t)name;
    if ((r = tv_call(c, TV_SVC_FUNCTIONS, "Show", &req.base,
                     &teevault__v1__function_info__descriptor, (ProtobufCMessage **)&resp)) < 0)
        return r;
    if (!(f = calloc(1, sizeof(*f))) || fill(f, resp) < 0) {
        r = tv_fail(c, TV_ERR_NOMEM, "out of memory");
        goto out;
    }
    *out = f;
    f = NULL;
    r = 0;
out:
    tv_function_info_free(f);
    tv_msg_free((ProtobufCMessage *)resp);
    return r;
}

int tv_function_list(tv_client *c, tv_function_info **fns, size_t *n)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__Empty req;
    Teevault__V1__FunctionListResponse *resp = NULL;
    tv_function_info *v = NULL;
    size_t i = 0;

    teevault__v1__empty__init(&req);
    if (!c || !fns || !n)
        return TV_ERR_INVALID;
    if ((r = tv_call(c, TV_SVC_FUNCTIONS, "List", &req.base,
                     &teevault__v1__function_list_response__descriptor,
                     (ProtobufCMessage **)&resp)) < 0)
        return r;
    r = TV_ERR_NOMEM;
    if (!(v = calloc(resp->n_functions ? resp->n_functions : 1, sizeof(*v))))
        goto out;
    for (; i < resp->n_functions; i++)
        if (fill(&v[i], resp->functions[i]) < 0) {
            i++;
            goto out;
        }
    *fns = v;
    *n = i;
    v = NULL;
    r = 0;
out:
    if (r == TV_ERR_NOMEM)
        tv_fail(c, r, "out of memory");
    tv_function_list_free(v, i);
    tv_msg_free((ProtobufCMessage *)resp);
    return r;
}

int tv_function_delete(tv_client *c, const char *name)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__NameRequest req;
    ProtobufCMessage *resp = NULL;

    teevault__v1__name_request__init(&req);
    if (!c)
        return TV_ERR_INVALID;
    if ((r = tv_check_str(c, "function name", name, TV_NAME_MAX)) < 0)
        return r;
    req.name = (char *)(uintptr_t)name;
    if ((r = tv_call(c, TV_SVC_FUNCTIONS, "Delete", &req.base, &teevault__v1__empty__descriptor,
                     &resp)) < 0)
        return r;
    tv_msg_free(resp);
    return 0;
}
