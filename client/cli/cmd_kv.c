/* SPDX-License-Identifier: Apache-2.0 */
/* teevault kv ...: service Secrets. Values never come from argv. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#define KV_VALUE_MAX (1024 * 1024)
#define MAX_VERSIONS 256

enum { OPT_FILE = 0x2400, OPT_CAS, OPT_MAXV, OPT_VERSION };

static const struct option put_opts[] = {
    {"file", required_argument, NULL, OPT_FILE},
    {"cas", required_argument, NULL, OPT_CAS},
    {"max-versions", required_argument, NULL, OPT_MAXV},
    {0},
};

static int kv_put(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *file = "-";
    tv_put_opts po = {0};
    uint64_t v = 0, version = 0;
    char *value = NULL;
    size_t len = 0;
    int o, r, ret;

    while ((o = cli_getopt(ctx, argc, argv, put_opts)) != -1) {
        switch (o) {
        case OPT_FILE:
            file = optarg;
            break;
        case OPT_CAS:
            if (cli_parse_u64(optarg, &po.cas) < 0)
                return cli_usage_err(ctx, "--cas takes a version number (0: must not exist)");
            po.cas_set = 1;
            break;
        case OPT_MAXV:
            if (cli_parse_u64(optarg, &v) < 0 || v == 0 || v > UINT32_MAX)
                return cli_usage_err(ctx, "--max-versions takes a positive number");
            po.max_versions = (uint32_t)v;
            break;
        case 'h':
            return cli_usage(ctx, CLI_OK);
        default:
            return CLI_USAGE;
        }
    }
    if (argc - optind > 1)
        /* Never accept the value itself: argv is visible to every local user
         * (ps, /proc) and lands in shell history. */
        return cli_usage_err(ctx, "refusing a secret value on the command line; "
                                  "pipe it on stdin or use --file=FILE");
    if ((r = cli_check_args(ctx, argc, 1, 1)) != CLI_CONTINUE)
        return r;
    if (!strcmp(file, "-") && isatty(STDIN_FILENO))
        fprintf(ctx->err, "Reading the value from the terminal; end it with Ctrl-D.\n");
    if (cli_read_secret_file(ctx, file, KV_VALUE_MAX, 0, &value, &len) < 0)
        return CLI_ERR;
    if ((ret = cli_connect(ctx, 1)) == 0) {
        if ((r = tv_secret_put(ctx->client, argv[optind], value, len, &po, &version)) < 0) {
            ret = cli_fail(ctx, r);
        } else {
            cli_out_begin(ctx);
            cli_out_str(ctx, "name", argv[optind]);
            cli_out_u64(ctx, "version", version);
            cli_out_end(ctx);
        }
    }
    cli_secret_free(value);
    return ret;
}

static const struct option get_opts[] = {
    {"version", required_argument, NULL, OPT_VERSION},
    {0},
};

/* Does the value hold bytes a terminal would interpret? */
static int has_control(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((p[i] < 0x20 && p[i] != '\n' && p[i] != '\t') || p[i] == 0x7f)
            return 1;
    return 0;
}

static int kv_get(struct cli_ctx *ctx, int argc, char **argv)
{
    uint64_t version = 0, got = 0;
    uint8_t *value = NULL;
    size_t len = 0;
    int o, r;

    while ((o = cli_getopt(ctx, argc, argv, get_opts)) != -1) {
        switch (o) {
        case OPT_VERSION:
            if (cli_parse_u64(optarg, &version) < 0)
                return cli_usage_err(ctx, "--version takes a version number");
            break;
        case 'h':
            return cli_usage(ctx, CLI_OK);
        default:
            return CLI_USAGE;
        }
    }
    if ((r = cli_check_args(ctx, argc, 1, 1)) != CLI_CONTINUE)
        return r;
    if ((r = cli_connect(ctx, 1)) != 0)
        return r;
    if ((r = tv_secret_get(ctx->client, argv[optind], version, &value, &len, &got)) < 0)
        return cli_fail(ctx, r);
    if (ctx->field && strcmp(ctx->field, "value") != 0) {
        /* -field name|version; -field value is the raw value below. */
        tv_free_secret(value);
        cli_out_begin(ctx);
        cli_out_str(ctx, "name", argv[optind]);
        cli_out_u64(ctx, "version", got);
        cli_out_end(ctx);
        return CLI_OK;
    }
    if (ctx->field)
        ctx->field_found = 1;
    if (ctx->format == CLI_FMT_JSON && !ctx->field) {
        size_t b64len = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = sodium_malloc(b64len);
        if (!b64) {
            tv_free_secret(value);
            return cli_errorf(ctx, "out of memory");
        }
        sodium_bin2base64(b64, b64len, value, len, sodium_base64_VARIANT_ORIGINAL);
        cli_out_begin(ctx);
        cli_out_str(ctx, "name", argv[optind]);
        cli_out_u64(ctx, "version", got);
        cli_out_str(ctx, "value_base64", b64);
        cli_out_end(ctx);
        sodium_free(b64);
    } else if (isatty(fileno(ctx->out)) && has_control(value, len)) {
        /* Raw bytes to a pipe or file; a terminal gets them escaped. */
        char buf[8];
        for (size_t i = 0; i < len; i++) {
            if (value[i] == '\n' || value[i] == '\t')
                fputc(value[i], ctx->out);
            else
                fputs(cli_term_escape(buf, sizeof(buf), (const char *)value + i, 1), ctx->out);
        }
        sodium_memzero(buf, sizeof(buf));
    } else {
        fwrite(value, 1, len, ctx->out);
    }
    fflush(ctx->out);
    tv_free_secret(value);
    return CLI_OK;
}

