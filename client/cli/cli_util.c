/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers of the teevault CLI: options, secret input, escaped output. */
#define _GNU_SOURCE /* ppoll */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

/* ------------------------------------------------------------------ options */

enum {
    OPT_FORMAT = 0x1000,
    OPT_ADDR,
    OPT_TOKEN_FILE,
    OPT_CACERT,
    OPT_CERT,
    OPT_KEY,
    OPT_FIELD,
};

static const struct option global_opts[] = {
    {"help", no_argument, NULL, 'h'},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"addr", required_argument, NULL, OPT_ADDR},
    {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"client-cert", required_argument, NULL, OPT_CERT},
    {"client-key", required_argument, NULL, OPT_KEY},
    {"field", required_argument, NULL, OPT_FIELD},
};

int cli_parse_format(const char *s, enum cli_format *f)
{
    if (!strcmp(s, "table"))
        *f = CLI_FMT_TABLE;
    else if (!strcmp(s, "json"))
        *f = CLI_FMT_JSON;
    else
        return -1;
    return 0;
}

static void build_merged(struct cli_ctx *ctx, const struct option *cmdopts)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof(global_opts) / sizeof(global_opts[0]); i++)
        ctx->merged[n++] = global_opts[i];
    for (const struct option *o = cmdopts; o && o->name && n < CLI_MAX_OPTS - 1; o++)
        ctx->merged[n++] = *o;
    memset(&ctx->merged[n], 0, sizeof(ctx->merged[n]));
    ctx->merged_for = cmdopts;
}

/* The argv element holding the option getopt_long just returned. */
static const char *current_option(int argc, char **argv)
{
    if (optind <= 0 || optind > argc)
        return "";
    if (optarg && optind >= 2 && optarg == argv[optind - 1] && argv[optind - 2][0] == '-')
        return argv[optind - 2];
    return argv[optind - 1] ? argv[optind - 1] : "";
}

/* glibc's getopt_long accepts any unambiguous prefix ("--pass" for
 * "--password-file"). Refuse that: a mistyped "--password=hunter2" must not
 * become a file name that error messages print. Only exact names pass. */
static int exact_long_match(int argc, char **argv, const struct option *opts, int idx)
{
    const char *a = current_option(argc, argv);
    size_t n = strlen(opts[idx].name);
    if (a[0] != '-' || a[1] != '-')
        return 1; /* a short option */
    return !strncmp(a + 2, opts[idx].name, n) && (a[2 + n] == 0 || a[2 + n] == '=');
}

/* Name the bad option without its "=value" part (it may be a secret). */
static void report_bad_option(struct cli_ctx *ctx, int argc, char **argv)
{
    char q[96];
    const char *bad = current_option(argc, argv);
    if (optopt > 0 && optopt < 128 && bad[0] == '-' && bad[1] != '-') {
        char s[3] = {'-', (char)optopt, 0};
        cli_usage_err(ctx, "unknown option %s", cli_term_escape(q, sizeof(q), s, 2));
        return;
    }
    cli_usage_err(ctx, "unknown option %s", cli_term_escape(q, sizeof(q), bad, strcspn(bad, "=")));
}

int cli_getopt(struct cli_ctx *ctx, int argc, char **argv, const struct option *cmdopts)
{
    char shortopts[2 * CLI_MAX_OPTS + 4];
    size_t k = 0;

    if (ctx->merged_for != cmdopts || !ctx->merged[0].name) {
        build_merged(ctx, cmdopts);
        optind = 0; /* glibc: full re-initialisation for a new argv */
    }
    /* Short options: only the command's single-letter ones, plus -h. */
    shortopts[k++] = ':';
    shortopts[k++] = 'h';
    for (const struct option *o = cmdopts; o && o->name && k < sizeof(shortopts) - 3; o++) {
        if (o->flag || o->val <= 0 || o->val > 127 || o->val == 'h')
            continue;
        shortopts[k++] = (char)o->val;
        if (o->has_arg == required_argument)
            shortopts[k++] = ':';
    }
    shortopts[k] = 0;

    opterr = 0;
    for (;;) {
        int idx = -1;
        int o = getopt_long(argc, argv, shortopts, ctx->merged, &idx);
        if (idx >= 0 && o != '?' && o != ':' && !exact_long_match(argc, argv, ctx->merged, idx)) {
            report_bad_option(ctx, argc, argv);
            return '?';
        }
        switch (o) {
        case OPT_FORMAT:
            if (cli_parse_format(optarg, &ctx->format) < 0) {
                cli_usage_err(ctx, "--format must be table or json");
                return '?';
            }
            continue;
        case OPT_ADDR:
            ctx->addr = optarg;
            continue;
        case OPT_TOKEN_FILE:
            ctx->token_file = optarg;
            continue;
        case OPT_CACERT:
            ctx->cacert = optarg;
            continue;
        case OPT_CERT:
            ctx->cert = optarg;
            continue;
        case OPT_KEY:
            ctx->key = optarg;
            continue;
        case OPT_FIELD:
            ctx->field = optarg;
            continue;
        case ':':
            cli_usage_err(ctx, "option %s needs an argument", current_option(argc, argv));
            return '?';
        case '?':
            report_bad_option(ctx, argc, argv);
            return '?';
        default:
            return o;
        }
    }
}

