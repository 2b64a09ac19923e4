/* SPDX-License-Identifier: Apache-2.0 */
/* libteevault: service teevault.v1.Auth (login, tokens, users). */
#include "tv_client_int.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define TV_PASSWORD_MAX 4096

void tv_token_info_free(tv_token_info *t)
{
    if (!t)
        return;
    free(t->token_id);
    free(t->display_name);
    tv_strv_free(t->policies, t->n_policies);
    free(t->user);
    free(t->parent);
    free(t);
}

static tv_token_info *token_info_from(const Teevault__V1__TokenInfo *m)
{
    Teevault__V1__TokenInfo empty;
    tv_token_info *t = calloc(1, sizeof(*t));

    teevault__v1__token_info__init(&empty);

    if (!m)
        m = &empty;
    if (!t)
        return NULL;
    t->created_at = m->created_at;
    t->expires_at = m->expires_at;
    t->root = m->root;
    t->n_policies = m->n_policies;
    if (!(t->token_id = tv_xstrdup(m->token_id)) ||
        !(t->display_name = tv_xstrdup(m->display_name)) || !(t->user = tv_xstrdup(m->user)) ||
        !(t->parent = tv_xstrdup(m->parent)) ||
        !(t->policies = tv_strv_dup(m->policies, m->n_policies))) {
        t->n_policies = 0;
        tv_token_info_free(t);
        return NULL;
    }
    return t;
}

static void wipe_str(char *s)
{
    if (s)
        sodium_memzero(s, strlen(s));
}

/* Shared tail of Login and TokenCreate: copy token + info out of a response. */
static int take_token(tv_client *c, char *rtoken, const Teevault__V1__TokenInfo *rinfo,
                      char **token, tv_token_info **info)
{
    char *tok = NULL;
    tv_token_info *ti = NULL;

    if (!rtoken || !rtoken[0])
        return tv_fail(c, TV_ERR_PROTOCOL, "server returned an empty token");
    if (!(tok = tv_secret_strdup(rtoken)) || (info && !(ti = token_info_from(rinfo)))) {
        tv_free_secret(tok);
        return tv_fail(c, TV_ERR_NOMEM, "out of memory");
    }
    *token = tok;
    if (info)
        *info = ti;
    return 0;
}

int tv_auth_login(tv_client *c, const char *user, const char *password, char **token,
                  tv_token_info **info)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__LoginRequest req;
    teevault__v1__login_request__init(&req);
    Teevault__V1__LoginResponse *resp = NULL;

    if (!c || !token)
        return TV_ERR_INVALID;
    if ((r = tv_check_str(c, "user", user, TV_NAME_MAX)) < 0 ||
        (r = tv_check_str(c, "password", password, TV_PASSWORD_MAX)) < 0)
        return r;
    req.user = (char *)(uintptr_t)user;
    req.password = (char *)(uintptr_t)password;
    if ((r = tv_call(c, TV_SVC_AUTH, "Login", &req.base, &teevault__v1__login_response__descriptor,
                     (ProtobufCMessage **)&resp)) < 0)
        return r;
    r = take_token(c, resp->token, resp->info, token, info);
    wipe_str(resp->token);
    tv_msg_free((ProtobufCMessage *)resp);
    return r;
}

int tv_token_create(tv_client *c, const char *const *policies, size_t n_policies,
                    int64_t ttl_seconds, const char *display_name, char **token,
                    tv_token_info **info)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__TokenCreateRequest req;
    teevault__v1__token_create_request__init(&req);
    Teevault__V1__TokenCreateResponse *resp = NULL;

    if (!c || !token || (n_policies && !policies) || ttl_seconds < 0)
        return TV_ERR_INVALID;
    for (size_t i = 0; i < n_policies; i++)
        if ((r = tv_check_str(c, "policy name", policies[i], TV_NAME_MAX)) < 0)
            return r;
    if (display_name && (r = tv_check_str(c, "display name", display_name, TV_NAME_MAX)) < 0)
        return r;
    req.n_policies = n_policies;
    req.policies = (char **)(uintptr_t)policies;
    req.ttl_seconds = ttl_seconds;
    req.display_name = (char *)(uintptr_t)(display_name ? display_name : "");
    if ((r = tv_call(c, TV_SVC_AUTH, "TokenCreate", &req.base,
                     &teevault__v1__token_create_response__descriptor,
                     (ProtobufCMessage **)&resp)) < 0)
        return r;
    r = take_token(c, resp->token, resp->info, token, info);
    wipe_str(resp->token);
    tv_msg_free((ProtobufCMessage *)resp);
    return r;
}

int tv_token_revoke(tv_client *c, const char *token_id)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__TokenIdRequest req;
    teevault__v1__token_id_request__init(&req);
    ProtobufCMessage *resp = NULL;

    if (!c)
        return TV_ERR_INVALID;
    if (token_id && (r = tv_check_str(c, "token id", token_id, TV_NAME_MAX)) < 0)
        return r;
    req.token_id = (char *)(uintptr_t)(token_id ? token_id : "");
    if ((r = tv_call(c, TV_SVC_AUTH, "TokenRevoke", &req.base, &teevault__v1__empty__descriptor,
                     &resp)) < 0)
        return r;
    tv_msg_free(resp);
    return 0;
}

