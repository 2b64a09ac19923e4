/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proto_addr: the one parser of "HOST:PORT" / "[V6]:PORT" addresses, shared by
 * the daemon's listeners ([listen] tcp_address, [metrics] listen) and the
 * client's tls:// addresses.
 */
#ifndef PROTO_ADDR_H
#define PROTO_ADDR_H

#include <stddef.h>

#include "tv_err.h"

/* Split s into host (without brackets, NUL-terminated, at most hostlen - 1
 * bytes) and port (1 to 5 decimal digits, value <= 65535, NUL-terminated,
 * at most portlen - 1 bytes). The last ':' separates them unless the host is
 * bracketed. allow_empty_host: ":PORT" is accepted with host "" (a listener
 * on every address); otherwise it is refused.
 * Errors: TV_ERR_INVALID (NULL, no ':', an unclosed '[', an empty or
 * non-numeric port, a port over 65535, or a part longer than its buffer).
 * host and port are written only on success. */
int proto_split_hostport(const char *s, int allow_empty_host, char *host, size_t hostlen,
                         char *port, size_t portlen) TV_WUR;

#endif
