/*
 * Sys service: Status and Health (public, callable before init), and the
 * Initialize / Recover / Rotate entries (filled in with the keyring wiring).
 */
#include <stdio.h>
#include <string.h>

#include "seal.h"
#include "teevault.pb-c.h"
#include "vault.h"
#include "vault_audit.h"
#include "vault_config.h"
#include "vault_db.h"
#include "vault_keyring.h"
#include "vault_server.h"

#ifndef TV_VERSION
#define TV_VERSION "0.1.0"
#endif

#define SIM_WARNING                                                                                \
    "TEE backend 'sim' gives NO hardware protection: keys are sealed to a file on disk. "          \
    "Development and tests only."

static int sys_status(vault_call *c, const ProtobufCMessage *req, proto_buf *out)
{
    struct vault *v = c->v;
    Teevault__V1__StatusResponse st;
    seal_identity id;
    int r;

    (void)req;
    teevault__v1__status_response__init(&st);
    memset(&id, 0, sizeof(id));
    st.initialized = vault_is_active(v);
    st.version = (char *)(uintptr_t)TV_VERSION;
    const char *backend = v->seal ? v->seal->ops->name : v->cfg->tee_backend;
    st.tee_backend = (char *)(uintptr_t)(backend ? backend : "");
    st.hardware_protected = v->seal ? v->seal->ops->hardware_protected != 0 : 0;
    if (!st.hardware_protected)
        st.warning = (char *)(uintptr_t)SIM_WARNING;
    st.seal_policy = (char *)(uintptr_t)(v->cfg->seal_policy ? v->cfg->seal_policy : "");
    if (v->kr) {
        st.kek_epoch = vault_keyring_epoch(v->kr);
        st.seal_policy = (char *)(uintptr_t)(vault_keyring_policy(v->kr) == SEAL_POLICY_MEASUREMENT
                                                 ? "measurement"
                                                 : "signer");
    }
    if (v->seal && seal_identity_get(v->seal, &id) == 0) {
        st.measurement.data = id.measurement;
        st.measurement.len = id.measurement_len;
        st.signer.data = id.signer;
        st.signer.len = id.signer_len;
    }
    if (v->db) {
        uint64_t used = 0, map = 0;
        if (vault_db_usage(v->db, &used, &map) == 0) {
            st.storage_used_bytes = used;
            st.storage_map_bytes = map;
            st.audit_used_percent = map ? (uint32_t)(used * 100 / map) : 0;
        }
    }
    st.operator_plaintext_reads = v->cfg->operator_plaintext_reads != 0;
    vault_audit_info ai;
    if (v->auditw && vault_audit_get_info(v, &ai) == 0) {
        st.audit_seq = ai.seq;
        st.audit_head.data = ai.head;
        st.audit_head.len = sizeof(ai.head);
        if (ai.has_pubkey) {
            st.audit_pubkey.data = ai.pubkey;
            st.audit_pubkey.len = sizeof(ai.pubkey);
        }
        st.audit_used_percent = ai.used_percent;
    }
    r = vault_pack(out, &st.base);
    return r;
}

static int sys_health(vault_call *c, const ProtobufCMessage *req, proto_buf *out)
{
    struct vault *v = c->v;
    Teevault__V1__HealthResponse h;

    (void)req;
    teevault__v1__health_response__init(&h);
    if (vault_is_active(v)) {
        h.ok = 1;
        h.state = (char *)(uintptr_t) "active";
    } else if (v->db && vault_keyring_exists(v->db) == 1) {
        h.state = (char *)(uintptr_t) "sealed";
    } else {
        h.state = (char *)(uintptr_t) "uninitialized";
    }
    return vault_pack(out, &h.base);
}

/* TODO(lead): Initialize / Recover / Rotate with vault_keyring_init/recover/rotate. */
static int sys_unimplemented(vault_call *c, const ProtobufCMessage *req, proto_buf *out)
{
    (void)req;
    (void)out;
    snprintf(c->errmsg, sizeof(c->errmsg), "Sys.%s is not implemented yet", c->method);
    return TV_ERR_UNIMPLEMENTED;
}

const vault_method vault_rpc_sys[] = {
    {"teevault.v1.Sys", "Status", &teevault__v1__empty__descriptor, sys_status,
     VAULT_M_PUBLIC | VAULT_M_UNINIT | VAULT_M_FUNCTION},
    {"teevault.v1.Sys", "Health", &teevault__v1__empty__descriptor, sys_health,
     VAULT_M_PUBLIC | VAULT_M_UNINIT | VAULT_M_FUNCTION},
    {"teevault.v1.Sys", "Initialize", &teevault__v1__init_request__descriptor, sys_unimplemented,
     VAULT_M_PUBLIC | VAULT_M_UNINIT},
    {"teevault.v1.Sys", "Recover", &teevault__v1__recover_request__descriptor, sys_unimplemented,
     VAULT_M_PUBLIC | VAULT_M_UNINIT},
    {"teevault.v1.Sys", "Rotate", &teevault__v1__empty__descriptor, sys_unimplemented, 0},
    {NULL, NULL, NULL, NULL, 0},
};
