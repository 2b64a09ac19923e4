/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz teevaultd's config parser: vault_config_load (libinih + every key's
 * value parser) on a file holding the input, then vault_config_validate.
 * The file lives in a per-process temp directory (on /dev/shm when
 * present), rewritten for each input.
 * Properties checked: a refusal always says why (file:line: ...); a loaded
 * config keeps its invariants (limits non-zero, a chosen backend, sim only
 * with its opt-in, no sim key on a hardware backend; a config hash).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vault_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char g_dir[128];
static char g_path[160];

static void cleanup(void)
{
    if (g_path[0])
        unlink(g_path);
    if (g_dir[0])
        rmdir(g_dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vault_config c;
    char err[512];
    FILE *f;

    if (!g_path[0]) {
        snprintf(g_dir, sizeof(g_dir), "%s/tv-fuzz-config.XXXXXX",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        if (!mkdtemp(g_dir))
            abort();
        snprintf(g_path, sizeof(g_path), "%s/teevault.conf", g_dir);
        atexit(cleanup);
    }
    if (!(f = fopen(g_path, "w")))
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    if (fclose(f) != 0)
        abort();

    if (vault_config_defaults(&c) < 0)
        return 0;
    err[0] = 0;
    int r = vault_config_load(&c, g_path, err, sizeof(err));
    if (r < 0) {
        if (!err[0] || strncmp(err, g_path, strlen(g_path)) != 0)
            __builtin_trap(); /* a refusal names the file (and line) */
    } else {
        if (!c.state_dir || !c.seal_policy)
            __builtin_trap();
        err[0] = 0;
        int v = vault_config_validate(&c, err, sizeof(err));
        if (v < 0 && !err[0])
            __builtin_trap();
        /* Accepted: a backend was chosen, sim only with the opt-in, and no
         * sim-only key on a hardware backend. */
        if (v == 0 && (!c.tee_backend ||
                       (strcmp(c.tee_backend, "sim") == 0 ? !c.allow_insecure_sim
                                                          : c.attest_sim_platform_dir != NULL)))
            __builtin_trap();
        uint8_t h[VAULT_CONFIG_HASH_LEN];
        if (vault_config_hash(&c, h) != 0)
            __builtin_trap();
    }
    vault_config_free(&c);
    return 0;
}
