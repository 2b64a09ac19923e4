/* SPDX-License-Identifier: Apache-2.0 */
/* rpc_secrets: the Secrets handlers on a real store, ACL and principals
 * (the transport and the audit writer are not involved). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "seal.h"
#include "seal_fnget.h"
#include "teevault.pb-c.h"
#include "tv_test.h"
#include "vault.h"
#include "vault_registry.h"
#include "vault_acl.h"
#include "vault_attest.h"
#include "vault_audit.h"
#include "vault_config.h"
#include "vault_db.h"
#include "vault_keyring.h"
#include "vault_store.h"

#pragma GCC diagnostic ignored "-Wcast-qual"

static struct vault g_v;
static vault_config g_cfg;
static char g_dir[64];
static char g_failfile[128];

static const vault_method *method(const char *name)
{
    return vault_service_method(&vault_rpc_secrets, name);
}

/* Call method with req; on success *resp is the unpacked response (caller
 * frees with protobuf_c_message_free_unpacked). */
static int call(const char *name, const vault_principal *p, const ProtobufCMessage *req,
                ProtobufCMessage **resp, vault_call *cout)
{
    static vault_call c;
    proto_buf out;
    const vault_method *m = method(name);
    if (!m)
        return -999;
    memset(&c, 0, sizeof(c));
    c.v = &g_v;
    c.principal = p;
    c.service = "teevault.v1.Secrets";
    c.method = name;
    proto_buf_init(&out, 0);
    int r = vault_call_handler(m, &c, req, &out);
    if (r == 0 && resp)
        *resp = protobuf_c_message_unpack(m->resp_desc, NULL, out.len, out.d);
    proto_buf_free(&out);
    if (cout)
        *cout = c;
    return r;
}

static int put(const vault_principal *p, const char *name, const char *val, vault_call *c)
{
    Teevault__V1__PutRequest req = TEEVAULT__V1__PUT_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    req.name = (char *)name;
    req.value.data = (uint8_t *)val;
    req.value.len = strlen(val);
    int r = call("Put", p, &req.base, &resp, c);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return r;
}

static void test_table(void)
{
    const char *names[] = {"Put", "Get", "List", "Describe", "Delete", "Undelete", "Destroy"};
    for (size_t i = 0; i < 7; i++)
        CHECK(method(names[i]) != NULL);
    CHECK_EQ_INT(method("Get")->flags, VAULT_M_READ | VAULT_M_FUNCTION);
    CHECK_EQ_INT(method("Put")->flags & (VAULT_M_FUNCTION | VAULT_M_PUBLIC), 0);
}

