"""Client: the common calls of blimpd's VmService and BalloonService.

Results are the generated messages (proto/blimp/v1, with .pyi type stubs);
every refused or failed call raises a BlimpError subclass (errors.py).
"""
from __future__ import annotations

import os
import time
from typing import Callable, Iterator, List, Optional, TypeVar

import grpc

from blimp_client.channel import DEFAULT_SERVER, Tls, open_channel
from blimp_client.errors import UnavailableError, from_rpc_error
from proto.blimp.v1 import balloon_service_pb2 as balloon_pb
from proto.blimp.v1 import balloon_service_pb2_grpc as balloon_grpc
from proto.blimp.v1 import config_pb2
from proto.blimp.v1 import vm_service_pb2 as vm_pb
from proto.blimp.v1 import vm_service_pb2_grpc as vm_grpc

Response = TypeVar("Response")


def vm_config(kernel: str, mem_mib: int, *, vcpus: int = 1, boot_args: str = "console=ttyS0",
              initrd: str = "", balloon_mib: Optional[int] = None, deflate_on_oom: bool = False,
              stats_interval_s: int = 0) -> config_pb2.VmConfig:
    """A VmConfig; a balloon is installed when balloon_mib is given.

    Image paths are made absolute here: blimpd opens them and refuses
    relative ones.
    """
    config = config_pb2.VmConfig()
    config.boot_source.kernel_image_path = os.path.abspath(kernel)
    config.boot_source.boot_args = boot_args
    if initrd:
        config.boot_source.initrd_path = os.path.abspath(initrd)
    config.machine_config.vcpu_count = vcpus
    config.machine_config.mem_size_mib = mem_mib
    if balloon_mib is not None:
        config.balloon.amount_mib = balloon_mib
        config.balloon.deflate_on_oom = deflate_on_oom
        config.balloon.stats_polling_interval_s = stats_interval_s
    return config