int cli_args(struct cli_ctx *ctx, int argc, char **argv, int min, int max)
{
    static const struct option none[] = {{0}};
    int o;

    while ((o = cli_getopt(ctx, argc, argv, none)) != -1) {
        if (o == 'h')
            return cli_usage(ctx, CLI_OK);
        return o == '?' ? CLI_USAGE : cli_usage(ctx, CLI_USAGE);
    }
    return cli_check_args(ctx, argc, min, max);
}

int cli_check_args(struct cli_ctx *ctx, int argc, int min, int max)
{
    int n = argc - optind;
    if (n < min)
        return cli_usage_err(ctx, "missing argument");
    if (n > max)
        return cli_usage_err(ctx, "too many arguments");
    return CLI_CONTINUE;
}

int cli_usage(struct cli_ctx *ctx, int status)
{
    FILE *f = status ? ctx->err : ctx->out;
    if (ctx->cmd) {
        fprintf(f, "Usage: %s %s\n", ctx->prog, ctx->cmd->usage);
        if (ctx->cmd->help)
            fprintf(f, "\n%s\n", ctx->cmd->help);
    }
    fprintf(f,
            "\nGlobal options: --format=table|json  --addr=ADDR  --token-file=FILE\n"
            "  --cacert=FILE  --client-cert=FILE  --client-key=FILE  --field=NAME  --help\n"
            "Environment: TEEVAULT_ADDR (default %s),\n"
            "  TEEVAULT_TOKEN_FILE or TEEVAULT_TOKEN, TEEVAULT_CACERT,\n"
            "  TEEVAULT_CLIENT_CERT, TEEVAULT_CLIENT_KEY\n",
            TEEVAULT_DEFAULT_ADDR);
    return status;
}

int cli_usage_err(struct cli_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    fprintf(ctx->err, "%s: %s: ", ctx->prog, ctx->path[0] ? ctx->path : "usage");
    va_start(ap, fmt);
    vfprintf(ctx->err, fmt, ap);
    va_end(ap);
    fputc('\n', ctx->err);
    if (ctx->cmd)
        fprintf(ctx->err, "Usage: %s %s  (--help for more)\n", ctx->prog, ctx->cmd->usage);
    return CLI_USAGE;
}

int cli_errorf(struct cli_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    fprintf(ctx->err, "%s: %s: ", ctx->prog, ctx->path[0] ? ctx->path : "error");
    va_start(ap, fmt);
    vfprintf(ctx->err, fmt, ap);
    va_end(ap);
    fputc('\n', ctx->err);
    return CLI_ERR;
}

int cli_exit_code(int err)
{
    switch (err) {
    case TV_ERR_NOT_FOUND:
    case TV_ERR_DELETED:
    case TV_ERR_DESTROYED:
        return CLI_NOTFOUND;
    case TV_ERR_DENIED:
    case TV_ERR_UNAUTHENTICATED:
        return CLI_DENIED;
    case TV_ERR_SEALED:
        return CLI_SEALED;
    case TV_ERR_UNAVAILABLE:
    case TV_ERR_TIMEOUT:
        return CLI_UNREACHABLE;
    case TV_ERR_VERIFY:
    case TV_ERR_POLICY:
    case TV_ERR_ROLLBACK:
    case TV_ERR_INTEGRITY:
        return CLI_UNTRUSTED;
    default:
        return CLI_ERR;
    }
}

