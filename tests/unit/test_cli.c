/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the teevault CLI and libteevault pieces that need no daemon:
 * argument parsing and exit codes, refusing secrets on argv, terminal and
 * JSON escaping, structured output, private files, bounded secret input,
 * and the library's local argument checks (against a listening socket that
 * never answers, so any request that left the client would time out).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "teevault.h"
#include "tv_test.h"

static char tmpdir[] = "/tmp/tv-test-cli-XXXXXX";

struct run {
    int rc;
    char *out;
    size_t outlen;
    char *err;
    size_t errlen;
};

/* Run the CLI in-process with argv (NULL-terminated list), capturing output. */
static struct run run_cli(const char *addr, char **argv)
{
    struct run r = {0};
    struct cli_ctx ctx;
    int argc = 0;

    while (argv[argc])
        argc++;
    memset(&ctx, 0, sizeof(ctx));
    ctx.addr = addr;
    ctx.out = open_memstream(&r.out, &r.outlen);
    ctx.err = open_memstream(&r.err, &r.errlen);
    r.rc = cli_run(&ctx, argc, argv);
    fclose(ctx.out);
    fclose(ctx.err);
    return r;
}

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

#define ARGV(...) ((char *[]){"teevault", __VA_ARGS__, NULL})

static void test_exit_codes(void)
{
    const char *dead = "unix:/nonexistent/teevault.sock";
    struct run r;

    r = run_cli(dead, (char *[]){"teevault", NULL});
    CHECK_EQ_INT(r.rc, 2);
    CHECK(strstr(r.err, "Commands:") != NULL);
    run_free(&r);

    r = run_cli(dead, ARGV("--help"));
    CHECK_EQ_INT(r.rc, 0);
    CHECK(strstr(r.out, "kv ") != NULL);
    run_free(&r);

    r = run_cli(dead, ARGV("frobnicate"));
    CHECK_EQ_INT(r.rc, 2);
    CHECK(strstr(r.err, "unknown command") != NULL);
    run_free(&r);

    /* every command and subcommand answers --help with 0 and its usage */
    static char *const cmds[][2] = {
        {"status", NULL},    {"operator", "init"}, {"operator", "recover"}, {"login", NULL},
        {"token", "create"}, {"token", "revoke"},  {"token", "lookup"},     {"user", "add"},
        {"user", "passwd"},  {"user", "delete"},   {"user", "list"},        {"policy", "write"},
        {"policy", "read"},  {"policy", "list"},   {"policy", "delete"},    {"kv", "put"},
        {"kv", "get"},       {"kv", "list"},       {"kv", "describe"},      {"kv", "delete"},
        {"kv", "undelete"},  {"kv", "destroy"},    {"kv", "versions"},
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        char *argv[5] = {"teevault", cmds[i][0], NULL, NULL, NULL};
        if (cmds[i][1]) {
            argv[2] = cmds[i][1];
            argv[3] = "--help";
        } else {
            argv[2] = "--help";
        }
        r = run_cli(dead, argv);
        CHECK_EQ_INT(r.rc, 0);
        CHECK(strstr(r.out, "Usage: teevault ") != NULL);
        CHECK(r.errlen == 0);
        if (r.rc != 0)
            fprintf(stderr, "  (%s %s --help)\n", cmds[i][0], cmds[i][1] ? cmds[i][1] : "");
        run_free(&r);
    }
    /* groups list their subcommands on --help (0) and without one (2) */
    r = run_cli(dead, ARGV("kv", "--help"));
    CHECK_EQ_INT(r.rc, 0);
    CHECK(strstr(r.out, "undelete") != NULL);
    run_free(&r);
    r = run_cli(dead, ARGV("kv"));
    CHECK_EQ_INT(r.rc, 2);
    run_free(&r);
    r = run_cli(dead, ARGV("kv", "nope"));
    CHECK_EQ_INT(r.rc, 2);
    run_free(&r);

    /* usage errors: 2, before any connection is tried */
    r = run_cli(dead, ARGV("kv", "get"));
    CHECK_EQ_INT(r.rc, 2);
    CHECK(strstr(r.err, "missing argument") != NULL);
    run_free(&r);
    r = run_cli(dead, ARGV("kv", "get", "a", "b"));
    CHECK_EQ_INT(r.rc, 2);
    run_free(&r);
    r = run_cli(dead, ARGV("kv", "get", "a", "--version=x1"));
    CHECK_EQ_INT(r.rc, 2);
    run_free(&r);
    r = run_cli(dead, ARGV("kv", "put", "a", "--cas=-1"));
    CHECK_EQ_INT(r.rc, 2);
    run_free(&r);
    r = run_cli(dead, ARGV("kv", "put", "a", "--bogus"));
    CHECK_EQ_INT(r.rc, 2);
    CHECK(strstr(r.err, "unknown option --bogus") != NULL);
    run_free(&r);
    r = run_cli(dead, ARGV("--format=xml", "status"));
    CHECK_EQ_INT(r.rc, 2);
    run_free(&r);
    r = run_cli(dead, ARGV("status", "--format=yaml"));
    CHECK_EQ_INT(r.rc, 2);
    run_free(&r);
    r = run_cli(dead, ARGV("token", "create", "--ttl=5x"));
    CHECK_EQ_INT(r.rc, 2);
    run_free(&r);
    r = run_cli(dead, ARGV("token", "revoke"));
    CHECK_EQ_INT(r.rc, 2);
    run_free(&r);
    r = run_cli(dead, ARGV("token", "revoke", "--self", "abc"));
    CHECK_EQ_INT(r.rc, 2);
    run_free(&r);
    r = run_cli(dead, ARGV("policy", "write", "onlyname"));
    CHECK_EQ_INT(r.rc, 2);
    run_free(&r);
    r = run_cli(dead, ARGV("kv", "destroy", "a", "--version=0"));
    CHECK_EQ_INT(r.rc, 2);
    run_free(&r);

    /* runtime errors: 6 (the vault is unreachable), named with a hint */
    r = run_cli(dead, ARGV("status"));
    CHECK_EQ_INT(r.rc, CLI_UNREACHABLE);
    CHECK(strstr(r.err, "cannot connect") != NULL);
    CHECK(strstr(r.err, "hint: ") != NULL);
    run_free(&r);
    /* a malformed address is a usage error, and a bare path gets the unix: hint */
    r = run_cli("bogus-address", ARGV("--format=json", "status"));
    CHECK_EQ_INT(r.rc, CLI_USAGE);
    CHECK(strstr(r.err, "unix:/path/to.sock or tls://host:port") != NULL);
    run_free(&r);
    r = run_cli("/run/teevault/teevault.sock", ARGV("status"));
    CHECK_EQ_INT(r.rc, CLI_USAGE);
    CHECK(strstr(r.err, "unix:/run/teevault/teevault.sock") != NULL);
    run_free(&r);
}