class StatsWatch:
    """WatchBalloonStatistics: iterate for each refresh of the guest's
    statistics; close() (or leaving a `with` block) ends the stream, and so
    does the timeout given to Client.watch_stats, quietly.
    """

    def __init__(self, call: grpc.Call, server: str, has_timeout: bool) -> None:
        self._call = call
        self._server = server
        self._has_timeout = has_timeout
        self._closed = False

    def __iter__(self) -> Iterator[config_pb2.BalloonStats]:
        try:
            yield from self._call
        except grpc.RpcError as error:
            code = error.code() if isinstance(error, grpc.Call) else None
            if self._closed and code == grpc.StatusCode.CANCELLED:
                return
            if self._has_timeout and code == grpc.StatusCode.DEADLINE_EXCEEDED:
                return
            raise from_rpc_error(error, "WatchBalloonStatistics", self._server) from None

    def close(self) -> None:
        self._closed = True
        self._call.cancel()

    def __enter__(self) -> "StatsWatch":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Client:
    """blimpd's gRPC API. Client.connect(server, tls) opens the channel;
    each unary call has a deadline of `timeout_s`.
    """

    def __init__(self, channel: grpc.Channel, server: str = DEFAULT_SERVER,
                 timeout_s: float = 10.0) -> None:
        self._channel = channel
        self.server = server  # For messages.
        self.timeout_s = timeout_s
        self._vms = vm_grpc.VmServiceStub(channel)
        self._balloons = balloon_grpc.BalloonServiceStub(channel)

    @classmethod
    def connect(cls, server: str = DEFAULT_SERVER, tls: Optional[Tls] = None,
                timeout_s: float = 10.0) -> "Client":
        """A client of `server` ("unix:/path" or "host:port"); ValueError on bad
        TLS files. Connects lazily: wait_ready() checks that blimpd answers."""
        return cls(open_channel(server, tls), server, timeout_s)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, stub_method: Callable[..., Response], request: object,
              timeout_s: Optional[float] = None) -> Response:
        try:
            return stub_method(request, timeout=timeout_s or self.timeout_s)
        except grpc.RpcError as error:
            raise from_rpc_error(error, method, self.server) from None

    def wait_ready(self, timeout_s: float = 10.0) -> None:
        """Waits until blimpd answers (ListVms); UnavailableError if it does
        not within timeout_s."""
        try:
            self._vms.ListVms(vm_pb.ListVmsRequest(), timeout=timeout_s, wait_for_ready=True)
        except grpc.RpcError as error:
            if isinstance(error, grpc.Call) and error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise UnavailableError(
                    grpc.StatusCode.UNAVAILABLE,
                    f"cannot reach blimpd at {self.server} within {timeout_s:g} s"
                    " (is blimpd running?)", "ListVms") from None
            raise from_rpc_error(error, "ListVms", self.server) from None

    # VmService.

    def list_vms(self) -> List[vm_pb.Vm]:
        return list(self._call("ListVms", self._vms.ListVms, vm_pb.ListVmsRequest()).vms)

    def create_vm(self, vm_id: str, config: config_pb2.VmConfig) -> vm_pb.Vm:
        """Creates the VM (not started); see vm_config()."""
        return self._call("CreateVm", self._vms.CreateVm,
                          vm_pb.CreateVmRequest(vm_id=vm_id, config=config))

    def start_vm(self, vm_id: str) -> vm_pb.Vm:
        return self._call("StartVm", self._vms.StartVm, vm_pb.StartVmRequest(vm_id=vm_id))

    def stop_vm(self, vm_id: str) -> vm_pb.Vm:
        return self._call("StopVm", self._vms.StopVm, vm_pb.StopVmRequest(vm_id=vm_id))

    def pause_vm(self, vm_id: str) -> vm_pb.Vm:
        """No vCPU runs guest code until resume_vm (idempotent)."""
        return self._call("PauseVm", self._vms.PauseVm, vm_pb.PauseVmRequest(vm_id=vm_id))

    def resume_vm(self, vm_id: str) -> vm_pb.Vm:
        return self._call("ResumeVm", self._vms.ResumeVm, vm_pb.ResumeVmRequest(vm_id=vm_id))

    def get_vm(self, vm_id: str) -> vm_pb.Vm:
        return self._call("GetVm", self._vms.GetVm, vm_pb.GetVmRequest(vm_id=vm_id))

    def delete_vm(self, vm_id: str) -> None:
        """Stops the VM if it runs and forgets it."""
        self._call("DeleteVm", self._vms.DeleteVm, vm_pb.DeleteVmRequest(vm_id=vm_id))

    def create_snapshot(self, vm_id: str, snapshot_path: str, mem_file_path: str,
                        timeout_s: float = 300.0) -> config_pb2.SnapshotInfo:
        """A paused VM's state and (sparse) memory into two new host files."""
        params = config_pb2.SnapshotCreateParams(snapshot_type="Full", snapshot_path=snapshot_path,
                                                 mem_file_path=mem_file_path)
        return self._call("CreateSnapshot", self._vms.CreateSnapshot,
                          vm_pb.CreateSnapshotRequest(vm_id=vm_id, params=params), timeout_s)

    def restore_vm(self, vm_id: str, snapshot_path: str, mem_file_path: str,
                   resume: bool = True, timeout_s: float = 300.0) -> vm_pb.Vm:
        """Creates VM `vm_id` from a snapshot (running if `resume`, else paused)."""
        load = config_pb2.SnapshotLoadParams(
            snapshot_path=snapshot_path, resume_vm=resume,
            mem_backend=config_pb2.MemoryBackend(backend_type="File", backend_path=mem_file_path))
        return self._call("CreateVm", self._vms.CreateVm,
                          vm_pb.CreateVmRequest(vm_id=vm_id, snapshot=load), timeout_s)

    def migrate_vm(self, vm_id: str, target: str, target_vm_id: str = "",
                   timeout_s: float = 900.0) -> vm_pb.MigrateVmResponse:
        """Moves a running or paused VM to the blimpd at `target` (HOST:PORT or
        unix:PATH), as `target_vm_id` (default: the same id). On a failure
        before the target holds it, it runs here again and the error says so."""
        return self._call("MigrateVm", self._vms.MigrateVm,
                          vm_pb.MigrateVmRequest(vm_id=vm_id, target=target,
                                                 target_vm_id=target_vm_id), timeout_s)

    # BalloonService.

    def get_balloon(self, vm_id: str) -> config_pb2.Balloon:
        """The balloon's config; amount_mib is the current target."""
        return self._call("GetBalloon", self._balloons.GetBalloon,
                          balloon_pb.GetBalloonRequest(vm_id=vm_id))

    def get_target_mib(self, vm_id: str) -> int:
        return self.get_balloon(vm_id).amount_mib

    def set_target_mib(self, vm_id: str, mib: int) -> None:
        """A new balloon target (the VM must run); the guest follows it."""
        update = config_pb2.BalloonUpdate(amount_mib=mib)
        self._call("PatchBalloon", self._balloons.PatchBalloon,
                   balloon_pb.PatchBalloonRequest(vm_id=vm_id, update=update))

    def balloon_stats(self, vm_id: str) -> config_pb2.BalloonStats:
        """target/actual, and the statistics the guest reported (HasField
        tells which: a statistic the guest never sent is unset)."""
        return self._call("GetBalloonStatistics", self._balloons.GetBalloonStatistics,
                          balloon_pb.GetBalloonStatisticsRequest(vm_id=vm_id))

    def balloon_metrics(self, vm_id: str) -> config_pb2.BalloonMetrics:
        return self._call("GetBalloonMetrics", self._balloons.GetBalloonMetrics,
                          balloon_pb.GetBalloonMetricsRequest(vm_id=vm_id))

    def watch_stats(self, vm_id: str, timeout_s: Optional[float] = None) -> StatsWatch:
        """The statistics each time the guest refreshes them, until close()
        or, if given, timeout_s."""
        call = self._balloons.WatchBalloonStatistics(
            balloon_pb.WatchBalloonStatisticsRequest(vm_id=vm_id), timeout=timeout_s)
        return StatsWatch(call, self.server, timeout_s is not None)

    def wait_for_actual(self, vm_id: str, mib: int, timeout_s: float = 30.0,
                        poll_s: float = 0.05) -> None:
        """Waits until the guest's balloon holds `mib`; TimeoutError (with the
        size it stopped at) if it does not within timeout_s."""
        deadline = time.monotonic() + timeout_s
        while True:
            actual = self.balloon_stats(vm_id).actual_mib
            if actual == mib:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"VM '{vm_id}': balloon at {actual} MiB after {timeout_s:g} s, target {mib}")
            time.sleep(poll_s)
