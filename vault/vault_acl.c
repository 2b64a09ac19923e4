/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_acl: policy parser, glob matcher, evaluation and the policy store.
 * See vault_acl.h for the decision rules and docs/POLICIES.md for the format.
 */
#include "vault_acl.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault_db.h"
#include "vault_record.h"

#define POLICY_FORMAT 1 /* first byte of a stored policy record */

/* ---------------------------------------------------------------- capabilities */

static const struct {
    const char *name;
    unsigned bit;
} cap_names[] = {
    {"read", VAULT_CAP_READ},     {"list", VAULT_CAP_LIST},     {"create", VAULT_CAP_CREATE},
    {"update", VAULT_CAP_UPDATE}, {"delete", VAULT_CAP_DELETE}, {"destroy", VAULT_CAP_DESTROY},
    {"admin", VAULT_CAP_ADMIN},   {"deny", VAULT_CAP_DENY},     {"grant", VAULT_CAP_GRANT},
};
#define N_CAPS (sizeof(cap_names) / sizeof(cap_names[0]))

unsigned vault_acl_cap_from_name(const char *name, size_t len)
{
    for (size_t i = 0; i < N_CAPS; i++)
        if (strlen(cap_names[i].name) == len && memcmp(cap_names[i].name, name, len) == 0)
            return cap_names[i].bit;
    return 0;
}

const char *vault_acl_cap_name(unsigned cap)
{
    for (size_t i = 0; i < N_CAPS; i++)
        if (cap_names[i].bit == cap)
            return cap_names[i].name;
    return "?";
}

void vault_acl_caps_format(unsigned caps, char *buf, size_t buflen)
{
    size_t o = 0;
    if (!buflen)
        return;
    buf[0] = '\0';
    for (size_t i = 0; i < N_CAPS; i++) {
        if (!(caps & cap_names[i].bit))
            continue;
        int w = snprintf(buf + o, buflen - o, "%s%s", o ? ", " : "", cap_names[i].name);
        if (w < 0 || (size_t)w >= buflen - o)
            return;
        o += (size_t)w;
    }
}