/* Command names listed under "Commands:" in a --help output (up to max). */
static size_t listed_commands(const char *out, char names[][32], size_t max)
{
    const char *p = strstr(out, "Commands:\n");
    size_t n = 0;

    if (!p)
        return 0;
    p += strlen("Commands:\n");
    while (n < max && p[0] == ' ' && p[1] == ' ' && p[2] != ' ') {
        size_t k = strcspn(p + 2, " \n");
        if (k == 0 || k >= 32)
            break;
        memcpy(names[n], p + 2, k);
        names[n++][k] = 0;
        p = strchr(p, '\n');
        if (!p)
            break;
        p++;
    }
    return n;
}

/* Every command in the table, and every subcommand of a group, answers
 * --help with exit 0 and a usage on stdout, whoever added it. */
static void test_help_everywhere(void)
{
    const char *dead = "unix:/nonexistent/teevault.sock";
    char top[32][32], sub[32][32];
    struct run r = run_cli(dead, ARGV("--help"));
    size_t ntop = listed_commands(r.out, top, 32), total = 0;

    run_free(&r);
    CHECK(ntop >= 7);
    for (size_t i = 0; i < ntop; i++) {
        r = run_cli(dead, (char *[]){"teevault", top[i], "--help", NULL});
        CHECK_EQ_INT(r.rc, 0);
        CHECK(strstr(r.out, "Usage: teevault ") != NULL);
        size_t nsub = listed_commands(r.out, sub, 32);
        run_free(&r);
        total++;
        for (size_t j = 0; j < nsub; j++) {
            r = run_cli(dead, (char *[]){"teevault", top[i], sub[j], "--help", NULL});
            if (r.rc != 0)
                fprintf(stderr, "  teevault %s %s --help -> %d\n", top[i], sub[j], r.rc);
            CHECK_EQ_INT(r.rc, 0);
            CHECK(strstr(r.out, "Usage: teevault ") != NULL);
            run_free(&r);
            total++;
        }
    }
    fprintf(stderr, "  %zu commands answered --help\n", total);
    CHECK(total >= 30);
}

