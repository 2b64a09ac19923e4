/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for vault_acl: glob matching, parser errors, evaluation, explain, store. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tv_test_vault.h"
#include "tv_test.h"
#include "vault_acl.h"
#include "vault_record.h"
#include "vault_db.h"

static void test_glob_table(void)
{
    static const struct {
        const char *glob, *path;
        int match;
    } t[] = {
        /* exact */
        {"app", "app", 1},
        {"app", "app2", 0},
        {"app", "ap", 0},
        {"app/db", "app/db", 1},
        {"app/db", "app/db/x", 0},
        {"app/db", "app/dbx", 0},
        /* * within one segment */
        {"app/*", "app/db", 1},
        {"app/*", "app/", 1},
        {"app/*", "app/db/x", 0},
        {"app/*", "app", 0},
        {"app/*", "app2/db", 0},
        {"app*", "app2", 1},
        {"app*", "app", 1},
        {"app*", "app/x", 0},
        {"*/db", "app/db", 1},
        {"*/db", "db", 0},
        {"*/db", "a/b/db", 0},
        {"app/*/key", "app/x/key", 1},
        {"app/*/key", "app/x/y/key", 0},
        {"app/db-*", "app/db-prod", 1},
        {"app/db-*", "app/db/prod", 0},
        {"a*b*c", "axxbyyc", 1},
        {"a*b*c", "axxb/yyc", 0},
        {"*", "anything", 1},
        {"*", "a/b", 0},
        /* ** across segments */
        {"app/**", "app/db", 1},
        {"app/**", "app/db/password", 1},
        {"app/**", "app", 0},
        {"app/**", "app2/db", 0},
        {"app/**", "app2", 0},
        {"app/**", "xapp/db", 0},
        {"**", "a/b/c", 1},
        {"**", "a", 1},
        {"**/key", "key", 1},
        {"**/key", "a/key", 1},
        {"**/key", "a/b/key", 1},
        {"**/key", "akey", 0},
        {"**/key", "a/key/x", 0},
        {"app/**/key", "app/key", 1},
        {"app/**/key", "app/x/key", 1},
        {"app/**/key", "app/x/y/key", 1},
        {"app/**/key", "app/xkey", 0},
        {"app/**/key", "app2/x/key", 0},
        {"app/**/key", "app/x/key2", 0},
        {"app/**x", "app/a/bx", 1}, /* ** not a whole segment: any run */
        {"app/**x", "app/a/b", 0},
        {"a/**/b/**/c", "a/b/c", 1},
        {"a/**/b/**/c", "a/1/2/b/3/c", 1},
        {"a/**/b/**/c", "a/1/2/c", 0},
        /* list prefixes (see docs/POLICIES.md "Listing") */
        {"app/**", "app/", 1},
        {"**", "", 1},
        {"*", "", 1},
        {"app/**", "", 0},
        {"app*", "app", 1},
        /* case sensitive */
        {"App/*", "app/x", 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        int m = vault_acl_glob_match(t[i].glob, t[i].path);
        if (m != t[i].match)
            fprintf(stderr, "  glob %s vs %s: got %d want %d\n", t[i].glob, t[i].path, m,
                    t[i].match);
        CHECK_EQ_INT(m, t[i].match);
    }
}

static void test_glob_pathological(void)
{
    /* A backtracking matcher would take ~forever here; the DP one is linear-ish. */
    char path[VAULT_NAME_MAX + 1];
    memset(path, 'a', VAULT_NAME_MAX);
    path[VAULT_NAME_MAX] = '\0';
    CHECK_EQ_INT(vault_acl_glob_match("**a**a**a**a**a**a**a**a**a**b", path), 0);
    CHECK_EQ_INT(vault_acl_glob_match("*a*a*a*a*a*a*a*a*a*a*a*b", path), 0);
    CHECK_EQ_INT(vault_acl_glob_match("**a**a**a", path), 1);
    /* over-long paths never match, not even "**" */
    char *longp = malloc(VAULT_NAME_MAX + 2);
    memset(longp, 'a', VAULT_NAME_MAX + 1);
    longp[VAULT_NAME_MAX + 1] = '\0';
    CHECK_EQ_INT(vault_acl_glob_match("**", longp), 0);
    free(longp);
}

static vault_acl_policy *parse_ok(const char *name, const char *text)
{
    vault_acl_policy *p = NULL;
    char err[256];
    int r = vault_acl_parse(name, text, strlen(text), &p, err, sizeof(err));
    if (r != 0)
        fprintf(stderr, "  unexpected parse error: %s\n", err);
    CHECK_EQ_INT(r, 0);
    return p;
}

static void test_parse_ok(void)
{
    const char *doc = "# team policy\n"
                      "path \"app/**\" { capabilities = [\"read\", \"list\"] }\n"
                      "\n"
                      "path \"app/admin/*\" {\n"
                      "  capabilities = [\"deny\"]  # nobody\n"
                      "}\n"
                      "path \"ops/*\" { capabilities = [\"create\",\"update\",\"delete\","
                      "\"destroy\",\"admin\",] }\n";
    vault_acl_policy *p = parse_ok("team", doc);
    if (!p)
        return;
    CHECK_EQ_INT(p->n_rules, 3);
    CHECK(!strcmp(p->name, "team"));
    CHECK(!strcmp(p->rules[0].glob, "app/**"));
    CHECK_EQ_INT(p->rules[0].caps, VAULT_CAP_READ | VAULT_CAP_LIST);
    CHECK_EQ_INT(p->rules[0].line, 2);
    CHECK(!strcmp(p->rules[1].glob, "app/admin/*"));
    CHECK_EQ_INT(p->rules[1].caps, VAULT_CAP_DENY);
    CHECK_EQ_INT(p->rules[1].line, 4);
    CHECK_EQ_INT(p->rules[2].caps, VAULT_CAP_CREATE | VAULT_CAP_UPDATE | VAULT_CAP_DELETE |
                                       VAULT_CAP_DESTROY | VAULT_CAP_ADMIN);
    vault_acl_policy_free(p);

    /* empty and comment-only documents are valid (and grant nothing) */
    p = parse_ok("empty", "# nothing here\n");
    if (p)
        CHECK_EQ_INT(p->n_rules, 0);
    vault_acl_policy_free(p);
}

static void parse_err(const char *text, int want_r, const char *want_msg)
{
    vault_acl_policy *p = NULL;
    char err[256] = "";
    int r = vault_acl_parse("x", text, strlen(text), &p, err, sizeof(err));
    CHECK_EQ_INT(r, want_r);
    CHECK(p == NULL);
    if (!strstr(err, want_msg)) {
        fprintf(stderr, "  error %s does not contain %s\n", err, want_msg);
        CHECK(0);
    }
}

static void test_parse_errors(void)
{
    parse_err("path \"a/*\" { capabilities = [\"reed\"] }", TV_ERR_INVALID,
              "line 1:30: unknown capability \"reed\"");
    parse_err("\n\n  paths \"a\" {}", TV_ERR_INVALID,
              "line 3:3: expected 'path' to start a rule, got \"paths\"");
    parse_err("path a { }", TV_ERR_INVALID,
              "line 1:6: expected a quoted path glob after 'path', got \"a\"");
    parse_err("path \"a\" capabilities", TV_ERR_INVALID,
              "line 1:10: expected '{' after the path glob, got \"capabilities\"");
    parse_err("path \"a\" { caps = [\"read\"] }", TV_ERR_INVALID,
              "line 1:12: expected 'capabilities' inside the rule, got \"caps\"");
    parse_err("path \"a\" { capabilities [\"read\"] }", TV_ERR_INVALID,
              "line 1:25: expected '=' after 'capabilities', got \"[\"");
    parse_err("path \"a\" { capabilities = \"read\" }", TV_ERR_INVALID,
              "line 1:27: expected '[' to open the capability list, got string \"read\"");
    parse_err("path \"a\" { capabilities = [\"read\" \"list\"] }", TV_ERR_INVALID,
              "line 1:35: expected ',' or ']' in the capability list, got string \"list\"");
    parse_err("path \"a\" { capabilities = [] }", TV_ERR_INVALID, "line 1:28: empty capability");
    parse_err("path \"a\" { capabilities = [\"read\"] ", TV_ERR_INVALID,
              "expected '}' to close the rule, got end of input");
    parse_err("path \"a\" { capabilities = [\"read\"] }\npath \"a\" { capabilities = [\"list\"] }",
              TV_ERR_INVALID, "line 2:6: duplicate rule for path \"a\" (first on line 1)");
    parse_err("path \"abc", TV_ERR_INVALID, "line 1:6: unterminated string");
    parse_err("path \"ab\nc\" {}", TV_ERR_INVALID, "line 1:9: unterminated string");
    parse_err("path \"\" {}", TV_ERR_INVALID, "line 1:6: empty path glob");
    parse_err("path \"a/***\" {}", TV_ERR_INVALID, "three or more '*'");
    parse_err("path \"/a\" {}", TV_ERR_INVALID, "must not start with '/'");
    parse_err("path \"a//b\" {}", TV_ERR_INVALID, "empty segment");
    parse_err("path \"a\" { capabilities = [\"read\"] } ;", TV_ERR_INVALID,
              "line 1:38: unexpected character \";\"");
    parse_err("path \"a\\\"b\" {}", TV_ERR_INVALID, "not allowed in a string");
    /* control characters are quoted, never echoed raw */
    parse_err("path \"a\" { capabilities = [\"re\x1b[2Jad\"] }", TV_ERR_INVALID,
              "character \"\\x1b\" not allowed");
    /* NUL byte inside the document */
    {
        vault_acl_policy *p = NULL;
        char err[128];
        CHECK_EQ_INT(vault_acl_parse("x", "path\0", 5, &p, err, sizeof(err)), TV_ERR_INVALID);
    }
    /* too large */
    {
        size_t n = VAULT_ACL_DOC_MAX + 1;
        char *big = malloc(n);
        memset(big, ' ', n);
        vault_acl_policy *p = NULL;
        char err[128];
        CHECK_EQ_INT(vault_acl_parse("x", big, n, &p, err, sizeof(err)), TV_ERR_TOO_LARGE);
        free(big);
    }
}

static void test_evaluate(void)
{
    vault_acl_policy *team =
        parse_ok("team", "path \"app/**\" { capabilities = [\"read\", \"list\"] }\n"
                         "path \"app/admin/*\" { capabilities = [\"deny\"] }\n");
    vault_acl_policy *ops = parse_ok("ops", "path \"app/admin/*\" { capabilities = [\"read\"] }\n"
                                            "path \"app/*\" { capabilities = [\"update\"] }\n");
    if (!team || !ops)
        goto out;
    const vault_acl_policy *both[] = {ops, team};
    vault_acl_decision d;

    /* allowed via the matching rule */
    CHECK_EQ_INT(vault_acl_evaluate(both, 2, 0, 0, "app/db/password", VAULT_CAP_READ, &d), 0);
    CHECK(d.allowed);
    CHECK(!strcmp(d.policy, "team"));
    CHECK(!strcmp(d.rule, "app/**"));
    CHECK_EQ_INT(d.line, 1);
    CHECK(strstr(d.reason, "allowed by policy \"team\", rule path \"app/**\" (line 1)") != NULL);

    /* a capability from a second policy adds up */
    CHECK_EQ_INT(vault_acl_evaluate(both, 2, 0, 0, "app/db", VAULT_CAP_UPDATE, &d), 0);
    CHECK(!strcmp(d.policy, "ops"));

    /* explicit deny wins even though "ops" grants read on the same path */
    CHECK_EQ_INT(vault_acl_evaluate(both, 2, 0, 0, "app/admin/key", VAULT_CAP_READ, &d),
                 TV_ERR_DENIED);
    CHECK(!d.allowed);
    CHECK(!strcmp(d.policy, "team"));
    CHECK(!strcmp(d.rule, "app/admin/*"));
    CHECK_EQ_INT(d.line, 2);
    CHECK(strstr(d.reason, "explicit deny always wins") != NULL);

    /* the deny glob covers one segment only: deeper paths are not denied */
    CHECK_EQ_INT(vault_acl_evaluate(both, 2, 0, 0, "app/admin/x/y", VAULT_CAP_READ, &d), 0);

    /* default deny: no rule matches / matches but lacks the capability */
    CHECK_EQ_INT(vault_acl_evaluate(both, 2, 0, 0, "app2/db", VAULT_CAP_READ, &d), TV_ERR_DENIED);
    CHECK(d.policy[0] == '\0' && d.rule[0] == '\0');
    CHECK(strstr(d.reason, "no rule") && strstr(d.reason, "default deny"));
    CHECK_EQ_INT(vault_acl_evaluate(both, 2, 0, 0, "app/db/x", VAULT_CAP_DELETE, &d),
                 TV_ERR_DENIED);
    CHECK(strstr(d.reason, "none grants delete (default deny)") != NULL);
    CHECK_EQ_INT(vault_acl_evaluate(NULL, 0, 0, 0, "app/db", VAULT_CAP_READ, &d), TV_ERR_DENIED);
    CHECK(strstr(d.reason, "no policy is bound") != NULL);

    /* functions: read only, whatever the policy grants */
    CHECK_EQ_INT(vault_acl_evaluate(both, 2, 1, 0, "app/db/password", VAULT_CAP_READ, &d), 0);
    CHECK_EQ_INT(vault_acl_evaluate(both, 2, 1, 0, "app/db", VAULT_CAP_UPDATE, &d), TV_ERR_DENIED);
    CHECK(strstr(d.reason, "functions can only ever hold read") != NULL);
    CHECK_EQ_INT(vault_acl_evaluate(both, 2, 1, 0, "app/db", VAULT_CAP_LIST, &d), TV_ERR_DENIED);
    /* a "root" flag never helps a function */
    CHECK_EQ_INT(vault_acl_evaluate(NULL, 0, 1, 1, "x", VAULT_CAP_ADMIN, &d), TV_ERR_DENIED);

    /* root operator */
    CHECK_EQ_INT(vault_acl_evaluate(NULL, 0, 0, 1, "anything", VAULT_CAP_DESTROY, &d), 0);
    CHECK(strstr(d.reason, "root") != NULL);

    /* invalid capability requests are denied */
    CHECK_EQ_INT(vault_acl_evaluate(both, 2, 0, 1, "app/db", VAULT_CAP_DENY, &d), TV_ERR_DENIED);
    CHECK_EQ_INT(vault_acl_evaluate(both, 2, 0, 0, "app/db", VAULT_CAP_READ | VAULT_CAP_LIST, &d),
                 TV_ERR_DENIED);
    CHECK_EQ_INT(vault_acl_evaluate(both, 2, 0, 0, "app/db", 0, &d), TV_ERR_DENIED);
out:
    vault_acl_policy_free(team);
    vault_acl_policy_free(ops);
}

static void test_caps_names(void)
{
    CHECK_EQ_INT(vault_acl_cap_from_name("read", 4), VAULT_CAP_READ);
    CHECK_EQ_INT(vault_acl_cap_from_name("deny", 4), VAULT_CAP_DENY);
    CHECK_EQ_INT(vault_acl_cap_from_name("rea", 3), 0);
    CHECK_EQ_INT(vault_acl_cap_from_name("sudo", 4), 0);
    CHECK(!strcmp(vault_acl_cap_name(VAULT_CAP_ADMIN), "admin"));
    CHECK(!strcmp(vault_acl_cap_name(3), "?"));
    char buf[64];
    vault_acl_caps_format(VAULT_CAP_READ | VAULT_CAP_LIST | VAULT_CAP_DENY, buf, sizeof(buf));
    CHECK(!strcmp(buf, "read, list, deny"));
    CHECK(vault_acl_name_valid("team-a.v2_x"));
    CHECK(!vault_acl_name_valid(""));
    CHECK(!vault_acl_name_valid(".hidden"));
    CHECK(!vault_acl_name_valid("a/b"));
    CHECK(!vault_acl_name_valid("a b"));
    char longn[VAULT_ACL_NAME_MAX + 2];
    memset(longn, 'a', sizeof(longn) - 1);
    longn[sizeof(longn) - 1] = '\0';
    CHECK(!vault_acl_name_valid(longn));
    longn[VAULT_ACL_NAME_MAX] = '\0';
    CHECK(vault_acl_name_valid(longn));
}

/* Store + vault_acl_check + explain against a real LMDB environment. */
static void test_store_and_check(void)
{
    char dir[] = "/tmp/tv-test-acl-XXXXXX";
    vault_db *db = NULL;
    MDB_txn *txn = NULL;
    char err[256];
    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    CHECK_EQ_INT(vault_db_open(dir, 0, &db), 0);
    if (!db)
        goto out;
    CHECK_EQ_INT(tv_test_attach_record_keys(db), 0);
    struct vault v = {.db = db};

    CHECK_EQ_INT(vault_db_wtxn(db, &txn), 0);
    const char *doc = "path \"app/**\" { capabilities = [\"read\"] }\n"
                      "path \"app/secret\" { capabilities = [\"deny\"] }\n";
    CHECK_EQ_INT(
        vault_acl_store_put(db, txn, "team", doc, strlen(doc), 1700000000, err, sizeof(err)), 0);
    CHECK_EQ_INT(vault_acl_store_put(db, txn, "bad", "path {", 6, 1, err, sizeof(err)),
                 TV_ERR_INVALID);
    CHECK(strstr(err, "line 1:6") != NULL);
    CHECK_EQ_INT(vault_acl_store_put(db, txn, "root", "", 0, 1, err, sizeof(err)), TV_ERR_INVALID);
    CHECK_EQ_INT(vault_acl_store_put(db, txn, "a/b", "", 0, 1, err, sizeof(err)), TV_ERR_INVALID);
    CHECK_EQ_INT(vault_acl_store_put(db, txn, "empty", "", 0, 1, err, sizeof(err)), 0);
    CHECK_EQ_INT(vault_db_commit(txn), 0);
    txn = NULL;

    CHECK_EQ_INT(vault_db_rtxn(db, &txn), 0);
    char *text = NULL;
    size_t len = 0;
    int64_t at = 0;
    CHECK_EQ_INT(vault_acl_store_get(db, txn, "team", &text, &len, &at), 0);
    CHECK(text && len == strlen(doc) && !memcmp(text, doc, len));
    CHECK_EQ_INT(at, 1700000000);
    free(text);
    CHECK_EQ_INT(vault_acl_store_get(db, txn, "nope", &text, &len, NULL), TV_ERR_NOT_FOUND);
    CHECK_EQ_INT(vault_acl_store_get(db, txn, "bad", &text, &len, NULL), TV_ERR_NOT_FOUND);
    char **names = NULL;
    size_t n = 0;
    CHECK_EQ_INT(vault_acl_store_list(db, txn, &names, &n), 0);
    CHECK_EQ_INT(n, 2);
    if (n == 2) {
        CHECK(!strcmp(names[0], "empty"));
        CHECK(!strcmp(names[1], "team"));
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    mdb_txn_abort(txn);
    txn = NULL;

    char *pols[] = {"nonexistent", "team"};
    vault_principal p = {.kind = VAULT_PRINCIPAL_OPERATOR, .policies = pols, .n_policies = 2};
    char why[256];
    CHECK_EQ_INT(vault_acl_check(&v, &p, "app/db", VAULT_CAP_READ, why, sizeof(why)), 0);
    CHECK_EQ_INT(vault_acl_check(&v, &p, "app/db", VAULT_CAP_UPDATE, why, sizeof(why)),
                 TV_ERR_DENIED);
    CHECK_EQ_INT(vault_acl_check(&v, &p, "app/secret", VAULT_CAP_READ, why, sizeof(why)),
                 TV_ERR_DENIED);
    CHECK(strstr(why, "explicit deny") != NULL);
    vault_acl_decision d;
    CHECK_EQ_INT(vault_acl_explain(&v, &p, "app2/x", VAULT_CAP_READ, &d), TV_ERR_DENIED);
    CHECK(strstr(d.reason, "bound policy \"nonexistent\" does not exist") != NULL);

    /* function principal bound to the same policy: read yes, list no */
    vault_principal f = {.kind = VAULT_PRINCIPAL_FUNCTION, .policies = pols, .n_policies = 2};
    CHECK_EQ_INT(vault_acl_check(&v, &f, "app/db", VAULT_CAP_READ, why, sizeof(why)), 0);
    CHECK_EQ_INT(vault_acl_check(&v, &f, "app/db", VAULT_CAP_LIST, why, sizeof(why)),
                 TV_ERR_DENIED);
    /* no principal */
    vault_principal none = {.kind = VAULT_PRINCIPAL_NONE};
    CHECK_EQ_INT(vault_acl_check(&v, &none, "app/db", VAULT_CAP_READ, why, sizeof(why)),
                 TV_ERR_DENIED);
    /* root */
    vault_principal root = {.kind = VAULT_PRINCIPAL_OPERATOR, .root = 1};
    CHECK_EQ_INT(vault_acl_check(&v, &root, "app/secret", VAULT_CAP_DESTROY, why, sizeof(why)), 0);

    /* overwrite: the cached parse of the old text is never used */
    CHECK_EQ_INT(vault_db_wtxn(db, &txn), 0);
    const char *doc2 = "path \"app/**\" { capabilities = [\"deny\"] }\n";
    CHECK_EQ_INT(
        vault_acl_store_put(db, txn, "team", doc2, strlen(doc2), 1700000001, err, sizeof(err)), 0);
    CHECK_EQ_INT(vault_db_commit(txn), 0);
    txn = NULL;
    CHECK_EQ_INT(vault_acl_check(&v, &p, "app/db", VAULT_CAP_READ, why, sizeof(why)),
                 TV_ERR_DENIED);
    CHECK(strstr(why, "explicit deny") != NULL);
    CHECK_EQ_INT(vault_db_wtxn(db, &txn), 0);
    CHECK_EQ_INT(
        vault_acl_store_put(db, txn, "team", doc, strlen(doc), 1700000002, err, sizeof(err)), 0);
    CHECK_EQ_INT(vault_db_commit(txn), 0);
    txn = NULL;
    CHECK_EQ_INT(vault_acl_check(&v, &p, "app/db", VAULT_CAP_READ, why, sizeof(why)), 0);

    /* many distinct policies (more than the cache holds) still decide correctly */
    CHECK_EQ_INT(vault_db_wtxn(db, &txn), 0);
    for (int i = 0; i < 300; i++) {
        char name[32], d2[96];
        snprintf(name, sizeof(name), "p%03d", i);
        snprintf(d2, sizeof(d2), "path \"t%03d/*\" { capabilities = [\"read\"] }", i);
        CHECK_EQ_INT(vault_acl_store_put(db, txn, name, d2, strlen(d2), 1, err, sizeof(err)), 0);
    }
    CHECK_EQ_INT(vault_db_commit(txn), 0);
    txn = NULL;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 300; i += 7) {
            char name[32], path[32], path2[32];
            snprintf(name, sizeof(name), "p%03d", i);
            snprintf(path, sizeof(path), "t%03d/x", i);
            snprintf(path2, sizeof(path2), "t%03d/x", (i + 1) % 300);
            char *one[] = {name};
            vault_principal q = {
                .kind = VAULT_PRINCIPAL_OPERATOR, .policies = one, .n_policies = 1};
            CHECK_EQ_INT(vault_acl_check(&v, &q, path, VAULT_CAP_READ, NULL, 0), 0);
            CHECK_EQ_INT(vault_acl_check(&v, &q, path2, VAULT_CAP_READ, NULL, 0), TV_ERR_DENIED);
        }
    }

    /* delete: policy gone, access gone */
    CHECK_EQ_INT(vault_db_wtxn(db, &txn), 0);
    CHECK_EQ_INT(vault_acl_store_delete(db, txn, "team"), 0);
    CHECK_EQ_INT(vault_acl_store_delete(db, txn, "team"), TV_ERR_NOT_FOUND);
    CHECK_EQ_INT(vault_db_commit(txn), 0);
    txn = NULL;
    CHECK_EQ_INT(vault_acl_check(&v, &p, "app/db", VAULT_CAP_READ, why, sizeof(why)),
                 TV_ERR_DENIED);
out:
    if (txn)
        mdb_txn_abort(txn);
    vault_db_close(db);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
}

