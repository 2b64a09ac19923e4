/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_web and proto_pbjson: the gRPC/Connect codecs and the proto3 JSON
 * mapping, on real descriptors (proto/teevault.proto).
 */
#include <string.h>

#include "proto_pbjson.h"
#include "teevault.pb-c.h"
#include "tv_test.h"
#include "vault_h1.h"
#include "vault_web.h"

static void test_grpc_timeout(void)
{
    CHECK_EQ_INT(vault_web_grpc_timeout_us("100m"), 100000);
    CHECK_EQ_INT(vault_web_grpc_timeout_us("5S"), 5000000);
    CHECK_EQ_INT(vault_web_grpc_timeout_us("2M"), 120000000);
    CHECK_EQ_INT(vault_web_grpc_timeout_us("1H"), 3600000000LL);
    CHECK_EQ_INT(vault_web_grpc_timeout_us("7u"), 7);
    CHECK_EQ_INT(vault_web_grpc_timeout_us("999n"), 1);       /* rounds up to 1 us */
    CHECK_EQ_INT(vault_web_grpc_timeout_us("123456789S"), 0); /* 9 digits */
    CHECK_EQ_INT(vault_web_grpc_timeout_us("S"), 0);
    CHECK_EQ_INT(vault_web_grpc_timeout_us("10x"), 0);
    CHECK_EQ_INT(vault_web_grpc_timeout_us("10mm"), 0);
    CHECK_EQ_INT(vault_web_grpc_timeout_us(NULL), 0);
}

static void test_connect_codes(void)
{
    int h = 0;
    CHECK(!strcmp(vault_web_connect_code(5, &h), "not_found") && h == 404);
    CHECK(!strcmp(vault_web_connect_code(16, &h), "unauthenticated") && h == 401);
    CHECK(!strcmp(vault_web_connect_code(7, &h), "permission_denied") && h == 403);
    CHECK(!strcmp(vault_web_connect_code(8, &h), "resource_exhausted") && h == 429);
    CHECK(!strcmp(vault_web_connect_code(99, &h), "unknown") && h == 500);
}

static int to_wire(const ProtobufCMessageDescriptor *d, const char *json, proto_buf *out, char *err)
{
    proto_buf_reset(out);
    return proto_pbjson_to_wire(d, (const uint8_t *)json, strlen(json), out, err, 200);
}