static void test_operator_flow(void)
{
    vault_principal root = {.kind = VAULT_PRINCIPAL_OPERATOR, .root = 1};
    vault_call c;
    ProtobufCMessage *resp = NULL;

    CHECK_EQ_INT(put(&root, "app/db", "pw-1", &c), 0);
    CHECK(strcmp(c.audit_secret, "app/db") == 0 && c.audit_version == 1);
    CHECK_EQ_INT(put(&root, "app/db", "pw-2", &c), 0);
    CHECK_EQ_INT(c.audit_version, 2);
    CHECK_EQ_INT(put(&root, "bad//name", "x", &c), TV_ERR_INVALID);
    CHECK(strstr(c.errmsg, "invalid secret name \"bad//name\": name has an empty segment") != NULL);

    /* CAS conflict with a clear message. */
    Teevault__V1__PutRequest pr = TEEVAULT__V1__PUT_REQUEST__INIT;
    pr.name = "app/db";
    pr.value.data = (uint8_t *)"x";
    pr.value.len = 1;
    pr.cas_set = 1;
    pr.cas = 1;
    CHECK_EQ_INT(call("Put", &root, &pr.base, NULL, &c), TV_ERR_CAS);
    CHECK(strstr(c.errmsg, "is not at version 1") != NULL);

    /* Operator plaintext reads: refused unless configured. */
    Teevault__V1__GetRequest gr = TEEVAULT__V1__GET_REQUEST__INIT;
    gr.name = "app/db";
    g_cfg.operator_plaintext_reads = 0;
    CHECK_EQ_INT(call("Get", &root, &gr.base, NULL, &c), TV_ERR_DENIED);
    CHECK(strstr(c.errmsg, "operator_plaintext_reads") != NULL);
    g_cfg.operator_plaintext_reads = 1;
    CHECK_EQ_INT(call("Get", &root, &gr.base, &resp, &c), 0);
    if (resp) {
        Teevault__V1__GetResponse *g = (Teevault__V1__GetResponse *)resp;
        CHECK(g->version == 2 && g->value.len == 4 && memcmp(g->value.data, "pw-2", 4) == 0);
        CHECK_EQ_INT(g->sealed_value.len, 0);
        protobuf_c_message_free_unpacked(resp, NULL);
        resp = NULL;
    }
    gr.version = 1;
    CHECK_EQ_INT(call("Get", &root, &gr.base, &resp, &c), 0);
    if (resp) {
        Teevault__V1__GetResponse *g = (Teevault__V1__GetResponse *)resp;
        CHECK(g->version == 1 && g->value.len == 4 && memcmp(g->value.data, "pw-1", 4) == 0);
        protobuf_c_message_free_unpacked(resp, NULL);
        resp = NULL;
    }
    gr.version = 7;
    CHECK_EQ_INT(call("Get", &root, &gr.base, NULL, &c), TV_ERR_NOT_FOUND);
    CHECK(strstr(c.errmsg, "has no version 7") != NULL);

    /* A large value grows the reused buffer. */
    char *big = malloc(300001);
    memset(big, 'B', 300000);
    big[300000] = '\0';
    CHECK_EQ_INT(put(&root, "app/big", big, &c), 0);
    gr.name = "app/big";
    gr.version = 0;
    CHECK_EQ_INT(call("Get", &root, &gr.base, &resp, &c), 0);
    if (resp) {
        Teevault__V1__GetResponse *g = (Teevault__V1__GetResponse *)resp;
        CHECK(g->value.len == 300000 && memcmp(g->value.data, big, 300000) == 0);
        protobuf_c_message_free_unpacked(resp, NULL);
        resp = NULL;
    }
    free(big);

    /* Describe, List. */
    Teevault__V1__NameRequest nr = TEEVAULT__V1__NAME_REQUEST__INIT;
    nr.name = "app/db";
    CHECK_EQ_INT(call("Describe", &root, &nr.base, &resp, &c), 0);
    if (resp) {
        Teevault__V1__DescribeResponse *d = (Teevault__V1__DescribeResponse *)resp;
        CHECK(d->current_version == 2 && d->n_versions == 2 && d->max_versions == 10);
        CHECK(d->n_versions == 2 && d->versions[0]->kek_epoch == 1 &&
              d->versions[1]->deleted_at == 0);
        protobuf_c_message_free_unpacked(resp, NULL);
        resp = NULL;
    }
    Teevault__V1__ListRequest lr = TEEVAULT__V1__LIST_REQUEST__INIT;
    lr.prefix = "app/";
    lr.limit = 1;
    CHECK_EQ_INT(call("List", &root, &lr.base, &resp, &c), 0);
    if (resp) {
        Teevault__V1__ListResponse *l = (Teevault__V1__ListResponse *)resp;
        CHECK(l->n_names == 1 && strcmp(l->names[0], "app/big") == 0 && l->next_cursor[0]);
        char cur[1200];
        snprintf(cur, sizeof cur, "%s", l->next_cursor);
        protobuf_c_message_free_unpacked(resp, NULL);
        resp = NULL;
        lr.cursor = cur;
        CHECK_EQ_INT(call("List", &root, &lr.base, &resp, &c), 0);
        if (resp) {
            l = (Teevault__V1__ListResponse *)resp;
            CHECK(l->n_names == 1 && strcmp(l->names[0], "app/db") == 0 && !l->next_cursor[0]);
            protobuf_c_message_free_unpacked(resp, NULL);
            resp = NULL;
        }
        lr.cursor = "junk";
        CHECK_EQ_INT(call("List", &root, &lr.base, NULL, &c), TV_ERR_INVALID);
        CHECK(strstr(c.errmsg, "invalid cursor") != NULL);
    }

    /* Delete (empty = latest), Undelete (empty = newest deleted), Destroy (empty = newest). */
    Teevault__V1__VersionsRequest vr = TEEVAULT__V1__VERSIONS_REQUEST__INIT;
    vr.name = "app/db";
    CHECK_EQ_INT(call("Delete", &root, &vr.base, NULL, &c), 0);
    gr.name = "app/db";
    gr.version = 0;
    CHECK_EQ_INT(call("Get", &root, &gr.base, &resp, &c), 0); /* falls back to v1 */
    if (resp) {
        CHECK_EQ_INT(((Teevault__V1__GetResponse *)resp)->version, 1);
        protobuf_c_message_free_unpacked(resp, NULL);
        resp = NULL;
    }
    CHECK_EQ_INT(call("Undelete", &root, &vr.base, NULL, &c), 0);
    CHECK_EQ_INT(c.audit_version, 2);
    CHECK_EQ_INT(call("Destroy", &root, &vr.base, NULL, &c), 0);
    CHECK_EQ_INT(c.audit_version, 2);
    gr.version = 2;
    CHECK_EQ_INT(call("Get", &root, &gr.base, NULL, &c), TV_ERR_DESTROYED);
    uint64_t two = 2;
    vr.versions = &two;
    vr.n_versions = 1;
    CHECK_EQ_INT(call("Undelete", &root, &vr.base, NULL, &c), TV_ERR_DESTROYED);
    CHECK(strstr(c.errmsg, "cannot be undeleted") != NULL);
}

