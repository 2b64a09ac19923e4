/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal_channel: the signed identity's message layouts (contract in
 * seal_channel.h).
 */
#include "seal_channel.h"

#include <string.h>

#include <sodium.h>

#include "proto_buf.h"

void seal_state_message(const seal_state *s, uint8_t msg[SEAL_STATE_MSG_LEN])
{
    uint8_t *p = msg;
    memcpy(p, SEAL_STATE_DOMAIN, sizeof SEAL_STATE_DOMAIN);
    p += sizeof SEAL_STATE_DOMAIN;
    memcpy(p, s->vault_id, 32);
    p += 32;
    proto_put_be64(p, s->state_version);
    p += 8;
    proto_put_be64(p, s->audit_seq);
    p += 8;
    memcpy(p, s->audit_head, 32);
}

void seal_report_binding_v2(const uint8_t nonce[32], const seal_report_fields *f,
                            uint8_t out[SEAL_REPORT_DATA_LEN])
{
    crypto_hash_sha512_state st;
    uint8_t n[16];

    proto_put_be64(n, f->audit_seq);
    proto_put_be64(n + 8, f->state_version);
    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, (const uint8_t *)SEAL_REPORT_DOMAIN2,
                              sizeof SEAL_REPORT_DOMAIN2 - 1);
    crypto_hash_sha512_update(&st, nonce, 32);
    crypto_hash_sha512_update(&st, f->vault_id, 32);
    crypto_hash_sha512_update(&st, f->sign_pubkey, 32);
    crypto_hash_sha512_update(&st, f->config_hash, 32);
    crypto_hash_sha512_update(&st, f->tls_key_hash, 32);
    crypto_hash_sha512_update(&st, f->audit_pubkey, 32);
    crypto_hash_sha512_update(&st, f->policy_hash, 32);
    crypto_hash_sha512_update(&st, f->audit_head, 32);
    crypto_hash_sha512_update(&st, n, sizeof n);
    crypto_hash_sha512_final(&st, out);
}

void seal_session_key_message(const uint8_t vault_id[32], const uint8_t session_pk[32],
                              int64_t expires_at, uint8_t msg[SEAL_SESSION_KEY_MSG_LEN])
{
    uint8_t *p = msg;
    memcpy(p, SEAL_SESSION_KEY_DOMAIN, sizeof SEAL_SESSION_KEY_DOMAIN);
    p += sizeof SEAL_SESSION_KEY_DOMAIN;
    memcpy(p, vault_id, 32);
    p += 32;
    memcpy(p, session_pk, 32);
    p += 32;
    proto_put_be64(p, (uint64_t)expires_at);
}

size_t seal_attest_reply_message(const uint8_t nonce[32], const uint8_t eph_pk[32],
                                 const uint8_t session_pk[32], const char *name, size_t name_len,
                                 int64_t expires_at, const seal_state *st,
                                 int64_t session_key_expires_at, const char *token,
                                 size_t token_len, uint8_t *msg)
{
    uint8_t *p = msg;
    memcpy(p, SEAL_ATTEST_REPLY_DOMAIN, sizeof SEAL_ATTEST_REPLY_DOMAIN);
    p += sizeof SEAL_ATTEST_REPLY_DOMAIN;
    memcpy(p, st->vault_id, 32);
    p += 32;
    memcpy(p, nonce, 32);
    p += 32;
    memcpy(p, eph_pk, 32);
    p += 32;
    memcpy(p, session_pk, 32);
    p += 32;
    proto_put_be32(p, (uint32_t)name_len);
    p += 4;
    memcpy(p, name, name_len);
    p += name_len;
    proto_put_be64(p, (uint64_t)expires_at);
    p += 8;
    proto_put_be64(p, st->state_version);
    p += 8;
    proto_put_be64(p, st->audit_seq);
    p += 8;
    memcpy(p, st->audit_head, 32);
    p += 32;
    proto_put_be64(p, (uint64_t)session_key_expires_at);
    p += 8;
    proto_put_be32(p, (uint32_t)token_len);
    p += 4;
    memcpy(p, token, token_len);
    p += token_len;
    return (size_t)(p - msg);
}

void seal_attest_reply_mac(const uint8_t mac_key[32], const uint8_t *msg, size_t len,
                           uint8_t mac[SEAL_REPLY_MAC_LEN])
{
    crypto_generichash(mac, SEAL_REPLY_MAC_LEN, msg, len, mac_key, 32);
}

void seal_audit_at_message(const uint8_t vault_id[32], const uint8_t nonce[32], uint64_t seq,
                           uint32_t status, const uint8_t hash[32],
                           uint8_t msg[SEAL_AUDIT_AT_MSG_LEN])
{
    uint8_t *p = msg;
    memcpy(p, SEAL_AUDIT_AT_DOMAIN, sizeof SEAL_AUDIT_AT_DOMAIN);
    p += sizeof SEAL_AUDIT_AT_DOMAIN;
    memcpy(p, vault_id, 32);
    p += 32;
    memcpy(p, nonce, 32);
    p += 32;
    proto_put_be64(p, seq);
    p += 8;
    proto_put_be32(p, status);
    p += 4;
    memcpy(p, hash, 32);
}
