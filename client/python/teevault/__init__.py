# SPDX-License-Identifier: Apache-2.0
"""teevault: Python client for the teevault secrets vault.

Operator calls (kv put/get/list, policies, functions, audit) with a token, and
the function path: attest from inside a TEE and `secrets.get(name)`.
"""
from .client import (Client, FunctionSession, Secret, VaultReport, vault_pin,
                     verify_attest_reply)
from .errors import TeevaultError, IntegrityError, VerifyError
from .evidence import (DstackProducer, GramineProducer, Producer, SimProducer, TsmProducer,
                       open_producer)

__version__ = "0.1.0"
__all__ = ["Client", "FunctionSession", "Secret", "VaultReport", "vault_pin", "verify_attest_reply",
           "TeevaultError", "IntegrityError", "VerifyError", "Producer", "SimProducer",
           "GramineProducer", "TsmProducer", "DstackProducer", "open_producer", "__version__"]