int tv_token_lookup(tv_client *c, const char *token_id, tv_token_info **info)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__TokenIdRequest req;
    teevault__v1__token_id_request__init(&req);
    Teevault__V1__TokenInfo *resp = NULL;
    tv_token_info *ti;

    if (!c || !info)
        return TV_ERR_INVALID;
    if (token_id && (r = tv_check_str(c, "token id", token_id, TV_NAME_MAX)) < 0)
        return r;
    req.token_id = (char *)(uintptr_t)(token_id ? token_id : "");
    if ((r = tv_call(c, TV_SVC_AUTH, "TokenLookup", &req.base,
                     &teevault__v1__token_info__descriptor, (ProtobufCMessage **)&resp)) < 0)
        return r;
    ti = token_info_from(resp);
    tv_msg_free((ProtobufCMessage *)resp);
    if (!ti)
        return tv_fail(c, TV_ERR_NOMEM, "out of memory");
    *info = ti;
    return 0;
}

int tv_user_add(tv_client *c, const char *name, const char *password, const char *const *policies,
                size_t n_policies)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__UserAddRequest req;
    teevault__v1__user_add_request__init(&req);
    ProtobufCMessage *resp = NULL;

    if (!c || (n_policies && !policies))
        return TV_ERR_INVALID;
    if ((r = tv_check_str(c, "user name", name, TV_NAME_MAX)) < 0 ||
        (r = tv_check_str(c, "password", password, TV_PASSWORD_MAX)) < 0)
        return r;
    for (size_t i = 0; i < n_policies; i++)
        if ((r = tv_check_str(c, "policy name", policies[i], TV_NAME_MAX)) < 0)
            return r;
    req.name = (char *)(uintptr_t)name;
    req.password = (char *)(uintptr_t)password;
    req.n_policies = n_policies;
    req.policies = (char **)(uintptr_t)policies;
    if ((r = tv_call(c, TV_SVC_AUTH, "UserAdd", &req.base, &teevault__v1__empty__descriptor,
                     &resp)) < 0)
        return r;
    tv_msg_free(resp);
    return 0;
}

int tv_user_passwd(tv_client *c, const char *name, const char *password)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__UserPasswdRequest req;
    teevault__v1__user_passwd_request__init(&req);
    ProtobufCMessage *resp = NULL;

    if (!c)
        return TV_ERR_INVALID;
    if ((r = tv_check_str(c, "user name", name, TV_NAME_MAX)) < 0 ||
        (r = tv_check_str(c, "password", password, TV_PASSWORD_MAX)) < 0)
        return r;
    req.name = (char *)(uintptr_t)name;
    req.password = (char *)(uintptr_t)password;
    if ((r = tv_call(c, TV_SVC_AUTH, "UserPasswd", &req.base, &teevault__v1__empty__descriptor,
                     &resp)) < 0)
        return r;
    tv_msg_free(resp);
    return 0;
}

int tv_user_delete(tv_client *c, const char *name)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__NameRequest req;
    teevault__v1__name_request__init(&req);
    ProtobufCMessage *resp = NULL;

    if (!c)
        return TV_ERR_INVALID;
    if ((r = tv_check_str(c, "user name", name, TV_NAME_MAX)) < 0)
        return r;
    req.name = (char *)(uintptr_t)name;
    if ((r = tv_call(c, TV_SVC_AUTH, "UserDelete", &req.base, &teevault__v1__empty__descriptor,
                     &resp)) < 0)
        return r;
    tv_msg_free(resp);
    return 0;
}

void tv_user_list_free(tv_user_info *users, size_t n)
{
    if (!users)
        return;
    for (size_t i = 0; i < n; i++) {
        free(users[i].name);
        tv_strv_free(users[i].policies, users[i].n_policies);
    }
    free(users);
}

int tv_user_list(tv_client *c, tv_user_info **users, size_t *n)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__Empty req;
    teevault__v1__empty__init(&req);
    Teevault__V1__UserListResponse *resp = NULL;
    tv_user_info *u = NULL;
    size_t nu = 0;

    if (!c || !users || !n)
        return TV_ERR_INVALID;
    if ((r = tv_call(c, TV_SVC_AUTH, "UserList", &req.base,
                     &teevault__v1__user_list_response__descriptor, (ProtobufCMessage **)&resp)) <
        0)
        goto out;
    r = TV_ERR_NOMEM;
    if (!(u = calloc(resp->n_users ? resp->n_users : 1, sizeof(*u))))
        goto out;
    for (; nu < resp->n_users; nu++) {
        const Teevault__V1__UserInfo *m = resp->users[nu];
        u[nu].created_at = m->created_at;
        if (!(u[nu].name = tv_xstrdup(m->name)))
            goto out;
        if (!(u[nu].policies = tv_strv_dup(m->policies, m->n_policies))) {
            nu++;
            goto out;
        }
        u[nu].n_policies = m->n_policies;
    }
    *users = u;
    *n = nu;
    u = NULL;
    r = 0;
out:
    if (r == TV_ERR_NOMEM)
        tv_fail(c, r, "out of memory");
    tv_user_list_free(u, nu);
    tv_msg_free((ProtobufCMessage *)resp);
    return r;
}
