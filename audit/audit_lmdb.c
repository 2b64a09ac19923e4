/* SPDX-License-Identifier: Apache-2.0 */
#include "audit_lmdb.h"

#include <errno.h>

#include <lmdb.h>

int audit_mdb_err(int rc)
{
    switch (rc) {
    case 0:
        return TV_OK;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case MDB_DBS_FULL:
    case ENOSPC:
        return TV_ERR_STORAGE_FULL;
    case MDB_MAP_RESIZED:
        return TV_ERR_UNAVAILABLE;
    case MDB_NOTFOUND:
        return TV_ERR_NOT_FOUND;
    case MDB_KEYEXIST:
        return TV_ERR_EXISTS;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
        return TV_ERR_INTEGRITY;
    case ENOMEM:
        return TV_ERR_NOMEM;
    default:
        return rc > 0 ? TV_ERR_IO : TV_ERR_INTERNAL;
    }
}