static void test_acl_and_functions(void)
{
    vault_principal root = {.kind = VAULT_PRINCIPAL_OPERATOR, .root = 1};
    char *pols[] = {"fnpol"};
    vault_principal alice = {.kind = VAULT_PRINCIPAL_OPERATOR, .policies = pols, .n_policies = 1};
    vault_principal fn = {.kind = VAULT_PRINCIPAL_FUNCTION, .policies = pols, .n_policies = 1};
    uint8_t sk[crypto_box_SECRETKEYBYTES], epk[32], spk[32], key[32];
    vault_call c;
    ProtobufCMessage *resp = NULL;
    MDB_txn *txn;
    char err[200];
    const char *text = "path \"fn/*\" { capabilities = [\"read\", \"update\"] }\n"
                       "path \"new/*\" { capabilities = [\"create\"] }\n";

    static const uint8_t no_sim_pk[32];
    vault_attest_params ap = {.sim_pk = no_sim_pk}; /* no sim platform dir needed */
    CHECK_EQ_INT(vault_attest_configure(&g_v, &ap), 0);
    crypto_box_keypair(epk, sk);
    CHECK_EQ_INT(vault_attest_test_session(&g_v, "fn-a", epk, fn.fn_session, spk), 0);
    CHECK_EQ_INT(seal_fn_session_key(key, NULL, sk, spk, epk, spk), 0);
    snprintf(fn.id, sizeof fn.id, "fn-a");
    CHECK_EQ_INT(vault_db_wtxn(g_v.db, &txn), 0);
    CHECK_EQ_INT(vault_acl_store_put(g_v.db, txn, "fnpol", text, strlen(text), 0, err, sizeof err),
                 0);
    CHECK_EQ_INT(vault_db_commit(txn), 0);
    CHECK_EQ_INT(put(&root, "fn/key", "function-secret", &c), 0);
    CHECK_EQ_INT(put(&root, "other/key", "not-yours", &c), 0);

    /* Function: sealed to the session key, never plaintext in the reply. */
    g_cfg.operator_plaintext_reads = 1;
    Teevault__V1__GetRequest gr = TEEVAULT__V1__GET_REQUEST__INIT;
    gr.name = "fn/key";
    CHECK_EQ_INT(call("Get", &fn, &gr.base, &resp, &c), 0);
    if (resp) {
        Teevault__V1__GetResponse *g = (Teevault__V1__GetResponse *)resp;
        uint8_t pt[64];
        CHECK_EQ_INT(g->value.len, 0);
        CHECK_EQ_INT(g->sealed_value.len, 15 + SEAL_FNGET_OVERHEAD);
        CHECK(memmem(g->sealed_value.data, g->sealed_value.len, "function-secret", 15) == NULL);
        CHECK_EQ_INT(seal_fn_get_open(key, "fn/key", 6, g->version, g->sealed_value.data,
                                      g->sealed_value.len, pt),
                     0);
        CHECK(memcmp(pt, "function-secret", 15) == 0);
        protobuf_c_message_free_unpacked(resp, NULL);
        resp = NULL;
    }
    gr.name = "other/key";
    CHECK_EQ_INT(call("Get", &fn, &gr.base, NULL, &c), TV_ERR_DENIED);
    CHECK(strstr(c.errmsg, "permission denied: Get needs read on \"other/key\"") != NULL);

    /* Operator alice: update existing fn/key ok; create fn/other refused;
     * create new/x ok, updating it refused; delete refused; destroy refused. */
    CHECK_EQ_INT(put(&alice, "fn/key", "v2", &c), 0);
    CHECK_EQ_INT(put(&alice, "fn/other", "x", &c), TV_ERR_DENIED);
    CHECK(strstr(c.errmsg, "needs create") != NULL);
    CHECK_EQ_INT(put(&alice, "new/x", "x", &c), 0);
    CHECK_EQ_INT(put(&alice, "new/x", "y", &c), TV_ERR_DENIED); /* now an update */
    CHECK(strstr(c.errmsg, "needs update") != NULL);
    /* Two create-only Puts of one new name in the same group commit: both
     * handlers see no secret; the second must not become an update. */
    {
        const vault_method *m = method("Put");
        Teevault__V1__PutRequest p1 = TEEVAULT__V1__PUT_REQUEST__INIT;
        vault_call c1, c2;
        proto_buf o1, o2;
        p1.name = "new/race";
        p1.value.data = (uint8_t *)"first";
        p1.value.len = 5;
        memset(&c1, 0, sizeof c1);
        c1.v = &g_v;
        c1.principal = &alice;
        c1.service = "teevault.v1.Secrets";
        c1.method = "Put";
        c2 = c1;
        proto_buf_init(&o1, 0);
        proto_buf_init(&o2, 0);
        CHECK_EQ_INT(m->fn(&c1, &p1.base, &o1), 0);
        CHECK_EQ_INT(m->fn(&c2, &p1.base, &o2), 0);
        CHECK(c1.write != NULL && c2.write != NULL);
        CHECK_EQ_INT(vault_call_run_offload(&c1, &o1), 0);
        CHECK_EQ_INT(vault_call_run_offload(&c2, &o2), TV_ERR_CAS);
        CHECK(strstr(c2.errmsg, "created meanwhile; updating it needs the update capability"));
        CHECK_EQ_INT(c2.audited, 1); /* the refusal is in the audit log */
        proto_buf_free(&o1);
        proto_buf_free(&o2);
    }
    Teevault__V1__VersionsRequest vr = TEEVAULT__V1__VERSIONS_REQUEST__INIT;
    vr.name = "fn/key";
    CHECK_EQ_INT(call("Delete", &alice, &vr.base, NULL, &c), TV_ERR_DENIED);
    CHECK_EQ_INT(call("Destroy", &alice, &vr.base, NULL, &c), TV_ERR_DENIED);
    Teevault__V1__NameRequest nr = TEEVAULT__V1__NAME_REQUEST__INIT;
    nr.name = "fn/key";
    CHECK_EQ_INT(call("Describe", &alice, &nr.base, &resp, &c), 0); /* read suffices */
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    Teevault__V1__ListRequest lr = TEEVAULT__V1__LIST_REQUEST__INIT;
    lr.prefix = "fn/";
    CHECK_EQ_INT(call("List", &alice, &lr.base, NULL, &c), TV_ERR_DENIED);
    sodium_memzero(sk, sizeof sk);
}

