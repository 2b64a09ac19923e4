/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of the `teevault` CLI: the command table types, option parsing,
 * input of secrets (files, stdin, no-echo prompt), output (table or JSON,
 * escaped) and the connection helper. See teevault.c for how to add a command.
 */
#ifndef TV_CLI_H
#define TV_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "teevault.h"

/* Exit codes (teevault(1) EXIT STATUS). A script can tell "not found" from
 * "vault down" without parsing messages. */
#define CLI_OK          0
#define CLI_ERR         1 /* any other error */
#define CLI_USAGE       2 /* bad command line; also `status` on a sealed vault (as bao) */
#define CLI_NOTFOUND    3 /* no such secret, version, user, policy, function */
#define CLI_DENIED      4 /* permission denied: ACL, bad/expired token, socket permissions */
#define CLI_SEALED      5 /* the vault is sealed */
#define CLI_UNREACHABLE 6 /* cannot reach the vault: daemon down, refused, DNS, timeout */
#define CLI_UNTRUSTED   7 /* verification failed: evidence, pin, signature, rollback, integrity */

/* The exit code for a tv_err (CLI_ERR for those without their own). */
int cli_exit_code(int err);

/* What the CLI prints for any command on a sealed vault. */
#define CLI_SEALED_MSG "sealed: run `teevault operator recover` or check the TEE backend"

enum cli_format { CLI_FMT_TABLE = 0, CLI_FMT_JSON = 1 };

struct cli_ctx;

/* A command handler gets argv with argv[0] = its own name; returns an exit code. */
typedef int (*cli_fn)(struct cli_ctx *ctx, int argc, char **argv);

/* One entry of a command table (top level in teevault.c, or a group's
 * subcommands). `usage` is the synopsis after "teevault ", `help` one line. */
struct cli_cmd {
    const char *name;
    cli_fn fn;
    const char *help;
    const char *usage;
};

#define CLI_MAX_OPTS 32

struct cli_ctx {
    const char *prog;       /* "teevault" */
    const char *addr;       /* --addr or TEEVAULT_ADDR */
    const char *cacert;     /* --cacert or TEEVAULT_CACERT */
    const char *cert;       /* --client-cert or TEEVAULT_CLIENT_CERT */
    const char *key;        /* --client-key or TEEVAULT_CLIENT_KEY */
    const char *token_file; /* --token-file or TEEVAULT_TOKEN_FILE */
    const char *field;      /* --field / -field NAME: print only that field's value */
    enum cli_format format;
    FILE *out;                 /* stdout; tests may redirect */
    FILE *err;                 /* stderr */
    const struct cli_cmd *cmd; /* the leaf command being run */
    char path[128];            /* "kv put": command path for messages */
    tv_client *client;         /* opened by cli_connect, closed by cli_main */
    /* option parsing state */
    struct option merged[CLI_MAX_OPTS];
    const struct option *merged_for;
    /* output state */
    int depth;
    int first[8];
    int item_fields;
    FILE *field_out;  /* with field: the real output while ctx->out is a sink */
    FILE *field_sink; /* /dev/null */
    int field_found;
};

/* Dispatch argv[1] among `cmds` (n entries). argv[0] is the group's name.
 * Prints the group's help on --help / no subcommand. Returns an exit code. */
int cli_dispatch(struct cli_ctx *ctx, const struct cli_cmd *cmds, size_t n, const char *group,
                 int argc, char **argv);

/* getopt_long over the command's options plus the global ones (--help,
 * --format, --addr, --token-file, --cacert, --client-cert, --client-key),
 * which are handled here. Returns the command's option value, 'h' for
 * --help, '?' for a bad option (already reported), -1 at the end (then
 * optind is the first positional argument). */
int cli_getopt(struct cli_ctx *ctx, int argc, char **argv, const struct option *cmdopts);

/* Returned by helpers when the command should go on. */
#define CLI_CONTINUE (-1)

/* For commands without options of their own: parse the global options and
 * check that between min and max positional arguments remain (from
 * argv[optind]). Returns CLI_CONTINUE or an exit code (help printed: 0). */
int cli_args(struct cli_ctx *ctx, int argc, char **argv, int min, int max);

/* A "<thing> delete NAME" subcommand: one argument, one library call
 * del(client, NAME), then `deleted NAME`. Returns a CLI_* exit code. */
int cli_delete_named(struct cli_ctx *ctx, int argc, char **argv,
                     int (*del)(tv_client *c, const char *name));

/* After a cli_getopt loop: check the positional count. CLI_CONTINUE or CLI_USAGE. */
int cli_check_args(struct cli_ctx *ctx, int argc, int min, int max);

