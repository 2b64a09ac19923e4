/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_lmdb: the ONE mapping of LMDB return codes (and the errno values
 * LMDB passes through) into tv_err, for every module that uses LMDB. It lives
 * in audit/ because audit/ is the lowest module that uses LMDB and vault/
 * depends on it (DESIGN.md §2); vault_db_err() is this function.
 *
 *   0                                     -> TV_OK
 *   MDB_MAP_FULL, MDB_TXN_FULL,
 *   MDB_DBS_FULL, ENOSPC                  -> TV_ERR_STORAGE_FULL
 *   MDB_MAP_RESIZED                       -> TV_ERR_UNAVAILABLE (another process grew
 *                                            the map; vault_db adopts it and retries)
 *   MDB_NOTFOUND                          -> TV_ERR_NOT_FOUND
 *   MDB_KEYEXIST                          -> TV_ERR_EXISTS
 *   MDB_CORRUPTED, MDB_PAGE_NOTFOUND,
 *   MDB_INVALID, MDB_VERSION_MISMATCH     -> TV_ERR_INTEGRITY
 *   ENOMEM                                -> TV_ERR_NOMEM
 *   other errno values (EIO, EACCES, ...) -> TV_ERR_IO
 *   other MDB_* codes                     -> TV_ERR_INTERNAL
 */
#ifndef AUDIT_LMDB_H
#define AUDIT_LMDB_H

#include "tv_err.h"

int audit_mdb_err(int rc);

#endif