static int kv_list(struct cli_ctx *ctx, int argc, char **argv)
{
    char *cursor = NULL, **all = NULL;
    size_t nall = 0;
    int r, ret = CLI_ERR;

    if ((r = cli_args(ctx, argc, argv, 0, 1)) != CLI_CONTINUE)
        return r;
    if ((r = cli_connect(ctx, 1)) != 0)
        return r;
    const char *prefix = optind < argc ? argv[optind] : "";
    /* Collect every page first, so a failure prints no partial listing. */
    for (int page = 0; page < 100000; page++) {
        char **names = NULL, *next = NULL, **grown;
        size_t n = 0;
        if ((r = tv_secret_list(ctx->client, prefix, 1000, cursor, &names, &n, &next)) < 0) {
            ret = cli_fail(ctx, r);
            goto out;
        }
        tv_free(cursor);
        cursor = next;
        if (!(grown = realloc(all, (nall + n + 1) * sizeof(*all)))) {
            tv_strv_free(names, n);
            ret = cli_errorf(ctx, "out of memory");
            goto out;
        }
        all = grown;
        memcpy(all + nall, names, n * sizeof(*names));
        nall += n;
        tv_free(names); /* the strings moved into all */
        if (!cursor[0])
            break;
    }
    cli_out_begin(ctx);
    cli_out_list_begin(ctx, "names");
    for (size_t i = 0; i < nall; i++)
        cli_out_list_str(ctx, all[i]);
    cli_out_list_end(ctx);
    cli_out_end(ctx);
    ret = CLI_OK;
out:
    tv_free(cursor);
    tv_strv_free(all, nall);
    return ret;
}

static void print_versions(struct cli_ctx *ctx, const tv_secret_meta *m)
{
    cli_out_list_begin(ctx, "versions");
    for (size_t i = 0; i < m->n_versions; i++) {
        const tv_version_info *vi = &m->versions[i];
        const char *state = vi->destroyed ? "destroyed" : vi->deleted_at ? "deleted" : "live";
        cli_out_item_begin(ctx);
        cli_out_u64(ctx, "version", vi->version);
        cli_out_str(ctx, "state", state);
        cli_out_time(ctx, "created_at", vi->created_at);
        cli_out_time(ctx, "deleted_at", vi->deleted_at);
        cli_out_u64(ctx, "kek_epoch", vi->kek_epoch);
        cli_out_item_end(ctx);
    }
    cli_out_list_end(ctx);
}

static int describe(struct cli_ctx *ctx, int argc, char **argv, int versions_only)
{
    tv_secret_meta *m = NULL;
    int r;

    if ((r = cli_args(ctx, argc, argv, 1, 1)) != CLI_CONTINUE)
        return r;
    if ((r = cli_connect(ctx, 1)) != 0)
        return r;
    if ((r = tv_secret_describe(ctx->client, argv[optind], &m)) < 0)
        return cli_fail(ctx, r);
    cli_out_begin(ctx);
    if (!versions_only) {
        cli_out_str(ctx, "name", m->name);
        cli_out_u64(ctx, "current_version", m->current_version);
        cli_out_u64(ctx, "max_versions", m->max_versions);
        cli_out_time(ctx, "created_at", m->created_at);
        cli_out_time(ctx, "updated_at", m->updated_at);
    }
    print_versions(ctx, m);
    cli_out_end(ctx);
    tv_secret_meta_free(m);
    return CLI_OK;
}

/* `vault kv metadata get` field names, for scripts written against Vault. */
static int kv_metadata(struct cli_ctx *ctx, int argc, char **argv)
{
    tv_secret_meta *m = NULL;
    uint64_t oldest = 0;
    int r;

    if ((r = cli_args(ctx, argc, argv, 1, 1)) != CLI_CONTINUE)
        return r;
    if ((r = cli_connect(ctx, 1)) != 0)
        return r;
    if ((r = tv_secret_describe(ctx->client, argv[optind], &m)) < 0)
        return cli_fail(ctx, r);
    for (size_t i = 0; i < m->n_versions; i++)
        if (!m->versions[i].destroyed && (!oldest || m->versions[i].version < oldest))
            oldest = m->versions[i].version;
    cli_out_begin(ctx);
    cli_out_str(ctx, "name", m->name);
    cli_out_time(ctx, "created_time", m->created_at);
    cli_out_u64(ctx, "current_version", m->current_version);
    cli_out_u64(ctx, "max_versions", m->max_versions);
    cli_out_u64(ctx, "oldest_version", oldest);
    cli_out_time(ctx, "updated_time", m->updated_at);
    cli_out_list_begin(ctx, "versions");
    for (size_t i = 0; i < m->n_versions; i++) {
        const tv_version_info *vi = &m->versions[i];
        cli_out_item_begin(ctx);
        cli_out_u64(ctx, "version", vi->version);
        cli_out_time(ctx, "created_time", vi->created_at);
        cli_out_time(ctx, "deletion_time", vi->deleted_at);
        cli_out_bool(ctx, "destroyed", vi->destroyed);
        cli_out_item_end(ctx);
    }
    cli_out_list_end(ctx);
    cli_out_end(ctx);
    tv_secret_meta_free(m);
    return CLI_OK;
}