static void test_value_never_from_argv(void)
{
    struct run r;

    /* The value on argv is refused with a usage error, and never echoed. */
    r = run_cli("unix:/nonexistent", ARGV("kv", "put", "db/password", "hunter2-SECRET"));
    CHECK_EQ_INT(r.rc, 2);
    CHECK(strstr(r.err, "refusing a secret value") != NULL);
    CHECK(strstr(r.err, "hunter2-SECRET") == NULL);
    CHECK(r.outlen == 0);
    run_free(&r);
    /* also after options */
    r = run_cli("unix:/nonexistent", ARGV("kv", "put", "--cas=1", "n", "v1", "v2"));
    CHECK_EQ_INT(r.rc, 2);
    CHECK(strstr(r.err, "refusing") != NULL);
    run_free(&r);
    /* there is no --value / --password / --passphrase option */
    r = run_cli("unix:/nonexistent", ARGV("kv", "put", "n", "--value=x"));
    CHECK_EQ_INT(r.rc, 2);
    run_free(&r);
    /* getopt_long's prefix matching is off: --password=... is not
     * --password-file=..., and the bad option is named without its value */
    r = run_cli("unix:/nonexistent", ARGV("login", "alice", "--password=hunter2-SECRET"));
    CHECK_EQ_INT(r.rc, 2);
    CHECK(strstr(r.err, "unknown option --password") != NULL);
    CHECK(strstr(r.err, "hunter2-SECRET") == NULL);
    run_free(&r);
    r = run_cli("unix:/nonexistent", ARGV("kv", "put", "n", "--fi", "/etc/passwd"));
    CHECK_EQ_INT(r.rc, 2);
    run_free(&r);
    r = run_cli("unix:/nonexistent", ARGV("user", "add", "bob", "pw"));
    CHECK_EQ_INT(r.rc, 2);
    run_free(&r);
    r = run_cli("unix:/nonexistent", ARGV("operator", "init", "--passphrase=x"));
    CHECK_EQ_INT(r.rc, 2);
    run_free(&r);
}

static void test_term_escape(void)
{
    char buf[64];

    CHECK(!strcmp(cli_term_escape(buf, sizeof(buf), "plain/name-1", 12), "plain/name-1"));
    CHECK(!strcmp(cli_term_escape(buf, sizeof(buf), "a\x1b[31mb", 7), "a\\x1b[31mb"));
    CHECK(!strcmp(cli_term_escape(buf, sizeof(buf), "x\\y", 3), "x\\\\y"));
    CHECK(!strcmp(cli_term_escape(buf, sizeof(buf), "\r\n\x7f\x9b", 4), "\\x0d\\x0a\\x7f\\x9b"));
    CHECK(!strcmp(cli_term_escape(buf, sizeof(buf), "nul\0x", 5), "nul\\x00x"));
    /* truncation keeps the output terminated and marks it */
    char small[10];
    cli_term_escape(small, sizeof(small), "abcdefghijklmnop", 16);
    CHECK(strlen(small) < sizeof(small));
    CHECK(strstr(small, "...") != NULL);
    cli_term_escape(small, sizeof(small), "\x01\x02\x03\x04", 4);
    CHECK(strlen(small) < sizeof(small));

    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    cli_term_puts(f, "ok\x1b]0;pwned\x07");
    fclose(f);
    CHECK(!strcmp(s, "ok\\x1b]0;pwned\\x07"));
    free(s);
}

static char *json_of(const char *in, size_t len)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    cli_json_str(f, in, len);
    fclose(f);
    return s;
}