int vault_acl_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > VAULT_ACL_NAME_MAX || name[0] == '.' || name[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- glob matching */

/*
 * Dynamic programming over the glob's tokens: cur[j] says whether the tokens
 * seen so far match path[0, j). One pass per token, O(len(glob) * len(path)),
 * so a hostile path cannot make a glob backtrack exponentially.
 */
int vault_acl_glob_match(const char *glob, const char *path)
{
    size_t pl = strlen(path);
    if (pl > VAULT_NAME_MAX)
        return 0;
    bool a[VAULT_NAME_MAX + 1], b[VAULT_NAME_MAX + 1];
    bool *cur = a, *nxt = b;
    memset(cur, 0, (pl + 1) * sizeof(bool));
    cur[0] = true;

    const char *g = glob;
    while (*g) {
        memset(nxt, 0, (pl + 1) * sizeof(bool));
        if (g[0] == '*' && g[1] == '*') {
            bool seg_start = (g == glob || g[-1] == '/');
            if (seg_start && g[2] == '/') {
                /* "**" + "/" as whole segments: empty, or anything ending in '/'. */
                bool any = false;
                for (size_t j = 0; j <= pl; j++) {
                    nxt[j] = cur[j] || (any && path[j - 1] == '/');
                    any = any || cur[j];
                }
                g += 3;
            } else {
                bool any = false;
                for (size_t j = 0; j <= pl; j++) {
                    any = any || cur[j];
                    nxt[j] = any;
                }
                g += 2;
            }
        } else if (g[0] == '*') {
            for (size_t j = 0; j <= pl; j++)
                nxt[j] = cur[j] || (j > 0 && nxt[j - 1] && path[j - 1] != '/');
            g += 1;
        } else {
            size_t n = strcspn(g, "*");
            bool any = false;
            for (size_t j = 0; j + n <= pl; j++) {
                if (cur[j] && memcmp(path + j, g, n) == 0) {
                    nxt[j + n] = true;
                    any = true;
                }
            }
            if (!any)
                return 0;
            g += n;
        }
        bool *t = cur;
        cur = nxt;
        nxt = t;
    }
    return cur[pl] ? 1 : 0;
}

/* ---------------------------------------------------------------- parser */

enum tok_kind {
    T_EOF,
    T_IDENT,
    T_STRING,
    T_LBRACE,
    T_RBRACE,
    T_LBRACK,
    T_RBRACK,
    T_EQ,
    T_COMMA,
};

typedef struct tok {
    enum tok_kind kind;
    const char *p; /* raw token text (strings: without the quotes) */
    size_t n;
    unsigned line, col;
} tok;

typedef struct lexer {
    const char *s;
    size_t len, off;
    unsigned line, col;
    char *err;
    size_t errlen;
} lexer;

static void lex_errf(lexer *lx, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void lex_errf(lexer *lx, unsigned line, unsigned col, const char *fmt, ...)
{
    if (!lx->err || !lx->errlen)
        return;
    int w = snprintf(lx->err, lx->errlen, "line %u:%u: ", line, col);
    if (w < 0 || (size_t)w >= lx->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lx->err + w, lx->errlen - (size_t)w, fmt, ap);
    va_end(ap);
}

static void lex_advance(lexer *lx)
{
    if (lx->s[lx->off] == '\n') {
        lx->line++;
        lx->col = 1;
    } else {
        lx->col++;
    }
    lx->off++;
}

static int is_ident_start(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

/* Next token into *t. TV_ERR_INVALID (message set) on a bad character or an
 * unterminated string. */
static int lex_next(lexer *lx, tok *t)
{
    for (;;) {
        if (lx->off >= lx->len) {
            t->kind = T_EOF;
            t->p = "";
            t->n = 0;
            t->line = lx->line;
            t->col = lx->col;
            return 0;
        }
        char ch = lx->s[lx->off];
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
            lex_advance(lx);
        } else if (ch == '#') {
            while (lx->off < lx->len && lx->s[lx->off] != '\n')
                lex_advance(lx);
        } else {
            break;
        }
    }
    char ch = lx->s[lx->off];
    t->line = lx->line;
    t->col = lx->col;
    t->p = lx->s + lx->off;
    t->n = 1;
    switch (ch) {
    case '{':
        t->kind = T_LBRACE;
        break;
    case '}':
        t->kind = T_RBRACE;
        break;
    case '[':
        t->kind = T_LBRACK;
        break;
    case ']':
        t->kind = T_RBRACK;
        break;
    case '=':
        t->kind = T_EQ;
        break;
    case ',':
        t->kind = T_COMMA;
        break;
    case '"': {
        lex_advance(lx);
        size_t start = lx->off;
        while (lx->off < lx->len && lx->s[lx->off] != '"') {
            unsigned char c = (unsigned char)lx->s[lx->off];
            if (c == '\n' || c == '\\' || c < 0x20 || c == 0x7f) {
                char q[16];
                vault_quote(q, sizeof(q), lx->s + lx->off, 1);
                lex_errf(lx, lx->line, lx->col,
                         c == '\n' ? "unterminated string (strings end on the same line)"
                                   : "character %s not allowed in a string",
                         q);
                return TV_ERR_INVALID;
            }
            lex_advance(lx);
        }
        if (lx->off >= lx->len) {
            lex_errf(lx, t->line, t->col, "unterminated string");
            return TV_ERR_INVALID;
        }
        t->kind = T_STRING;
        t->p = lx->s + start;
        t->n = lx->off - start;
        lex_advance(lx); /* closing quote */
        return 0;
    }
    default:
        if (is_ident_start(ch)) {
            size_t start = lx->off;
            while (lx->off < lx->len &&
                   (is_ident_start(lx->s[lx->off]) ||
                    (lx->s[lx->off] >= '0' && lx->s[lx->off] <= '9') || lx->s[lx->off] == '-'))
                lex_advance(lx);
            t->kind = T_IDENT;
            t->p = lx->s + start;
            t->n = lx->off - start;
            return 0;
        } else {
            char q[16];
            vault_quote(q, sizeof(q), lx->s + lx->off, 1);
            lex_errf(lx, lx->line, lx->col, "unexpected character %s", q);
            return TV_ERR_INVALID;
        }
    }
    lex_advance(lx);
    return 0;
}

/* Human description of a token for "expected X, got Y" messages. */
static void tok_describe(const tok *t, char *buf, size_t buflen)
{
    if (t->kind == T_EOF) {
        snprintf(buf, buflen, "end of input");
        return;
    }
    char q[80];
    vault_quote(q, sizeof(q), t->p, t->n);
    if (t->kind == T_STRING)
        snprintf(buf, buflen, "string %s", q);
    else
        snprintf(buf, buflen, "%s", q);
}

static int expect(lexer *lx, tok *t, enum tok_kind kind, const char *what, const char *ctx)
{
    int r;
    if ((r = lex_next(lx, t)) < 0)
        return r;
    if (t->kind != kind) {
        char got[96];
        tok_describe(t, got, sizeof(got));
        lex_errf(lx, t->line, t->col, "expected %s %s, got %s", what, ctx, got);
        return TV_ERR_INVALID;
    }
    return 0;
}

static int tok_is(const tok *t, const char *ident)
{
    return t->kind == T_IDENT && strlen(ident) == t->n && memcmp(t->p, ident, t->n) == 0;
}

/* Check a glob's text; message on failure. */
static int glob_check(lexer *lx, const tok *t)
{
    char q[80];
    vault_quote(q, sizeof(q), t->p, t->n);
    if (t->n == 0) {
        lex_errf(lx, t->line, t->col, "empty path glob");
        return TV_ERR_INVALID;
    }
    if (t->n > VAULT_ACL_GLOB_MAX) {
        lex_errf(lx, t->line, t->col, "path glob %s longer than %u bytes", q,
                 (unsigned)VAULT_ACL_GLOB_MAX);
        return TV_ERR_INVALID;
    }
    if (t->p[0] == '/') {
        lex_errf(lx, t->line, t->col, "path glob %s must not start with '/'", q);
        return TV_ERR_INVALID;
    }
    /* The old token namespace, where one glob for lookup also matched
     * creation. Refused rather than reinterpreted: the writer says which of
     * the two it meant. */
    size_t on = strlen(VAULT_ACL_OLD_TOKEN_NS);
    if ((t->n >= on && memcmp(t->p, VAULT_ACL_OLD_TOKEN_NS, on) == 0) ||
        (t->n == on - 1 && memcmp(t->p, VAULT_ACL_OLD_TOKEN_NS, on - 1) == 0)) {
        lex_errf(lx, t->line, t->col,
                 "path glob %s is in the retired token namespace: write \"" VAULT_ACL_TOKENS_PREFIX
                 "<id>\" (or \"" VAULT_ACL_TOKENS_PREFIX
                 "*\") for token lookup and revoke, \"" VAULT_ACL_TOKEN_CREATE
                 "\" for token creation",
                 q);
        return TV_ERR_INVALID;
    }
    for (size_t i = 0; i < t->n; i++) {
        unsigned char c = (unsigned char)t->p[i];
        if (c >= 0x80) {
            lex_errf(lx, t->line, t->col + 1 + (unsigned)i, "non-ASCII byte in path glob %s", q);
            return TV_ERR_INVALID;
        }
        if (i + 2 < t->n && t->p[i] == '*' && t->p[i + 1] == '*' && t->p[i + 2] == '*') {
            lex_errf(lx, t->line, t->col + 1 + (unsigned)i,
                     "three or more '*' in a row in path glob %s (use * or **)", q);
            return TV_ERR_INVALID;
        }
        if (i + 1 < t->n && t->p[i] == '/' && t->p[i + 1] == '/') {
            lex_errf(lx, t->line, t->col + 1 + (unsigned)i, "empty segment ('//') in path glob %s",
                     q);
            return TV_ERR_INVALID;
        }
    }
    return 0;
}

void vault_acl_policy_free(vault_acl_policy *pol)
{
    if (!pol)
        return;
    for (size_t i = 0; i < pol->n_rules; i++)
        free(pol->rules[i].glob);
    free(pol->rules);
    free(pol->name);
    free(pol);
}

int vault_acl_parse(const char *name, const char *text, size_t len, vault_acl_policy **out,
                    char *err, size_t errlen)
{
    int r = TV_ERR_INTERNAL;
    vault_acl_policy *pol = NULL;
    lexer lx = {.s = text, .len = len, .line = 1, .col = 1, .err = err, .errlen = errlen};
    tok t, g;
    size_t cap_rules = 0;

    if (err && errlen)
        err[0] = '\0';
    if (len > VAULT_ACL_DOC_MAX) {
        if (err && errlen)
            snprintf(err, errlen, "policy document is %zu bytes, the limit is %u", len,
                     VAULT_ACL_DOC_MAX);
        return TV_ERR_TOO_LARGE;
    }
    if (memchr(text, '\0', len)) {
        if (err && errlen)
            snprintf(err, errlen, "policy document contains a NUL byte");
        return TV_ERR_INVALID;
    }
    if (!(pol = calloc(1, sizeof(*pol))) || !(pol->name = strdup(name ? name : ""))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    for (;;) {
        if ((r = lex_next(&lx, &t)) < 0)
            goto out;
        if (t.kind == T_EOF)
            break;
        if (!tok_is(&t, "path")) {
            char got[96];
            tok_describe(&t, got, sizeof(got));
            lex_errf(&lx, t.line, t.col, "expected 'path' to start a rule, got %s", got);
            r = TV_ERR_INVALID;
            goto out;
        }
        unsigned rule_line = t.line;
        if ((r = expect(&lx, &g, T_STRING, "a quoted path glob", "after 'path'")) < 0)
            goto out;
        if ((r = glob_check(&lx, &g)) < 0)
            goto out;
        for (size_t i = 0; i < pol->n_rules; i++) {
            if (strlen(pol->rules[i].glob) == g.n && memcmp(pol->rules[i].glob, g.p, g.n) == 0) {
                char q[80];
                vault_quote(q, sizeof(q), g.p, g.n);
                lex_errf(&lx, g.line, g.col, "duplicate rule for path %s (first on line %u)", q,
                         pol->rules[i].line);
                r = TV_ERR_INVALID;
                goto out;
            }
        }
        if ((r = expect(&lx, &t, T_LBRACE, "'{'", "after the path glob")) < 0)
            goto out;
        if ((r = lex_next(&lx, &t)) < 0)
            goto out;
        if (!tok_is(&t, "capabilities")) {
            char got[96];
            tok_describe(&t, got, sizeof(got));
            lex_errf(&lx, t.line, t.col, "expected 'capabilities' inside the rule, got %s", got);
            r = TV_ERR_INVALID;
            goto out;
        }
        if ((r = expect(&lx, &t, T_EQ, "'='", "after 'capabilities'")) < 0)
            goto out;
        if ((r = expect(&lx, &t, T_LBRACK, "'['", "to open the capability list")) < 0)
            goto out;
        unsigned caps = 0;
        unsigned n_caps = 0;
        for (;;) {
            if ((r = lex_next(&lx, &t)) < 0)
                goto out;
            if (t.kind == T_RBRACK)
                break;
            if (t.kind != T_STRING) {
                char got[96];
                tok_describe(&t, got, sizeof(got));
                lex_errf(&lx, t.line, t.col, "expected a quoted capability or ']', got %s", got);
                r = TV_ERR_INVALID;
                goto out;
            }
            unsigned bit = vault_acl_cap_from_name(t.p, t.n);
            if (!bit) {
                char q[80];
                vault_quote(q, sizeof(q), t.p, t.n);
                lex_errf(&lx, t.line, t.col,
                         "unknown capability %s (known: read, list, create, update, delete, "
                         "destroy, admin, grant, deny)",
                         q);
                r = TV_ERR_INVALID;
                goto out;
            }
            caps |= bit;
            n_caps++;
            if ((r = lex_next(&lx, &t)) < 0)
                goto out;
            if (t.kind == T_RBRACK)
                break;
            if (t.kind != T_COMMA) {
                char got[96];
                tok_describe(&t, got, sizeof(got));
                lex_errf(&lx, t.line, t.col, "expected ',' or ']' in the capability list, got %s",
                         got);
                r = TV_ERR_INVALID;
                goto out;
            }
        }
        if (n_caps == 0) {
            lex_errf(&lx, t.line, t.col,
                     "empty capability list (use [\"deny\"] to refuse, or remove the rule)");
            r = TV_ERR_INVALID;
            goto out;
        }
        if ((r = expect(&lx, &t, T_RBRACE, "'}'", "to close the rule")) < 0)
            goto out;
        if (pol->n_rules >= VAULT_ACL_RULES_MAX) {
            lex_errf(&lx, rule_line, 1, "more than %u rules in one policy", VAULT_ACL_RULES_MAX);
            r = TV_ERR_TOO_LARGE;
            goto out;
        }
        if (pol->n_rules == cap_rules) {
            size_t nc = cap_rules ? cap_rules * 2 : 8;
            vault_acl_rule *nr = realloc(pol->rules, nc * sizeof(*nr));
            if (!nr) {
                r = TV_ERR_NOMEM;
                goto out;
            }
            pol->rules = nr;
            cap_rules = nc;
        }
        vault_acl_rule *rule = &pol->rules[pol->n_rules];
        if (!(rule->glob = strndup(g.p, g.n))) {
            r = TV_ERR_NOMEM;
            goto out;
        }
        rule->caps = caps;
        rule->line = rule_line;
        pol->n_rules++;
    }
    *out = pol;
    pol = NULL;
    r = 0;
out:
    vault_acl_policy_free(pol);
    return r;
}

/* ---------------------------------------------------------------- evaluation */

static void dec_set(vault_acl_decision *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void dec_set(vault_acl_decision *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
    va_end(ap);
}

static void dec_rule(vault_acl_decision *d, const vault_acl_policy *pol, const vault_acl_rule *r)
{
    snprintf(d->policy, sizeof(d->policy), "%s", pol->name);
    snprintf(d->rule, sizeof(d->rule), "%s", r->glob);
    d->line = r->line;
}

int vault_acl_evaluate(const vault_acl_policy *const *pols, size_t n_pols, int is_function,
                       int is_root, const char *path, unsigned cap, vault_acl_decision *d)
{
    memset(d, 0, sizeof(*d));
    const char *cname = vault_acl_cap_name(cap);
    if (cap == 0 || cap == VAULT_CAP_DENY || (cap & (cap - 1)) || !strcmp(cname, "?")) {
        dec_set(d, "invalid capability requested (denied)");
        return TV_ERR_DENIED;
    }
    if (is_root && !is_function) {
        d->allowed = 1;
        dec_set(d, "root token holds every capability");
        return 0;
    }
    if (is_function && cap != VAULT_CAP_READ) {
        dec_set(d, "functions can only ever hold read; %s is never granted to a function", cname);
        return TV_ERR_DENIED;
    }
    if (strlen(path) > VAULT_NAME_MAX) {
        dec_set(d, "path longer than %u bytes (denied)", (unsigned)VAULT_NAME_MAX);
        return TV_ERR_DENIED;
    }
    const vault_acl_policy *grant_pol = NULL, *deny_pol = NULL;
    const vault_acl_rule *grant_rule = NULL, *deny_rule = NULL;
    unsigned matched = 0;
    for (size_t i = 0; i < n_pols && !deny_rule; i++) {
        const vault_acl_policy *pol = pols[i];
        for (size_t k = 0; k < pol->n_rules; k++) {
            const vault_acl_rule *rule = &pol->rules[k];
            if (!vault_acl_glob_match(rule->glob, path))
                continue;
            matched++;
            if (rule->caps & VAULT_CAP_DENY) {
                deny_pol = pol;
                deny_rule = rule;
                break;
            }
            if ((rule->caps & cap) && !grant_rule) {
                grant_pol = pol;
                grant_rule = rule;
            }
        }
    }
    char qp[VAULT_ACL_NAME_MAX + 8], qr[96];
    if (deny_rule) {
        dec_rule(d, deny_pol, deny_rule);
        vault_quote(qp, sizeof(qp), deny_pol->name, strlen(deny_pol->name));
        vault_quote(qr, sizeof(qr), deny_rule->glob, strlen(deny_rule->glob));
        dec_set(d, "denied by policy %s, rule path %s (line %u): an explicit deny always wins", qp,
                qr, deny_rule->line);
        return TV_ERR_DENIED;
    }
    if (grant_rule) {
        d->allowed = 1;
        dec_rule(d, grant_pol, grant_rule);
        vault_quote(qp, sizeof(qp), grant_pol->name, strlen(grant_pol->name));
        vault_quote(qr, sizeof(qr), grant_rule->glob, strlen(grant_rule->glob));
        dec_set(d, "allowed by policy %s, rule path %s (line %u), which grants %s", qp, qr,
                grant_rule->line, cname);
        return 0;
    }
    if (n_pols == 0)
        dec_set(d, "no policy is bound to the caller (default deny)");
    else if (matched == 0)
        dec_set(d, "no rule in the caller's %zu polic%s matches this path (default deny)", n_pols,
                n_pols == 1 ? "y" : "ies");
    else
        dec_set(d, "%u matching rule%s, but none grants %s (default deny)", matched,
                matched == 1 ? "" : "s", cname);
    return TV_ERR_DENIED;
}

/*
 * Parsed-policy cache. Checking runs on every request, and parsing a policy
 * costs far more than matching it, so parsed policies are kept keyed by name
 * and validated against the stored text on every use (one memcmp): whatever
 * changed the record, a stale parse is never used. Entries used by the
 * current lookup (same stamp) are never evicted, and the cache holds more
 * slots than a principal may have policies. Event-loop thread only.
 */
#define ACL_CACHE_SLOTS 128

typedef struct acl_cache_ent {
    char name[VAULT_ACL_NAME_MAX + 1]; /* "" = free */
    char *text;
    size_t len;
    vault_acl_policy *pol;
    uint64_t stamp;
    uint64_t keys; /* vault_record_keys_serial() of the keys it verified under */
} acl_cache_ent;

static acl_cache_ent g_cache[ACL_CACHE_SLOTS];
static uint64_t g_cache_stamp;

/* The compiled policy for the stored record `stored` of policy `name`: a
 * record byte for byte equal to the one that verified and compiled last time
 * for that name under the same record keys is neither verified nor parsed
 * again; any other is verified (vault_record) in full. A parse error's
 * message goes to err. The pointer stays valid until the next lookup with
 * another stamp. */
static int cache_get(struct vault_db *db, const char *name, const MDB_val *stored, uint64_t stamp,
                     const vault_acl_policy **out, char *err, size_t errlen)
{
    acl_cache_ent *same = NULL, *empty = NULL, *old = NULL;
    const char *text = stored->mv_data;
    size_t len = stored->mv_size;
    MDB_val pl;
    int r;
    for (size_t i = 0; i < ACL_CACHE_SLOTS; i++) {
        acl_cache_ent *e = &g_cache[i];
        if (!e->name[0]) {
            if (!empty)
                empty = e;
            continue;
        }
        if (strcmp(e->name, name) == 0) {
            same = e;
            break;
        }
        if (e->stamp != stamp && (!old || e->stamp < old->stamp))
            old = e;
    }
    uint64_t keys = vault_record_keys_serial(db);
    if (same && keys && same->keys == keys && same->len == len &&
        memcmp(same->text, text, len) == 0) {
        same->stamp = stamp;
        *out = same->pol;
        return 0;
    }
    acl_cache_ent *slot = same ? same : empty ? empty : old;
    vault_acl_policy *pol = NULL;
    char *copy = NULL;
    if ((r = vault_record_open(db, VAULT_TBL_POLICIES, name, strlen(name), stored, &pl, NULL)) < 0)
        return r;
    if (pl.mv_size < 9 || ((const uint8_t *)pl.mv_data)[0] != POLICY_FORMAT)
        return TV_ERR_INTEGRITY;
    if ((r = vault_acl_parse(name, (const char *)pl.mv_data + 9, pl.mv_size - 9, &pol, err,
                             errlen)) < 0)
        return r;
    if (!slot) { /* cannot happen (slots > policies per principal); stay correct anyway */
        vault_acl_policy_free(pol);
        return TV_ERR_RESOURCE;
    }
    if (!(copy = malloc(len ? len : 1))) {
        vault_acl_policy_free(pol);
        return TV_ERR_NOMEM;
    }
    memcpy(copy, text, len);
    vault_acl_policy_free(slot->pol);
    free(slot->text);
    snprintf(slot->name, sizeof(slot->name), "%s", name);
    slot->text = copy;
    slot->len = len;
    slot->keys = keys;
    slot->pol = pol;
    slot->stamp = stamp;
    *out = pol;
    return 0;
}

/* Load the principal's policies (at most VAULT_ACL_POLICY_MAX) in one read
 * transaction into pols (borrowed from the cache). Policies that do not exist
 * are counted in *n_missing (first name in missing1). A stored policy that no
 * longer parses is a storage integrity problem, except one written before the
 * token namespace changed: then TV_ERR_DENIED (fail closed: none of the
 * principal's rules apply) with the way to rewrite it in `unusable`. */
static int load_policies(struct vault *v, const vault_principal *p,
                         const vault_acl_policy *pols[VAULT_ACL_POLICY_MAX], size_t *n_out,
                         size_t *n_missing, char *missing1, size_t m1len, char *unusable,
                         size_t ulen)
{
    int r = TV_ERR_INTERNAL;
    MDB_txn *txn = NULL;
    size_t n = 0, nm = 0;

    if (missing1 && m1len)
        missing1[0] = '\0';
    *n_out = 0;
    *n_missing = 0;
    if (p->n_policies == 0)
        return 0;
    if (!v || !v->db)
        return TV_ERR_NOT_INITIALISED;
    size_t np = p->n_policies > VAULT_ACL_POLICY_MAX ? VAULT_ACL_POLICY_MAX : p->n_policies;
    uint64_t stamp = ++g_cache_stamp;
    if ((r = vault_db_rtxn(v->db, &txn)) < 0)
        goto out;
    for (size_t i = 0; i < np; i++) {
        const char *name = p->policies[i];
        MDB_val k, dv;
        if (!vault_acl_name_valid(name)) {
            r = TV_ERR_NOT_FOUND;
        } else {
            k.mv_size = strlen(name);
            k.mv_data = (void *)(uintptr_t)name;
            r = vault_db_err(mdb_get(txn, v->db->policies, &k, &dv));
        }
        if (r == TV_ERR_NOT_FOUND) {
            if (nm++ == 0 && missing1)
                snprintf(missing1, m1len, "%s", name);
            continue;
        }
        if (r < 0)
            goto out;
        char perr[300] = "";
        r = cache_get(v->db, name, &dv, stamp, &pols[n], perr, sizeof(perr));
        if (r == TV_ERR_NOMEM || r == TV_ERR_RESOURCE)
            goto out;
        if (r == TV_ERR_INVALID && strstr(perr, "retired token namespace")) {
            char q[VAULT_ACL_NAME_MAX + 8];
            vault_quote(q, sizeof(q), name, strlen(name));
            snprintf(unusable, ulen,
                     "bound policy %s cannot be used until it is rewritten (policy write): %s", q,
                     perr);
            r = TV_ERR_DENIED;
            goto out;
        }
        if (r < 0) {
            r = TV_ERR_INTEGRITY;
            goto out;
        }
        n++;
    }
    *n_out = n;
    *n_missing = nm;
    r = 0;
out:
    if (txn)
        mdb_txn_abort(txn);
    return r;
}

int vault_acl_explain(struct vault *v, const vault_principal *p, const char *path, unsigned cap,
                      vault_acl_decision *d)
{
    int r = TV_ERR_INTERNAL;
    const vault_acl_policy *pols[VAULT_ACL_POLICY_MAX] = {NULL};
    size_t n = 0, nm = 0;
    char missing1[VAULT_ACL_NAME_MAX + 1];

    if (!p || p->kind == VAULT_PRINCIPAL_NONE) {
        memset(d, 0, sizeof(*d));
        snprintf(d->reason, sizeof(d->reason), "no token presented (default deny)");
        return TV_ERR_DENIED;
    }
    int is_function = p->kind == VAULT_PRINCIPAL_FUNCTION;
    int is_root = p->kind == VAULT_PRINCIPAL_OPERATOR && p->root;
    if (!is_root || is_function) {
        memset(d, 0, sizeof(*d));
        r = load_policies(v, p, pols, &n, &nm, missing1, sizeof(missing1), d->reason,
                          sizeof(d->reason));
        if (r < 0)
            return r;
    }
    r = vault_acl_evaluate(pols, n, is_function, is_root, path, cap, d);
    if (nm) {
        size_t l = strlen(d->reason);
        char q[VAULT_ACL_NAME_MAX + 8];
        vault_quote(q, sizeof(q), missing1, strlen(missing1));
        if (nm == 1)
            snprintf(d->reason + l, sizeof(d->reason) - l, "; bound policy %s does not exist", q);
        else
            snprintf(d->reason + l, sizeof(d->reason) - l,
                     "; %zu bound policies do not exist (first %s)", nm, q);
    }
    return r;
}

int vault_acl_check(struct vault *v, const vault_principal *p, const char *path, unsigned cap,
                    char *why, size_t whylen)
{
    vault_acl_decision d;
    int r = vault_acl_explain(v, p, path, cap, &d);
    if (r == TV_ERR_DENIED && why && whylen)
        snprintf(why, whylen, "%s", d.reason);
    return r;
}

int vault_acl_holds(const vault_principal *p, const char *name)
{
    for (size_t i = 0; i < p->n_policies; i++)
        if (strcmp(p->policies[i], name) == 0)
            return 1;
    return 0;
}

int vault_acl_may_grant(struct vault *v, const vault_principal *p, char *const *pols, size_t n,
                        char *why, size_t whylen)
{
    if (p && p->kind == VAULT_PRINCIPAL_OPERATOR && p->root)
        return 0;
    if (!p || p->kind != VAULT_PRINCIPAL_OPERATOR) {
        snprintf(why, whylen, "only operators attach policies");
        return TV_ERR_DENIED;
    }
    for (size_t i = 0; i < n; i++) {
        char path[32 + VAULT_ACL_NAME_MAX], q[VAULT_ACL_NAME_MAX + 8];
        vault_acl_decision d;
        if (vault_acl_holds(p, pols[i]))
            continue;
        if (!vault_acl_name_valid(pols[i])) {
            snprintf(why, whylen, "invalid policy name");
            return TV_ERR_DENIED;
        }
        snprintf(path, sizeof(path), "sys/policy/%s", pols[i]);
        int r = vault_acl_explain(v, p, path, VAULT_CAP_GRANT, &d);
        if (r == TV_ERR_DENIED) {
            vault_quote(q, sizeof(q), pols[i], strlen(pols[i]));
            snprintf(why, whylen,
                     "cannot attach policy %s: the caller neither holds it nor has grant on "
                     "\"%s\" (%s)",
                     q, path, d.reason);
        }
        if (r < 0)
            return r;
    }
    return 0;
}

int vault_acl_filter(struct vault *v, const vault_principal *p, char **names, uint64_t *vals,
                     size_t *n, unsigned caps)
{
    const vault_acl_policy *pols[VAULT_ACL_POLICY_MAX] = {NULL};
    size_t np = 0, nm = 0, o = 0;
    char missing1[VAULT_ACL_NAME_MAX + 1], unusable[300];
    int r;

    if (!p || p->kind == VAULT_PRINCIPAL_NONE) {
        for (size_t i = 0; i < *n; i++)
            free(names[i]);
        *n = 0;
        return 0;
    }
    int is_function = p->kind == VAULT_PRINCIPAL_FUNCTION;
    int is_root = p->kind == VAULT_PRINCIPAL_OPERATOR && p->root;
    if (!is_root || is_function) {
        r = load_policies(v, p, pols, &np, &nm, missing1, sizeof(missing1), unusable,
                          sizeof(unusable));
        if (r == TV_ERR_DENIED) {
            np = 0; /* an unusable bound policy: nothing is visible (fail closed) */
            is_root = 0;
            is_function = 1; /* grants nothing with np == 0 */
        } else if (r < 0) {
            return r;
        }
    }
    for (size_t i = 0; i < *n; i++) {
        int keep = 0;
        for (unsigned bit = 1; bit <= VAULT_CAP_ADMIN && !keep; bit <<= 1) {
            vault_acl_decision d;
            if ((caps & bit) &&
                vault_acl_evaluate(pols, np, is_function, is_root, names[i], bit, &d) == 0)
                keep = 1;
        }
        if (keep) {
            names[o] = names[i];
            if (vals)
                vals[o] = vals[i];
            o++;
        } else {
            free(names[i]);
        }
    }
    *n = o;
    return 0;
}

/* ---------------------------------------------------------------- storage */

int vault_acl_store_put(struct vault_db *db, MDB_txn *txn, const char *name, const char *text,
                        size_t len, int64_t now, char *err, size_t errlen)
{
    int r = TV_ERR_INTERNAL;
    vault_acl_policy *pol = NULL;
    uint8_t *val = NULL;

    if (!vault_acl_name_valid(name)) {
        if (err && errlen)
            snprintf(err, errlen,
                     "invalid policy name (1-%u of A-Z a-z 0-9 . _ -, not starting with . or -)",
                     VAULT_ACL_NAME_MAX);
        return TV_ERR_INVALID;
    }
    if (strcmp(name, "root") == 0) {
        if (err && errlen)
            snprintf(err, errlen, "policy name \"root\" is reserved");
        return TV_ERR_INVALID;
    }
    if ((r = vault_acl_parse(name, text, len, &pol, err, errlen)) < 0)
        return r;
    vault_acl_policy_free(pol);
    if (!(val = malloc(9 + len)))
        return TV_ERR_NOMEM;
    val[0] = POLICY_FORMAT;
    proto_put_be64(val + 1, (uint64_t)now);
    if (len)
        memcpy(val + 9, text, len);
    r = vault_record_put(db, txn, VAULT_TBL_POLICIES, name, strlen(name), val, 9 + len, 0);
    free(val);
    return r;
}

int vault_acl_store_get(struct vault_db *db, MDB_txn *txn, const char *name, char **text,
                        size_t *len, int64_t *updated_at)
{
    int r;
    if (!vault_acl_name_valid(name))
        return TV_ERR_INVALID;
    MDB_val dv;
    if ((r = vault_record_get(db, txn, VAULT_TBL_POLICIES, name, strlen(name), &dv, NULL)) < 0)
        return r;
    const uint8_t *p = dv.mv_data;
    if (dv.mv_size < 9 || p[0] != POLICY_FORMAT)
        return TV_ERR_INTEGRITY;
    size_t n = dv.mv_size - 9;
    char *s = malloc(n + 1);
    if (!s)
        return TV_ERR_NOMEM;
    memcpy(s, p + 9, n);
    s[n] = '\0';
    if (updated_at)
        *updated_at = (int64_t)proto_be64(p + 1);
    *text = s;
    *len = n;
    return 0;
}

int vault_acl_store_delete(struct vault_db *db, MDB_txn *txn, const char *name)
{
    if (!vault_acl_name_valid(name))
        return TV_ERR_INVALID;
    MDB_val k = {.mv_size = strlen(name), .mv_data = (void *)(uintptr_t)name};
    return vault_db_err(mdb_del(txn, db->policies, &k, NULL));
}

int vault_acl_store_list(struct vault_db *db, MDB_txn *txn, char ***names, size_t *n_out)
{
    int r = TV_ERR_INTERNAL, rc;
    MDB_cursor *cur = NULL;
    char **v = NULL;
    size_t n = 0, cap = 0;
    MDB_val k, dv;

    if ((r = vault_db_err(mdb_cursor_open(txn, db->policies, &cur))) < 0)
        return r;
    for (rc = mdb_cursor_get(cur, &k, &dv, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &dv, MDB_NEXT)) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **nv = realloc(v, nc * sizeof(*nv));
            if (!nv) {
                r = TV_ERR_NOMEM;
                goto out;
            }
            v = nv;
            cap = nc;
        }
        if (!(v[n] = strndup(k.mv_data, k.mv_size))) {
            r = TV_ERR_NOMEM;
            goto out;
        }
        n++;
    }
    if (rc != MDB_NOTFOUND) {
        r = vault_db_err(rc);
        goto out;
    }
    *names = v;
    *n_out = n;
    v = NULL;
    n = 0;
    r = 0;
out:
    mdb_cursor_close(cur);
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return r;
}
