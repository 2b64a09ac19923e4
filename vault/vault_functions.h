/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_functions: registered function identities (DESIGN.md §5, issue 5.4).
 *
 * A function is a name, an identity policy document saying what may run it,
 * the ACL policies bound to it (functions only ever get `read`, enforced by
 * vault_acl) and its creation time. Stored in the "functions" DB of vault_db:
 *   key   = the name's bytes (single component; names are [A-Za-z0-9._-])
 *   value = u8 format (1) || packed teevault.v1.FunctionInfo
 *
 * Identity policy document (JSON object, strict: unknown keys are errors):
 *   "evidence_type"       "sim" | "sgx" | "tdx" | "snp"            (required)
 *   "shape"               sim only: "sgx" | "tdx" | "snp": the sim evidence
 *                         carries that hardware's claims (seal_sim_report.h)
 *                         and the policy follows that hardware's rules
 *   "measurement"         hex, sim (32 B) or snp (48 B)
 *   "mrenclave"           hex 32 B (sgx)
 *   "mrsigner"            hex 32 B (sgx)
 *   "isvprodid"           integer 0..65535 (sgx ISVPRODID)
 *   "mrtd"                hex 48 B (tdx)
 *   "rtmr"                array of 4 hex 48 B strings: RTMR0..3 (tdx)
 *   "mrconfigid", "mrowner", "mrownerconfig"   hex 48 B (tdx)
 *   "host_data"           hex 32 B (snp HOST_DATA)
 *   "id_key_digest"       hex 48 B (snp ID_KEY_DIGEST)
 *   "min_tcb"             {"bootloader":n,"tee":n,"snp":n,"microcode":n},
 *                         each 0..255: minimum REPORTED_TCB components (snp)
 *   "vmpl"                integer 0..3, default 0: the VMPL the report must
 *                         come from (snp)
 *   "signer"              hex 32 B (sim signer)
 *   "min_svn"             integer >= 0 (sim svn, sgx ISVSVN, snp GUEST_SVN)
 *   "tcb_statuses"        array of TCB status names ("UpToDate", ...);
 *                         default ["UpToDate"] (sgx/tdx)
 *   "allow_no_collateral" bool, default false (sgx/tdx: accept evidence whose
 *                         TCB status could not be evaluated)
 *   "allow_debug"         bool, default false
 *   "code_hash"           hex 1..64 B: the function's code hash must equal it
 *   "code_in_measurement" bool, default false: the measurement is the
 *                         function itself (code built into the image), so
 *                         no code_hash is pinned
 * What must be pinned, so that the policy identifies one workload and not a
 * platform (refused at registration otherwise):
 *   sim  measurement and/or signer
 *   sgx  mrenclave, or mrsigner + isvprodid + min_svn
 *   tdx  mrtd and (rtmr, or mrconfigid, or mrowner): MRTD alone is the
 *        firmware every TD on the host shares
 *   snp  measurement, host_data, id_key_digest and min_tcb (vmpl defaults to 0)
 *   all  code_hash, unless code_in_measurement is true.
 *
 * Threading: event-loop thread (LMDB transactions of the caller).
 */
#ifndef VAULT_FUNCTIONS_H
#define VAULT_FUNCTIONS_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "seal_verify.h"
#include "teevault.pb-c.h"
#include "tv_err.h"
#include "vault.h"
#include "vault_db.h"

#define VAULT_FN_NAME_MAX      100 /* fits vault_principal.id */
#define VAULT_FN_POLICY_MAX    (16u * 1024)
#define VAULT_FN_ACL_MAX       32 /* ACL policies bound to one function */
#define VAULT_FN_CODE_HASH_MAX 64