static void test_json_escape(void)
{
    char *s;

    s = json_of("a\"b\\c", 5);
    CHECK(!strcmp(s, "\"a\\\"b\\\\c\""));
    free(s);
    s = json_of("\n\t\r\x01\x1f\x7f", 6);
    CHECK(!strcmp(s, "\"\\n\\t\\r\\u0001\\u001f\\u007f\""));
    free(s);
    s = json_of("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91", 14);
    CHECK(!strcmp(s, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91\""));
    free(s);
    /* invalid UTF-8: lone continuation, overlong, surrogate, truncated */
    s = json_of("\x80|\xc0\xaf|\xed\xa0\x80|\xe2\x82", 11);
    CHECK(!strcmp(s, "\"\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\""));
    free(s);
    s = json_of("a\0b", 3);
    CHECK(!strcmp(s, "\"a\\u0000b\""));
    free(s);
}

static void test_structured_output(void)
{
    struct cli_ctx ctx;
    char *s = NULL;
    size_t n = 0;
    char *pol[] = {"p1", "p\"2"};

    memset(&ctx, 0, sizeof(ctx));
    ctx.format = CLI_FMT_JSON;
    ctx.out = open_memstream(&s, &n);
    cli_out_begin(&ctx);
    cli_out_str(&ctx, "name", "a\x1b");
    cli_out_u64(&ctx, "version", 18446744073709551615ull);
    cli_out_bool(&ctx, "root", 1);
    cli_out_time(&ctx, "t", 0);
    cli_out_hex(&ctx, "h", (const uint8_t *)"\x01\xab", 2);
    cli_out_strv(&ctx, "policies", pol, 2);
    cli_out_list_begin(&ctx, "items");
    cli_out_item_begin(&ctx);
    cli_out_u64(&ctx, "v", 1);
    cli_out_str(&ctx, "s", "live");
    cli_out_item_end(&ctx);
    cli_out_item_begin(&ctx);
    cli_out_u64(&ctx, "v", 2);
    cli_out_item_end(&ctx);
    cli_out_list_end(&ctx);
    cli_out_list_begin(&ctx, "names");
    cli_out_list_str(&ctx, "x");
    cli_out_list_str(&ctx, "y");
    cli_out_list_end(&ctx);
    cli_out_end(&ctx);
    fclose(ctx.out);
    CHECK(!strcmp(s, "{\"name\":\"a\\u001b\",\"version\":18446744073709551615,\"root\":true,"
                     "\"t\":null,\"h\":\"01ab\",\"policies\":[\"p1\",\"p\\\"2\"],"
                     "\"items\":[{\"v\":1,\"s\":\"live\"},{\"v\":2}],\"names\":[\"x\",\"y\"]}\n"));
    if (strcmp(s, "") && s[0] != '{')
        fprintf(stderr, "json: %s\n", s);
    free(s);

    memset(&ctx, 0, sizeof(ctx));
    ctx.format = CLI_FMT_TABLE;
    s = NULL;
    ctx.out = open_memstream(&s, &n);
    cli_out_begin(&ctx);
    cli_out_str(&ctx, "name", "a\x1b");
    cli_out_time(&ctx, "created_at", 86400);
    cli_out_list_begin(&ctx, "items");
    cli_out_item_begin(&ctx);
    cli_out_u64(&ctx, "v", 1);
    cli_out_str(&ctx, "s", "two words");
    cli_out_item_end(&ctx);
    cli_out_list_end(&ctx);
    cli_out_list_begin(&ctx, "names");
    cli_out_list_str(&ctx, "x\ny");
    cli_out_list_end(&ctx);
    cli_out_end(&ctx);
    fclose(ctx.out);
    CHECK(strstr(s, "name                   a\\x1b\n") != NULL);
    CHECK(strstr(s, "created_at             1970-01-02T00:00:00Z\n") != NULL);
    CHECK(strstr(s, "v=1 s=\"two words\"\n") != NULL);
    CHECK(strstr(s, "x\\x0ay\n") != NULL);
    CHECK(strchr(s, '\x1b') == NULL);
    free(s);
}

