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

#endif