int cli_fail(struct cli_ctx *ctx, int err)
{
    const char *msg = ctx->client ? tv_client_last_error(ctx->client) : "";
    const char *what = tv_strerror(err);
    fprintf(ctx->err, "%s: %s: ", ctx->prog, ctx->path[0] ? ctx->path : "error");
    if (err == TV_ERR_SEALED) {
        /* The same words whatever the vault said (an older vault says less). */
        fprintf(ctx->err, "%s [%s]\n", CLI_SEALED_MSG, tv_errname(err));
        return CLI_SEALED;
    }
    if (!msg || !msg[0]) {
        fputs(what, ctx->err);
    } else {
        /* The server's message usually starts with the same words. */
        if (strncmp(msg, what, strlen(what)) != 0)
            fprintf(ctx->err, "%s: ", what);
        cli_term_puts(ctx->err, msg);
    }
    fprintf(ctx->err, " [%s]\n", tv_errname(err));
    if (err == TV_ERR_UNAUTHENTICATED)
        fprintf(ctx->err, "hint: log in again (`%s login`) or pass --token-file=FILE\n", ctx->prog);
    else if (err == TV_ERR_NOT_INITIALISED)
        fprintf(ctx->err, "hint: initialise it with `%s operator init`\n", ctx->prog);
    else if (err == TV_ERR_UNAVAILABLE || err == TV_ERR_TIMEOUT)
        fprintf(ctx->err, "hint: the connection to the vault was lost: is teevaultd running "
                          "(systemctl status teevault)?\n");
    return cli_exit_code(err);
}

int cli_dispatch(struct cli_ctx *ctx, const struct cli_cmd *cmds, size_t n, const char *group,
                 int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;
    FILE *f;

    if (sub && sub[0] != '-') {
        for (size_t i = 0; i < n; i++) {
            if (strcmp(cmds[i].name, sub))
                continue;
            ctx->cmd = &cmds[i];
            size_t l = strlen(ctx->path);
            snprintf(ctx->path + l, sizeof(ctx->path) - l, "%s%s", l ? " " : "", sub);
            return cmds[i].fn(ctx, argc - 1, argv + 1);
        }
    }
    int help = sub && (!strcmp(sub, "--help") || !strcmp(sub, "-h"));
    f = help ? ctx->out : ctx->err;
    if (sub && !help) {
        char q[96];
        fprintf(f, "%s: %s: unknown command %s\n", ctx->prog, group[0] ? group : "usage",
                cli_term_escape(q, sizeof(q), sub, strlen(sub)));
    }
    fprintf(f, "Usage: %s %s%s<command> [options] [args]\n\nCommands:\n", ctx->prog, group,
            group[0] ? " " : "");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %-10s %.*s\n", cmds[i].name, (int)strcspn(cmds[i].help, "\n"), cmds[i].help);
    fprintf(f, "\nRun '%s %s%s<command> --help' for a command's options.\n", ctx->prog, group,
            group[0] ? " " : "");
    return help ? CLI_OK : CLI_USAGE;
}

/* ------------------------------------------------------------------ connect */

int cli_token_path(char *buf, size_t n)
{
    const char *d = getenv("TEEVAULT_CONFIG_DIR"), *x = getenv("XDG_CONFIG_HOME");
    const char *h = getenv("HOME");
    int k;
    if (d && d[0])
        k = snprintf(buf, n, "%s/token", d);
    else if (x && x[0] == '/')
        k = snprintf(buf, n, "%s/teevault/token", x);
    else if (h && h[0])
        k = snprintf(buf, n, "%s/.config/teevault/token", h);
    else
        return -1;
    return k > 0 && (size_t)k < n ? 0 : -1;
}

/* Report why the vault could not be reached, with a hint a person can act
 * on, and return the exit code. */