/* Print the current command's usage (to out for status 0, else to err) and return status. */
int cli_usage(struct cli_ctx *ctx, int status);
/* Report a usage error with a message, then the usage; returns CLI_USAGE. */
int cli_usage_err(struct cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report a library error (tv_err + the client's last message, escaped); returns CLI_ERR. */
int cli_fail(struct cli_ctx *ctx, int err);
/* Report a local error message; returns CLI_ERR. */
int cli_errorf(struct cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Open ctx->client from ctx->addr and the TLS settings, and set the token
 * (from --token-file, else TEEVAULT_TOKEN_FILE, else TEEVAULT_TOKEN, else the
 * file `teevault login` stored, cli_token_path) unless need_token is 0; with
 * CLI_TOKEN_OPTIONAL, no token given is not an error.
 * A connection failure is reported with its cause (socket path, host, file,
 * errno, TLS verification result) and a hint, and exits CLI_UNREACHABLE,
 * CLI_DENIED (socket permissions), CLI_USAGE (malformed address) or CLI_ERR.
 * Returns 0 or an exit code after reporting. */
#define CLI_TOKEN_OPTIONAL 2
int cli_connect(struct cli_ctx *ctx, int need_token);

/* Where `teevault login` keeps the token (like ~/.vault-token):
 * $TEEVAULT_CONFIG_DIR/token, else $XDG_CONFIG_HOME/teevault/token, else
 * $HOME/.config/teevault/token. 0 or -1 (no HOME, path too long). */
int cli_token_path(char *buf, size_t n);

/* --- numbers --- */
/* Parse a decimal u64 (no sign, no junk). 0 ok, -1 bad. */
int cli_parse_u64(const char *s, uint64_t *out);
/* Parse a duration: plain seconds or with suffix s, m, h, d. 0 ok, -1 bad. */
int cli_parse_duration(const char *s, int64_t *seconds);
/* Parse --format's argument. 0 ok, -1 bad. */
int cli_parse_format(const char *s, enum cli_format *f);

/* --- secret input --- */
/* Read a whole file ("-" = stdin) of at most max bytes into sodium_malloc
 * memory (NUL-terminated, wiped by cli_secret_free). strip_nl removes one
 * trailing "\n" or "\r\n". Returns 0 or -1 after reporting. */
int cli_read_secret_file(struct cli_ctx *ctx, const char *path, size_t max, int strip_nl,
                         char **out, size_t *len);
/* Prompt on /dev/tty with echo off; NUL-terminated sodium_malloc result.
 * confirm: ask twice and compare. Returns 0 or -1 after reporting. */
int cli_prompt_secret(struct cli_ctx *ctx, const char *prompt, int confirm, char **out);
void cli_secret_free(char *p);
/* Write data to a new file with mode 0600 (refuses to follow a symlink or
 * overwrite an existing file unless force). Returns 0 or -1 after reporting. */
int cli_write_private_file(struct cli_ctx *ctx, const char *path, const void *data, size_t len,
                           int force);

/* --- output --- */
/* Escape for a terminal: printable ASCII passes, '\\' doubles, every other
 * byte becomes \xNN. Writes into dst (size dstlen, always terminated,
 * truncated with "..." if needed). Returns dst. */
char *cli_term_escape(char *dst, size_t dstlen, const char *s, size_t n);
/* Print s escaped for a terminal. */
void cli_term_puts(FILE *f, const char *s);
/* Print s as a JSON string literal (quotes included): valid UTF-8 passes,
 * control characters become \uXXXX, invalid bytes U+FFFD. */
void cli_json_str(FILE *f, const char *s, size_t n);

/* A structured output that renders as "key  value" lines (table) or one JSON
 * object (json). Lists: table renders string items one per line and object
 * items one line each of key=value pairs. */
void cli_out_begin(struct cli_ctx *ctx);
void cli_out_end(struct cli_ctx *ctx);
void cli_out_str(struct cli_ctx *ctx, const char *key, const char *val);
void cli_out_u64(struct cli_ctx *ctx, const char *key, uint64_t v);
void cli_out_i64(struct cli_ctx *ctx, const char *key, int64_t v);
void cli_out_bool(struct cli_ctx *ctx, const char *key, int v);
void cli_out_time(struct cli_ctx *ctx, const char *key, int64_t t); /* 0 = "-" / 0 */
void cli_out_hex(struct cli_ctx *ctx, const char *key, const uint8_t *p, size_t n);
void cli_out_strv(struct cli_ctx *ctx, const char *key, char *const *v, size_t n);
void cli_out_list_begin(struct cli_ctx *ctx, const char *key);
void cli_out_list_end(struct cli_ctx *ctx);
void cli_out_list_str(struct cli_ctx *ctx, const char *val);
void cli_out_item_begin(struct cli_ctx *ctx);
void cli_out_item_end(struct cli_ctx *ctx);

/* Shared by login and token (cmd_login.c): print a token's public fields;
 * output a freshly issued token (a tv_free_secret() allocation) on stdout or
 * into a new 0600 file token_out. Returns an exit code. */
void cli_print_token_info(struct cli_ctx *ctx, const tv_token_info *ti);
int cli_emit_token(struct cli_ctx *ctx, char *token, const tv_token_info *ti, const char *token_out,
                   int force);

/* The CLI entry point (main() calls it; unit tests too). */
int cli_main(int argc, char **argv);
/* Run with a prepared context (tests set out/err). */
int cli_run(struct cli_ctx *ctx, int argc, char **argv);

/* Top-level command handlers, one per cmd_<name>.c. */
int cmd_status(struct cli_ctx *ctx, int argc, char **argv);
int cmd_operator(struct cli_ctx *ctx, int argc, char **argv);
int cmd_login(struct cli_ctx *ctx, int argc, char **argv);
int cmd_token(struct cli_ctx *ctx, int argc, char **argv);
int cmd_user(struct cli_ctx *ctx, int argc, char **argv);
int cmd_policy(struct cli_ctx *ctx, int argc, char **argv);
int cmd_kv(struct cli_ctx *ctx, int argc, char **argv);
int cmd_audit(struct cli_ctx *ctx, int argc, char **argv);
int cmd_attest(struct cli_ctx *ctx, int argc, char **argv);
/* attest vault (cmd_attest_vault.c), a subcommand of attest. */
int attest_vault(struct cli_ctx *ctx, int argc, char **argv);
int cmd_function(struct cli_ctx *ctx, int argc, char **argv);
int cmd_acl(struct cli_ctx *ctx, int argc, char **argv);
int cmd_governance(struct cli_ctx *ctx, int argc, char **argv);
int cmd_health(struct cli_ctx *ctx, int argc, char **argv);            /* cmd_status.c */
int cmd_operator_snapshot(struct cli_ctx *ctx, int argc, char **argv); /* cmd_snapshot.c */

#endif
