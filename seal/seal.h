/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal: the TEE boundary. One interface, several backends (DESIGN.md §4).
 *
 * A backend provides (1) a sealing key bound to the enclave's identity under a
 * sealing policy, (2) the enclave's own identity (measurement, signer, SVN),
 * and (3) evidence (a report or quote) binding 64 bytes of report_data.
 *
 * Backends are created from a name and a root path (a fixture tree in tests).
 * A backend object is owned by its creator and released with seal_backend_free.
 */
#ifndef SEAL_H
#define SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "tv_err.h"

#define SEAL_KEY_LEN         32
#define SEAL_REPORT_DATA_LEN 64
#define SEAL_ID_MAX          64 /* measurement / signer buffers (SHA-384 fits) */

enum seal_policy {
    SEAL_POLICY_SIGNER = 1,      /* survives upgrades by the same signer with SVN >= stored */
    SEAL_POLICY_MEASUREMENT = 2, /* this exact binary only */
};

typedef struct seal_identity {
    uint8_t measurement[SEAL_ID_MAX];
    size_t measurement_len;
    uint8_t signer[SEAL_ID_MAX];
    size_t signer_len;
    uint16_t svn;
    int debug;
} seal_identity;

typedef struct seal_backend seal_backend;

typedef struct seal_backend_ops {
    const char *name;       /* "sim", "gramine-sgx", "tsm", "dstack" */
    int hardware_protected; /* 0 for sim */
    /* Derive the 32-byte sealing key for a policy and key id (for the signer
     * policy, key_svn selects the SVN the key is bound to). key must point to
     * SEAL_KEY_LEN bytes of sodium_malloc memory. */
    int (*get_key)(seal_backend *b, enum seal_policy policy, uint16_t key_svn,
                   uint8_t key[SEAL_KEY_LEN]);
    int (*identity)(seal_backend *b, seal_identity *out);
    /* Produce evidence binding report_data. *evidence is malloc'ed, caller frees.
     * *type is a static string ("sim", "sgx", "tdx", "snp"). */
    int (*evidence)(seal_backend *b, const uint8_t report_data[SEAL_REPORT_DATA_LEN],
                    uint8_t **evidence, size_t *evidence_len, const char **type);
    void (*destroy)(seal_backend *b);
} seal_backend_ops;

struct seal_backend {
    const seal_backend_ops *ops;
    void *impl;
};

/* Options for creating a backend; unset strings take backend defaults. */
typedef struct seal_options {
    const char *backend;    /* "sim" (default), "gramine-sgx", "tsm", "dstack" */
    const char *state_dir;  /* sim: where the sealing key file lives */
    const char *root;       /* root path of /dev/attestation, configfs-tsm, or the dstack socket */
    const char *sim_signer; /* sim: signer identity string (hashed to 32 bytes) */
    uint16_t sim_svn;       /* sim: security version number */
    const char
        *sim_measurement_file; /* sim: file hashed as the measurement (default /proc/self/exe) */
    /* sim: a file of exactly SEAL_SIM_SHAPE_LEN bytes (seal_sim_report.h):
     * the evidence is a version-2 report carrying these SGX/TDX/SNP claims,
     * for testing identity policies without hardware. NULL = plain sim. */
    const char *sim_shape_file;
} seal_options;

/* Create the backend named in opts. TV_ERR_INVALID for an unknown name,
 * TV_ERR_IO when the backend's files cannot be used. */
int seal_backend_open(const seal_options *opts, seal_backend **out) TV_WUR;
void seal_backend_free(seal_backend *b);

/* Convenience wrappers over ops; see seal_backend_ops. */
int seal_get_key(seal_backend *b, enum seal_policy policy, uint16_t key_svn,
                 uint8_t key[SEAL_KEY_LEN]) TV_WUR;
int seal_identity_get(seal_backend *b, seal_identity *out) TV_WUR;

/* The sim backend's warning, for the daemon's start-up log and status
 * ("sim TEE backend: NO hardware protection ..."). Static storage. */
extern const char seal_sim_warning[];

#endif
