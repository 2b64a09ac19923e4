/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_log: one line per event on stderr, as text or JSON lines.
 *
 * An event is a name plus key/value string pairs. WARNING: values are
 * written as given (escaped); never pass a token, password or secret value.
 * The helpers take only names, ids, peers and error texts.
 *
 * Not thread-safe to reconfigure; logging itself is one fprintf per line.
 */
#ifndef VAULT_LOG_H
#define VAULT_LOG_H

#include <stdint.h>

#include "tv_err.h"

enum vault_log_level {
    VAULT_LOG_DEBUG = 0,
    VAULT_LOG_INFO = 1,
    VAULT_LOG_WARN = 2,
    VAULT_LOG_ERROR = 3,
};

enum vault_log_format {
    VAULT_LOG_TEXT = 0,
    VAULT_LOG_JSON = 1,
};

/* Set the minimum level and the format (defaults: INFO, TEXT). */
void vault_log_setup(int level, int format);

/* 1 when stderr is the stream systemd's journal connected (JOURNAL_STREAM
 * names its device and inode): vault_log_setup then starts every line with
 * its syslog priority, <3> error, <4> warn, <6> info, <7> debug, which
 * journald strips and records (journalctl -p warning shows WARN and ERROR). */
int vault_log_journald_detect(void);

/* Parse "debug|info|warn|error" / "text|json". TV_ERR_INVALID otherwise. */
int vault_log_level_parse(const char *s, int *level) TV_WUR;
int vault_log_format_parse(const char *s, int *format) TV_WUR;

/* Is `level` enabled? Lets callers skip building expensive fields. */
int vault_log_enabled(int level);

/*
 * Log event `event` with key/value pairs: a NULL-terminated list of
 * (const char *key, const char *value) arguments; a NULL value prints as "".
 *   vault_log(VAULT_LOG_INFO, "listen", "addr", path, "mode", "0660", NULL);
 * Text:  2026-01-01T00:00:00Z INFO listen addr="/run/x.sock" mode="0660"
 * JSON:  {"ts":"2026-01-01T00:00:00Z","level":"info","event":"listen","addr":...}
 */
void vault_log(int level, const char *event, ...) __attribute__((sentinel));

/* Shorthand: event with a printf-formatted "msg" field. */
void vault_logf(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Rate limit for repeated lines (issue 14: a stranger's failing requests
 * must not fill the disk with WARN lines). A limiter allows `burst` lines,
 * refilled at `per_sec` lines per second; a refused line is counted, and the
 * next allowed one reports the count (*suppressed), so nothing goes missing
 * silently. The owner keeps the struct (zero-initialised = 20/s, burst 100).
 * Loop thread only.
 */
typedef struct vault_log_limit {
    unsigned per_sec, burst; /* 0 = 20, 100 */
    int64_t milli;           /* tokens x 1000; < 0 until first use */
    uint64_t t_ms;
    uint64_t suppressed;
    int started;
} vault_log_limit;

/* 1 when a line may be written now (then *suppressed = the lines refused
 * since the last allowed one, and the count restarts), 0 when not (the
 * line is counted). now_ms: any monotonic milliseconds. */
int vault_log_limit_allow(vault_log_limit *l, uint64_t now_ms, uint64_t *suppressed);

#endif