static uint64_t audit_seq(void)
{
    vault_audit_info i;
    if (vault_audit_get_info(&g_v, &i) < 0)
        return UINT64_MAX;
    return i.seq;
}

static void test_audit_in_write_txn(void)
{
    vault_principal root = {.kind = VAULT_PRINCIPAL_OPERATOR, .root = 1};
    vault_call c;
    uint64_t s0 = audit_seq();
    CHECK(s0 != UINT64_MAX);
    /* A write commits its own audit record (same transaction). */
    CHECK_EQ_INT(put(&root, "aud/one", "v", &c), 0);
    CHECK_EQ_INT(c.audited, 1);
    CHECK_EQ_INT(audit_seq(), s0 + 1);
    Teevault__V1__VersionsRequest vr = TEEVAULT__V1__VERSIONS_REQUEST__INIT;
    vr.name = "aud/one";
    CHECK_EQ_INT(call("Delete", &root, &vr.base, NULL, &c), 0);
    CHECK_EQ_INT(c.audited, 1);
    CHECK_EQ_INT(audit_seq(), s0 + 2);
    /* A refused write leaves the audit to the server (no record here). */
    CHECK_EQ_INT(put(&root, "bad//x", "v", &c), TV_ERR_INVALID);
    CHECK_EQ_INT(c.audited, 0);
    CHECK_EQ_INT(audit_seq(), s0 + 2);
    /* The audit record cannot be written: the write fails and stores nothing. */
    FILE *f = fopen(g_failfile, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    CHECK_EQ_INT(put(&root, "aud/two", "v", &c), TV_ERR_AUDIT);
    CHECK_EQ_INT(c.audited, 0);
    CHECK(strstr(c.errmsg, "audit record could not be written") != NULL);
    CHECK_EQ_INT(call("Undelete", &root, &vr.base, NULL, &c), TV_ERR_AUDIT);
    unlink(g_failfile);
    CHECK_EQ_INT(vault_store_exists(g_v.store, "aud/two"), 0);
    uint8_t *v = NULL;
    size_t n = 0;
    CHECK_EQ_INT(vault_store_get(g_v.store, "aud/one", 0, &v, &n, NULL), TV_ERR_DELETED);
    CHECK_EQ_INT(audit_seq(), s0 + 2);
    CHECK_EQ_INT(put(&root, "aud/two", "v", &c), 0);
    CHECK_EQ_INT(audit_seq(), s0 + 3);
}

int main(void)
{
    seal_backend *b = NULL;
    if (sodium_init() < 0)
        return 1;
    snprintf(g_dir, sizeof g_dir, "/tmp/tv-test-rpcsec-XXXXXX");
    if (!mkdtemp(g_dir))
        return 1;
    seal_options so = {.backend = "sim", .state_dir = g_dir};
    snprintf(g_failfile, sizeof g_failfile, "%s/audit-fail", g_dir);
    setenv("TEEVAULT_TEST_AUDIT_FAIL_FILE", g_failfile, 1);
    if (vault_config_defaults(&g_cfg) < 0 || seal_backend_open(&so, &b) < 0 ||
        vault_db_open(g_dir, 0, &g_v.db) < 0 || vault_audit_open(&g_v, NULL) < 0 ||
        vault_keyring_init(g_v.db, b, SEAL_POLICY_SIGNER, NULL, 0, NULL, NULL, &g_v.kr) < 0 ||
        vault_store_open(g_v.db, g_v.kr, NULL, &g_v.store) < 0 || vault_audit_unlock(&g_v) < 0)
        return 1;
    g_v.cfg = &g_cfg;
    g_v.seal = b;
    RUN(test_table);
    RUN(test_operator_flow);
    RUN(test_acl_and_functions);
    RUN(test_audit_in_write_txn);
    vault_attest_close(&g_v);
    vault_audit_close(&g_v);
    vault_store_free(g_v.store);
    vault_keyring_free(g_v.kr);
    vault_db_close(g_v.db);
    seal_backend_free(b);
    vault_config_free(&g_cfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
    return tv_test_finish();
}
