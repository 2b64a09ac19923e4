/* SPDX-License-Identifier: Apache-2.0 */
/* libteevault: service teevault.v1.Sys. */
#include "tv_client_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

void tv_status_free(tv_status *s)
{
    if (!s)
        return;
    free(s->version);
    free(s->tee_backend);
    free(s->warning);
    free(s->measurement);
    free(s->signer);
    free(s->seal_policy);
    free(s->audit_head);
    free(s->audit_pubkey);
    free(s->state);
    free(s->rotation_error);
    free(s);
}

static int dup_bytes(const ProtobufCBinaryData *b, uint8_t **p, size_t *n)
{
    if (!(*p = tv_xmemdup(b->data, b->len)))
        return TV_ERR_NOMEM;
    *n = b->len;
    return 0;
}

int tv_sys_status(tv_client *c, tv_status **out)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__Empty req;
    teevault__v1__empty__init(&req);
    Teevault__V1__StatusResponse *resp = NULL;
    tv_status *s = NULL;

    if (!c || !out)
        return TV_ERR_INVALID;
    if ((r = tv_call(c, TV_SVC_SYS, "Status", &req.base, &teevault__v1__status_response__descriptor,
                     (ProtobufCMessage **)&resp)) < 0)
        goto out;
    r = TV_ERR_NOMEM;
    if (!(s = calloc(1, sizeof(*s))))
        goto out;
    s->initialized = resp->initialized;
    s->hardware_protected = resp->hardware_protected;
    s->kek_epoch = resp->kek_epoch;
    s->storage_used_bytes = resp->storage_used_bytes;
    s->storage_map_bytes = resp->storage_map_bytes;
    s->audit_seq = resp->audit_seq;
    s->audit_used_percent = resp->audit_used_percent;
    s->operator_plaintext_reads = resp->operator_plaintext_reads;
    s->sealed = resp->sealed;
    s->rotation_running = resp->rotation_running;
    s->rotation_epoch = resp->rotation_epoch;
    s->rotation_rewrapped = resp->rotation_rewrapped;
    s->rotation_visited = resp->rotation_visited;
    s->rotation_total = resp->rotation_total;
    /* A vault older than the state field: derive it. */
    const char *state = resp->state && resp->state[0]
                            ? resp->state
                            : (resp->initialized ? "active" : "uninitialized");
    if (!(s->state = tv_xstrdup(state)) || !(s->rotation_error = tv_xstrdup(resp->rotation_error)))
        goto out;
    if (!(s->version = tv_xstrdup(resp->version)) ||
        !(s->tee_backend = tv_xstrdup(resp->tee_backend)) ||
        !(s->warning = tv_xstrdup(resp->warning)) ||
        !(s->seal_policy = tv_xstrdup(resp->seal_policy)))
        goto out;
    if (dup_bytes(&resp->measurement, &s->measurement, &s->measurement_len) < 0 ||
        dup_bytes(&resp->signer, &s->signer, &s->signer_len) < 0 ||
        dup_bytes(&resp->audit_head, &s->audit_head, &s->audit_head_len) < 0 ||
        dup_bytes(&resp->audit_pubkey, &s->audit_pubkey, &s->audit_pubkey_len) < 0)
        goto out;
    *out = s;
    s = NULL;
    r = 0;
out:
    if (r == TV_ERR_NOMEM)
        tv_fail(c, r, "out of memory");
    tv_status_free(s);
    tv_msg_free((ProtobufCMessage *)resp);
    return r;
}

int tv_sys_health(tv_client *c, int *ok, char **state)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__Empty req;
    teevault__v1__empty__init(&req);
    Teevault__V1__HealthResponse *resp = NULL;
    char *st = NULL;

    if (!c || !ok)
        return TV_ERR_INVALID;
    if ((r = tv_call(c, TV_SVC_SYS, "Health", &req.base, &teevault__v1__health_response__descriptor,
                     (ProtobufCMessage **)&resp)) < 0)
        goto out;
    if (state && !(st = tv_xstrdup(resp->state))) {
        r = tv_fail(c, TV_ERR_NOMEM, "out of memory");
        goto out;
    }
    *ok = resp->ok;
    if (state)
        *state = st;
    r = 0;
out:
    tv_msg_free((ProtobufCMessage *)resp);
    return r;
}

int tv_sys_init(tv_client *c, const char *recovery_passphrase, char **root_token,
                char **recovery_passphrase_out)
{
    return tv_sys_init_governed(c, recovery_passphrase, NULL, 0, 0, root_token,
                                recovery_passphrase_out);
}

