"""examples/balance_fleet.py run as a user would: bad flags and an
unreachable blimpd, then a few rounds against two test guests on a real
blimpd: it brings them under the budget, then moves memory from the idle
guest to the one that touched most of its memory.
"""
import subprocess
import sys
import unittest

import junit
from blimpd import Blimpd, kvm_usable, runfile

MIB = 1 << 20
EXAMPLE = runfile("clients/python/examples/balance_fleet.py")


def run(*args: str, timeout_s: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, EXAMPLE, *args], capture_output=True, text=True,
                          timeout=timeout_s)


class FlagsTest(unittest.TestCase):
    def assert_usage_error(self, says: str, *args: str) -> None:
        result = run(*args)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn(says, result.stderr)
        self.assertEqual(result.stdout, "")

    def test_bad_flags_exit_2_with_the_reason(self):
        self.assert_usage_error("--budget-mib", "--vms", "a")
        self.assert_usage_error("--budget-mib must be positive", "--budget-mib", "0")
        self.assert_usage_error("invalid int value", "--budget-mib", "lots")
        self.assert_usage_error("0 <= low < high <= 100",
                                "--budget-mib", "1", "--low-pct", "50", "--high-pct", "40")
        self.assert_usage_error("go together", "--budget-mib", "1", "--tls-cert", "c.pem")
        self.assert_usage_error("unix socket is plain", "--budget-mib", "1", "--tls-cert", "c",
                                "--tls-key", "k", "--tls-ca", "ca")

    def test_unreachable_blimpd_exits_1(self):
        result = run("--budget-mib", "512", "--server", "unix:/nonexistent/blimp.grpc.sock")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("cannot reach blimpd at unix:/nonexistent/blimp.grpc.sock", result.stderr)


@unittest.skipUnless(kvm_usable(), "/dev/kvm is missing or not usable")
class BalanceFleetE2eTest(unittest.TestCase):
    def setUp(self):
        self.blimpd = Blimpd()
        self.addCleanup(self.blimpd.stop)
        self.client = self.blimpd.client

    def balance(self, *args: str) -> subprocess.CompletedProcess:
        return run("--server", self.blimpd.server, "--interval-s", "1", "--settle-s", "1.5",
                   *args)

    def backed_mib(self) -> int:
        return sum(256 - self.client.get_vm(vm_id).balloon_target_mib for vm_id in ("busy", "idle"))

    def test_unknown_vm_exits_2(self):
        result = self.balance("--budget-mib", "512", "--vms", "nope", "--rounds", "1")
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("--vms: no such VM 'nope'", result.stderr)

    def test_moves_memory_from_idle_to_busy_within_the_budget(self):
        for vm_id in ("busy", "idle"):
            self.blimpd.boot_test_guest(vm_id, 256)
        for vm_id in ("busy", "idle"):  # Rounds leave out VMs without statistics.
            with self.client.watch_stats(vm_id, timeout_s=10) as watch:
                self.assertTrue(any(s.HasField("available_memory") for s in watch), vm_id)
        flags = ["--budget-mib", "384", "--vms", "busy,idle", "--floor-mib", "64",
                 "--low-pct", "25", "--high-pct", "50", "--step-mib", "64"]
        # 512 MiB backed at first: both inflate to come under 384.
        first = self.balance(*flags, "--rounds", "3")
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assertIn("over budget", first.stdout)
        self.assertIn("round 3: 2 VMs hold 384 MiB of a 384 MiB budget", first.stdout)
        self.assertLessEqual(self.backed_mib(), 384)
        busy_before = self.client.get_target_mib("busy")
        idle_before = self.client.get_target_mib("idle")
        self.assertGreater(busy_before, 0)

        # busy uses most of what its balloon leaves it.
        self.client.wait_for_actual("busy", busy_before)
        out = self.blimpd.console("busy", "touch 150", ["touched:", "error:"])
        self.assertIn("touched: 150 MiB", out)
        with self.client.watch_stats("busy", timeout_s=10) as watch:
            pressed = next((s for s in watch if s.available_memory < 64 * MIB), None)
        self.assertIsNotNone(pressed, "busy's statistics never showed the touched memory")

        second = self.balance(*flags, "--rounds", "3")
        self.assertEqual(second.returncode, 0, second.stderr)
        self.assertIn("VM 'busy': target", second.stdout)
        self.assertIn("funds 'busy'", second.stdout)
        self.assertLess(self.client.get_target_mib("busy"), busy_before)
        self.assertGreater(self.client.get_target_mib("idle"), idle_before)
        self.assertLessEqual(self.backed_mib(), 384)
        self.assertLessEqual(self.client.get_target_mib("idle"), 256 - 64, "the floor holds")


if __name__ == "__main__":
    junit.main()