static int connect_failed(struct cli_ctx *ctx, int r, const tv_open_error *oe)
{
    char qa[300], qw[600], qp[300];
    const char *a = ctx->addr;
    int unix_addr = !strncmp(a, "unix:", 5);
    const char *path = unix_addr ? a + 5 : "";
    int e = oe->sys_errno;

    cli_term_escape(qa, sizeof(qa), a, strlen(a));
    cli_term_escape(qw, sizeof(qw), oe->what, strlen(oe->what));
    cli_term_escape(qp, sizeof(qp), path, strlen(path));
    fprintf(ctx->err, "%s: %s: cannot connect to %s: %s\n", ctx->prog,
            ctx->path[0] ? ctx->path : "error", qa, oe->what[0] ? qw : tv_strerror(r));
    if (r == TV_ERR_INVALID) {
        if (a[0] == '/' || a[0] == '.')
            fprintf(ctx->err, "hint: a socket path is written unix:%s (TLS: tls://host:port)\n",
                    qa);
        else
            fprintf(ctx->err, "hint: addresses are unix:/path/to.sock or tls://host:port "
                              "(--addr or TEEVAULT_ADDR)\n");
        return CLI_USAGE;
    }
    if (unix_addr && e == EACCES) {
        fprintf(ctx->err,
                "hint: permission denied on the socket %s: only root and the group 'teevault' "
                "may connect; add your user to it (sudo usermod -aG teevault \"$USER\", then log "
                "in again) or run as root\n",
                qp);
        return CLI_DENIED;
    }
    if (unix_addr && e == ENOENT) {
        fprintf(ctx->err,
                "hint: there is no socket at %s: teevaultd is not running (systemctl status "
                "teevault), or it listens elsewhere (--addr / TEEVAULT_ADDR)\n",
                qp);
        return CLI_UNREACHABLE;
    }
    if (unix_addr && e == ECONNREFUSED) {
        struct stat st;
        if (stat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
            fprintf(ctx->err,
                    "hint: %s is not a socket; point --addr / TEEVAULT_ADDR at "
                    "teevaultd's socket (default %s)\n",
                    qp, TEEVAULT_DEFAULT_ADDR);
            return CLI_ERR;
        }
        fprintf(ctx->err,
                "hint: connection refused: nothing listens on %s, the daemon is down "
                "(systemctl status teevault; journalctl -u teevault)\n",
                qp);
        return CLI_UNREACHABLE;
    }
    if (e == ENOTDIR || e == ENOTSOCK) {
        fprintf(ctx->err, "hint: %s is not a socket\n", qp);
        return CLI_ERR;
    }
    if (!unix_addr && e == ECONNREFUSED) {
        fprintf(ctx->err, "hint: connection refused: is teevaultd running with [tls] enabled "
                          "on that port?\n");
        return CLI_UNREACHABLE;
    }
    if (r == TV_ERR_VERIFY)
        fprintf(ctx->err,
                "hint: the vault's TLS certificate did not verify: pass the CA that signed it with "
                "--cacert=FILE (or TEEVAULT_CACERT), and connect by the name in the "
                "certificate\n");
    else if (r == TV_ERR_IO && !ctx->cacert && strstr(oe->what, "CA store"))
        fprintf(ctx->err, "hint: pass --cacert=FILE\n");
    else if (r == TV_ERR_TIMEOUT)
        fprintf(ctx->err, "hint: the vault did not answer in time: check the address, the network "
                          "and that teevaultd is running\n");
    else if (r == TV_ERR_UNAVAILABLE && strstr(oe->what, "resolve"))
        fprintf(ctx->err, "hint: check the host name in --addr / TEEVAULT_ADDR\n");
    return r == TV_ERR_UNAVAILABLE || r == TV_ERR_TIMEOUT ? CLI_UNREACHABLE : CLI_ERR;
}

int cli_connect(struct cli_ctx *ctx, int need_token)
{
    int r;
    tv_open_error oe;
    char stored[4096];
    tv_client_opts o = {0};
    char *tok = NULL;
    size_t toklen = 0;

    if (ctx->client)
        return 0;
    o.cacert = ctx->cacert;
    o.client_cert = ctx->cert;
    o.client_key = ctx->key;
    if ((r = tv_client_open_ex(ctx->addr, &o, &ctx->client, &oe)) < 0)
        return connect_failed(ctx, r, &oe);
    if (!need_token)
        return 0;
    const char *env = getenv("TEEVAULT_TOKEN");
    const char *tf = ctx->token_file;
    if (!tf && (!env || !env[0]) && cli_token_path(stored, sizeof(stored)) == 0 &&
        access(stored, F_OK) == 0)
        tf = stored; /* the token `teevault login` kept */
    if (tf) {
        if (cli_read_secret_file(ctx, tf, 8192, 1, &tok, &toklen) < 0)
            return CLI_ERR;
        r = tv_client_set_token(ctx->client, tok);
        cli_secret_free(tok);
    } else {
        if ((!env || !env[0]) && need_token == CLI_TOKEN_OPTIONAL)
            return 0;
        if (!env || !env[0])
            return cli_errorf(ctx, "no token: run 'teevault login', or pass --token-file=FILE, or "
                                   "set TEEVAULT_TOKEN_FILE or TEEVAULT_TOKEN");
        r = tv_client_set_token(ctx->client, env);
    }
    if (r < 0)
        return cli_fail(ctx, r);
    return 0;
}

