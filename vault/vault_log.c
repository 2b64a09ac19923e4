/* SPDX-License-Identifier: Apache-2.0 */
#include "vault_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int log_level = VAULT_LOG_INFO;
static int log_format = VAULT_LOG_TEXT;
static int log_journald; /* stderr is journald's stream: prefix <priority> */

/* systemd sets JOURNAL_STREAM=<dev>:<inode> of the stream it connected to
 * stderr; when stderr is still that stream, journald reads a "<N>" prefix
 * as the line's syslog priority (sd-daemon(3)). */
int vault_log_journald_detect(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev = 0, ino = 0;
    struct stat st;
    if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
        return 0;
    if (fstat(STDERR_FILENO, &st) < 0)
        return 0;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void vault_log_setup(int level, int format)
{
    if (level >= VAULT_LOG_DEBUG && level <= VAULT_LOG_ERROR)
        log_level = level;
    log_format = format == VAULT_LOG_JSON ? VAULT_LOG_JSON : VAULT_LOG_TEXT;
    log_journald = vault_log_journald_detect();
}

int vault_log_level_parse(const char *s, int *level)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, level_names[i]) == 0) {
            *level = i;
            return 0;
        }
    if (strcasecmp(s, "warning") == 0) {
        *level = VAULT_LOG_WARN;
        return 0;
    }
    return TV_ERR_INVALID;
}

int vault_log_format_parse(const char *s, int *format)
{
    if (strcasecmp(s, "text") == 0)
        *format = VAULT_LOG_TEXT;
    else if (strcasecmp(s, "json") == 0)
        *format = VAULT_LOG_JSON;
    else
        return TV_ERR_INVALID;
    return 0;
}

int vault_log_enabled(int level)
{
    return level >= log_level;
}

/* Append s escaped for a JSON string / a quoted text value (same escapes). */
static void put_escaped(char *line, size_t cap, size_t *o, const char *s)
{
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        char esc[8];
        size_t n;
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            n = 2;
        } else if (ch < 0x20 || ch == 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04x", ch);
            n = 6;
        } else {
            esc[0] = (char)ch;
            n = 1;
        }
        if (cap - *o < n + 8) /* keep room for the closing quote, "}" and newline */
            return;
        memcpy(line + *o, esc, n);
        *o += n;
    }
}

static void put_raw(char *line, size_t cap, size_t *o, const char *s)
{
    size_t n = strlen(s);
    if (cap - *o < n + 8)
        return;
    memcpy(line + *o, s, n);
    *o += n;
}

static void vlog_pairs(int level, const char *event, va_list ap)
{
    char line[4096];
    size_t o = 0;
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;

    if (!vault_log_enabled(level))
        return;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (log_journald) /* sd-daemon.h: SD_ERR 3, SD_WARNING 4, SD_INFO 6, SD_DEBUG 7 */
        put_raw(line, sizeof(line), &o,
                level == VAULT_LOG_ERROR  ? "<3>"
                : level == VAULT_LOG_WARN ? "<4>"
                : level == VAULT_LOG_INFO ? "<6>"
                                          : "<7>");
    if (log_format == VAULT_LOG_JSON) {
        put_raw(line, sizeof(line), &o, "{\"ts\":\"");
        put_raw(line, sizeof(line), &o, ts);
        put_raw(line, sizeof(line), &o, "\",\"level\":\"");
        put_raw(line, sizeof(line), &o, level_names[level]);
        put_raw(line, sizeof(line), &o, "\",\"event\":\"");
        put_escaped(line, sizeof(line), &o, event);
        put_raw(line, sizeof(line), &o, "\"");
    } else {
        put_raw(line, sizeof(line), &o, ts);
        put_raw(line, sizeof(line), &o, " ");
        put_raw(line, sizeof(line), &o,
                level == VAULT_LOG_DEBUG  ? "DEBUG"
                : level == VAULT_LOG_INFO ? "INFO"
                : level == VAULT_LOG_WARN ? "WARN"
                                          : "ERROR");
        put_raw(line, sizeof(line), &o, " ");
        put_escaped(line, sizeof(line), &o, event);
    }
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        const char *val = va_arg(ap, const char *);
        if (log_format == VAULT_LOG_JSON) {
            put_raw(line, sizeof(line), &o, ",\"");
            put_escaped(line, sizeof(line), &o, k);
            put_raw(line, sizeof(line), &o, "\":\"");
            put_escaped(line, sizeof(line), &o, val ? val : "");
            put_raw(line, sizeof(line), &o, "\"");
        } else {
            put_raw(line, sizeof(line), &o, " ");
            put_escaped(line, sizeof(line), &o, k);
            put_raw(line, sizeof(line), &o, "=\"");
            put_escaped(line, sizeof(line), &o, val ? val : "");
            put_raw(line, sizeof(line), &o, "\"");
        }
    }
    if (log_format == VAULT_LOG_JSON)
        line[o++] = '}';
    line[o++] = '\n';
    fwrite(line, 1, o, stderr);
    fflush(stderr);
}

void vault_log(int level, const char *event, ...)
{
    va_list ap;
    va_start(ap, event);
    vlog_pairs(level, event, ap);
    va_end(ap);
}

void vault_logf(int level, const char *event, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (!vault_log_enabled(level))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    vault_log(level, event, "msg", msg, (const char *)NULL);
}

int vault_log_limit_allow(vault_log_limit *l, uint64_t now_ms, uint64_t *suppressed)
{
    unsigned rate = l->per_sec ? l->per_sec : 20, burst = l->burst ? l->burst : 100;
    int64_t cap = (int64_t)burst * 1000;
    if (!l->started) {
        l->started = 1;
        l->milli = cap;
        l->t_ms = now_ms;
    } else if (now_ms > l->t_ms) {
        uint64_t dt = now_ms - l->t_ms;
        if (dt > 3600000)
            dt = 3600000;
        l->milli += (int64_t)dt * rate;
        if (l->milli > cap)
            l->milli = cap;
        l->t_ms = now_ms;
    }
    if (l->milli < 1000) {
        l->suppressed++;
        return 0;
    }
    l->milli -= 1000;
    *suppressed = l->suppressed;
    l->suppressed = 0;
    return 1;
}
