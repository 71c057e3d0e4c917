#!/usr/bin/python3
"""An example fleet controller: keeps VMs under a host memory budget by
moving balloon targets from idle to busy VMs (fleet_policy.py), every
--interval-s, using each guest's available_memory statistic.

    balance_fleet.py --budget-mib 768 --vms a,b [--server unix:/run/blimp/blimp.grpc.sock]

Exit status: 0 after --rounds rounds (or on Ctrl-C), 1 when blimpd cannot
be reached or refuses, 2 on bad flags or VMs it cannot balance.
"""
import argparse
import sys
import time
from typing import Dict, List, Optional

from blimp_client import DEFAULT_SERVER, BlimpError, Client, NotFoundError, Tls
from fleet_policy import Policy, VmView, plan
from proto.blimp.v1.vm_service_pb2 import VM_STATE_RUNNING

MIB = 1 << 20


def parse_flags(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="balance_fleet.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget-mib", type=int, required=True,
                        help="most memory the VMs may hold: sum(mem - balloon target)")
    parser.add_argument("--vms", default="",
                        help="comma-separated VM ids (default: every running VM with a balloon)")
    parser.add_argument("--server", default=DEFAULT_SERVER, help="unix:PATH or HOST:PORT")
    parser.add_argument("--tls-cert", help="PEM client certificate (mutual TLS)")
    parser.add_argument("--tls-key", help="its PEM private key")
    parser.add_argument("--tls-ca", help="PEM CA that signed blimpd's certificate")
    parser.add_argument("--tls-server-name", help="check blimpd's certificate for this name")
    parser.add_argument("--floor-mib", type=int, default=64, help="least memory a guest keeps")
    parser.add_argument("--low-pct", type=float, default=20, help="busy below this %% available")
    parser.add_argument("--high-pct", type=float, default=40, help="idle above this %% available")
    parser.add_argument("--step-mib", type=int, default=64, help="largest move per VM per round")
    parser.add_argument("--interval-s", type=float, default=2, help="time between rounds")
    parser.add_argument("--settle-s", type=float, default=2,
                        help="a moved VM is left alone this long (its statistics catch up)")
    parser.add_argument("--rounds", type=int, default=0, help="stop after N rounds (0: never)")
    flags = parser.parse_args(argv)
    checks = [
        (flags.budget_mib > 0, "--budget-mib must be positive"),
        (flags.floor_mib >= 0, "--floor-mib must not be negative"),
        (0 <= flags.low_pct < flags.high_pct <= 100,
         "--low-pct and --high-pct: 0 <= low < high <= 100"),
        (flags.step_mib > 0, "--step-mib must be positive"),
        (flags.interval_s > 0 and flags.settle_s >= 0, "--interval-s > 0, --settle-s >= 0"),
        (flags.rounds >= 0, "--rounds must not be negative"),
    ]
    for ok, message in checks:
        if not ok:
            parser.error(message)
    tls_flags = [flags.tls_cert, flags.tls_key, flags.tls_ca]
    if any(tls_flags) and not all(tls_flags):
        parser.error("--tls-cert, --tls-key and --tls-ca go together")
    if flags.tls_server_name and not any(tls_flags):
        parser.error("--tls-server-name needs --tls-cert, --tls-key and --tls-ca")
    flags.tls = Tls(flags.tls_cert, flags.tls_key, flags.tls_ca,
                    flags.tls_server_name) if any(tls_flags) else None
    flags.vm_ids = [vm for vm in flags.vms.split(",") if vm]
    return flags


class Fleet:
    """The rounds: read each VM, plan, send the moves, print them."""

    def __init__(self, client: Client, vm_ids: List[str], policy: Policy, settle_s: float):
        self.client = client
        self.vm_ids = vm_ids
        self.policy = policy
        self.settle_s = settle_s
        self.moved_at: Dict[str, float] = {}

    def view(self, vm_id: str) -> Optional[VmView]:
        """The VM as the policy sees it; None (and why, on stderr) if it
        cannot be balanced now."""
        try:
            vm = self.client.get_vm(vm_id)
            running = vm.state == VM_STATE_RUNNING and vm.config.HasField("balloon")
            stats = self.client.balloon_stats(vm_id) if running else None
        except BlimpError as error:
            return self.left_out(vm_id, str(error))
        if stats is None:
            return self.left_out(vm_id, "not running with a balloon")
        if not stats.HasField("available_memory"):
            return self.left_out(vm_id, "no statistics yet")
        recent = time.monotonic() - self.moved_at.get(vm_id, -1e9) < self.settle_s
        return VmView(vm_id, vm.config.machine_config.mem_size_mib, vm.balloon_target_mib,
                      stats.available_memory / MIB,
                      settling=recent or stats.actual_mib != stats.target_mib)

    @staticmethod
    def left_out(vm_id: str, why: str) -> None:
        print(f"balance_fleet: VM '{vm_id}' left out this round: {why}", file=sys.stderr)
        return None

    def round(self, number: int) -> None:
        ids = self.vm_ids or [vm.vm_id for vm in self.client.list_vms()
                              if vm.state == VM_STATE_RUNNING and vm.config.HasField("balloon")]
        views = [view for view in map(self.view, ids) if view is not None]
        targets = {view.vm_id: view.target_mib for view in views}
        for move in plan(views, self.policy):
            try:
                self.client.set_target_mib(move.vm_id, move.new_mib)
            except BlimpError as error:
                print(f"balance_fleet: VM '{move.vm_id}': {error}", file=sys.stderr)
                continue
            self.moved_at[move.vm_id] = time.monotonic()
            targets[move.vm_id] = move.new_mib
            print(f"round {number}: VM '{move.vm_id}': target {move.old_mib} -> "
                  f"{move.new_mib} MiB: {move.reason}")
        backed = sum(view.mem_mib - targets[view.vm_id] for view in views)
        print(f"round {number}: {len(views)} VMs hold {backed} MiB of a "
              f"{self.policy.budget_mib} MiB budget", flush=True)


def check_vms(client: Client, vm_ids: List[str], policy: Policy) -> Optional[str]:
    """Why the listed VMs cannot be balanced (None if they can)."""
    floors = 0
    for vm_id in vm_ids:
        try:
            vm = client.get_vm(vm_id)
        except NotFoundError as error:
            return f"--vms: {error.message}"
        if not vm.config.HasField("balloon") or vm.config.balloon.stats_polling_interval_s == 0:
            return f"--vms: VM '{vm_id}' has no balloon with statistics"
        floors += min(policy.floor_mib, vm.config.machine_config.mem_size_mib)
    if floors > policy.budget_mib:
        return f"--budget-mib {policy.budget_mib} is below the VMs' floors ({floors} MiB)"
    return None


def main(argv: List[str]) -> int:
    flags = parse_flags(argv)
    policy = Policy(flags.budget_mib, flags.floor_mib, flags.low_pct, flags.high_pct,
                    flags.step_mib)
    try:
        client = Client.connect(flags.server, flags.tls)
    except ValueError as error:
        print(f"balance_fleet: {error}", file=sys.stderr)
        return 2
    try:
        client.wait_ready(timeout_s=5)
        problem = check_vms(client, flags.vm_ids, policy)
        if problem:
            print(f"balance_fleet: {problem}", file=sys.stderr)
            return 2
        fleet = Fleet(client, flags.vm_ids, policy, flags.settle_s)
        number = 0
        while flags.rounds == 0 or number < flags.rounds:
            number += 1
            fleet.round(number)
            if number != flags.rounds:
                time.sleep(flags.interval_s)
    except BlimpError as error:
        print(f"balance_fleet: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
