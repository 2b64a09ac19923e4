/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tv_conn against a scripted fake ttrpc server on a Unix socket (a thread
 * using proto_frame): stream ids odd and increasing, bearer metadata, status
 * mapping, the pre-auth Health before large requests, and every transport
 * failure (refused, closed mid-call, wrong stream id, garbage, timeout).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto_frame.h"
#include "teevault.pb-c.h"
#include "../../client/tv_conn.h" /* private transport header */
#include "tv_test.h"

enum action {
    A_OK,         /* HealthResponse{ok, state="active"} */
    A_ERROR,      /* status 7 "nope" */
    A_CLOSE,      /* close without replying */
    A_WRONG_SID,  /* reply on another stream id */
    A_GARBAGE,    /* OK status, payload that is not a HealthResponse */
    A_SILENT,     /* never reply (client times out) */
    A_BAD_HEADER, /* reply with a response of type 1 */
};

#define MAX_REQ 16

static struct fake {
    char path[108];
    int lfd;
    enum action script[MAX_REQ];
    int n_script;
    /* What the server saw. */
    uint32_t sids[MAX_REQ];
    char methods[MAX_REQ][32];
    char auth[MAX_REQ][128];
    size_t sizes[MAX_REQ];
    int n_seen;
} F;

static void send_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void *fake_server(void *arg)
{
    (void)arg;
    int fd = accept(F.lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    proto_frame_reader rd;
    proto_frame_reader_init(&rd, PROTO_FRAME_REQUEST, PROTO_FRAME_MAX);
    uint8_t buf[65536];
    int done = 0;
    while (!done && F.n_seen < F.n_script) {
        ssize_t g = recv(fd, buf, sizeof(buf), 0);
        if (g <= 0)
            break;
        size_t off = 0;
        while (off < (size_t)g && !done) {
            size_t used = 0;
            int st = proto_frame_read(&rd, buf + off, (size_t)g - off, &used);
            off += used;
            if (st < 0) {
                done = 1;
                break;
            }
            if (st != PROTO_FRAME_READY)
                continue;
            uint32_t sid = proto_frame_header(&rd)->stream_id;
            Ttrpc__Request *rq =
                ttrpc__request__unpack(NULL, proto_frame_body_len(&rd), proto_frame_body(&rd));
            int i = F.n_seen++;
            F.sids[i] = sid;
            F.sizes[i] = proto_frame_body_len(&rd);
            if (rq) {
                snprintf(F.methods[i], sizeof(F.methods[i]), "%s", rq->method);
                for (size_t k = 0; k < rq->n_metadata; k++)
                    if (!strcmp(rq->metadata[k]->key, "authorization"))
                        snprintf(F.auth[i], sizeof(F.auth[i]), "%s", rq->metadata[k]->value);
                ttrpc__request__free_unpacked(rq, NULL);
            }
            proto_frame_next(&rd);

            proto_buf out;
            proto_buf_init(&out, 0);
            Teevault__V1__HealthResponse h;
            teevault__v1__health_response__init(&h);
            h.ok = 1;
            h.state = (char *)(uintptr_t) "active";
            uint8_t hb[64];
            size_t hn = protobuf_c_message_pack(&h.base, hb);
            int rc = 0;
            switch (F.script[i]) {
            case A_OK:
                rc = proto_frame_write_response(&out, sid, 0, NULL, hb, hn, 0);
                break;
            case A_ERROR:
                rc = proto_frame_write_response(&out, sid, 7, "nope", NULL, 0, 0);
                break;
            case A_WRONG_SID:
                rc = proto_frame_write_response(&out, sid + 2, 0, NULL, hb, hn, 0);
                break;
            case A_GARBAGE:
                rc = proto_frame_write_response(&out, sid, 0, NULL, (const uint8_t *)"\xff\xff", 2,
                                                0);
                break;
            case A_BAD_HEADER: {
                uint8_t hdr[PROTO_FRAME_HDR_LEN];
                proto_frame_hdr fh = {.length = 0, .stream_id = sid, .type = 1};
                proto_frame_encode_header(hdr, &fh);
                rc = proto_buf_put(&out, hdr, sizeof(hdr));
                break;
            }
            case A_CLOSE:
                done = 1;
                break;
            case A_SILENT:
                break;
            }
            if (rc == 0 && out.len)
                send_all(fd, out.d, out.len);
            proto_buf_free(&out);
        }
    }
    /* Let a silent case time out before closing. */
    if (F.n_script && F.script[F.n_seen ? F.n_seen - 1 : 0] == A_SILENT)
        usleep(600 * 1000);
    proto_frame_reader_free(&rd);
    close(fd);
    return NULL;
}

static pthread_t fake_start(const enum action *script, int n)
{
    struct sockaddr_un sun;
    pthread_t t;
    memset(&F.script, 0, sizeof(F.script));
    memcpy(F.script, script, sizeof(*script) * (size_t)n);
    F.n_script = n;
    F.n_seen = 0;
    memset(F.auth, 0, sizeof(F.auth));
    snprintf(F.path, sizeof(F.path), "/tmp/tv-test-conn.%d.sock", (int)getpid());
    unlink(F.path);
    F.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, F.path, strlen(F.path));
    if (bind(F.lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(F.lfd, 4) < 0) {
        perror("fake server");
        exit(1);
    }
    pthread_create(&t, NULL, fake_server, NULL);
    return t;
}

static void fake_stop(pthread_t t)
{
    pthread_join(t, NULL);
    close(F.lfd);
    unlink(F.path);
}

static tv_conn *open_fake(unsigned timeout_ms)
{
    char addr[128];
    tv_conn *c = NULL;
    tv_conn_opts o = {.timeout_ms = timeout_ms};
    snprintf(addr, sizeof(addr), "unix:%s", F.path);
    int r = tv_conn_open(addr, &o, &c);
    CHECK_EQ_INT(r, 0);
    return c;
}

static int health(tv_conn *c, int *grpc, char **msg, ProtobufCMessage **resp)
{
    Teevault__V1__Empty e;
    teevault__v1__empty__init(&e);
    return tv_conn_call(c, "teevault.v1.Sys", "Health", &e.base,
                        &teevault__v1__health_response__descriptor, resp, grpc, msg);
}

static void test_calls_and_ids(void)
{
    enum action s[] = {A_OK, A_ERROR, A_OK};
    pthread_t t = fake_start(s, 3);
    tv_conn *c = open_fake(0);
    int grpc = -5;
    char *msg = NULL;
    ProtobufCMessage *resp = NULL;

    CHECK_EQ_INT(health(c, &grpc, &msg, &resp), 0);
    CHECK_EQ_INT(grpc, 0);
    CHECK(resp != NULL);
    if (resp) {
        Teevault__V1__HealthResponse *h = (Teevault__V1__HealthResponse *)resp;
        CHECK(h->ok && !strcmp(h->state, "active"));
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    free(msg);
    /* A gRPC error is a response: returns 0, status and message set, no resp. */
    CHECK_EQ_INT(tv_conn_set_token(c, "tok123"), 0);
    resp = NULL;
    CHECK_EQ_INT(health(c, &grpc, &msg, &resp), 0);
    CHECK_EQ_INT(grpc, 7);
    CHECK(msg && !strcmp(msg, "nope"));
    CHECK(resp == NULL);
    free(msg);
    /* NULL status outputs are allowed. */
    CHECK_EQ_INT(health(c, NULL, NULL, &resp), 0);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    tv_conn_close(c);
    fake_stop(t);

    CHECK_EQ_INT(F.n_seen, 3);
    CHECK_EQ_INT(F.sids[0], 1);
    CHECK_EQ_INT(F.sids[1], 3);
    CHECK_EQ_INT(F.sids[2], 5);
    CHECK(F.auth[0][0] == '\0');
    CHECK(!strcmp(F.auth[1], "Bearer tok123"));
}

static void test_token_rules(void)
{
    enum action s[] = {A_OK};
    pthread_t t = fake_start(s, 1);
    tv_conn *c = open_fake(0);
    CHECK_EQ_INT(tv_conn_set_token(c, "has space"), TV_ERR_INVALID);
    CHECK_EQ_INT(tv_conn_set_token(c, "ctl\x01"), TV_ERR_INVALID);
    char *longtok = malloc(5000);
    memset(longtok, 'a', 4999);
    longtok[4999] = 0;
    CHECK_EQ_INT(tv_conn_set_token(c, longtok), TV_ERR_INVALID);
    free(longtok);
    CHECK_EQ_INT(tv_conn_set_token(c, "x"), 0);
    CHECK_EQ_INT(tv_conn_set_token(c, ""), 0); /* removes it */
    ProtobufCMessage *resp = NULL;
    CHECK_EQ_INT(health(c, NULL, NULL, &resp), 0);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    tv_conn_close(c);
    fake_stop(t);
    CHECK(F.auth[0][0] == '\0');
}

/* A request over 16 KiB with a token is preceded by a small Health with it. */
static void test_large_request_preauth(void)
{
    enum action s[] = {A_OK, A_OK, A_OK};
    pthread_t t = fake_start(s, 3);
    tv_conn *c = open_fake(0);
    Teevault__V1__PutRequest put;
    teevault__v1__put_request__init(&put);
    uint8_t *val = calloc(1, 64 * 1024);
    put.name = (char *)(uintptr_t) "big";
    put.value.data = val;
    put.value.len = 64 * 1024;
    CHECK_EQ_INT(tv_conn_set_token(c, "tok"), 0);
    ProtobufCMessage *resp = NULL;
    int grpc = -1;
    /* The fake answers with a HealthResponse; decoding it as one is fine. */
    CHECK_EQ_INT(tv_conn_call(c, "teevault.v1.Secrets", "Put", &put.base,
                              &teevault__v1__health_response__descriptor, &resp, &grpc, NULL),
                 0);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    /* Once per connection: the next large call goes straight out. */
    CHECK_EQ_INT(tv_conn_call(c, "teevault.v1.Secrets", "Put", &put.base,
                              &teevault__v1__health_response__descriptor, &resp, &grpc, NULL),
                 0);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    tv_conn_close(c);
    fake_stop(t);
    free(val);
    CHECK_EQ_INT(F.n_seen, 3);
    CHECK(!strcmp(F.methods[0], "Health"));
    CHECK(F.sizes[0] < PROTO_FRAME_PREAUTH_MAX);
    CHECK(!strcmp(F.methods[1], "Put"));
    CHECK(F.sizes[1] > 64 * 1024);
    CHECK(!strcmp(F.methods[2], "Put"));
}

static void expect_transport_error(enum action a, int want, unsigned timeout_ms)
{
    enum action s[] = {a};
    pthread_t t = fake_start(s, 1);
    tv_conn *c = open_fake(timeout_ms);
    int grpc = 0;
    char *msg = NULL;
    ProtobufCMessage *resp = NULL;
    CHECK_EQ_INT(health(c, &grpc, &msg, &resp), want);
    CHECK_EQ_INT(grpc, -1);
    CHECK(resp == NULL);
    free(msg);
    /* Dead afterwards. */
    CHECK_EQ_INT(health(c, &grpc, &msg, &resp), TV_ERR_UNAVAILABLE);
    free(msg);
    tv_conn_close(c);
    fake_stop(t);
}

static void test_transport_errors(void)
{
    expect_transport_error(A_CLOSE, TV_ERR_UNAVAILABLE, 0);
    expect_transport_error(A_WRONG_SID, TV_ERR_PROTOCOL, 0);
    expect_transport_error(A_GARBAGE, TV_ERR_PROTOCOL, 0);
    expect_transport_error(A_BAD_HEADER, TV_ERR_PROTOCOL, 0);
    expect_transport_error(A_SILENT, TV_ERR_TIMEOUT, 300);
}

static void test_open_errors(void)
{
    tv_conn *c = NULL;
    CHECK_EQ_INT(tv_conn_open("http://x", NULL, &c), TV_ERR_INVALID);
    CHECK_EQ_INT(tv_conn_open("unix:", NULL, &c), TV_ERR_INVALID);
    CHECK_EQ_INT(tv_conn_open("tls://nohostport", NULL, &c), TV_ERR_INVALID);
    CHECK_EQ_INT(tv_conn_open("tls://host:notaport", NULL, &c), TV_ERR_INVALID);
    CHECK_EQ_INT(tv_conn_open("unix:/nonexistent/tv.sock", NULL, &c), TV_ERR_UNAVAILABLE);
    CHECK(c == NULL);
}

int main(void)
{
    RUN(test_calls_and_ids);
    RUN(test_token_rules);
    RUN(test_large_request_preauth);
    RUN(test_transport_errors);
    RUN(test_open_errors);
    return tv_test_finish();
}