static int kv_describe(struct cli_ctx *ctx, int argc, char **argv)
{
    return describe(ctx, argc, argv, 0);
}

static int kv_versions(struct cli_ctx *ctx, int argc, char **argv)
{
    return describe(ctx, argc, argv, 1);
}

static const struct option ver_opts[] = {
    {"version", required_argument, NULL, OPT_VERSION},
    {0},
};

typedef int (*versions_fn)(tv_client *, const char *, const uint64_t *, size_t);

static int versions_cmd(struct cli_ctx *ctx, int argc, char **argv, versions_fn fn,
                        const char *done)
{
    uint64_t versions[MAX_VERSIONS];
    size_t n = 0;
    int o, r;

    while ((o = cli_getopt(ctx, argc, argv, ver_opts)) != -1) {
        switch (o) {
        case OPT_VERSION:
            if (n == MAX_VERSIONS)
                return cli_usage_err(ctx, "too many --version options");
            if (cli_parse_u64(optarg, &versions[n]) < 0 || versions[n] == 0)
                return cli_usage_err(ctx, "--version takes a version number (1 or more)");
            n++;
            break;
        case 'h':
            return cli_usage(ctx, CLI_OK);
        default:
            return CLI_USAGE;
        }
    }
    if ((r = cli_check_args(ctx, argc, 1, 1)) != CLI_CONTINUE)
        return r;
    if ((r = cli_connect(ctx, 1)) != 0)
        return r;
    if ((r = fn(ctx->client, argv[optind], versions, n)) < 0)
        return cli_fail(ctx, r);
    cli_out_begin(ctx);
    cli_out_str(ctx, "name", argv[optind]);
    cli_out_str(ctx, "result", done);
    cli_out_list_begin(ctx, "versions");
    for (size_t i = 0; i < n; i++) {
        char b[24];
        snprintf(b, sizeof(b), "%llu", (unsigned long long)versions[i]);
        if (ctx->format == CLI_FMT_JSON)
            cli_out_list_str(ctx, b);
    }
    cli_out_list_end(ctx);
    cli_out_end(ctx);
    return CLI_OK;
}

static int kv_delete(struct cli_ctx *ctx, int argc, char **argv)
{
    return versions_cmd(ctx, argc, argv, tv_secret_delete, "deleted");
}

static int kv_undelete(struct cli_ctx *ctx, int argc, char **argv)
{
    return versions_cmd(ctx, argc, argv, tv_secret_undelete, "undeleted");
}

static int kv_destroy(struct cli_ctx *ctx, int argc, char **argv)
{
    return versions_cmd(ctx, argc, argv, tv_secret_destroy, "destroyed");
}

static const struct cli_cmd kv_cmds[] = {
    {"put", kv_put,
     "Store a new version of secret NAME. The value is read from stdin or\n"
     "--file=FILE, never from the command line.\n"
     "  --cas=N           only if the current version is N (0: only if NAME is new)\n"
     "  --max-versions=N  keep at most N versions",
     "kv put NAME [--file=FILE] [--cas=N] [--max-versions=N] < value"},
    {"get", kv_get,
     "Print the value of NAME (latest live version, or --version=N) raw on stdout\n"
     "(escaped on a terminal; base64 in --format=json). --field=value prints the\n"
     "value, --field=version its version number.",
     "kv get NAME [--version=N]"},
    {"list", kv_list, "List secret names under PREFIX (all pages).", "kv list [PREFIX]"},
    {"describe", kv_describe, "Show NAME's metadata and versions (never values).",
     "kv describe NAME"},
    {"metadata", kv_metadata,
     "Show NAME's metadata with the field names of `vault kv metadata get`\n"
     "(created_time, current_version, max_versions, oldest_version, updated_time, versions).",
     "kv metadata NAME"},
    {"delete", kv_delete, "Soft-delete versions of NAME (default: the latest).",
     "kv delete NAME [--version=N]..."},
    {"undelete", kv_undelete, "Restore soft-deleted versions of NAME (default: the latest).",
     "kv undelete NAME [--version=N]..."},
    {"destroy", kv_destroy,
     "Destroy versions of NAME for good: their data keys are erased (default: the latest).",
     "kv destroy NAME [--version=N]..."},
    {"versions", kv_versions, "List NAME's versions and their state.", "kv versions NAME"},
};

int cmd_kv(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_dispatch(ctx, kv_cmds, sizeof(kv_cmds) / sizeof(kv_cmds[0]), "kv", argc, argv);
}
