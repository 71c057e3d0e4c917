"""Tests only: a real blimpd in its own run directory under /tmp (as
tests/e2e/daemon_process.cc starts one), and the Blimp test guest.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import List, Sequence

from blimp_client import BlimpError, Client, vm_config


def runfile(path: str) -> str:
    return os.path.join(os.environ["TEST_SRCDIR"], os.environ["TEST_WORKSPACE"], path)


def kvm_usable() -> bool:
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


TEST_GUEST = runfile("tests/guest/test_guest.elf")


def test_guest_config(mem_mib: int):
    """The test guest with an empty balloon, statistics every second."""
    return vm_config(TEST_GUEST, mem_mib, balloon_mib=0, stats_interval_s=1)


class Blimpd:
    """blimpd with `flags`; stop() (or leaving a `with` block) ends it, its
    VMs and its run directory."""

    def __init__(self, flags: Sequence[str] = ()) -> None:
        # Short: unix socket paths are limited to 108 bytes.
        self.run_dir = tempfile.mkdtemp(prefix="blimp-py-", dir="/tmp")
        self.log_path = os.path.join(self.run_dir, "blimpd.log")
        self.server = f"unix:{self.run_dir}/blimp.grpc.sock"
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [runfile("daemon/blimpd"), "--run-dir", self.run_dir,
                 "--vmm-binary", runfile("vmm/blimp-vmm"), *flags],
                stdout=log, stderr=subprocess.STDOUT)
        # Connect once the socket is there: a channel that found no socket
        # waits out gRPC's reconnect backoff (seconds) before it tries again.
        socket_path = self.server[len("unix:"):]
        deadline = time.monotonic() + 30
        while not os.path.exists(socket_path):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self._process.kill()
                status = self._process.wait()
                log = self.log()[-3000:]
                shutil.rmtree(self.run_dir, ignore_errors=True)
                raise RuntimeError(f"blimpd did not serve {socket_path} (exit status {status}); "
                                   f"its log:\n{log}")
            time.sleep(0.01)
        self.client = Client.connect(self.server, timeout_s=20)
        try:
            self.client.wait_ready(20)
        except Exception:
            print(f"blimpd's log:\n{self.log()[-3000:]}", file=sys.stderr)
            self.stop()
            raise

    def __enter__(self) -> "Blimpd":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self) -> str:
        with open(self.log_path, errors="replace") as file:
            return file.read()

    def vm_dir(self, vm_id: str) -> str:
        return os.path.join(self.run_dir, "vms", vm_id)

    def boot_test_guest(self, vm_id: str, mem_mib: int, timeout_s: float = 30) -> None:
        """Creates and starts a test-guest VM and waits for BLIMP-GUEST-READY."""
        self.client.create_vm(vm_id, test_guest_config(mem_mib))
        self.client.start_vm(vm_id)
        console = os.path.join(self.vm_dir(vm_id), "console.log")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if os.path.exists(console) and b"BLIMP-GUEST-READY" in open(console, "rb").read():
                return
            time.sleep(0.02)
        raise TimeoutError(f"no BLIMP-GUEST-READY in {console} within {timeout_s} s")

    def console(self, vm_id: str, command: str, ends: List[str], timeout_s: float = 20) -> str:
        """Sends `command` to the guest's shell; its output up to a line
        starting with one of `ends` (or what came in time)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(os.path.join(self.vm_dir(vm_id), "console.sock"))
            sock.sendall(command.encode() + b"\n")
            sock.settimeout(0.2)
            output = ""
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                try:
                    chunk = sock.recv(1024)
                except socket.timeout:
                    continue
                if not chunk:
                    break
                output += chunk.decode(errors="replace")
                lines = output.split("\n")
                if output.endswith("\n") and any(l.startswith(e) for l in lines for e in ends):
                    break
            return output

    def stop(self) -> None:
        # The VMMs, in case blimpd has to be killed (VMs outlive blimpd).
        try:
            vmm_pids = [vm.vmm_pid for vm in self.client.list_vms() if vm.vmm_pid > 0]
        except BlimpError:
            vmm_pids = []
        self.client.close()
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)  # blimpd stops every VM.
            try:
                self._process.wait(15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
                for pid in vmm_pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        shutil.rmtree(self.run_dir, ignore_errors=True)
