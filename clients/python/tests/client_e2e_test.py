"""blimp_client against a real blimpd with the Blimp test guest on KVM:
create, list, get, pause, resume, delete, balloon target and actual,
statistics, the watch stream, and blimpd's refusals as BlimpError subclasses.
"""
import time
import unittest

import grpc

import junit
from blimp_client import (AlreadyExistsError, BlimpError, Client, FailedPreconditionError,
                          InvalidArgumentError, NotFoundError, UnavailableError)
from blimpd import Blimpd, kvm_usable, test_guest_config
from proto.blimp.v1.vm_service_pb2 import VM_STATE_CREATED, VM_STATE_PAUSED, VM_STATE_RUNNING

MIB = 1 << 20


class UnreachableTest(unittest.TestCase):
    def test_no_blimpd_is_unavailable_with_the_address(self):
        client = Client.connect("unix:/nonexistent/blimp.grpc.sock")
        with self.assertRaises(UnavailableError) as raised:
            client.list_vms()
        self.assertEqual(raised.exception.code, grpc.StatusCode.UNAVAILABLE)
        self.assertIn("cannot reach blimpd at unix:/nonexistent/blimp.grpc.sock",
                      str(raised.exception))
        with self.assertRaises(UnavailableError):
            client.wait_ready(0.5)


