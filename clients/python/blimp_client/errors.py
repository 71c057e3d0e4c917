"""The exceptions blimp_client raises for a refused or failed gRPC call.

Each carries the gRPC status code and blimpd's message. blimpd gives every
code one meaning (proto/blimp/v1/*.proto), so the common ones have their own
class and callers can catch exactly what they expect.
"""
from __future__ import annotations

from typing import Dict, Type

import grpc


class BlimpError(Exception):
    """blimpd refused a call, or could not be reached.

    code: the gRPC status code; message: blimpd's message (its details);
    method: the RPC, e.g. "GetVm".
    """

    def __init__(self, code: grpc.StatusCode, message: str, method: str) -> None:
        super().__init__(f"{method}: {code.name}: {message}")
        self.code = code
        self.message = message
        self.method = method


class InvalidArgumentError(BlimpError):
    """Bad input: a malformed id, a config or target blimpd rejects."""


class NotFoundError(BlimpError):
    """No such VM, or a VM without a balloon."""


class AlreadyExistsError(BlimpError):
    """The VM id is taken."""


class FailedPreconditionError(BlimpError):
    """The wrong VM state, e.g. a balloon target before the VM runs."""


class UnavailableError(BlimpError):
    """blimpd cannot be reached (not running, wrong address, TLS refused)."""


_BY_CODE: Dict[grpc.StatusCode, Type[BlimpError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
}


def from_rpc_error(error: grpc.RpcError, method: str, server: str) -> BlimpError:
    """The BlimpError for a failed call (a grpc.Call carries code and details)."""
    code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
    message = (error.details() if isinstance(error, grpc.Call) else str(error)) or ""
    if code == grpc.StatusCode.UNAVAILABLE:
        message = f"cannot reach blimpd at {server}: {message} (is blimpd running?)"
    return _BY_CODE.get(code, BlimpError)(code, message, method)
