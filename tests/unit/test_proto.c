/* SPDX-License-Identifier: Apache-2.0 */
#include "tv_test.h"

#include <stdint.h>
#include <string.h>

#include "proto_addr.h"
#include "proto_buf.h"
#include "tv_err.h"
#include "vault.h"

static void test_buf_bounds(void)
{
    proto_buf b;
    proto_buf_init(&b, 16);
    CHECK_EQ_INT(proto_buf_put_u32(&b, 0xdeadbeef), TV_OK);
    CHECK_EQ_INT(proto_buf_put_lv(&b, "abc", 3), TV_OK);
    /* 4 + 7 = 11 bytes used; 8 more exceed the 16-byte limit. */
    CHECK_EQ_INT(proto_buf_put_u64(&b, 1), TV_ERR_TOO_LARGE);
    uint32_t v = 0;
    CHECK_EQ_INT(proto_buf_get_u32(&b, &v), TV_OK);
    CHECK_EQ_INT(v, 0xdeadbeef);
    const uint8_t *p;
    size_t n;
    CHECK_EQ_INT(proto_buf_get_lv(&b, &p, &n), TV_OK);
    CHECK(n == 3 && memcmp(p, "abc", 3) == 0);
    CHECK_EQ_INT(proto_buf_get_u8(&b, (uint8_t *)&v), TV_ERR_PROTOCOL);
    proto_buf_free(&b);
}

static void test_buf_lv_overrun(void)
{
    /* A length prefix claiming more than is there must not be honoured. */
    const uint8_t evil[] = {0xff, 0xff, 0xff, 0xf0, 'x'};
    proto_buf b;
    proto_buf_wrap(&b, evil, sizeof(evil));
    const uint8_t *p = NULL;
    size_t n = 0;
    CHECK_EQ_INT(proto_buf_get_lv(&b, &p, &n), TV_ERR_PROTOCOL);
    CHECK(p == NULL && n == 0 && b.off == 0);
    proto_buf_free(&b);
}

static void test_quote(void)
{
    char q[32];
    vault_quote(q, sizeof(q), "a\x1b[2Jb\"", 7);
    CHECK(strcmp(q, "\"a\\x1b[2Jb\\\"\"") == 0);
    char big[600];
    memset(big, 'A', sizeof(big));
    vault_quote(q, sizeof(q), big, sizeof(big));
    CHECK(strlen(q) < sizeof(q));
    CHECK(strstr(q, "...") != NULL);
}

static void test_errors(void)
{
    for (int e = 0; e >= TV_ERR_MIN; e--) {
        CHECK(strcmp(tv_strerror(e), "unknown error") != 0);
        CHECK(tv_err_to_grpc(e) >= 0 && tv_err_to_grpc(e) <= 16);
    }
    CHECK_EQ_INT(tv_err_to_grpc(TV_ERR_NOT_FOUND), 5);
    CHECK_EQ_INT(tv_err_from_grpc(16), TV_ERR_UNAUTHENTICATED);
}

/* proto_split_hostport: the one HOST:PORT parser (tcp_address, [metrics]
 * listen, tls:// addresses). */
static void test_hostport(void)
{
    char h[16], p[8];
    CHECK_EQ_INT(proto_split_hostport("127.0.0.1:9100", 0, h, sizeof h, p, sizeof p), 0);
    CHECK(!strcmp(h, "127.0.0.1") && !strcmp(p, "9100"));
    CHECK_EQ_INT(proto_split_hostport("[::1]:8200", 0, h, sizeof h, p, sizeof p), 0);
    CHECK(!strcmp(h, "::1") && !strcmp(p, "8200"));
    CHECK_EQ_INT(proto_split_hostport("vault.example:65535", 0, h, sizeof h, p, sizeof p), 0);
    /* An empty host only where the caller listens on every address. */
    CHECK_EQ_INT(proto_split_hostport(":8200", 0, h, sizeof h, p, sizeof p), TV_ERR_INVALID);
    CHECK_EQ_INT(proto_split_hostport(":8200", 1, h, sizeof h, p, sizeof p), 0);
    CHECK(h[0] == 0 && !strcmp(p, "8200"));
    /* Refused, and the outputs left alone. */
    strcpy(h, "keep");
    static const char *const bad[] = {
        "8200",      "host:",       "host:65536",
        "host:80a",  "host:-1",     "[::1]8200",
        "[::1:8200", "host:123456", "a-very-long-host-name:1",
        "",          "host: 80",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(proto_split_hostport(bad[i], 1, h, sizeof h, p, sizeof p), TV_ERR_INVALID);
    CHECK(!strcmp(h, "keep"));
    CHECK_EQ_INT(proto_split_hostport(NULL, 1, h, sizeof h, p, sizeof p), TV_ERR_INVALID);
}

int main(void)
{
    RUN(test_buf_bounds);
    RUN(test_buf_lv_overrun);
    RUN(test_quote);
    RUN(test_errors);
    RUN(test_hostport);
    return tv_test_finish();
}
