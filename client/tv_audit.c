/* SPDX-License-Identifier: Apache-2.0 */
/* libteevault: service teevault.v1.Audit. */
#include "tv_client_int.h"

#include <string.h>

int tv_audit_head(tv_client *c, uint64_t *seq, uint8_t head_hash[32])
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__Empty req;
    Teevault__V1__AuditCheckpoint *resp = NULL;

    teevault__v1__empty__init(&req);
    if (!c)
        return TV_ERR_INVALID;
    if ((r = tv_call(c, TV_SVC_AUDIT, "Head", &req.base,
                     &teevault__v1__audit_checkpoint__descriptor, (ProtobufCMessage **)&resp)) < 0)
        return r;
    if (head_hash && resp->head_hash.len != 32 && resp->head_hash.len != 0) {
        r = tv_fail(c, TV_ERR_PROTOCOL, "the vault returned a %zu-byte audit head",
                    resp->head_hash.len);
        goto out;
    }
    if (seq)
        *seq = resp->last_seq;
    if (head_hash) {
        memset(head_hash, 0, 32);
        if (resp->head_hash.len)
            memcpy(head_hash, resp->head_hash.data, 32);
    }
    r = 0;
out:
    tv_msg_free((ProtobufCMessage *)resp);
    return r;
}
