"""blimp_client: a small typed client of blimpd's gRPC API (proto/blimp/v1).

    from blimp_client import Client
    with Client.connect("unix:/run/blimp/blimp.grpc.sock") as blimp:
        for vm in blimp.list_vms():
            print(vm.vm_id, vm.balloon_target_mib)

The generated modules (proto.blimp.v1.*_pb2) are built by Bazel:
clients/python/README.md.
"""
from blimp_client.channel import DEFAULT_SERVER, Tls, open_channel
from blimp_client.client import Client, StatsWatch, vm_config
from blimp_client.errors import (AlreadyExistsError, BlimpError, FailedPreconditionError,
                                 InvalidArgumentError, NotFoundError, UnavailableError)

__all__ = [
    "AlreadyExistsError", "BlimpError", "Client", "DEFAULT_SERVER", "FailedPreconditionError",
    "InvalidArgumentError", "NotFoundError", "StatsWatch", "Tls", "UnavailableError",
    "open_channel", "vm_config",
]
