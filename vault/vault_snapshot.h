/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_snapshot: Sys.Snapshot, an online, consistent copy of the store for
 * `teevault operator snapshot save` (restore is offline, in the CLI).
 *
 * The first call commits its own audit record in a write transaction, which
 * first drains the audit journal into LMDB (so every record acknowledged so
 * far is in the copy), then copies the environment with mdb_env_copyfd2
 * (MDB_CP_COMPACT: a read transaction, so writers go on; the copy runs on the
 * event loop, about a second per GB from the page cache) into
 * <state_dir>/snapshot.partial (0600). Chunks of VAULT_SNAPSHOT_CHUNK bytes
 * follow; the file is deleted after the last one, when a new snapshot starts
 * or at shutdown. One snapshot at a time. Needs admin on sys/snapshot.
 */
#ifndef VAULT_SNAPSHOT_H
#define VAULT_SNAPSHOT_H

#include "proto_buf.h"
#include "vault.h"

#define VAULT_SNAPSHOT_CHUNK (1u << 20)

/* The Sys.Snapshot handler. */
int vault_snapshot_rpc(vault_call *c, const ProtobufCMessage *req, proto_buf *out) TV_WUR;

/* Delete a snapshot in progress (shutdown). */
void vault_snapshot_cleanup(struct vault *v);

#endif
