# SPDX-License-Identifier: Apache-2.0
"""Errors: one exception type carrying the gRPC code and teevault's error name."""
from __future__ import annotations

from typing import Optional

# gRPC status codes (the same numbers on ttrpc, gRPC and Connect).
OK, CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND = 0, 1, 2, 3, 4, 5
ALREADY_EXISTS, PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION = 6, 7, 8, 9
ABORTED, OUT_OF_RANGE, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS = 10, 11, 12, 13, 14, 15
UNAUTHENTICATED = 16

CODE_NAMES = {
    0: "OK", 1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND", 6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION", 10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED",
    13: "INTERNAL", 14: "UNAVAILABLE", 15: "DATA_LOSS", 16: "UNAUTHENTICATED",
}


class TeevaultError(Exception):
    """A refused or failed call, or a check this client made that failed.

    code: gRPC status code (0 for client-side checks that are not RPC errors).
    name: teevault's error name from the ErrorDetail (e.g. "denied", "replay",
          "policy") or the client's own ("integrity", "verify", "protocol").
    """

    def __init__(self, message: str, code: int = UNKNOWN, name: Optional[str] = None):
        super().__init__(message)
        self.code = code
        self.name = name or ""

    @property
    def code_name(self) -> str:
        return CODE_NAMES.get(self.code, str(self.code))

    def __str__(self) -> str:
        base = super().__str__()
        return "%s (%s%s)" % (base, self.code_name, ", " + self.name if self.name else "")


class IntegrityError(TeevaultError):
    """A sealed value did not open, or a binding did not match."""

    def __init__(self, message: str):
        super().__init__(message, DATA_LOSS, "integrity")


class VerifyError(TeevaultError):
    """The vault's report or signature did not verify."""

    def __init__(self, message: str, name: str = "verify"):
        super().__init__(message, PERMISSION_DENIED, name)