typedef struct vault_fn_policy {
    enum seal_ev_type type;
    uint8_t measurement[48];
    size_t measurement_len; /* 0 = not pinned */
    uint8_t mrenclave[32];
    int has_mrenclave;
    uint8_t mrtd[48];
    int has_mrtd;
    uint8_t signer[32];
    int has_signer;
    uint8_t mrsigner[32];
    int has_mrsigner;
    int has_min_svn;
    uint32_t min_svn;
    uint32_t accepted_statuses; /* SEAL_TCB_BIT mask; 0 = UpToDate only */
    int allow_no_collateral;
    int allow_debug;
    uint8_t code_hash[VAULT_FN_CODE_HASH_MAX];
    size_t code_hash_len; /* 0 = not pinned */
    /* The claim shape the rules apply to: type for hardware; for sim, the
     * "shape" (SEAL_EV_SGX/TDX/SNP) or SEAL_EV_SIM for plain sim. */
    enum seal_ev_type shape;
    int has_isvprodid;
    uint16_t isvprodid;
    int has_rtmr;
    uint8_t rtmr[4][48];
    int has_mrconfigid, has_mrowner, has_mrownerconfig;
    uint8_t mrconfigid[48], mrowner[48], mrownerconfig[48];
    int has_host_data;
    uint8_t host_data[32];
    int has_id_key_digest;
    uint8_t id_key_digest[48];
    int has_min_tcb;
    uint8_t min_tcb[4]; /* bootloader, tee, snp, microcode */
    uint32_t vmpl;      /* snp: required VMPL (default 0) */
    int code_in_measurement;
} vault_fn_policy;

/* 1 when name is a valid function name (1..VAULT_FN_NAME_MAX of
 * [A-Za-z0-9._-], not starting with '.' or '-'). */
int vault_fn_name_valid(const char *name);

/* Parse an identity policy document. On error err (errlen) says why.
 * Errors: TV_ERR_INVALID, TV_ERR_TOO_LARGE (above VAULT_FN_POLICY_MAX). */
int vault_fn_policy_parse(const char *doc, size_t len, vault_fn_policy *out, char *err,
                          size_t errlen) TV_WUR;

/* The seal_verify policy to verify this function's evidence with. */
void vault_fn_policy_verify_policy(const vault_fn_policy *p, seal_verify_policy *out);

/* Match verified claims (verdict from seal_verify_evidence or
 * seal_sim_verify_verdict, already accepted) and the presented code hash
 * against the policy. Errors: TV_ERR_POLICY with why (wrong evidence type,
 * measurement/signer not the registered one, svn too low, debug, code hash
 * differs). */
int vault_fn_policy_match(const vault_fn_policy *p, const seal_verdict *v, const uint8_t *code_hash,
                          size_t code_hash_len, char *why, size_t whylen) TV_WUR;

/* Store (create or replace) a function inside the caller's write txn. The
 * policy document and the ACL policy names are validated; created_at is set
 * to now when fi->created_at is 0. Errors: TV_ERR_INVALID (with err),
 * TV_ERR_TOO_LARGE, TV_ERR_NOMEM, storage errors. */
int vault_functions_put(vault_db *db, MDB_txn *txn, const Teevault__V1__FunctionInfo *fi,
                        int64_t now, char *err, size_t errlen) TV_WUR;

/* Fetch a function. *out is unpacked by protobuf-c; free it with
 * teevault__v1__function_info__free_unpacked(*out, NULL).
 * Errors: TV_ERR_NOT_FOUND, TV_ERR_INTEGRITY (undecodable record),
 * TV_ERR_NOMEM, storage errors. */
int vault_functions_get(vault_db *db, MDB_txn *txn, const char *name,
                        Teevault__V1__FunctionInfo **out) TV_WUR;

/* Delete. Errors: TV_ERR_NOT_FOUND, storage errors. */
int vault_functions_delete(vault_db *db, MDB_txn *txn, const char *name) TV_WUR;

/* List every function in name order (at most max; 0 = 10000). *out is an
 * array of *n unpacked messages; free with vault_functions_list_free.
 * Errors: TV_ERR_INTEGRITY, TV_ERR_NOMEM, storage errors. */
int vault_functions_list(vault_db *db, MDB_txn *txn, size_t max, Teevault__V1__FunctionInfo ***out,
                         size_t *n) TV_WUR;
void vault_functions_list_free(Teevault__V1__FunctionInfo **fns, size_t n);

/* vault_function_principal() (declared in vault_acl.h, for Policies.Explain)
 * is defined in vault_functions.c: kind FUNCTION, id = name, policies = the
 * function's ACL policies, no ephemeral key. */

#endif