static void test_json_in(void)
{
    proto_buf w;
    char err[200];
    proto_buf_init(&w, 0);

    /* camelCase and proto names, uint64 as string or number, base64. */
    CHECK_EQ_INT(to_wire(&teevault__v1__put_request__descriptor,
                         "{\"name\":\"a/b\",\"value\":\"aGk=\",\"casSet\":true,\"cas\":\"7\","
                         "\"max_versions\":3}",
                         &w, err),
                 0);
    Teevault__V1__PutRequest *p = teevault__v1__put_request__unpack(NULL, w.len, w.d);
    CHECK(p && !strcmp(p->name, "a/b") && p->value.len == 2 && !memcmp(p->value.data, "hi", 2) &&
          p->cas_set && p->cas == 7 && p->max_versions == 3);
    teevault__v1__put_request__free_unpacked(p, NULL);
    /* URL-safe, unpadded base64; the largest uint64. */
    CHECK_EQ_INT(to_wire(&teevault__v1__put_request__descriptor,
                         "{\"value\":\"-_8\",\"cas\":18446744073709551615}", &w, err),
                 0);
    p = teevault__v1__put_request__unpack(NULL, w.len, w.d);
    CHECK(p && p->value.len == 2 && p->value.data[0] == 0xfb && p->value.data[1] == 0xff &&
          p->cas == UINT64_MAX);
    teevault__v1__put_request__free_unpacked(p, NULL);
    /* Repeated uint64 given as numbers and strings; null is the default. */
    CHECK_EQ_INT(to_wire(&teevault__v1__versions_request__descriptor,
                         "{\"name\":null,\"versions\":[1,\"2\",3]}", &w, err),
                 0);
    Teevault__V1__VersionsRequest *v = teevault__v1__versions_request__unpack(NULL, w.len, w.d);
    CHECK(v && v->n_versions == 3 && v->versions[1] == 2 && (!v->name || !*v->name));
    teevault__v1__versions_request__free_unpacked(v, NULL);

    /* Refusals say which field. */
    CHECK_EQ_INT(to_wire(&teevault__v1__get_request__descriptor, "{\"nmae\":\"x\"}", &w, err),
                 TV_ERR_INVALID);
    CHECK(strstr(err, "nmae") != NULL);
    CHECK_EQ_INT(to_wire(&teevault__v1__get_request__descriptor, "{\"version\":-1}", &w, err),
                 TV_ERR_INVALID);
    CHECK(strstr(err, "version") != NULL);
    CHECK_EQ_INT(to_wire(&teevault__v1__get_request__descriptor,
                         "{\"version\":\"18446744073709551616\"}", &w, err),
                 TV_ERR_INVALID);
    CHECK_EQ_INT(to_wire(&teevault__v1__get_request__descriptor, "{\"version\":1.5}", &w, err),
                 TV_ERR_INVALID);
    CHECK_EQ_INT(to_wire(&teevault__v1__put_request__descriptor, "{\"value\":\"a*b\"}", &w, err),
                 TV_ERR_INVALID);
    CHECK(strstr(err, "base64") != NULL);
    CHECK_EQ_INT(to_wire(&teevault__v1__put_request__descriptor, "{\"name\":1}", &w, err),
                 TV_ERR_INVALID);
    CHECK_EQ_INT(
        to_wire(&teevault__v1__put_request__descriptor, "{\"name\":\"a\",\"name\":\"b\"}", &w, err),
        TV_ERR_INVALID);
    CHECK_EQ_INT(
        to_wire(&teevault__v1__put_request__descriptor, "{\"cas\":\"1\",\"cas\":2}", &w, err),
        TV_ERR_INVALID);
    CHECK_EQ_INT(to_wire(&teevault__v1__put_request__descriptor, "[1]", &w, err), TV_ERR_INVALID);
    CHECK_EQ_INT(to_wire(&teevault__v1__put_request__descriptor, "{", &w, err), TV_ERR_INVALID);
    proto_buf_free(&w);
}

static void test_json_out(void)
{
    Teevault__V1__GetResponse g;
    proto_buf o;
    uint8_t val[3] = {0xff, 0x00, 'x'};
    teevault__v1__get_response__init(&g);
    g.name = "a\"b\n";
    g.version = 12;
    g.value.data = val;
    g.value.len = 3;
    proto_buf_init(&o, 0);
    CHECK_EQ_INT(proto_pbjson_from_msg(&g.base, &o), 0);
    const char *want = "{\"name\":\"a\\\"b\\u000a\",\"version\":\"12\",\"value\":\"/wB4\"}";
    CHECK(o.len == strlen(want) && !memcmp(o.d, want, o.len));
    /* Defaults are omitted. */
    proto_buf_reset(&o);
    teevault__v1__get_response__init(&g);
    CHECK_EQ_INT(proto_pbjson_from_msg(&g.base, &o), 0);
    CHECK(o.len == 2 && !memcmp(o.d, "{}", 2));
    proto_buf_free(&o);
}

