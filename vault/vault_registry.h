/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_registry: the one table of every RPC teevaultd serves, built from
 * protoc-c's service descriptors (proto/teevault.proto) and the handler
 * tables of the rpc_<service>.c files. Every transport (ttrpc, gRPC,
 * Connect) looks methods up here; nothing is found through link tricks.
 *
 * The registry is built once per process on first use (thread-safe) from
 * constant data and is read-only afterwards.
 */
#ifndef VAULT_REGISTRY_H
#define VAULT_REGISTRY_H

#include <stddef.h>

#include "vault.h"

/* Check that every rpc of every service descriptor has exactly one handler
 * and every handler names an rpc of its service. On failure err (errlen
 * bytes) names the first mismatch. Returns 0 or TV_ERR_INTERNAL (a build
 * mistake: the daemon refuses to start). */
int vault_registry_check(char *err, size_t errlen) TV_WUR;

/* The method service/method ("teevault.v1.Secrets", "Get"), lengths given
 * (the names need not be NUL-terminated). NULL when unknown or when the
 * registry is inconsistent (vault_registry_check says why). */
const vault_method *vault_method_find(const char *service, size_t slen, const char *method,
                                      size_t mlen);

/* The method for an HTTP path "/teevault.v1.Secrets/Get" (gRPC and Connect
 * use the same path). NULL when unknown or malformed. */
const vault_method *vault_method_find_path(const char *path, size_t len);

/* The method named `method` of service svc (e.g. &vault_rpc_secrets), or NULL. */
const vault_method *vault_service_method(const vault_service *svc, const char *method);

/* Number of methods, and the i-th (0 <= i < count), for tests and tools. */
size_t vault_method_count(void);
const vault_method *vault_method_at(size_t i);

#endif