static void test_numbers(void)
{
    uint64_t v = 7;
    int64_t d = 7;

    CHECK(cli_parse_u64("0", &v) == 0 && v == 0);
    CHECK(cli_parse_u64("18446744073709551615", &v) == 0 && v == UINT64_MAX);
    CHECK(cli_parse_u64("18446744073709551616", &v) < 0);
    CHECK(cli_parse_u64("-1", &v) < 0);
    CHECK(cli_parse_u64(" 1", &v) < 0);
    CHECK(cli_parse_u64("1x", &v) < 0);
    CHECK(cli_parse_u64("", &v) < 0);
    CHECK(cli_parse_duration("90", &d) == 0 && d == 90);
    CHECK(cli_parse_duration("30m", &d) == 0 && d == 1800);
    CHECK(cli_parse_duration("2h", &d) == 0 && d == 7200);
    CHECK(cli_parse_duration("7d", &d) == 0 && d == 604800);
    CHECK(cli_parse_duration("1w", &d) < 0);
    CHECK(cli_parse_duration("5mm", &d) < 0);
    CHECK(cli_parse_duration("m", &d) < 0);
    CHECK(cli_parse_duration("99999999999999999d", &d) < 0);
    enum cli_format f = CLI_FMT_TABLE;
    CHECK(cli_parse_format("json", &f) == 0 && f == CLI_FMT_JSON);
    CHECK(cli_parse_format("JSON", &f) < 0);
}

static void test_files(void)
{
    struct cli_ctx ctx;
    char path[256], link[256];
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    char *e = NULL;
    size_t en = 0;

    memset(&ctx, 0, sizeof(ctx));
    ctx.prog = "teevault";
    ctx.out = stdout;
    ctx.err = open_memstream(&e, &en);

    /* created 0600 even with a permissive umask */
    mode_t old = umask(0);
    snprintf(path, sizeof(path), "%s/token", tmpdir);
    CHECK(cli_write_private_file(&ctx, path, "tok\n", 4, 0) == 0);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    umask(old);
    /* refuses to overwrite without force; force tightens an existing file's mode */
    CHECK(cli_write_private_file(&ctx, path, "x", 1, 0) < 0);
    CHECK(chmod(path, 0644) == 0);
    CHECK(cli_write_private_file(&ctx, path, "tok2\n", 5, 1) == 0);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == 5);
    /* never follows a symlink */
    snprintf(link, sizeof(link), "%s/link", tmpdir);
    CHECK(symlink(path, link) == 0);
    CHECK(cli_write_private_file(&ctx, link, "evil", 4, 1) < 0);
    CHECK(stat(path, &st) == 0 && st.st_size == 5);

    /* bounded reads, one trailing newline stripped */
    CHECK(cli_read_secret_file(&ctx, path, 100, 1, &buf, &len) == 0);
    CHECK(len == 4 && !memcmp(buf, "tok2", 5));
    cli_secret_free(buf);
    CHECK(cli_read_secret_file(&ctx, path, 100, 0, &buf, &len) == 0);
    CHECK(len == 5);
    cli_secret_free(buf);
    buf = NULL;
    CHECK(cli_read_secret_file(&ctx, path, 4, 0, &buf, &len) < 0);
    CHECK(buf == NULL);
    CHECK(cli_read_secret_file(&ctx, path, 5, 0, &buf, &len) == 0 && len == 5);
    cli_secret_free(buf);
    CHECK(cli_read_secret_file(&ctx, "/nonexistent/x", 5, 0, &buf, &len) < 0);
    fclose(ctx.err);
    CHECK(strstr(e, "larger than 4 bytes") != NULL);
    free(e);
    unlink(link);
    unlink(path);
}

/* A Unix socket that accepts connections (backlog) but never answers. */
static int listen_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    size_t n = strlen(path);
    if (n >= sizeof(sa.sun_path))
        return -1;
    memcpy(sa.sun_path, path, n + 1);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0)
        return -1;
    return fd;
}