/* ------------------------------------------------------------------ numbers */

int cli_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_duration(const char *s, int64_t *seconds)
{
    char *end;
    unsigned long long v;
    uint64_t mul = 1;

    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    if (*end) {
        if (end[1])
            return -1;
        switch (*end) {
        case 's':
            mul = 1;
            break;
        case 'm':
            mul = 60;
            break;
        case 'h':
            mul = 3600;
            break;
        case 'd':
            mul = 86400;
            break;
        default:
            return -1;
        }
    }
    if (v > (uint64_t)INT64_MAX / mul)
        return -1;
    *seconds = (int64_t)(v * mul);
    return 0;
}

/* ------------------------------------------------------------------ secret input */

void cli_secret_free(char *p)
{
    if (p)
        sodium_free(p);
}

int cli_read_secret_file(struct cli_ctx *ctx, const char *path, size_t max, int strip_nl,
                         char **out, size_t *len)
{
    int fd = -1, r = -1;
    char *buf = NULL;
    size_t n = 0;

    if (!strcmp(path, "-"))
        fd = STDIN_FILENO;
    else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        char q[300];
        cli_errorf(ctx, "cannot open %s: %s", cli_term_escape(q, sizeof(q), path, strlen(path)),
                   strerror(errno));
        return -1;
    }
    if (!(buf = sodium_malloc(max + 1))) {
        cli_errorf(ctx, "out of memory");
        goto out;
    }
    for (;;) {
        if (n == max) {
            /* One more byte would exceed the limit: check for EOF. */
            char extra;
            ssize_t k = read(fd, &extra, 1);
            if (k == 0)
                break;
            if (k < 0 && errno == EINTR)
                continue;
            sodium_memzero(&extra, 1);
            cli_errorf(ctx, "input is larger than %zu bytes", max);
            goto out;
        }
        ssize_t k = read(fd, buf + n, max - n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            cli_errorf(ctx, "read error: %s", strerror(errno));
            goto out;
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    if (strip_nl && n && buf[n - 1] == '\n') {
        n--;
        if (n && buf[n - 1] == '\r')
            n--;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    buf = NULL;
    r = 0;
out:
    if (buf)
        sodium_free(buf);
    if (fd >= 0 && fd != STDIN_FILENO)
        close(fd);
    return r;
}

/* A signal during a prompt must not leave the terminal with echo off. The
 * prompt signals are blocked except inside ppoll(), so one that arrives at any
 * moment interrupts the wait (no window between a check and a blocking
 * read); the handler only records it; the prompt restores the terminal, the
 * handlers and the mask, then re-raises the signal with its old action. */
static volatile sig_atomic_t prompt_signal;

static void prompt_on_signal(int sig)
{
    prompt_signal = sig;
}

static const int prompt_sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU};
#define N_PROMPT_SIGS (sizeof(prompt_sigs) / sizeof(prompt_sigs[0]))

static int prompt_once(struct cli_ctx *ctx, int fd, const char *prompt, char **out)
{
    struct termios old, noecho;
    struct sigaction sa, saved[N_PROMPT_SIGS];
    sigset_t block, orig, waitmask;
    int restore = 0, r = -1;
    size_t n = 0, max = 4096;
    char *buf = sodium_malloc(max + 1);

    if (!buf)
        return cli_errorf(ctx, "out of memory"), -1;
    prompt_signal = 0;
    sigemptyset(&block);
    for (size_t i = 0; i < N_PROMPT_SIGS; i++)
        sigaddset(&block, prompt_sigs[i]);
    sigprocmask(SIG_BLOCK, &block, &orig);
    waitmask = orig;
    for (size_t i = 0; i < N_PROMPT_SIGS; i++)
        sigdelset(&waitmask, prompt_sigs[i]);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = prompt_on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_PROMPT_SIGS; i++)
        sigaction(prompt_sigs[i], &sa, &saved[i]);
    /* Echo goes off BEFORE the prompt appears: whatever is typed after the
     * prompt is never echoed (TCSAFLUSH drops earlier type-ahead). */
    if (tcgetattr(fd, &old) == 0) {
        noecho = old;
        noecho.c_lflag &= ~(tcflag_t)ECHO;
        noecho.c_lflag |= ECHONL;
        if (tcsetattr(fd, TCSAFLUSH, &noecho) == 0)
            restore = 1;
    }
    if (!restore) {
        cli_errorf(ctx, "cannot turn terminal echo off");
        goto out;
    }
    if (write(fd, prompt, strlen(prompt)) < 0) {
        /* ignore: the prompt is cosmetic */
    }
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char ch;
        ssize_t k;

        if (ppoll(&p, 1, NULL, &waitmask) < 0 && errno != EINTR) {
            cli_errorf(ctx, "cannot read the terminal: %s", strerror(errno));
            goto out;
        }
        if (prompt_signal) {
            if (write(fd, "\n", 1) < 0) {
                /* ignore */
            }
            goto out;
        }
        if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        k = read(fd, &ch, 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0 || ch == '\n')
            break;
        if (n == max) {
            cli_errorf(ctx, "input too long");
            goto out;
        }
        buf[n++] = ch;
        sodium_memzero(&ch, sizeof(ch));
    }
    if (n && buf[n - 1] == '\r')
        n--;
    buf[n] = 0;
    *out = buf;
    buf = NULL;
    r = 0;
