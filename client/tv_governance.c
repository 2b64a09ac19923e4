/* SPDX-License-Identifier: Apache-2.0 */
/* libteevault: service teevault.v1.Governance, and offline signing. */
#include "tv_client_int.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define GOV_DOMAIN "teevault-governance-v1" /* signed with its NUL */

static void pending_fields_free(tv_gov_pending *p)
{
    free(p->id);
    free(p->kind);
    free(p->document);
    free(p->proposer);
}

void tv_gov_pending_free(tv_gov_pending *p)
{
    if (!p)
        return;
    pending_fields_free(p);
    free(p);
}

void tv_gov_pending_list_free(tv_gov_pending *p, size_t n)
{
    if (!p)
        return;
    for (size_t i = 0; i < n; i++)
        pending_fields_free(&p[i]);
    free(p);
}

static int fill(tv_gov_pending *d, const Teevault__V1__GovernancePending *m)
{
    d->created_at = m->created_at;
    if (!(d->id = tv_xstrdup(m->id)) || !(d->kind = tv_xstrdup(m->kind)) ||
        !(d->document = tv_xstrdup(m->document)) || !(d->proposer = tv_xstrdup(m->proposer)))
        return TV_ERR_NOMEM;
    return 0;
}

static int one(Teevault__V1__GovernancePending *resp, tv_gov_pending **out)
{
    tv_gov_pending *p = calloc(1, sizeof *p);
    if (!p || fill(p, resp) < 0) {
        tv_gov_pending_free(p);
        return TV_ERR_NOMEM;
    }
    *out = p;
    return 0;
}

int tv_governance_propose(tv_client *c, const tv_gov_change *ch, tv_gov_pending **out)
{
    Teevault__V1__GovernanceChange req;
    Teevault__V1__FunctionInfo fi;
    Teevault__V1__PolicyDocument pd;
    Teevault__V1__GovernanceSet gs;
    ProtobufCBinaryData kb[16];
    Teevault__V1__GovernancePending *resp = NULL;
    int r;

    teevault__v1__governance_change__init(&req);
    teevault__v1__function_info__init(&fi);
    teevault__v1__policy_document__init(&pd);
    teevault__v1__governance_set__init(&gs);
    if (!c || !ch || !ch->kind || !out || ch->n_keys > 16 || (ch->n_acl && !ch->acl))
        return TV_ERR_INVALID;
    if ((r = tv_check_str(c, "change kind", ch->kind, TV_NAME_MAX)) < 0 ||
        (ch->name && (r = tv_check_str(c, "name", ch->name, TV_NAME_MAX)) < 0) ||
        (ch->document && (r = tv_check_str(c, "document", ch->document, TV_TEXT_MAX)) < 0))
        return r;
    req.kind = (char *)(uintptr_t)ch->kind;
    if (!strncmp(ch->kind, "function", 8)) {
        fi.name = (char *)(uintptr_t)(ch->name ? ch->name : "");
        fi.policy = (char *)(uintptr_t)(ch->document ? ch->document : "");
        fi.acl_policies = (char **)(uintptr_t)ch->acl;
        fi.n_acl_policies = ch->n_acl;
        req.function = &fi;
    } else if (!strncmp(ch->kind, "policy", 6)) {
        pd.name = (char *)(uintptr_t)(ch->name ? ch->name : "");
        pd.document = (char *)(uintptr_t)(ch->document ? ch->document : "");
        req.policy = &pd;
    } else {
        for (size_t i = 0; i < ch->n_keys; i++) {
            kb[i].data = (uint8_t *)(uintptr_t)ch->keys[i];
            kb[i].len = 32;
        }
        gs.keys = kb;
        gs.n_keys = ch->n_keys;
        gs.threshold = ch->threshold;
        req.set = &gs;
    }
    if ((r = tv_call(c, TV_SVC_GOVERNANCE, "Propose", &req.base,
                     &teevault__v1__governance_pending__descriptor, (ProtobufCMessage **)&resp)) <
        0)
        return r;
    r = one(resp, out);
    tv_msg_free((ProtobufCMessage *)resp);
    return r;
}