static void test_web_parse(void)
{
    vault_md h[2] = {{"content-type", "application/grpc"}, {"grpc-timeout", "5S"}};
    uint8_t body[16] = {0, 0, 0, 0, 3, 0x0a, 1, 'x'};
    vault_http_req rq = {.id = 1,
                         .method = "POST",
                         .path = "/teevault.v1.Secrets/Get",
                         .hdrs = h,
                         .n_hdrs = 2,
                         .body = body,
                         .body_len = 8};
    vault_web_call wc;
    vault_web_parse(&rq, 1, &wc);
    CHECK(wc.kind == VAULT_WEB_GRPC && wc.err == 0 && wc.m && wc.payload.len == 3 &&
          wc.deadline_us > 0);
    vault_web_call_free(&wc);
    /* gRPC over HTTP/1.1 is refused; a second message in the body too. */
    vault_web_parse(&rq, 0, &wc);
    CHECK(wc.err == TV_ERR_UNIMPLEMENTED && wc.http_status == 415);
    vault_web_call_free(&wc);
    rq.body_len = 9;
    vault_web_parse(&rq, 1, &wc);
    CHECK(wc.err == TV_ERR_INVALID);
    vault_web_call_free(&wc);
    /* Compressed: unimplemented. */
    vault_md hz[2] = {{"content-type", "application/grpc"}, {"grpc-encoding", "gzip"}};
    body[0] = 1;
    rq.hdrs = hz;
    rq.body_len = 8;
    vault_web_parse(&rq, 1, &wc);
    CHECK(wc.err == TV_ERR_UNIMPLEMENTED);
    vault_web_call_free(&wc);
    /* Connect JSON: GET is 405, an unknown path 404. */
    vault_md hj[1] = {{"content-type", "application/json; charset=utf-8"}};
    rq.hdrs = hj;
    rq.n_hdrs = 1;
    rq.body = (const uint8_t *)"{\"name\":\"x\"}";
    rq.body_len = 12;
    vault_web_parse(&rq, 0, &wc);
    CHECK(wc.kind == VAULT_WEB_CONNECT_JSON && wc.err == 0 && wc.payload.len == 3);
    vault_web_call_free(&wc);
    rq.method = "GET";
    vault_web_parse(&rq, 0, &wc);
    CHECK(wc.err < 0 && wc.http_status == 405);
    vault_web_call_free(&wc);
    rq.method = "POST";
    rq.path = "/teevault.v1.Secrets/Nope";
    vault_web_parse(&rq, 0, &wc);
    CHECK(wc.err == TV_ERR_UNIMPLEMENTED && wc.http_status == 404);
    vault_web_call_free(&wc);
}

static void test_h1_parser(void)
{
    vault_h1 p;
    size_t used;
    const char *two = "POST /a HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}"
                      "POST /b HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n";
    vault_h1_init(&p, 1024);
    CHECK_EQ_INT(vault_h1_parse(&p, (const uint8_t *)two, strlen(two), &used), VAULT_H1_READY);
    vault_http_req rq;
    vault_h1_request(&p, &rq);
    CHECK(!strcmp(rq.path, "/a") && rq.body_len == 2 && p.keep_alive);
    size_t off = used;
    vault_h1_next(&p);
    CHECK_EQ_INT(vault_h1_parse(&p, (const uint8_t *)two + off, strlen(two) - off, &used),
                 VAULT_H1_READY);
    vault_h1_request(&p, &rq);
    CHECK(!strcmp(rq.path, "/b") && rq.body_len == 1 && rq.body[0] == 'x');
    CHECK_EQ_INT(off + used, strlen(two));
    vault_h1_next(&p);
    /* Content-Length over the cap is refused before the body arrives. */
    const char *big = "POST /a HTTP/1.1\r\ncontent-length: 2048\r\n\r\n";
    CHECK_EQ_INT(vault_h1_parse(&p, (const uint8_t *)big, strlen(big), &used), TV_ERR_TOO_LARGE);
    CHECK_EQ_INT(p.err_status, 413);
    vault_h1_free(&p);
}

int main(void)
{
    RUN(test_grpc_timeout);
    RUN(test_connect_codes);
    RUN(test_json_in);
    RUN(test_json_out);
    RUN(test_web_parse);
    RUN(test_h1_parser);
    return tv_test_finish();
}