out:
    if (restore)
        tcsetattr(fd, TCSAFLUSH, &old);
    if (buf)
        sodium_free(buf);
    for (size_t i = 0; i < N_PROMPT_SIGS; i++)
        sigaction(prompt_sigs[i], &saved[i], NULL);
    sigprocmask(SIG_SETMASK, &orig, NULL);
    if (prompt_signal)
        raise(prompt_signal); /* with the caller's action, now the terminal is sane */
    return r;
}

int cli_prompt_secret(struct cli_ctx *ctx, const char *prompt, int confirm, char **out)
{
    int fd, r = -1;
    char *a = NULL, *b = NULL;

    if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0) {
        cli_errorf(ctx, "no terminal to prompt on; use the --*-file option");
        return -1;
    }
    if (prompt_once(ctx, fd, prompt, &a) < 0)
        goto out;
    if (!a[0]) {
        cli_errorf(ctx, "empty input");
        goto out;
    }
    if (confirm) {
        if (prompt_once(ctx, fd, "Again: ", &b) < 0)
            goto out;
        if (strlen(a) != strlen(b) || sodium_memcmp(a, b, strlen(a)) != 0) {
            cli_errorf(ctx, "the two entries differ");
            goto out;
        }
    }
    *out = a;
    a = NULL;
    r = 0;
out:
    cli_secret_free(a);
    cli_secret_free(b);
    close(fd);
    return r;
}

int cli_write_private_file(struct cli_ctx *ctx, const char *path, const void *data, size_t len,
                           int force)
{
    char q[300];
    int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
    int fd = open(path, flags, 0600);
    const char *p = data;

    cli_term_escape(q, sizeof(q), path, strlen(path));
    if (fd < 0)
        return cli_errorf(ctx, "cannot create %s: %s", q, strerror(errno)), -1;
    /* An existing file (force) keeps its mode: tighten it. */
    if (fchmod(fd, 0600) < 0) {
        close(fd);
        return cli_errorf(ctx, "cannot chmod %s: %s", q, strerror(errno)), -1;
    }
    while (len) {
        ssize_t k = write(fd, p, len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            close(fd);
            return cli_errorf(ctx, "cannot write %s: %s", q, strerror(errno)), -1;
        }
        p += k;
        len -= (size_t)k;
    }
    if (close(fd) < 0)
        return cli_errorf(ctx, "cannot write %s: %s", q, strerror(errno)), -1;
    return 0;
}

/* ------------------------------------------------------------------ escaping */

char *cli_term_escape(char *dst, size_t dstlen, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    if (!dstlen)
        return dst;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char tmp[4];
        size_t k;
        if (ch == '\\') {
            tmp[0] = tmp[1] = '\\';
            k = 2;
        } else if (ch >= 0x20 && ch < 0x7f) {
            tmp[0] = (char)ch;
            k = 1;
        } else {
            tmp[0] = '\\';
            tmp[1] = 'x';
            tmp[2] = hex[ch >> 4];
            tmp[3] = hex[ch & 15];
            k = 4;
        }
        if (o + k + 4 > dstlen) {
            /* keep room for "..." and the NUL */
            if (dstlen >= 4) {
                if (o + 4 > dstlen)
                    o = dstlen - 4;
                memcpy(dst + o, "...", 3);
                o += 3;
            }
            break;
        }
        memcpy(dst + o, tmp, k);
        o += k;
    }
    dst[o < dstlen ? o : dstlen - 1] = 0;
    return dst;
}