int tv_governance_show(tv_client *c, const char *id, tv_gov_pending **out)
{
    Teevault__V1__GovernanceIdRequest req;
    Teevault__V1__GovernancePending *resp = NULL;
    int r;
    teevault__v1__governance_id_request__init(&req);
    if (!c || !out)
        return TV_ERR_INVALID;
    if ((r = tv_check_str(c, "change id", id, TV_NAME_MAX)) < 0)
        return r;
    req.id = (char *)(uintptr_t)id;
    if ((r = tv_call(c, TV_SVC_GOVERNANCE, "Show", &req.base,
                     &teevault__v1__governance_pending__descriptor, (ProtobufCMessage **)&resp)) <
        0)
        return r;
    r = one(resp, out);
    tv_msg_free((ProtobufCMessage *)resp);
    return r;
}

int tv_governance_list(tv_client *c, tv_gov_pending **out, size_t *n, size_t *n_keys,
                       uint32_t *threshold, int *quorum_required)
{
    Teevault__V1__Empty req;
    Teevault__V1__GovernanceListResponse *resp = NULL;
    tv_gov_pending *v = NULL;
    int r;
    teevault__v1__empty__init(&req);
    if (!c || !out || !n)
        return TV_ERR_INVALID;
    if ((r = tv_call(c, TV_SVC_GOVERNANCE, "List", &req.base,
                     &teevault__v1__governance_list_response__descriptor,
                     (ProtobufCMessage **)&resp)) < 0)
        return r;
    if (resp->n_changes && !(v = calloc(resp->n_changes, sizeof *v))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < resp->n_changes; i++)
        if ((r = fill(&v[i], resp->changes[i])) < 0) {
            tv_gov_pending_list_free(v, i + 1);
            v = NULL;
            goto out;
        }
    if (n_keys)
        *n_keys = resp->set ? resp->set->n_keys : 0;
    if (threshold)
        *threshold = resp->set ? resp->set->threshold : 0;
    if (quorum_required)
        *quorum_required = resp->quorum_required;
    *out = v;
    *n = resp->n_changes;
    r = 0;
out:
    tv_msg_free((ProtobufCMessage *)resp);
    return r;
}

int tv_governance_apply(tv_client *c, const char *id, const uint8_t (*pks)[32],
                        const uint8_t (*sigs)[64], size_t n)
{
    Teevault__V1__GovernanceApplyRequest req;
    Teevault__V1__GovernanceSignature s[16], *sp[16];
    ProtobufCMessage *resp = NULL;
    int r;
    teevault__v1__governance_apply_request__init(&req);
    if (!c || n > 16 || (n && (!pks || !sigs)))
        return TV_ERR_INVALID;
    if ((r = tv_check_str(c, "change id", id, TV_NAME_MAX)) < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        teevault__v1__governance_signature__init(&s[i]);
        s[i].public_key.data = (uint8_t *)(uintptr_t)pks[i];
        s[i].public_key.len = 32;
        s[i].signature.data = (uint8_t *)(uintptr_t)sigs[i];
        s[i].signature.len = 64;
        sp[i] = &s[i];
    }
    req.id = (char *)(uintptr_t)id;
    req.signatures = sp;
    req.n_signatures = n;
    if ((r = tv_call(c, TV_SVC_GOVERNANCE, "Apply", &req.base, &teevault__v1__empty__descriptor,
                     &resp)) < 0)
        return r;
    tv_msg_free(resp);
    return 0;
}

int tv_governance_sign(const uint8_t sk[64], const char *document, size_t len, uint8_t sig[64])
{
    uint8_t *m;
    int r;
    if (!sk || !document || !sig)
        return TV_ERR_INVALID;
    if (sodium_init() < 0)
        return TV_ERR_CRYPTO;
    if (!(m = malloc(sizeof(GOV_DOMAIN) + len)))
        return TV_ERR_NOMEM;
    memcpy(m, GOV_DOMAIN, sizeof(GOV_DOMAIN));
    memcpy(m + sizeof(GOV_DOMAIN), document, len);
    r = crypto_sign_detached(sig, NULL, m, sizeof(GOV_DOMAIN) + len, sk) == 0 ? 0 : TV_ERR_CRYPTO;
    free(m);
    return r;
}