/* The grant rule, the retired token namespace (refused on write and at
 * load, with how to rewrite it) and List filtering, on a real LMDB. */
static void test_grant_and_token_namespace(void)
{
    char dir[] = "/tmp/tv-test-acl-XXXXXX";
    vault_db *db = NULL;
    MDB_txn *txn = NULL;
    char err[512], why[512];
    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    CHECK_EQ_INT(vault_db_open(dir, 0, &db), 0);
    if (!db)
        goto out;
    CHECK_EQ_INT(tv_test_attach_record_keys(db), 0);
    struct vault v = {.db = db};

    /* parse: old globs refused with the new names in the message */
    const char *old = "path \"sys/auth/token/*\" { capabilities = [\"admin\"] }\n";
    vault_acl_policy *pol = NULL;
    CHECK_EQ_INT(vault_acl_parse("hd", old, strlen(old), &pol, err, sizeof(err)), TV_ERR_INVALID);
    CHECK(strstr(err, "retired token namespace") && strstr(err, "sys/auth/tokens/<id>") &&
          strstr(err, "sys/auth/token-create"));
    const char *old2 = "path \"sys/auth/token\" { capabilities = [\"admin\"] }\n";
    CHECK_EQ_INT(vault_acl_parse("hd", old2, strlen(old2), &pol, err, sizeof(err)), TV_ERR_INVALID);
    const char *ok = "path \"sys/auth/tokens/*\" { capabilities = [\"admin\"] }\n"
                     "path \"sys/auth/token-create\" { capabilities = [\"admin\"] }\n"
                     "path \"sys/policy/team\" { capabilities = [\"grant\"] }\n";
    CHECK_EQ_INT(vault_acl_parse("hd", ok, strlen(ok), &pol, err, sizeof(err)), 0);
    vault_acl_policy_free(pol);

    CHECK_EQ_INT(vault_db_wtxn(db, &txn), 0);
    CHECK_EQ_INT(vault_acl_store_put(db, txn, "hd", old, strlen(old), 1, err, sizeof(err)),
                 TV_ERR_INVALID);
    const char *lead = "path \"sys/policy/team\" { capabilities = [\"grant\"] }\n"
                       "path \"sys/policy/ops\" { capabilities = [\"admin\"] }\n"
                       "path \"**\" { capabilities = [\"list\"] }\n"
                       "path \"hr/**\" { capabilities = [\"deny\"] }\n";
    CHECK_EQ_INT(vault_acl_store_put(db, txn, "lead", lead, strlen(lead), 1, err, sizeof(err)), 0);
    /* a policy stored before the change (written around the parser) */
    {
        uint8_t rec[128];
        rec[0] = 1;
        memset(rec + 1, 0, 8);
        memcpy(rec + 9, old, strlen(old));
        CHECK_EQ_INT(
            vault_record_put(db, txn, VAULT_TBL_POLICIES, "hd", 2, rec, 9 + strlen(old), 0), 0);
    }
    CHECK_EQ_INT(vault_db_commit(txn), 0);
    txn = NULL;

    char *hdp[] = {"hd"};
    vault_principal hd = {.kind = VAULT_PRINCIPAL_OPERATOR, .policies = hdp, .n_policies = 1};
    CHECK_EQ_INT(vault_acl_check(&v, &hd, "sys/auth/tokens/0123456789abcdef", VAULT_CAP_ADMIN, why,
                                 sizeof(why)),
                 TV_ERR_DENIED);
    CHECK(strstr(why, "bound policy \"hd\" cannot be used until it is rewritten") != NULL);
    CHECK(strstr(why, "sys/auth/token-create") != NULL);

    /* grant rule */
    char *leadp[] = {"lead"};
    vault_principal lp = {.kind = VAULT_PRINCIPAL_OPERATOR, .policies = leadp, .n_policies = 1};
    char *want_team[] = {"team"}, *want_ops[] = {"lead", "ops"}, *want_lead[] = {"lead"};
    CHECK_EQ_INT(vault_acl_may_grant(&v, &lp, want_team, 1, why, sizeof(why)), 0);
    CHECK_EQ_INT(vault_acl_may_grant(&v, &lp, want_lead, 1, why, sizeof(why)), 0);
    CHECK_EQ_INT(vault_acl_may_grant(&v, &lp, want_ops, 2, why, sizeof(why)), TV_ERR_DENIED);
    CHECK(strstr(why, "cannot attach policy \"ops\"") != NULL); /* admin is not grant */
    vault_principal root = {.kind = VAULT_PRINCIPAL_OPERATOR, .root = 1};
    CHECK_EQ_INT(vault_acl_may_grant(&v, &root, want_ops, 2, why, sizeof(why)), 0);
    vault_principal fn = {.kind = VAULT_PRINCIPAL_FUNCTION, .policies = leadp, .n_policies = 1};
    CHECK_EQ_INT(vault_acl_may_grant(&v, &fn, want_lead, 1, why, sizeof(why)), TV_ERR_DENIED);
    CHECK(vault_acl_holds(&lp, "lead") && !vault_acl_holds(&lp, "team"));

    /* filter: denied subtree and names without list/read disappear */
    char *names[4];
    uint64_t vals[4] = {1, 2, 3, 4};
    names[0] = strdup("app/x");
    names[1] = strdup("hr/pay");
    names[2] = strdup("hr");
    names[3] = strdup("z");
    size_t nn = 4;
    CHECK_EQ_INT(vault_acl_filter(&v, &lp, names, vals, &nn, VAULT_CAP_LIST | VAULT_CAP_READ), 0);
    CHECK_EQ_INT(nn, 3);
    if (nn == 3) {
        CHECK(!strcmp(names[0], "app/x") && vals[0] == 1);
        CHECK(!strcmp(names[1], "hr") && vals[1] == 3); /* the deny glob needs a segment after hr */
        CHECK(!strcmp(names[2], "z") && vals[2] == 4);
    }
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    /* a principal bound to an unusable policy sees nothing (fail closed) */
    names[0] = strdup("app/x");
    nn = 1;
    CHECK_EQ_INT(vault_acl_filter(&v, &hd, names, NULL, &nn, VAULT_CAP_LIST), 0);
    CHECK_EQ_INT(nn, 0);
out:
    if (txn)
        mdb_txn_abort(txn);
    vault_db_close(db);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
}