void cli_term_puts(FILE *f, const char *s)
{
    char buf[8];
    for (; *s; s++) {
        cli_term_escape(buf, sizeof(buf), s, 1);
        fputs(buf, f);
    }
}

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t k;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        k = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        k = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        k = 4, cp = c & 0x07;
    else
        return 0;
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return k;
}

void cli_json_str(FILE *f, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
            i++;
        } else if (c == '\n') {
            fputs("\\n", f);
            i++;
        } else if (c == '\t') {
            fputs("\\t", f);
            i++;
        } else if (c == '\r') {
            fputs("\\r", f);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(f, "\\u%04x", c);
            i++;
        } else {
            size_t k = utf8_len(p + i, n - i);
            if (!k) {
                fputs("\\ufffd", f);
                i++;
            } else {
                fwrite(p + i, 1, k, f);
                i += k;
            }
        }
    }
    fputc('"', f);
}

/* ------------------------------------------------------------------ structured output */

static int is_json(const struct cli_ctx *ctx)
{
    return ctx->format == CLI_FMT_JSON;
}

/* JSON: emit the separator and key for a new member at the current depth. */
static void json_member(struct cli_ctx *ctx, const char *key)
{
    if (!ctx->first[ctx->depth])
        fputc(',', ctx->out);
    ctx->first[ctx->depth] = 0;
    if (key) {
        cli_json_str(ctx->out, key, strlen(key));
        fputc(':', ctx->out);
    }
}

/* Table: start a field; top level "key<pad>", inside a list item "key=". */
/* --field NAME: every top-level field but NAME goes to a sink; NAME's value
 * goes to the real output, without its key. */
static int field_select(struct cli_ctx *ctx, const char *key)
{
    if (!ctx->field || !ctx->field_sink || ctx->depth != 0)
        return 0;
    if (!strcmp(key, ctx->field)) {
        ctx->out = ctx->field_out;
        ctx->field_found = 1;
    } else {
        ctx->out = ctx->field_sink;
    }
    return 1;
}

static void table_field(struct cli_ctx *ctx, const char *key)
{
    if (field_select(ctx, key))
        return;
    if (ctx->depth >= 2) {
        if (ctx->item_fields++)
            fputc(' ', ctx->out);
        fprintf(ctx->out, "%s=", key);
    } else {
        fprintf(ctx->out, "%-22s ", key);
    }
}

static void table_field_end(struct cli_ctx *ctx)
{
    if (ctx->depth < 2)
        fputc('\n', ctx->out);
    if (ctx->field && ctx->field_sink && ctx->depth == 0)
        ctx->out = ctx->field_sink;
}

void cli_out_begin(struct cli_ctx *ctx)
{
    ctx->depth = 0;
    ctx->first[0] = 1;
    if (ctx->field && !ctx->field_sink) {
        /* One value, as the table prints it: JSON does not apply. */
        ctx->format = CLI_FMT_TABLE;
        ctx->field_out = ctx->out;
        if ((ctx->field_sink = fopen("/dev/null", "we")))
            ctx->out = ctx->field_sink;
    }
    if (is_json(ctx))
        fputc('{', ctx->out);
}

void cli_out_end(struct cli_ctx *ctx)
{
    if (ctx->field_sink) {
        ctx->out = ctx->field_out;
        fclose(ctx->field_sink);
        ctx->field_sink = NULL;
    }
    if (is_json(ctx))
        fputs("}\n", ctx->out);
    fflush(ctx->out);
}

void cli_out_str(struct cli_ctx *ctx, const char *key, const char *val)
{
    if (!val)
        val = "";
    if (is_json(ctx)) {
        json_member(ctx, key);
        cli_json_str(ctx->out, val, strlen(val));
        return;
    }
    table_field(ctx, key);
    if (ctx->depth >= 2 && (!val[0] || strchr(val, ' '))) {
        /* keep key=value pairs parseable */
        fputc('"', ctx->out);
        cli_term_puts(ctx->out, val);
        fputc('"', ctx->out);
    } else {
        cli_term_puts(ctx->out, val);
    }
    table_field_end(ctx);
}

void cli_out_u64(struct cli_ctx *ctx, const char *key, uint64_t v)
{
    if (is_json(ctx)) {
        json_member(ctx, key);
        fprintf(ctx->out, "%" PRIu64, v);
        return;
    }
    table_field(ctx, key);
    fprintf(ctx->out, "%" PRIu64, v);
    table_field_end(ctx);
}

