/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_acl: named policies of {path glob, capabilities} with explicit deny;
 * default deny (DESIGN.md §5, docs/POLICIES.md).
 *
 * A policy document is HCL-like text:
 *
 *     # comment
 *     path "app/db/password"  { capabilities = ["read", "list"] }
 *     path "app/admin"        { capabilities = ["deny"] }
 *
 * with globs in the paths (see vault_acl_glob_match; examples with wildcards
 * are in docs/POLICIES.md, since they cannot appear inside a C comment).
 *
 * Decision for (principal, path, capability):
 *   1. root operator token: allowed;
 *   2. no principal, or a function asking for anything but read: denied;
 *   3. every rule of every policy bound to the principal whose glob matches
 *      the path is collected; if any of them says "deny": denied;
 *   4. if any of them grants the capability: allowed;
 *   5. otherwise denied (default deny).
 * Functions only ever hold read: a function's policies are evaluated for
 * read only, whatever else they grant.
 *
 * Policies live in the "policies" database: key = policy name, value =
 * u8 format (1) | u64 BE updated_at | document text.
 */
#ifndef VAULT_ACL_H
#define VAULT_ACL_H

#include <lmdb.h>
#include <stdint.h>

#include "vault.h"

struct vault_db;

enum vault_cap {
    VAULT_CAP_READ = 1 << 0,
    VAULT_CAP_LIST = 1 << 1,
    VAULT_CAP_CREATE = 1 << 2,
    VAULT_CAP_UPDATE = 1 << 3,
    VAULT_CAP_DELETE = 1 << 4,
    VAULT_CAP_DESTROY = 1 << 5,
    VAULT_CAP_ADMIN = 1 << 6,
    VAULT_CAP_DENY = 1 << 7, /* a rule with deny refuses everything it matches */
    /* Attach policy <name> to tokens, users and functions without holding it:
     * `grant` on "sys/policy/<name>". Never implied by admin or by a rule
     * that does not name it (docs/POLICIES.md, "The grant rule"). */
    VAULT_CAP_GRANT = 1 << 8,
};

/* Paths of the token admin namespace. The old "sys/auth/token/..." names
 * (where a helpdesk glob for lookup also matched creation) are refused in
 * policy documents with a message saying how to rewrite them. */
#define VAULT_ACL_TOKENS_PREFIX "sys/auth/tokens/" /* + token id: lookup, revoke */
#define VAULT_ACL_TOKEN_CREATE  "sys/auth/token-create"
#define VAULT_ACL_OLD_TOKEN_NS  "sys/auth/token/"

/* Limits enforced by the parser and the store. */
#define VAULT_ACL_DOC_MAX    (64u * 1024) /* policy document bytes */
#define VAULT_ACL_RULES_MAX  1024         /* rules per policy */
#define VAULT_ACL_GLOB_MAX   VAULT_NAME_MAX
#define VAULT_ACL_NAME_MAX   64 /* policy name: [A-Za-z0-9._-], not starting with '.' */
#define VAULT_ACL_POLICY_MAX 64 /* policies bound to one principal */

/* Decide whether principal p holds capability `cap` on `path`. Returns 0 when
 * allowed, TV_ERR_DENIED when not (c->errmsg-ready reason in why, if non-NULL),
 * or another tv_err on storage failure. Root tokens hold every capability.
 * Function principals can only ever hold VAULT_CAP_READ. `cap` must be a
 * single capability bit (not VAULT_CAP_DENY); anything else is denied.
 * The reason never contains the path; it names the deciding policy/rule. */
int vault_acl_check(struct vault *v, const vault_principal *p, const char *path, unsigned cap,
                    char *why, size_t whylen) TV_WUR;

/* The grant rule: may principal p attach the n policies `pols` to a token,
 * user or function? Root: yes. Otherwise each policy must be one p holds
 * (bound to p) or one p holds `grant` on ("sys/policy/<name>"). Returns 0,
 * TV_ERR_DENIED with a sentence naming the first refused policy in why, or
 * a storage error. */
int vault_acl_may_grant(struct vault *v, const vault_principal *p, char *const *pols, size_t n,
                        char *why, size_t whylen) TV_WUR;

/* 1 when policy `name` is bound to p (p->policies), else 0. */
int vault_acl_holds(const vault_principal *p, const char *name);

/* Keep, of the *n heap strings in names[], those on which p holds at least
 * one capability of `caps` (deny rules win); free the others and compact
 * the array (and vals[], when non-NULL, along with it), *n updated.
 * Policies are loaded once. Returns 0 or a storage error (then nothing is
 * removed). */
int vault_acl_filter(struct vault *v, const vault_principal *p, char **names, uint64_t *vals,
                     size_t *n, unsigned caps) TV_WUR;

/* ---------------------------------------------------------------- parsed policies */

typedef struct vault_acl_rule {
    char *glob;    /* heap, NUL-terminated */
    unsigned caps; /* VAULT_CAP_* bits */
    unsigned line; /* 1-based line of the `path` keyword, for explain */
} vault_acl_rule;

typedef struct vault_acl_policy {
    char *name; /* heap copy of the policy name ("" when parsed unnamed) */
    vault_acl_rule *rules;
    size_t n_rules;
} vault_acl_policy;

