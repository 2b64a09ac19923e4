/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Example and live test of libteevault's operator API, linked against the
 * SHARED library (so it also checks the exported ABI): every Sys, Auth,
 * Secrets and Policies call against a running vault, each result checked,
 * every returned object freed with its documented function (ASan builds
 * report leaks), refusals checked for their tv_err and message.
 *
 *   operator_calls ADDR ROOT_TOKEN_FILE
 *
 * Exit 0 when every check passed. Driven by tests/integration/test_client_lib.sh
 * against a fresh `teevaultd --dev`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "teevault.h"

static int failures;

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond);                     \
        }                                                                                          \
    } while (0)

/* Call must return want; on a refusal the client must carry a message. */
#define EXPECT_RC(call, want)                                                                      \
    do {                                                                                           \
        int _r = (call);                                                                           \
        if (_r != (want)) {                                                                        \
            failures++;                                                                            \
            fprintf(stderr, "%s:%d: FAILED: %s = %d (%s), want %d (%s); last error: %s\n",         \
                    __FILE__, __LINE__, #call, _r, tv_errname(_r), (want), tv_errname(want),       \
                    tv_client_last_error(c));                                                      \
        } else if (_r < 0 && !tv_client_last_error(c)[0]) {                                        \
            failures++;                                                                            \
            fprintf(stderr, "%s:%d: FAILED: %s refused without a message\n", __FILE__, __LINE__,   \
                    #call);                                                                        \
        }                                                                                          \
    } while (0)

static char *read_token(const char *path)
{
    static char buf[512];
    FILE *f = fopen(path, "r");
    if (!f || !fgets(buf, sizeof(buf), f)) {
        perror(path);
        exit(2);
    }
    fclose(f);
    buf[strcspn(buf, "\r\n")] = 0;
    return buf;
}

int main(int argc, char **argv)
{
    tv_client *c = NULL;
    tv_client_opts o = {.timeout_ms = 10000};

    if (argc != 3) {
        fprintf(stderr, "usage: %s ADDR ROOT_TOKEN_FILE\n", argv[0]);
        return 2;
    }
    if (tv_client_open(argv[1], &o, &c) < 0) {
        fprintf(stderr, "cannot connect to %s\n", argv[1]);
        return 1;
    }

    /* Sys without a token */
    tv_status *st = NULL;
    EXPECT_RC(tv_sys_status(c, &st), 0);
    EXPECT(st && st->initialized && !strcmp(st->tee_backend, "sim") && !st->hardware_protected);
    EXPECT(st && st->warning[0] != 0); /* the sim backend says it protects nothing */
    tv_status_free(st);
    int ok = 0;
    char *state = NULL;
    EXPECT_RC(tv_sys_health(c, &ok, &state), 0);
    EXPECT(ok && state && !strcmp(state, "active"));
    tv_free(state);
    /* no token: refused, outputs untouched */
    uint8_t *val = (uint8_t *)"sentinel";
    size_t len = 42;
    EXPECT_RC(tv_secret_get(c, "x", 0, &val, &len, NULL), TV_ERR_UNAUTHENTICATED);
    EXPECT(len == 42 && !strcmp((char *)val, "sentinel"));
    char *tok = NULL, *pass = NULL;
    EXPECT_RC(tv_sys_init(c, "some passphrase 1234", &tok, &pass), TV_ERR_EXISTS);
    EXPECT(tok == NULL && pass == NULL);
    EXPECT_RC(tv_client_set_token(c, "not a token"), TV_ERR_INVALID);

    EXPECT_RC(tv_client_set_token(c, read_token(argv[2])), 0);
    tv_token_info *ti = NULL;
    EXPECT_RC(tv_token_lookup(c, NULL, &ti), 0);
    EXPECT(ti && ti->root && ti->token_id[0]);
    tv_token_info_free(ti);

    /* Secrets: put, CAS, get (binary), list, describe, delete/undelete/destroy */
    static const uint8_t bin[] = {0, 1, 2, 0xff, 0, '\n', 'z'};
    uint64_t v = 0;
    EXPECT_RC(tv_secret_put(c, "lib/bin", bin, sizeof(bin), NULL, &v), 0);
    EXPECT(v == 1);
    tv_put_opts cas = {.cas_set = 1, .cas = 1};
    EXPECT_RC(tv_secret_put(c, "lib/bin", "two", 3, &cas, &v), 0);
    EXPECT(v == 2);
    v = 77;
    EXPECT_RC(tv_secret_put(c, "lib/bin", "stale", 5, &cas, &v), TV_ERR_CAS);
    EXPECT(v == 77);
    tv_put_opts create_only = {.cas_set = 1, .cas = 0};
    EXPECT_RC(tv_secret_put(c, "lib/bin", "again", 5, &create_only, NULL), TV_ERR_CAS);
    uint64_t got = 0;
    EXPECT_RC(tv_secret_get(c, "lib/bin", 1, &val, &len, &got), 0);
    EXPECT(len == sizeof(bin) && !memcmp(val, bin, sizeof(bin)) && got == 1 && val[len] == 0);
    tv_free_secret(val);
    EXPECT_RC(tv_secret_get(c, "lib/bin", 0, &val, &len, &got), 0);
    EXPECT(len == 3 && !memcmp(val, "two", 3) && got == 2);
    tv_free_secret(val);
    EXPECT_RC(tv_secret_get(c, "lib/none", 0, &val, &len, NULL), TV_ERR_NOT_FOUND);

    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof(name), "lib/page/%d", i);
        EXPECT_RC(tv_secret_put(c, name, "p", 1, NULL, NULL), 0);
    }
    /* pagination: 2 per page, all 5 names exactly once */
    char *cursor = NULL;
    size_t seen = 0;
    for (int page = 0; page < 10; page++) {
        char **names = NULL, *next = NULL;
        size_t n = 0;
        EXPECT_RC(tv_secret_list(c, "lib/page/", 2, cursor, &names, &n, &next), 0);
        EXPECT(n <= 2);
        seen += n;
        tv_strv_free(names, n);
        tv_free(cursor);
        cursor = next;
        if (!cursor || !cursor[0])
            break;
    }
    tv_free(cursor);
    EXPECT(seen == 5);

    tv_secret_meta *m = NULL;
    EXPECT_RC(tv_secret_describe(c, "lib/bin", &m), 0);
    EXPECT(m && m->current_version == 2 && m->n_versions == 2 && !strcmp(m->name, "lib/bin"));
    tv_secret_meta_free(m);
    uint64_t one = 1;
    EXPECT_RC(tv_secret_delete(c, "lib/bin", &one, 1), 0);
    EXPECT(tv_secret_get(c, "lib/bin", 1, &val, &len, NULL) < 0);
    EXPECT_RC(tv_secret_undelete(c, "lib/bin", &one, 1), 0);
    EXPECT_RC(tv_secret_get(c, "lib/bin", 1, &val, &len, NULL), 0);
    tv_free_secret(val);
    EXPECT_RC(tv_secret_destroy(c, "lib/bin", &one, 1), 0);
    EXPECT(tv_secret_get(c, "lib/bin", 1, &val, &len, NULL) < 0);

    /* Policies */
    EXPECT_RC(tv_policy_write(c, "lib-read", "path \"lib/**\" { capabilities = [\"read\"] }\n"), 0);
    EXPECT_RC(tv_policy_write(c, "bad", "path \"x\" { capabilities = [\"fly\"] }\n"),
              TV_ERR_INVALID);
    char *doc = NULL;
    EXPECT_RC(tv_policy_read(c, "lib-read", &doc), 0);
    EXPECT(doc && strstr(doc, "lib/**"));
    tv_free(doc);
    char **pols = NULL;
    size_t np = 0;
    EXPECT_RC(tv_policy_list(c, &pols, &np), 0);
    EXPECT(np >= 1);
    tv_strv_free(pols, np);
    tv_explain *ex = NULL;
    EXPECT_RC(tv_policy_explain(c, "user", "nobody", "lib/bin", NULL, &ex), TV_ERR_NOT_FOUND);
    EXPECT(ex == NULL);

    /* Auth: users, login, tokens, revocation */
    const char *pol[] = {"lib-read"};
    EXPECT_RC(tv_user_add(c, "libuser", "a long password 1", pol, 1), 0);
    EXPECT_RC(tv_user_add(c, "libuser", "a long password 1", pol, 1), TV_ERR_EXISTS);
    EXPECT_RC(tv_policy_explain(c, "user", "libuser", "lib/bin", NULL, &ex), 0);
    if (ex)
        EXPECT(ex->allowed && !strcmp(ex->policy, "lib-read") && ex->reason[0]);
    tv_explain_free(ex);
    ex = NULL;
    EXPECT_RC(tv_policy_explain(c, "user", "libuser", "lib/bin", "destroy", &ex), 0);
    if (ex)
        EXPECT(!ex->allowed && ex->reason[0]);
    tv_explain_free(ex);
    tv_user_info *users = NULL;
    size_t nu = 0;
    EXPECT_RC(tv_user_list(c, &users, &nu), 0);
    int found = 0;
    for (size_t i = 0; i < nu; i++)
        found |= !strcmp(users[i].name, "libuser") && users[i].n_policies == 1;
    EXPECT(found);
    tv_user_list_free(users, nu);
    EXPECT_RC(tv_auth_login(c, "libuser", "wrong password", &tok, NULL), TV_ERR_UNAUTHENTICATED);
    EXPECT_RC(tv_auth_login(c, "libuser", "a long password 1", &tok, &ti), 0);
    EXPECT(tok && ti && !strcmp(ti->user, "libuser"));
    tv_token_info_free(ti);
    EXPECT_RC(tv_user_passwd(c, "libuser", "another password 2"), 0);

    /* as the user: allowed read, denied write */
    tv_client *u = NULL;
    EXPECT(tv_client_open(argv[1], &o, &u) == 0);
    if (u) {
        EXPECT(tv_client_set_token(u, tok) == 0);
        EXPECT(tv_secret_get(u, "lib/page/1", 0, &val, &len, NULL) == 0);
        if (len == 1)
            tv_free_secret(val);
        EXPECT(tv_secret_put(u, "lib/page/1", "w", 1, NULL, NULL) == TV_ERR_DENIED);
        EXPECT(strlen(tv_client_last_error(u)) > 0);
    }
    char *t2 = NULL;
    EXPECT_RC(tv_token_create(c, pol, 1, 3600, "lib test", &t2, &ti), 0);
    char id[128] = "";
    if (ti)
        snprintf(id, sizeof(id), "%s", ti->token_id);
    tv_token_info_free(ti);
    EXPECT_RC(tv_token_revoke(c, id), 0);
    if (u) {
        EXPECT(tv_client_set_token(u, t2) == 0);
        EXPECT(tv_token_lookup(u, NULL, &ti) == TV_ERR_UNAUTHENTICATED);
    }
    tv_free_secret(t2);
    tv_free_secret(tok);
    tv_client_close(u);
    EXPECT_RC(tv_user_delete(c, "libuser"), 0);
    EXPECT_RC(tv_user_delete(c, "libuser"), TV_ERR_NOT_FOUND);
    EXPECT_RC(tv_policy_delete(c, "lib-read"), 0);
    EXPECT_RC(tv_policy_read(c, "lib-read", &doc), TV_ERR_NOT_FOUND);

    /* Sys.Rotate: a new epoch */
    uint64_t epoch = 0, rewrapped = 0;
    int rr = tv_sys_rotate(c, &epoch, &rewrapped);
    EXPECT(rr == 0 || rr == TV_ERR_UNIMPLEMENTED);
    if (rr == 0)
        EXPECT(epoch >= 2);

    tv_client_close(c);
    if (failures) {
        fprintf(stderr, "%d checks FAILED\n", failures);
        return 1;
    }
    printf("all library checks passed\n");
    return 0;
}