static void test_library_local_checks(void)
{
    char sock[200], addr[220];
    tv_client *c = NULL;
    tv_client_opts o = {.timeout_ms = 300};
    int lfd;

    CHECK_EQ_INT(tv_client_open("nonsense", &o, &c), TV_ERR_INVALID);
    CHECK(c == NULL);
    CHECK(tv_client_open("unix:/nonexistent/s.sock", &o, &c) < 0);

    snprintf(sock, sizeof(sock), "%s/s.sock", tmpdir);
    snprintf(addr, sizeof(addr), "unix:%s", sock);
    lfd = listen_unix(sock);
    CHECK(lfd >= 0);
    CHECK_EQ_INT(tv_client_open(addr, &o, &c), 0);
    if (!c)
        return;
    CHECK(!strcmp(tv_client_last_error(c), ""));
    /* token: printable ASCII only, bounded */
    CHECK_EQ_INT(tv_client_set_token(c, "abc\ndef"), TV_ERR_INVALID);
    CHECK_EQ_INT(tv_client_set_token(c, "abc def"), TV_ERR_INVALID);
    CHECK(strstr(tv_client_last_error(c), "token") != NULL);
    char big[5000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    CHECK_EQ_INT(tv_client_set_token(c, big), TV_ERR_INVALID);
    CHECK_EQ_INT(tv_client_set_token(c, "tv.ok-token_1"), 0);
    CHECK_EQ_INT(tv_client_set_token(c, NULL), 0);

    /* arguments refused locally, before anything is sent */
    char longname[600];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    uint64_t ver = 99;
    CHECK_EQ_INT(tv_secret_put(c, longname, "v", 1, NULL, &ver), TV_ERR_TOO_LARGE);
    CHECK(ver == 99);
    CHECK_EQ_INT(tv_secret_put(c, NULL, "v", 1, NULL, &ver), TV_ERR_INVALID);
    CHECK_EQ_INT(tv_secret_put(c, "n", NULL, 5, NULL, &ver), TV_ERR_INVALID);
    uint8_t *val = (uint8_t *)"untouched";
    size_t vlen = 3;
    CHECK_EQ_INT(tv_secret_get(c, NULL, 0, &val, &vlen, NULL), TV_ERR_INVALID);
    CHECK(vlen == 3 && !strcmp((char *)val, "untouched"));
    char *tok = NULL;
    CHECK_EQ_INT(tv_auth_login(c, "alice", NULL, &tok, NULL), TV_ERR_INVALID);
    CHECK(tok == NULL);
    CHECK_EQ_INT(tv_sys_init(c, NULL, &tok, NULL), TV_ERR_INVALID);
    CHECK_EQ_INT(tv_token_create(c, NULL, 1, 0, NULL, &tok, NULL), TV_ERR_INVALID);
    CHECK_EQ_INT(tv_secret_delete(c, "n", NULL, 2), TV_ERR_INVALID);
    /* more local refusals */
    CHECK_EQ_INT(tv_function_write(c, NULL), TV_ERR_INVALID);
    CHECK_EQ_INT(tv_attest_report(c, NULL, 5, NULL, NULL, NULL), TV_ERR_INVALID);
    CHECK_EQ_INT(tv_secrets_get(NULL, "x", &val, &vlen), TV_ERR_INVALID);

    /* a server that never answers: the call times out, outputs untouched */
    tv_status *st = NULL;
    CHECK_EQ_INT(tv_sys_status(c, &st), TV_ERR_TIMEOUT);
    CHECK(st == NULL);
    CHECK(tv_client_last_error(c)[0] != 0);
    tv_client_close(c);
    close(lfd);
    unlink(sock);

    /* free functions accept NULL */
    tv_free(NULL);
    tv_free_secret(NULL);
    tv_strv_free(NULL, 3);
    tv_status_free(NULL);
    tv_token_info_free(NULL);
    tv_user_list_free(NULL, 2);
    tv_secret_meta_free(NULL);
    tv_explain_free(NULL);
    tv_client_close(NULL);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_exit_codes);
    RUN(test_help_everywhere);
    RUN(test_value_never_from_argv);
    RUN(test_term_escape);
    RUN(test_json_escape);
    RUN(test_structured_output);
    RUN(test_numbers);
    RUN(test_files);
    RUN(test_library_local_checks);
    rmdir(tmpdir);
    return tv_test_finish();
}
