/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for vault_witness's checkpoint lines (the parser is fed by a
 * witness the host may control): round trip, and malformed lines refused.
 * The witnesses themselves run against the real daemon in
 * tests/integration/test_witness.sh.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "tv_test.h"
#include "vault_witness.h"

int main(void)
{
    seal_state st, got;
    uint8_t pk[32], sig[64], pk2[32], sig2[64];
    char line[VAULT_CKPT_LINE_MAX], bad[VAULT_CKPT_LINE_MAX * 2];

    memset(&st, 0, sizeof st);
    randombytes_buf(st.vault_id, 32);
    randombytes_buf(st.audit_head, 32);
    randombytes_buf(pk, 32);
    randombytes_buf(sig, 64);
    st.state_version = 123456789012ull;
    st.audit_seq = 42;
    CHECK_EQ_INT(vault_ckpt_format(&st, pk, sig, 1764870000, line, sizeof line), 0);
    CHECK(strncmp(line, "teevault-checkpoint-v1 ", 23) == 0);
    CHECK_EQ_INT(vault_ckpt_parse(line, &got, pk2, sig2), 0);
    CHECK(memcmp(&st, &got, sizeof st) == 0 && memcmp(pk, pk2, 32) == 0 &&
          memcmp(sig, sig2, 64) == 0);
    /* Too small a buffer: refused, not truncated. */
    CHECK_EQ_INT(vault_ckpt_format(&st, pk, sig, 0, bad, 100), TV_ERR_TOO_LARGE);

    /* Malformed: other magic, a missing field, an extra field, bad hex,
     * short hex, a sign, overlong. */
    snprintf(bad, sizeof bad, "teevault-checkpoint-v2%s", line + 22);
    CHECK_EQ_INT(vault_ckpt_parse(bad, &got, pk2, sig2), TV_ERR_FORMAT);
    snprintf(bad, sizeof bad, "%.*s", (int)(strrchr(line, ' ') - line), line);
    CHECK_EQ_INT(vault_ckpt_parse(bad, &got, pk2, sig2), TV_ERR_FORMAT);
    snprintf(bad, sizeof bad, "%.*s extra\n", (int)strlen(line) - 1, line);
    CHECK_EQ_INT(vault_ckpt_parse(bad, &got, pk2, sig2), TV_ERR_FORMAT);
    snprintf(bad, sizeof bad, "%s", line);
    bad[30] = 'z';
    CHECK_EQ_INT(vault_ckpt_parse(bad, &got, pk2, sig2), TV_ERR_FORMAT);
    snprintf(bad, sizeof bad, "%s", line);
    memmove(bad + 30, bad + 31, strlen(bad + 31) + 1); /* vault id 63 hex digits */
    CHECK_EQ_INT(vault_ckpt_parse(bad, &got, pk2, sig2), TV_ERR_FORMAT);
    memset(bad, 'a', sizeof bad - 1);
    bad[sizeof bad - 1] = 0;
    CHECK_EQ_INT(vault_ckpt_parse(bad, &got, pk2, sig2), TV_ERR_FORMAT);
    CHECK_EQ_INT(vault_ckpt_parse("", &got, pk2, sig2), TV_ERR_FORMAT);
    /* A signed or overlong number, two spaces, upper-case hex. */
    {
        char id[65], h[65], k[65], sg[129];
        sodium_bin2hex(id, sizeof id, st.vault_id, 32);
        sodium_bin2hex(h, sizeof h, st.audit_head, 32);
        sodium_bin2hex(k, sizeof k, pk, 32);
        sodium_bin2hex(sg, sizeof sg, sig, 64);
        snprintf(bad, sizeof bad, "teevault-checkpoint-v1 %s -7 1 %s %s 0 %s\n", id, h, k, sg);
        CHECK_EQ_INT(vault_ckpt_parse(bad, &got, pk2, sig2), TV_ERR_FORMAT);
        snprintf(bad, sizeof bad, "teevault-checkpoint-v1 %s 99999999999999999999 1 %s %s 0 %s\n",
                 id, h, k, sg);
        CHECK_EQ_INT(vault_ckpt_parse(bad, &got, pk2, sig2), TV_ERR_FORMAT);
        snprintf(bad, sizeof bad, "teevault-checkpoint-v1 %s 7  1 %s %s 0 %s\n", id, h, k, sg);
        CHECK_EQ_INT(vault_ckpt_parse(bad, &got, pk2, sig2), TV_ERR_FORMAT);
        id[0] = 'A';
        snprintf(bad, sizeof bad, "teevault-checkpoint-v1 %s 7 1 %s %s 0 %s\n", id, h, k, sg);
        CHECK_EQ_INT(vault_ckpt_parse(bad, &got, pk2, sig2), TV_ERR_FORMAT);
        id[0] = 'a';
        snprintf(bad, sizeof bad, "teevault-checkpoint-v1 %s 7 1 %s %s 0 %s\n", id, h, k, sg);
        CHECK_EQ_INT(vault_ckpt_parse(bad, &got, pk2, sig2), 0);
    }
    return tv_test_finish();
}