int tv_sys_init_governed(tv_client *c, const char *recovery_passphrase, const uint8_t (*keys)[32],
                         size_t n_keys, uint32_t threshold, char **root_token,
                         char **recovery_passphrase_out)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__InitRequest req;
    Teevault__V1__GovernanceSet gs;
    ProtobufCBinaryData kb[16];
    teevault__v1__init_request__init(&req);
    teevault__v1__governance_set__init(&gs);
    if (n_keys > 16 || (n_keys && !keys))
        return TV_ERR_INVALID;
    if (n_keys) {
        for (size_t i = 0; i < n_keys; i++) {
            kb[i].data = (uint8_t *)(uintptr_t)keys[i];
            kb[i].len = 32;
        }
        gs.keys = kb;
        gs.n_keys = n_keys;
        gs.threshold = threshold;
        req.governance = &gs;
    }
    Teevault__V1__InitResponse *resp = NULL;
    char *tok = NULL, *pass = NULL;
    int supplied = recovery_passphrase && recovery_passphrase[0];

    if (!c || !root_token || (!supplied && !recovery_passphrase_out))
        return TV_ERR_INVALID;
    if (supplied) {
        if ((r = tv_check_str(c, "recovery passphrase", recovery_passphrase, 4096)) < 0)
            return r;
        req.recovery_passphrase = (char *)(uintptr_t)recovery_passphrase;
    }
    if ((r = tv_call(c, TV_SVC_SYS, "Initialize", &req.base,
                     &teevault__v1__init_response__descriptor, (ProtobufCMessage **)&resp)) < 0)
        goto out;
    r = TV_ERR_NOMEM;
    if (!(tok = tv_secret_strdup(resp->root_token ? resp->root_token : "")))
        goto out;
    if (!supplied &&
        !(pass = tv_secret_strdup(resp->recovery_passphrase ? resp->recovery_passphrase : "")))
        goto out;
    if (!tok[0] || (!supplied && !pass[0])) {
        r = tv_fail(c, TV_ERR_PROTOCOL, "server returned an empty token or passphrase");
        goto out;
    }
    *root_token = tok;
    tok = NULL;
    if (recovery_passphrase_out) {
        *recovery_passphrase_out = pass;
        pass = NULL;
    }
    r = 0;
out:
    if (r == TV_ERR_NOMEM)
        tv_fail(c, r, "out of memory");
    tv_free_secret(tok);
    tv_free_secret(pass);
    if (resp) {
        if (resp->root_token)
            sodium_memzero(resp->root_token, strlen(resp->root_token));
        if (resp->recovery_passphrase)
            sodium_memzero(resp->recovery_passphrase, strlen(resp->recovery_passphrase));
        tv_msg_free((ProtobufCMessage *)resp);
    }
    return r;
}

int tv_sys_recover(tv_client *c, const char *recovery_passphrase)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__RecoverRequest req;
    teevault__v1__recover_request__init(&req);
    ProtobufCMessage *resp = NULL;

    if (!c)
        return TV_ERR_INVALID;
    if ((r = tv_check_str(c, "recovery passphrase", recovery_passphrase, 4096)) < 0)
        return r;
    req.recovery_passphrase = (char *)(uintptr_t)recovery_passphrase;
    if ((r = tv_call(c, TV_SVC_SYS, "Recover", &req.base, &teevault__v1__empty__descriptor,
                     &resp)) < 0)
        return r;
    tv_msg_free(resp);
    return 0;
}

int tv_sys_rotate(tv_client *c, uint64_t *kek_epoch, uint64_t *rewrapped)
{
    return tv_sys_rotate_ex(c, kek_epoch, rewrapped, NULL);
}

int tv_sys_rotate_ex(tv_client *c, uint64_t *kek_epoch, uint64_t *rewrapped, uint64_t *pending)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__Empty req;
    teevault__v1__empty__init(&req);
    Teevault__V1__RotateResponse *resp = NULL;

    if (!c)
        return TV_ERR_INVALID;
    if ((r = tv_call(c, TV_SVC_SYS, "Rotate", &req.base, &teevault__v1__rotate_response__descriptor,
                     (ProtobufCMessage **)&resp)) < 0)
        return r;
    if (kek_epoch)
        *kek_epoch = resp->kek_epoch;
    if (rewrapped)
        *rewrapped = resp->rewrapped;
    if (pending)
        *pending = resp->pending;
    tv_msg_free((ProtobufCMessage *)resp);
    return 0;
}

int tv_sys_snapshot(tv_client *c, const char *id, uint64_t offset, tv_snapshot_chunk *out)
{
    int r = TV_ERR_INTERNAL;
    Teevault__V1__SnapshotRequest req;
    Teevault__V1__SnapshotChunk *resp = NULL;

    if (!c || !out)
        return TV_ERR_INVALID;
    teevault__v1__snapshot_request__init(&req);
    req.id = (char *)(uintptr_t)(id ? id : "");
    req.offset = offset;
    if ((r = tv_call(c, TV_SVC_SYS, "Snapshot", &req.base,
                     &teevault__v1__snapshot_chunk__descriptor, (ProtobufCMessage **)&resp)) < 0)
        return r;
    if (!resp->id || strlen(resp->id) >= sizeof(out->id) || resp->sha256.len != 32 ||
        resp->offset != offset ||
        resp->data.len > resp->total - (resp->offset < resp->total ? resp->offset : resp->total)) {
        tv_msg_free((ProtobufCMessage *)resp);
        return tv_fail(c, TV_ERR_PROTOCOL, "Sys/Snapshot: malformed chunk");
    }
    uint8_t *d = tv_xmemdup(resp->data.data, resp->data.len);
    if (!d) {
        tv_msg_free((ProtobufCMessage *)resp);
        return tv_fail(c, TV_ERR_NOMEM, "out of memory");
    }
    memset(out, 0, sizeof(*out));
    snprintf(out->id, sizeof(out->id), "%s", resp->id);
    out->total = resp->total;
    out->offset = resp->offset;
    out->data = d;
    out->len = resp->data.len;
    out->last = resp->last;
    memcpy(out->sha256, resp->sha256.data, 32);
    out->audit_seq = resp->audit_seq;
    tv_msg_free((ProtobufCMessage *)resp);
    return 0;
}