void cli_out_i64(struct cli_ctx *ctx, const char *key, int64_t v)
{
    if (is_json(ctx)) {
        json_member(ctx, key);
        fprintf(ctx->out, "%" PRId64, v);
        return;
    }
    table_field(ctx, key);
    fprintf(ctx->out, "%" PRId64, v);
    table_field_end(ctx);
}

void cli_out_bool(struct cli_ctx *ctx, const char *key, int v)
{
    if (is_json(ctx)) {
        json_member(ctx, key);
        fputs(v ? "true" : "false", ctx->out);
        return;
    }
    table_field(ctx, key);
    fputs(v ? "true" : "false", ctx->out);
    table_field_end(ctx);
}

void cli_out_time(struct cli_ctx *ctx, const char *key, int64_t t)
{
    char buf[32] = "-";
    if (t > 0) {
        time_t tt = (time_t)t;
        struct tm tm;
        if (gmtime_r(&tt, &tm))
            strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    if (is_json(ctx)) {
        /* RFC 3339 in UTC as in tables; null for "never" / "not set". */
        json_member(ctx, key);
        if (t > 0)
            fprintf(ctx->out, "\"%s\"", buf);
        else
            fputs("null", ctx->out);
        return;
    }
    table_field(ctx, key);
    fputs(buf, ctx->out);
    table_field_end(ctx);
}

void cli_out_hex(struct cli_ctx *ctx, const char *key, const uint8_t *p, size_t n)
{
    if (is_json(ctx))
        json_member(ctx, key), fputc('"', ctx->out);
    else
        table_field(ctx, key);
    for (size_t i = 0; i < n; i++)
        fprintf(ctx->out, "%02x", p[i]);
    if (is_json(ctx))
        fputc('"', ctx->out);
    else {
        if (!n)
            fputc('-', ctx->out);
        table_field_end(ctx);
    }
}

void cli_out_strv(struct cli_ctx *ctx, const char *key, char *const *v, size_t n)
{
    if (is_json(ctx)) {
        json_member(ctx, key);
        fputc('[', ctx->out);
        for (size_t i = 0; i < n; i++) {
            if (i)
                fputc(',', ctx->out);
            cli_json_str(ctx->out, v[i], strlen(v[i]));
        }
        fputc(']', ctx->out);
        return;
    }
    table_field(ctx, key);
    if (!n)
        fputc('-', ctx->out);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', ctx->out);
        cli_term_puts(ctx->out, v[i]);
    }
    table_field_end(ctx);
}

void cli_out_list_begin(struct cli_ctx *ctx, const char *key)
{
    field_select(ctx, key);
    if (is_json(ctx)) {
        json_member(ctx, key);
        fputc('[', ctx->out);
    }
    if (ctx->depth < 6)
        ctx->depth++;
    ctx->first[ctx->depth] = 1;
}

void cli_out_list_end(struct cli_ctx *ctx)
{
    if (is_json(ctx))
        fputc(']', ctx->out);
    if (ctx->depth > 0)
        ctx->depth--;
    if (ctx->field && ctx->field_sink && ctx->depth == 0)
        ctx->out = ctx->field_sink;
}

void cli_out_list_str(struct cli_ctx *ctx, const char *val)
{
    if (is_json(ctx)) {
        json_member(ctx, NULL);
        cli_json_str(ctx->out, val, strlen(val));
        return;
    }
    cli_term_puts(ctx->out, val);
    fputc('\n', ctx->out);
}

void cli_out_item_begin(struct cli_ctx *ctx)
{
    if (is_json(ctx)) {
        json_member(ctx, NULL);
        fputc('{', ctx->out);
    }
    if (ctx->depth < 6)
        ctx->depth++;
    ctx->first[ctx->depth] = 1;
    ctx->item_fields = 0;
}

void cli_out_item_end(struct cli_ctx *ctx)
{
    if (is_json(ctx))
        fputc('}', ctx->out);
    else
        fputc('\n', ctx->out);
    if (ctx->depth > 0)
        ctx->depth--;
}

int cli_delete_named(struct cli_ctx *ctx, int argc, char **argv,
                     int (*del)(tv_client *c, const char *name))
{
    int r;

    if ((r = cli_args(ctx, argc, argv, 1, 1)) != CLI_CONTINUE)
        return r;
    if ((r = cli_connect(ctx, 1)) != 0)
        return r;
    if ((r = del(ctx->client, argv[optind])) < 0)
        return cli_fail(ctx, r);
    cli_out_begin(ctx);
    cli_out_str(ctx, "deleted", argv[optind]);
    cli_out_end(ctx);
    return CLI_OK;
}
