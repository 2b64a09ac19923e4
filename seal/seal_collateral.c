/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal_collateral: Intel DCAP collateral from operator-supplied files (never
 * fetched). Keeps the EXACT signed bytes of the tcbInfo / enclaveIdentity
 * values: from a PCS response body they are the raw span of the member value
 * (proto_json records it); from a dcap-qvl bundle they are the decoded JSON
 * string (the bundle carries the served text as a string).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto_json.h"
#include "seal_verify_int.h"

#define COLLATERAL_FILE_MAX (1u << 20)

void seal_collateral_free(seal_collateral *c)
{
    if (!c)
        return;
    free(c->tcb_info);
    free(c->qe_identity);
    free(c->tcb_chain);
    free(c->qe_chain);
    free(c->pck_crl);
    free(c->root_crl);
    free(c);
}

static int dup_bytes(const uint8_t *p, size_t n, uint8_t **out, size_t *out_len)
{
    uint8_t *d = malloc(n + 1);
    if (!d)
        return TV_ERR_NOMEM;
    if (n)
        memcpy(d, p, n);
    d[n] = 0;
    *out = d;
    *out_len = n;
    return 0;
}

static int read_file(const char *path, uint8_t **out, size_t *out_len)
{
    int r = TV_ERR_IO;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    uint8_t *d = NULL;
    size_t got = 0;
    if (fd < 0)
        return errno == ENOENT ? TV_ERR_NOT_FOUND : TV_ERR_IO;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        goto out;
    if ((uint64_t)st.st_size > COLLATERAL_FILE_MAX) {
        r = TV_ERR_TOO_LARGE;
        goto out;
    }
    if (!(d = malloc((size_t)st.st_size + 1))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t k = read(fd, d + got, (size_t)st.st_size - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            goto out;
        got += (size_t)k;
    }
    d[got] = 0;
    *out = d;
    *out_len = got;
    d = NULL;
    r = 0;
out:
    free(d);
    close(fd);
    return r;
}

/* {"<member>":{…},"signature":"<hex 64 B>"} → exact bytes + signature. */
static int parse_response(const uint8_t *body, size_t len, const char *member, uint8_t **signed_out,
                          size_t *signed_len, uint8_t sig[64])
{
    int r = TV_ERR_FORMAT;
    proto_json *doc = NULL;
    const uint8_t *sp;
    size_t sn;
    int m;
    if ((r = proto_json_parse(body, len, 0, &doc)) < 0)
        return r == TV_ERR_NOMEM ? r : TV_ERR_FORMAT;
    r = TV_ERR_FORMAT;
    m = proto_json_get(doc, 0, member);
    if (proto_json_type_of(doc, m) != PROTO_JSON_OBJECT)
        goto out;
    if (proto_json_hex(doc, proto_json_get(doc, 0, "signature"), sig, 64) < 0)
        goto out;
    if (proto_json_span(doc, m, &sp, &sn) < 0)
        goto out;
    r = dup_bytes(sp, sn, signed_out, signed_len);
out:
    proto_json_free(doc);
    return r;
}

static int hex_decode_alloc(const proto_json *doc, int idx, uint8_t **out, size_t *out_len)
{
    const proto_json_node *nd = proto_json_node_at(doc, idx);
    size_t n;
    uint8_t *d;
    int r;
    if (!nd || nd->type != PROTO_JSON_STRING || (nd->len - 2) % 2 != 0 || nd->len <= 2)
        return TV_ERR_FORMAT;
    n = (nd->len - 2) / 2;
    if (!(d = malloc(n)))
        return TV_ERR_NOMEM;
    if ((r = proto_json_hex(doc, idx, d, n)) < 0) {
        free(d);
        return TV_ERR_FORMAT;
    }
    *out = d;
    *out_len = n;
    return 0;
}

static int string_alloc(const proto_json *doc, int idx, uint8_t **out, size_t *out_len)
{
    char *s = NULL;
    size_t n = 0;
    int r = proto_json_string_dup(doc, idx, &s, &n);
    if (r < 0)
        return r == TV_ERR_NOMEM ? r : TV_ERR_FORMAT;
    *out = (uint8_t *)s;
    *out_len = n;
    return 0;
}

int seal_collateral_from_bundle(const uint8_t *json, size_t len, seal_collateral **out)
{
    int r = TV_ERR_FORMAT;
    proto_json *doc = NULL;
    seal_collateral *c = NULL;

    if (len > COLLATERAL_FILE_MAX)
        return TV_ERR_TOO_LARGE;
    if ((r = proto_json_parse(json, len, 0, &doc)) < 0)
        return r == TV_ERR_NOMEM ? r : TV_ERR_FORMAT;
    if (proto_json_type_of(doc, 0) != PROTO_JSON_OBJECT) {
        r = TV_ERR_FORMAT;
        goto out;
    }
    if (!(c = calloc(1, sizeof(*c)))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    if ((r = string_alloc(doc, proto_json_get(doc, 0, "tcb_info"), &c->tcb_info,
                          &c->tcb_info_len)) < 0 ||
        (r = string_alloc(doc, proto_json_get(doc, 0, "qe_identity"), &c->qe_identity,
                          &c->qe_identity_len)) < 0 ||
        (r = string_alloc(doc, proto_json_get(doc, 0, "tcb_info_issuer_chain"), &c->tcb_chain,
                          &c->tcb_chain_len)) < 0 ||
        (r = string_alloc(doc, proto_json_get(doc, 0, "qe_identity_issuer_chain"), &c->qe_chain,
                          &c->qe_chain_len)) < 0 ||
        (r = hex_decode_alloc(doc, proto_json_get(doc, 0, "pck_crl"), &c->pck_crl,
                              &c->pck_crl_len)) < 0)
        goto out;
    if (proto_json_get(doc, 0, "root_ca_crl") != PROTO_JSON_NONE &&
        (r = hex_decode_alloc(doc, proto_json_get(doc, 0, "root_ca_crl"), &c->root_crl,
                              &c->root_crl_len)) < 0)
        goto out;
    if (proto_json_hex(doc, proto_json_get(doc, 0, "tcb_info_signature"), c->tcb_info_sig, 64) <
            0 ||
        proto_json_hex(doc, proto_json_get(doc, 0, "qe_identity_signature"), c->qe_identity_sig,
                       64) < 0) {
        r = TV_ERR_FORMAT;
        goto out;
    }
    *out = c;
    c = NULL;
    r = 0;
out:
    seal_collateral_free(c);
    proto_json_free(doc);
    return r;
}

int seal_collateral_from_parts(const uint8_t *tcb_info_resp, size_t tcb_info_len,
                               const uint8_t *qe_id_resp, size_t qe_id_len,
                               const uint8_t *signing_chain_pem, size_t chain_len,
                               const uint8_t *pck_crl, size_t pck_crl_len, const uint8_t *root_crl,
                               size_t root_crl_len, seal_collateral **out)
{
    int r = TV_ERR_INTERNAL;
    seal_collateral *c = calloc(1, sizeof(*c));
    if (!c)
        return TV_ERR_NOMEM;
    if (!tcb_info_resp || !qe_id_resp || !signing_chain_pem || !pck_crl) {
        r = TV_ERR_INVALID;
        goto out;
    }
    if ((r = parse_response(tcb_info_resp, tcb_info_len, "tcbInfo", &c->tcb_info, &c->tcb_info_len,
                            c->tcb_info_sig)) < 0 ||
        (r = parse_response(qe_id_resp, qe_id_len, "enclaveIdentity", &c->qe_identity,
                            &c->qe_identity_len, c->qe_identity_sig)) < 0 ||
        (r = dup_bytes(signing_chain_pem, chain_len, &c->tcb_chain, &c->tcb_chain_len)) < 0 ||
        (r = dup_bytes(pck_crl, pck_crl_len, &c->pck_crl, &c->pck_crl_len)) < 0)
        goto out;
    if (root_crl && (r = dup_bytes(root_crl, root_crl_len, &c->root_crl, &c->root_crl_len)) < 0)
        goto out;
    *out = c;
    c = NULL;
    r = 0;
out:
    seal_collateral_free(c);
    return r;
}

int seal_collateral_load_dir(const char *dir, seal_collateral **out)
{
    static const char *names[5] = {"tcb_info.json", "qe_identity.json", "tcb_signing_chain.pem",
                                   "pck_crl.der", "root_crl.der"};
    uint8_t *d[5] = {NULL};
    size_t n[5] = {0};
    int r = TV_ERR_INTERNAL;
    char path[4096];
    for (int i = 0; i < 5; i++) {
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= sizeof(path)) {
            r = TV_ERR_INVALID;
            goto out;
        }
        r = read_file(path, &d[i], &n[i]);
        if (r == TV_ERR_NOT_FOUND && i == 4)
            continue; /* root CRL is optional */
        if (r < 0) {
            if (r == TV_ERR_NOT_FOUND)
                r = TV_ERR_IO;
            goto out;
        }
    }
    r = seal_collateral_from_parts(d[0], n[0], d[1], n[1], d[2], n[2], d[3], n[3], d[4], n[4], out);
out:
    for (int i = 0; i < 5; i++)
        free(d[i]);
    return r;
}

int seal_collateral_load(const char *path, seal_collateral **out)
{
    struct stat st;
    uint8_t *d = NULL;
    size_t n = 0;
    int r;
    if (stat(path, &st) != 0)
        return TV_ERR_IO;
    if (S_ISDIR(st.st_mode))
        return seal_collateral_load_dir(path, out);
    if ((r = read_file(path, &d, &n)) < 0)
        return r == TV_ERR_NOT_FOUND ? TV_ERR_IO : r;
    r = seal_collateral_from_bundle(d, n, out);
    free(d);
    return r;
}

int seal_collateral_check_json(const uint8_t *json, size_t len)
{
    seal_collateral *c = NULL;
    int r;
    /* Try every shape the verifiers accept. */
    if (seal_collateral_from_bundle(json, len, &c) == 0) {
        seal_collateral_free(c);
        return 0;
    }
    {
        uint8_t *s = NULL;
        size_t sn = 0;
        uint8_t sig[64];
        seal_tcb_info *ti = malloc(sizeof(*ti));
        seal_qe_identity *qi = malloc(sizeof(*qi));
        r = TV_ERR_FORMAT;
        if (ti && qi) {
            if (parse_response(json, len, "tcbInfo", &s, &sn, sig) == 0) {
                r = seal_tcb_info_parse(s, sn, ti);
            } else if (parse_response(json, len, "enclaveIdentity", &s, &sn, sig) == 0) {
                r = seal_qe_identity_parse(s, sn, qi);
            } else {
                /* raw tcbInfo / enclaveIdentity objects */
                r = seal_tcb_info_parse(json, len, ti);
                if (r < 0)
                    r = seal_qe_identity_parse(json, len, qi);
            }
        } else {
            r = TV_ERR_NOMEM;
        }
        free(s);
        free(ti);
        free(qi);
        return r;
    }
}
