/* SPDX-License-Identifier: Apache-2.0 */
/* libteevault: service teevault.v1.Attestation (operator/verifier side). */
#include "tv_client_int.h"

#include <stdlib.h>
#include <string.h>

int tv_attest_challenge(tv_client *c, uint8_t nonce[32], int64_t *expires_at)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__Empty req;
    Teevault__V1__ChallengeResponse *resp = NULL;

    teevault__v1__empty__init(&req);
    if (!c || !nonce)
        return TV_ERR_INVALID;
    if ((r = tv_call(c, TV_SVC_ATTESTATION, "Challenge", &req.base,
                     &teevault__v1__challenge_response__descriptor, (ProtobufCMessage **)&resp)) <
        0)
        return r;
    if (resp->nonce.len != 32) {
        r = tv_fail(c, TV_ERR_PROTOCOL, "the vault returned a %zu-byte nonce, not 32",
                    resp->nonce.len);
    } else {
        memcpy(nonce, resp->nonce.data, 32);
        if (expires_at)
            *expires_at = resp->expires_at;
        r = 0;
    }
    tv_msg_free((ProtobufCMessage *)resp);
    return r;
}

int tv_attest_report(tv_client *c, const uint8_t *nonce, size_t nonce_len, uint8_t **evidence,
                     size_t *evidence_len, char **evidence_type)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__ReportRequest req;
    Teevault__V1__ReportResponse *resp = NULL;
    uint8_t *ev = NULL;
    char *type = NULL;

    teevault__v1__report_request__init(&req);
    if (!c || !evidence || !evidence_len || (nonce_len && !nonce) || nonce_len > 64)
        return TV_ERR_INVALID;
    req.nonce.data = (uint8_t *)(uintptr_t)nonce;
    req.nonce.len = nonce_len;
    if ((r = tv_call(c, TV_SVC_ATTESTATION, "Report", &req.base,
                     &teevault__v1__report_response__descriptor, (ProtobufCMessage **)&resp)) < 0)
        return r;
    if (!(ev = tv_xmemdup(resp->evidence.data, resp->evidence.len)) ||
        (evidence_type && !(type = tv_xstrdup(resp->evidence_type)))) {
        free(ev);
        r = tv_fail(c, TV_ERR_NOMEM, "out of memory");
        goto out;
    }
    *evidence = ev;
    *evidence_len = resp->evidence.len;
    if (evidence_type)
        *evidence_type = type;
    r = 0;
out:
    tv_msg_free((ProtobufCMessage *)resp);
    return r;
}
