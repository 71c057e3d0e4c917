"""The example fleet controller's policy, a pure function: from each VM's
size, balloon target and the guest's available memory, the balloon moves of
one round. Short on purpose; client/policy.cc is the full one.

- A VM is busy when its available memory is under `low_pct` of its size,
  idle above `high_pct`.
- Busy VMs (the most pressed first) get up to `step_mib` back (a smaller
  balloon), paid from the budget's headroom, then by inflating idle VMs (the
  richest first) as far as each stays at the band's middle.
- Over the budget, the richest VMs inflate, `step_mib` each per round.
- A balloon never leaves a guest less than `floor_mib`; settling VMs (a move
  still in flight) are only counted.
"""
import dataclasses
from typing import Dict, List, Sequence


@dataclasses.dataclass(frozen=True)
class Policy:
    budget_mib: int  # Most host memory the VMs may hold: sum(mem - target).
    floor_mib: int = 64
    low_pct: float = 20.0
    high_pct: float = 40.0
    step_mib: int = 64


@dataclasses.dataclass(frozen=True)
class VmView:
    vm_id: str
    mem_mib: int
    target_mib: int
    available_mib: float  # The guest's available_memory statistic.
    settling: bool = False  # Its balloon has not reached a recent target yet.

    def share(self) -> float:
        return self.available_mib / self.mem_mib


@dataclasses.dataclass(frozen=True)
class Move:
    vm_id: str
    old_mib: int
    new_mib: int
    reason: str


def plan(vms: Sequence[VmView], policy: Policy) -> List[Move]:
    """The moves for one round (only changed targets, inflations first),
    deterministic."""
    target: Dict[str, int] = {vm.vm_id: vm.target_mib for vm in vms}
    given: Dict[str, int] = {}  # MiB taken (+) or given (-) this round.
    reasons: Dict[str, str] = {}
    backed = sum(vm.mem_mib - vm.target_mib for vm in vms)
    movable = [vm for vm in vms if not vm.settling]
    richest = sorted(movable, key=lambda vm: (-vm.share(), vm.vm_id))

    def can_take(vm: VmView, keep_mib: float) -> int:
        """MiB `vm` can still inflate, leaving it `keep_mib` available."""
        return max(0, min(policy.step_mib - given.get(vm.vm_id, 0),
                          vm.mem_mib - policy.floor_mib - target[vm.vm_id],
                          int(vm.available_mib - given.get(vm.vm_id, 0) - keep_mib)))

    def take(vm: VmView, mib: int, why: str) -> None:
        target[vm.vm_id] += mib
        given[vm.vm_id] = given.get(vm.vm_id, 0) + mib
        reasons[vm.vm_id] = why

    # Over the budget: inflate the richest, down to their floors.
    for vm in richest:
        excess = backed - policy.budget_mib
        if excess <= 0:
            break
        mib = min(excess, can_take(vm, keep_mib=0))
        if mib > 0:
            take(vm, mib, f"over budget by {excess} MiB; richest ({vm.share():.0%} available)")
            backed -= mib

    low = policy.low_pct / 100
    middle = (policy.low_pct + policy.high_pct) / 200
    for busy in sorted((vm for vm in movable if vm.share() < low),
                       key=lambda vm: (vm.share(), vm.vm_id)):
        want = min(policy.step_mib, target[busy.vm_id])
        for donor in richest:
            if want <= policy.budget_mib - backed:
                break
            if donor.share() * 100 <= policy.high_pct or donor is busy:
                continue
            mib = min(want - (policy.budget_mib - backed),
                      can_take(donor, keep_mib=middle * donor.mem_mib))
            if mib > 0:
                take(donor, mib, f"idle ({donor.share():.0%} available): funds '{busy.vm_id}'")
                backed -= mib
        mib = min(want, policy.budget_mib - backed)
        if mib > 0:
            target[busy.vm_id] -= mib
            given[busy.vm_id] = given.get(busy.vm_id, 0) - mib
            reasons[busy.vm_id] = f"busy ({busy.share():.0%} available)"
            backed += mib

    moves = [Move(vm.vm_id, vm.target_mib, target[vm.vm_id], reasons[vm.vm_id])
             for vm in vms if target[vm.vm_id] != vm.target_mib]
    # Inflations first: sent in this order, the fleet never holds more than
    # the plan allows while the moves go out.
    return sorted(moves, key=lambda move: move.new_mib < move.old_mib)