/* Parse policy text (len bytes, need not be NUL-terminated) into *out.
 * Returns 0 and *out (free with vault_acl_policy_free), TV_ERR_INVALID with a
 * message "line L:C: ..." in err (if non-NULL) quoting the offending token,
 * TV_ERR_TOO_LARGE (document or rule count over the limits), TV_ERR_NOMEM.
 * name may be NULL. */
int vault_acl_parse(const char *name, const char *text, size_t len, vault_acl_policy **out,
                    char *err, size_t errlen) TV_WUR;

/* Free a parsed policy. NULL is a no-op. */
void vault_acl_policy_free(vault_acl_policy *pol);

/* 1 when glob matches path, else 0. `*` matches any run of characters except
 * '/', `**` any run including '/'; a whole segment of two stars followed by
 * '/' matches zero or more whole segments, so "a/<two stars>/b" matches "a/b"
 * and "a/x/y/b" but not "a/xb". Everything else is
 * literal. Runs in O(len(glob) * len(path)); never backtracks exponentially.
 * Paths longer than VAULT_NAME_MAX never match. */
int vault_acl_glob_match(const char *glob, const char *path);

/* Capability name <-> bit. vault_acl_cap_from_name returns 0 for an unknown
 * name; vault_acl_cap_name returns "?" for anything but a single known bit.
 * vault_acl_caps_format writes "read, list" into buf. */
unsigned vault_acl_cap_from_name(const char *name, size_t len);
const char *vault_acl_cap_name(unsigned cap);
void vault_acl_caps_format(unsigned caps, char *buf, size_t buflen);

/* 1 when `name` is a valid policy name: 1..VAULT_ACL_NAME_MAX of [A-Za-z0-9._-],
 * not starting with '.' or '-'. "root" is valid as a name but reserved:
 * vault_acl_store_put refuses it. */
int vault_acl_name_valid(const char *name);

/* ---------------------------------------------------------------- evaluation */

typedef struct vault_acl_decision {
    int allowed;
    char policy[VAULT_ACL_NAME_MAX + 1]; /* deciding policy; "" for default deny/root */
    char rule[VAULT_ACL_GLOB_MAX + 1];   /* deciding rule's glob; "" when none */
    unsigned line;                       /* deciding rule's line; 0 when none */
    char reason[384];                    /* one sentence for humans */
} vault_acl_decision;

/* Pure evaluation over already parsed policies (no storage). is_function
 * restricts to read; is_root allows everything (ignored for functions).
 * `missing` (may be NULL) names policies the principal is bound to that do
 * not exist, for the reason text. Always fills *d; returns 0 when allowed,
 * TV_ERR_DENIED when not. */
int vault_acl_evaluate(const vault_acl_policy *const *pols, size_t n_pols, int is_function,
                       int is_root, const char *path, unsigned cap, vault_acl_decision *d) TV_WUR;

/* Like vault_acl_check but fills *d with the deciding policy, rule and a
 * reason (for Policies.Explain and `teevault acl explain`). Policies named by
 * the principal but absent from the store are skipped (and said so in the
 * reason). Returns 0 (allowed), TV_ERR_DENIED, or a storage error (then *d
 * is undefined). */
int vault_acl_explain(struct vault *v, const vault_principal *p, const char *path, unsigned cap,
                      vault_acl_decision *d) TV_WUR;

/* Hook for Policies.Explain on a function principal, provided by the
 * Functions module (weak: absent means explaining functions is
 * unimplemented). Fills *out (kind FUNCTION, id = name, policies = the
 * function's ACL policies; caller clears with vault_principal_clear).
 * Errors: TV_ERR_NOT_FOUND, TV_ERR_NOMEM, storage errors. */
int vault_function_principal(struct vault *v, const char *name, vault_principal *out)
    __attribute__((weak));

/* ---------------------------------------------------------------- storage */

/* Store (create or replace) policy `name` with document text inside the
 * caller's write transaction. The text is parsed first; nothing is written if
 * it does not parse. Errors: TV_ERR_INVALID (bad name, reserved "root", parse
 * error; message in err), TV_ERR_TOO_LARGE, TV_ERR_NOMEM, storage errors. */
int vault_acl_store_put(struct vault_db *db, MDB_txn *txn, const char *name, const char *text,
                        size_t len, int64_t now, char *err, size_t errlen) TV_WUR;

/* Read policy `name` (txn may be read-only). On success *text is a heap copy
 * (NUL-terminated, caller frees) and *len its length; updated_at may be NULL.
 * Errors: TV_ERR_NOT_FOUND, TV_ERR_INVALID (bad name), TV_ERR_FORMAT (unknown
 * record format), TV_ERR_NOMEM, storage errors. */
int vault_acl_store_get(struct vault_db *db, MDB_txn *txn, const char *name, char **text,
                        size_t *len, int64_t *updated_at) TV_WUR;

/* Delete policy `name`. Errors: TV_ERR_NOT_FOUND, TV_ERR_INVALID, storage errors. */
int vault_acl_store_delete(struct vault_db *db, MDB_txn *txn, const char *name) TV_WUR;

/* List policy names in byte order. On success *names is a heap array of heap
 * strings (free each and the array) and *n its length. */
int vault_acl_store_list(struct vault_db *db, MDB_txn *txn, char ***names, size_t *n) TV_WUR;

#endif
