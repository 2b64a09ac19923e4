/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attestation refusals through the real daemon: teevaultd --dev (sim) is
 * started from the build's bin directory, a function is registered with the
 * operator API, and a function runtime (libteevault + a sim seal backend on
 * the vault's sim platform dir) attests with hand-made evidence:
 *   good evidence → session → tv_secrets_get opens the sealed value;
 *   the same request again (replayed nonce), evidence binding another key,
 *   a debug sim report, a nonce the vault never issued, a session after its
 *   function was deleted → each refused with its reason, and every Attest
 *   call moves the audit head.
 * (Expired nonces and sessions need the clock: test_attest.c covers them.)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "seal.h"
#include "seal_producers.h"
#include "seal_sim_report.h"
#include "teevault.h"
#include "tv_test.h"

static char dir[256], sock[320], addr[330], plat[300], runtime[320], rtstate[320];
static pid_t daemon_pid = -1;
static uint8_t code[32];

static int wait_file(const char *p)
{
    for (int i = 0; i < 1000; i++) {
        struct stat st;
        if (stat(p, &st) == 0)
            return 0;
        if (waitpid(daemon_pid, NULL, WNOHANG) == daemon_pid)
            return -1;
        usleep(20000);
    }
    return -1;
}

static int start_daemon(void)
{
    char exe[4096], d[4200], tokp[400];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *sl;

    if (n <= 0)
        return -1;
    exe[n] = 0;
    if (!(sl = strrchr(exe, '/')))
        return -1;
    *sl = 0;
    snprintf(d, sizeof d, "%s/teevaultd", exe);
    if (access(d, X_OK) != 0)
        return 1; /* not built */
    snprintf(sock, sizeof sock, "%s/s.sock", dir);
    snprintf(addr, sizeof addr, "unix:%s", sock);
    snprintf(tokp, sizeof tokp, "%s/root-token", dir);
    daemon_pid = fork();
    if (daemon_pid < 0)
        return -1;
    if (daemon_pid == 0) {
        char logp[400];
        snprintf(logp, sizeof logp, "%s/daemon.log", dir);
        if (!freopen(logp, "w", stderr) || !freopen("/dev/null", "w", stdout))
            _exit(126);
        execl(d, d, "--dev", "--state-dir", dir, "--socket", sock, (char *)NULL);
        _exit(127);
    }
    return wait_file(sock) == 0 && wait_file(tokp) == 0 ? 0 : -1;
}

static int root_client(tv_client **c)
{
    char tokp[400], tok[256];
    FILE *f;
    size_t n;
    int r;

    snprintf(tokp, sizeof tokp, "%s/root-token", dir);
    if (!(f = fopen(tokp, "r")))
        return -1;
    n = fread(tok, 1, sizeof tok - 1, f);
    fclose(f);
    while (n && (tok[n - 1] == '\n' || tok[n - 1] == '\r'))
        n--;
    tok[n] = 0;
    if ((r = tv_client_open(addr, NULL, c)) < 0)
        return r;
    r = tv_client_set_token(*c, tok);
    sodium_memzero(tok, sizeof tok);
    return r;
}

/* Evidence from runtime b (or a debug report from the same platform). */
static int evidence(seal_backend *b, const uint8_t nonce[32], const char *name,
                    const uint8_t bind_pk[32], int debug, uint8_t **ev, size_t *len)
{
    uint8_t rd[64];
    const char *type;
    seal_identity id;

    seal_attest_binding(nonce, name, strlen(name), code, 32, bind_pk, rd);
    if (!debug)
        return b->ops->evidence(b, rd, ev, len, &type);
    if (seal_identity_get(b, &id) < 0)
        return -1;
    id.debug = 1;
    return seal_sim_report_produce(plat, &id, rd, ev, len);
}

static uint64_t audit_seq(tv_client *rc)
{
    uint64_t seq = 0;
    uint8_t head[32];
    if (tv_audit_head(rc, &seq, head) < 0)
        return 0;
    return seq;
}

static void test_refusals_live(void)
{
    tv_client *rc = NULL, *fc = NULL;
    tv_session *s = NULL, *s2 = NULL;
    seal_backend *b = NULL;
    seal_options so = {0};
    uint8_t nonce[32], pk[32], sk[32], pk2[32], sk2[32], meas[32], vid[32], vpk[32];
    uint8_t *ev = NULL, *val = NULL;
    size_t len = 0, vlen = 0;
    int64_t exp = 0;
    uint64_t ver = 0, seq0, seq1;
    char doc[300], mh[65], ch[65];
    char *acl[] = {"fa-read"};
    tv_function_info fi = {0};
    FILE *f;

    /* The operator side. */
    CHECK_EQ_INT(root_client(&rc), 0);
    if (!rc)
        return;
    f = fopen(runtime, "w");
    CHECK(f && fputs("runtime for the live test", f) >= 0);
    if (f)
        fclose(f);
    crypto_hash_sha256(meas, (const uint8_t *)"runtime for the live test", 25);
    sodium_bin2hex(mh, sizeof mh, meas, 32);
    sodium_bin2hex(ch, sizeof ch, code, 32);
    snprintf(doc, sizeof doc,
             "{\"evidence_type\":\"sim\",\"measurement\":\"%s\",\"code_hash\":\"%s\"}", mh, ch);
    fi.name = "fa";
    fi.policy = doc;
    fi.acl_policies = acl;
    fi.n_acl_policies = 1;
    CHECK_EQ_INT(
        tv_policy_write(rc, "fa-read", "path \"app/fa/*\" { capabilities = [\"read\"] }\n"), 0);
    CHECK_EQ_INT(tv_secret_put(rc, "app/fa/key", "value-a", 7, NULL, &ver), 0);
    CHECK_EQ_INT(tv_function_write(rc, &fi), 0);

    /* The runtime side. */
    mkdir(rtstate, 0700);
    so.backend = "sim";
    so.state_dir = rtstate;
    so.root = plat;
    so.sim_measurement_file = runtime;
    CHECK_EQ_INT(seal_backend_open(&so, &b), 0);
    CHECK_EQ_INT(tv_client_open(addr, NULL, &fc), 0);
    if (!b || !fc)
        goto out;
    crypto_box_keypair(pk, sk);
    crypto_box_keypair(pk2, sk2);

    /* The runtime checks the vault first: pinned sim platform key, and the
     * vault's measurement (SHA-256 of teevaultd) when pinned. */
    {
        tv_vault_verify_opts vo = {0};
        tv_vault_report rep;
        uint8_t ppk[32], other[32];
        CHECK_EQ_INT(seal_sim_platform_pubkey(plat, ppk), 0);
        vo.sim_pk = ppk;
        CHECK_EQ_INT(tv_attest_verify_vault(fc, &vo, &rep), 0);
        CHECK(strcmp(rep.type, "sim") == 0 && rep.measurement_len == 32 && !rep.debug);
        vo.measurement = rep.measurement;
        vo.measurement_len = 32;
        CHECK_EQ_INT(tv_attest_verify_vault(fc, &vo, &rep), 0);
        memcpy(other, rep.measurement, 32);
        other[0] ^= 1;
        vo.measurement = other;
        CHECK_EQ_INT(tv_attest_verify_vault(fc, &vo, &rep), TV_ERR_POLICY);
        vo.measurement = NULL;
        randombytes_buf(other, 32);
        vo.sim_pk = other;
        CHECK_EQ_INT(tv_attest_verify_vault(fc, &vo, &rep), TV_ERR_VERIFY);
        vo.sim_pk = NULL;
        CHECK_EQ_INT(tv_attest_verify_vault(fc, &vo, &rep), TV_ERR_POLICY);
        memcpy(vid, rep.vault_id, 32);
        memcpy(vpk, rep.sign_pubkey, 32);
    }

    /* The signed session: a connection that pinned no vault attests nothing;
     * one that pinned another key refuses the real vault's reply. */
    {
        tv_client *uc = NULL;
        tv_session *us = NULL;
        uint8_t wrong[32];
        CHECK_EQ_INT(tv_client_open(addr, NULL, &uc), 0);
        CHECK_EQ_INT(tv_attest_challenge(uc, nonce, &exp), 0);
        CHECK_EQ_INT(evidence(b, nonce, "fa", pk, 0, &ev, &len), 0);
        CHECK_EQ_INT(tv_attest_session(uc, ev, len, "sim", "fa", code, 32, pk, sk, nonce, &us),
                     TV_ERR_POLICY);
        CHECK(strstr(tv_client_last_error(uc), "verify the vault first") != NULL);
        CHECK(us == NULL);
        free(ev);
        randombytes_buf(wrong, 32);
        CHECK_EQ_INT(tv_client_pin_vault(uc, vid, wrong), 0);
        CHECK_EQ_INT(tv_attest_challenge(uc, nonce, &exp), 0);
        CHECK_EQ_INT(evidence(b, nonce, "fa", pk, 0, &ev, &len), 0);
        CHECK_EQ_INT(tv_attest_session(uc, ev, len, "sim", "fa", code, 32, pk, sk, nonce, &us),
                     TV_ERR_VERIFY);
        CHECK(strstr(tv_client_last_error(uc), "pinned vault key") != NULL);
        free(ev);
        CHECK_EQ_INT(tv_client_pin_vault(uc, wrong, vpk), 0);
        CHECK_EQ_INT(tv_attest_challenge(uc, nonce, &exp), 0);
        CHECK_EQ_INT(evidence(b, nonce, "fa", pk, 0, &ev, &len), 0);
        CHECK_EQ_INT(tv_attest_session(uc, ev, len, "sim", "fa", code, 32, pk, sk, nonce, &us),
                     TV_ERR_VERIFY);
        CHECK(strstr(tv_client_last_error(uc), "another vault") != NULL);
        free(ev);
        /* Pinned out of band with the right values: accepted. */
        CHECK_EQ_INT(tv_client_pin_vault(uc, vid, vpk), 0);
        CHECK_EQ_INT(tv_attest_challenge(uc, nonce, &exp), 0);
        CHECK_EQ_INT(evidence(b, nonce, "fa", pk, 0, &ev, &len), 0);
        CHECK_EQ_INT(tv_attest_session(uc, ev, len, "sim", "fa", code, 32, pk, sk, nonce, &us), 0);
        free(ev);
        ev = NULL;
        CHECK_EQ_INT(tv_client_pin_vault(uc, wrong, NULL), TV_ERR_INVALID);
        tv_session_free(us);
        tv_client_close(uc);
    }
    seq0 = audit_seq(rc);

    /* Good: session, and the sealed value opens. */
    CHECK_EQ_INT(tv_attest_challenge(fc, nonce, &exp), 0);
    CHECK_EQ_INT(evidence(b, nonce, "fa", pk, 0, &ev, &len), 0);
    CHECK_EQ_INT(tv_attest_session(fc, ev, len, "sim", "fa", code, 32, pk, sk, nonce, &s), 0);
    CHECK_EQ_INT(tv_secrets_get(s, "app/fa/key", &val, &vlen), 0);
    CHECK(val && vlen == 7 && memcmp(val, "value-a", 7) == 0);
    tv_free_secret(val);
    val = NULL;

    /* Replayed nonce: the identical request again (named exactly on the wire). */
    CHECK_EQ_INT(tv_attest_session(fc, ev, len, "sim", "fa", code, 32, pk, sk, nonce, &s2),
                 TV_ERR_REPLAY);
    CHECK(strstr(tv_client_last_error(fc), "replay") != NULL);
    free(ev);
    ev = NULL;

    /* Evidence binding another key than the one presented. */
    CHECK_EQ_INT(tv_attest_challenge(fc, nonce, &exp), 0);
    CHECK_EQ_INT(evidence(b, nonce, "fa", pk2, 0, &ev, &len), 0);
    CHECK_EQ_INT(tv_attest_session(fc, ev, len, "sim", "fa", code, 32, pk, sk, nonce, &s2),
                 TV_ERR_INTEGRITY);
    CHECK(strstr(tv_client_last_error(fc), "report_data") != NULL);
    free(ev);
    ev = NULL;

    /* A debug sim report. */
    CHECK_EQ_INT(tv_attest_challenge(fc, nonce, &exp), 0);
    CHECK_EQ_INT(evidence(b, nonce, "fa", pk, 1, &ev, &len), 0);
    CHECK_EQ_INT(tv_attest_session(fc, ev, len, "sim", "fa", code, 32, pk, sk, nonce, &s2),
                 TV_ERR_POLICY);
    CHECK(strstr(tv_client_last_error(fc), "debug") != NULL);
    free(ev);
    ev = NULL;

    /* A nonce the vault never issued. */
    randombytes_buf(nonce, 32);
    CHECK_EQ_INT(evidence(b, nonce, "fa", pk, 0, &ev, &len), 0);
    CHECK_EQ_INT(tv_attest_session(fc, ev, len, "sim", "fa", code, 32, pk, sk, nonce, &s2),
                 TV_ERR_UNAUTHENTICATED);
    CHECK(strstr(tv_client_last_error(fc), "not issued") != NULL);
    free(ev);
    ev = NULL;
    CHECK(s2 == NULL);

    /* Every Attest call (1 good + 4 refused) and the challenges were audited. */
    seq1 = audit_seq(rc);
    CHECK(seq1 >= seq0 + 5);

    /* Deleting the function ends its live session. */
    CHECK_EQ_INT(tv_function_delete(rc, "fa"), 0);
    CHECK_EQ_INT(tv_secrets_get(s, "app/fa/key", &val, &vlen), TV_ERR_UNAUTHENTICATED);
    CHECK(val == NULL);
out:
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(sk2, sizeof sk2);
    tv_session_free(s);
    tv_session_free(s2);
    seal_backend_free(b);
    tv_client_close(fc);
    tv_client_close(rc);
}

int main(void)
{
    int r, status = 0;

    if (sodium_init() < 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    snprintf(dir, sizeof dir, "/tmp/tv-attest-live-XXXXXX");
    if (!mkdtemp(dir))
        return 2;
    snprintf(plat, sizeof plat, "%s", dir); /* --dev: state dir = sim platform dir */
    snprintf(runtime, sizeof runtime, "%s/runtime.bin", dir);
    snprintf(rtstate, sizeof rtstate, "%s/rt", dir);
    crypto_hash_sha256(code, (const uint8_t *)"live test code", 14);
    r = start_daemon();
    if (r == 1) {
        fprintf(stderr, "SKIP: teevaultd not built next to this test\n");
    } else {
        CHECK_EQ_INT(r, 0);
        if (r == 0)
            RUN(test_refusals_live);
    }
    if (daemon_pid > 0) {
        kill(daemon_pid, SIGTERM);
        waitpid(daemon_pid, &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    if (tv_test_failures) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "tail -n 20 '%s/daemon.log' >&2", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "no daemon log\n");
    }
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cleanup failed\n");
    }
    return tv_test_finish();
}
