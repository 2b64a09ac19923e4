/*
 * libteevault: calls of the services that have not landed yet (Functions,
 * Attestation, Audit) and the function-side tv_secrets_get(). Each returns
 * TV_ERR_UNIMPLEMENTED so callers can be written and linked now. Whoever
 * implements one moves it out of this file into its own tv_<service>.c.
 */
#include "tv_client_int.h"

#include <stdlib.h>

static int unimpl(tv_client *c, const char *what)
{
    return tv_fail(c, TV_ERR_UNIMPLEMENTED, "%s is not implemented in this libteevault", what);
}

int tv_function_write(tv_client *c, const tv_function_info *fn)
{
    (void)fn;
    return unimpl(c, "Functions.Write");
}

int tv_function_show(tv_client *c, const char *name, tv_function_info **out)
{
    (void)name;
    (void)out;
    return unimpl(c, "Functions.Show");
}

int tv_function_list(tv_client *c, tv_function_info **fns, size_t *n)
{
    (void)fns;
    (void)n;
    return unimpl(c, "Functions.List");
}

int tv_function_delete(tv_client *c, const char *name)
{
    (void)name;
    return unimpl(c, "Functions.Delete");
}

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

int tv_attest_challenge(tv_client *c, uint8_t nonce[32], int64_t *expires_at)
{
    (void)nonce;
    (void)expires_at;
    return unimpl(c, "Attestation.Challenge");
}

int tv_attest_report(tv_client *c, const uint8_t *nonce, size_t nonce_len, uint8_t **evidence,
                     size_t *evidence_len, char **evidence_type)
{
    (void)nonce;
    (void)nonce_len;
    (void)evidence;
    (void)evidence_len;
    (void)evidence_type;
    return unimpl(c, "Attestation.Report");
}

int tv_audit_head(tv_client *c, uint64_t *seq, uint8_t head_hash[32])
{
    (void)seq;
    (void)head_hash;
    return unimpl(c, "Audit.Head");
}

int tv_secrets_get(tv_session *s, const char *name, uint8_t **value, size_t *len)
{
    (void)s;
    (void)name;
    (void)value;
    (void)len;
    return TV_ERR_UNIMPLEMENTED;
}
