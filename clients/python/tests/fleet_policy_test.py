"""examples/fleet_policy.py: scenarios, and random fleets checking the
budget, floor and step limits."""
import random
import unittest

import junit
from fleet_policy import Policy, VmView, plan

POLICY = Policy(budget_mib=384, floor_mib=64, low_pct=20, high_pct=40, step_mib=64)


def targets(moves):
    return {move.vm_id: (move.old_mib, move.new_mib) for move in moves}


class FleetPolicyTest(unittest.TestCase):
    def test_over_budget_inflates_the_richest_first(self):
        moves = plan([VmView("a", 256, 0, 200), VmView("b", 256, 0, 250)],
                     Policy(budget_mib=448, step_mib=64))
        self.assertEqual(targets(moves), {"b": (0, 64)})
        self.assertIn("over budget by 64 MiB", moves[0].reason)

    def test_over_budget_takes_a_step_from_each_until_under(self):
        moves = plan([VmView("a", 256, 0, 250), VmView("b", 256, 0, 250)], POLICY)
        self.assertEqual(targets(moves), {"a": (0, 64), "b": (0, 64)})

    def test_in_budget_and_in_band_nothing_moves(self):
        self.assertEqual(plan([VmView("a", 256, 64, 80), VmView("b", 256, 64, 190)], POLICY), [])

    def test_busy_is_funded_by_the_idle(self):
        moves = plan([VmView("busy", 256, 64, 40), VmView("idle", 256, 64, 190)], POLICY)
        self.assertEqual(targets(moves), {"busy": (64, 0), "idle": (64, 128)})
        self.assertEqual([move.vm_id for move in moves], ["idle", "busy"], "inflations first")
        self.assertIn("funds 'busy'", targets_reason(moves, "idle"))

    def test_busy_is_funded_by_headroom_first(self):
        moves = plan([VmView("busy", 256, 64, 40), VmView("idle", 256, 64, 190)],
                     Policy(budget_mib=512))
        self.assertEqual(targets(moves), {"busy": (64, 0)})

    def test_the_most_pressed_busy_vm_is_served_first(self):
        fleet = [VmView("a", 256, 64, 45), VmView("b", 256, 64, 10), VmView("rich", 256, 64, 130)]
        # rich may give down to the band's middle (30% of 256 = 76.8 MiB): 53 MiB.
        moves = targets(plan(fleet, Policy(budget_mib=576)))
        self.assertEqual(moves, {"b": (64, 11), "rich": (64, 117)})

    def test_over_budget_stops_at_the_floor(self):
        moves = plan([VmView("a", 256, 160, 90)], Policy(budget_mib=16, floor_mib=64))
        self.assertEqual(targets(moves), {"a": (160, 192)}, "256 - 64 MiB floor")

    def test_donors_keep_the_middle_of_the_band(self):
        # idle (45% of 512 available) may give down to 30%: 76 MiB, not a full step.
        moves = plan([VmView("busy", 256, 128, 20), VmView("idle", 512, 64, 230)],
                     Policy(budget_mib=576, step_mib=128))
        self.assertEqual(targets(moves), {"busy": (128, 52), "idle": (64, 140)})

    def test_settling_vms_are_counted_but_not_moved(self):
        fleet = [VmView("a", 256, 0, 250, settling=True), VmView("b", 256, 0, 250)]
        self.assertEqual(targets(plan(fleet, POLICY)), {"b": (0, 64)})

    def test_random_fleets_keep_the_limits(self):
        rng = random.Random(15)
        for _ in range(2000):
            policy = Policy(budget_mib=rng.randrange(64, 2048), floor_mib=rng.choice([0, 32, 64]),
                            step_mib=rng.choice([16, 64, 256]))
            fleet = []
            for i in range(rng.randrange(1, 6)):
                mem = rng.choice([128, 256, 512])
                target = rng.randrange(0, mem - policy.floor_mib + 1)
                fleet.append(VmView(f"vm{i}", mem, target, rng.uniform(0, mem - target),
                                    settling=rng.random() < 0.2))
            moves = plan(fleet, policy)
            self.assertEqual(moves, plan(fleet, policy), "same input, same plan")
            after = {vm.vm_id: vm.target_mib for vm in fleet}
            after.update({m.vm_id: m.new_mib for m in moves})
            before_backed = sum(vm.mem_mib - vm.target_mib for vm in fleet)
            backed = sum(vm.mem_mib - after[vm.vm_id] for vm in fleet)
            self.assertLessEqual(backed, max(policy.budget_mib, before_backed), fleet)
            for vm in fleet:
                self.assertLessEqual(abs(after[vm.vm_id] - vm.target_mib), policy.step_mib, vm)
                self.assertGreaterEqual(after[vm.vm_id], 0, vm)
                if after[vm.vm_id] > vm.target_mib:
                    self.assertLessEqual(after[vm.vm_id], vm.mem_mib - policy.floor_mib, vm)
                if vm.settling:
                    self.assertEqual(after[vm.vm_id], vm.target_mib, vm)


def targets_reason(moves, vm_id):
    return next(move.reason for move in moves if move.vm_id == vm_id)


if __name__ == "__main__":
    junit.main()