/* The example in docs/POLICIES.md parses and decides as the doc says. */
static void test_docs_example(void)
{
    const char *src = getenv("TV_SOURCE_DIR");
    char path[512];
    snprintf(path, sizeof(path), "%s/docs/POLICIES.md", src ? src : ".");
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f)
        return;
    static char md[65536];
    size_t n = fread(md, 1, sizeof(md) - 1, f);
    fclose(f);
    md[n] = '\0';
    char *start = strstr(md, "```hcl\n");
    CHECK(start != NULL);
    if (!start)
        return;
    start += 7;
    char *end = strstr(start, "```");
    CHECK(end != NULL);
    if (!end)
        return;
    static char block[8192];
    size_t bl = (size_t)(end - start) < sizeof(block) - 1 ? (size_t)(end - start) : 0;
    memcpy(block, start, bl);
    block[bl] = '\0';
    vault_acl_policy *pol = parse_ok("payments", block);
    if (!pol)
        return;
    const vault_acl_policy *pols[] = {pol};
    vault_acl_decision d;
    CHECK_EQ_INT(vault_acl_evaluate(pols, 1, 0, 0, "payments/signing-key", VAULT_CAP_READ, &d),
                 TV_ERR_DENIED);
    CHECK(strstr(md, d.reason) != NULL);
    CHECK_EQ_INT(vault_acl_evaluate(pols, 1, 0, 0, "payments/prod/db", VAULT_CAP_UPDATE, &d),
                 TV_ERR_DENIED);
    CHECK(strstr(md, d.reason) != NULL);
    CHECK_EQ_INT(vault_acl_evaluate(pols, 1, 0, 0, "payments/staging/db", VAULT_CAP_CREATE, &d), 0);
    CHECK(strstr(md, d.reason) != NULL);
    CHECK_EQ_INT(vault_acl_evaluate(pols, 1, 0, 0, "other/x", VAULT_CAP_READ, &d), TV_ERR_DENIED);
    CHECK(strstr(md, d.reason) != NULL);
    vault_acl_policy_free(pol);
}

int main(void)
{
    RUN(test_glob_table);
    RUN(test_glob_pathological);
    RUN(test_parse_ok);
    RUN(test_parse_errors);
    RUN(test_evaluate);
    RUN(test_caps_names);
    RUN(test_store_and_check);
    RUN(test_grant_and_token_namespace);
    RUN(test_docs_example);
    return tv_test_finish();
}