@unittest.skipUnless(kvm_usable(), "/dev/kvm is missing or not usable")
class ClientE2eTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.blimpd = Blimpd()
        cls.client = cls.blimpd.client

    @classmethod
    def tearDownClass(cls):
        cls.blimpd.stop()

    def fresh_stats(self, vm_id, since, timeout_s=10):
        """The first statistics the guest refreshes after `since`
        (time.monotonic()), as the watch stream delivers them."""
        with self.client.watch_stats(vm_id, timeout_s=timeout_s) as watch:
            for stats in watch:
                if time.monotonic() > since + 1.1:  # After one polling interval.
                    return stats
        self.fail(f"no statistics from VM '{vm_id}' within {timeout_s} s")

    def test_create_list_get_start_delete(self):
        created = self.client.create_vm("life", test_guest_config(128))
        self.assertEqual(created.vm_id, "life")
        self.assertEqual(created.state, VM_STATE_CREATED)
        listed = {vm.vm_id: vm for vm in self.client.list_vms()}
        self.assertIn("life", listed)
        self.assertEqual(listed["life"].config.machine_config.mem_size_mib, 128)
        self.assertEqual(self.client.start_vm("life").state, VM_STATE_RUNNING)
        vm = self.client.get_vm("life")
        self.assertEqual(vm.state, VM_STATE_RUNNING)
        self.assertGreater(vm.vmm_pid, 0)
        self.assertTrue(vm.config.HasField("balloon"))
        self.client.delete_vm("life")
        self.assertNotIn("life", [vm.vm_id for vm in self.client.list_vms()])
        with self.assertRaises(NotFoundError):
            self.client.get_vm("life")

    def test_target_is_set_and_actual_follows(self):
        self.blimpd.boot_test_guest("follow", 256)
        self.client.set_target_mib("follow", 96)
        self.assertEqual(self.client.get_target_mib("follow"), 96)
        self.client.wait_for_actual("follow", 96)
        vm = self.client.get_vm("follow")
        self.assertEqual((vm.balloon_target_mib, vm.balloon_actual_mib), (96, 96))
        self.client.set_target_mib("follow", 0)
        self.client.wait_for_actual("follow", 0)
        self.assertEqual(self.client.balloon_stats("follow").target_mib, 0)
        self.client.delete_vm("follow")

    def test_pause_and_resume(self):
        self.blimpd.boot_test_guest("nap", 128)
        self.assertEqual(self.client.pause_vm("nap").state, VM_STATE_PAUSED)
        self.assertEqual(self.client.get_vm("nap").state, VM_STATE_PAUSED)
        self.client.set_target_mib("nap", 16)  # Taken while paused, applied on resume.
        self.assertEqual(self.client.resume_vm("nap").state, VM_STATE_RUNNING)
        self.client.wait_for_actual("nap", 16)
        self.client.delete_vm("nap")
        with self.assertRaises(NotFoundError):
            self.client.pause_vm("nap")

    def test_statistics_arrive_and_see_the_balloon(self):
        self.blimpd.boot_test_guest("stats", 256)
        before = self.fresh_stats("stats", time.monotonic())
        self.assertTrue(before.HasField("available_memory"))
        self.assertTrue(before.HasField("total_memory"))
        self.assertGreater(before.total_memory, 200 * MIB)
        self.assertLessEqual(before.total_memory, 256 * MIB)
        self.client.set_target_mib("stats", 64)
        self.client.wait_for_actual("stats", 64)
        after = self.fresh_stats("stats", time.monotonic())
        # The guest's 64 MiB in the balloon are no longer available to it.
        self.assertLess(after.available_memory, before.available_memory - 60 * MIB)
        polled = self.client.balloon_stats("stats")
        self.assertEqual((polled.target_mib, polled.actual_mib), (64, 64))
        self.assertGreater(self.client.balloon_metrics("stats").stats_updates_count, 0)
        self.client.delete_vm("stats")

    def test_watch_yields_updates_until_closed(self):
        self.blimpd.boot_test_guest("watch", 128)
        updates = []
        start = time.monotonic()
        with self.client.watch_stats("watch", timeout_s=15) as watch:
            for stats in watch:
                updates.append(stats)
                if len(updates) == 2:
                    self.client.set_target_mib("watch", 32)
                if stats.actual_mib == 32 and len(updates) >= 3:
                    break
        self.assertGreaterEqual(len(updates), 3, "fewer than 3 refreshes in 15 s")
        self.assertLess(time.monotonic() - start, 15)
        self.assertTrue(all(u.HasField("total_memory") for u in updates))
        self.assertEqual(updates[-1].target_mib, 32)
        # Closed early: the loop above ended without an error; a closed
        # watch iterates no more.
        self.assertEqual(list(watch), [])
        self.client.delete_vm("watch")

    def test_refusals_carry_code_and_message(self):
        with self.assertRaises(NotFoundError) as raised:
            self.client.get_vm("no-such-vm")
        self.assertEqual(raised.exception.code, grpc.StatusCode.NOT_FOUND)
        self.assertEqual(raised.exception.method, "GetVm")
        self.assertIn("no such VM 'no-such-vm'", raised.exception.message)
        with self.assertRaises(NotFoundError):
            self.client.set_target_mib("no-such-vm", 10)
        with self.assertRaises(NotFoundError):
            list(self.client.watch_stats("no-such-vm", timeout_s=5))

        self.blimpd.boot_test_guest("refuse", 128)
        with self.assertRaises(InvalidArgumentError) as raised:
            self.client.set_target_mib("refuse", 129)
        self.assertEqual(raised.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("too large", raised.exception.message)
        self.assertEqual(self.client.get_target_mib("refuse"), 0, "a refused target is not applied")
        with self.assertRaises(AlreadyExistsError):
            self.client.create_vm("refuse", test_guest_config(128))
        with self.assertRaises(InvalidArgumentError):
            self.client.create_vm("../bad", test_guest_config(128))
        self.client.delete_vm("refuse")

        self.client.create_vm("not-started", test_guest_config(128))
        with self.assertRaises(FailedPreconditionError) as raised:
            self.client.set_target_mib("not-started", 16)
        self.assertIn("before starting the VM", raised.exception.message)
        self.assertIsInstance(raised.exception, BlimpError)
        self.client.delete_vm("not-started")


@unittest.skipUnless(kvm_usable(), "/dev/kvm is missing or not usable")
class MigrateE2eTest(unittest.TestCase):
    def test_a_vm_moves_to_another_blimpd_and_a_failed_move_keeps_it_here(self):
        with Blimpd() as source, Blimpd() as target:
            source.boot_test_guest("mover", 128)
            with self.assertRaises(BlimpError) as raised:
                source.client.migrate_vm("mover", "unix:/nonexistent/blimp.grpc.sock")
            self.assertEqual(raised.exception.code, grpc.StatusCode.ABORTED)
            self.assertIn("runs here again", raised.exception.message)
            self.assertEqual(source.client.get_vm("mover").state, VM_STATE_RUNNING)
            moved = source.client.migrate_vm("mover", target.server, target_vm_id="moved")
            self.assertEqual(moved.vm.vm_id, "moved")
            self.assertEqual(moved.vm.state, VM_STATE_RUNNING)
            self.assertEqual(moved.memory_bytes, 128 * MIB)
            self.assertLess(moved.memory_sent_bytes, 128 * MIB)
            with self.assertRaises(NotFoundError):
                source.client.get_vm("mover")
            target.client.set_target_mib("moved", 32)
            target.client.wait_for_actual("moved", 32)


if __name__ == "__main__":
    junit.main()
