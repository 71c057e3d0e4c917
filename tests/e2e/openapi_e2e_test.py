"""blimpd's REST API against its OpenAPI document (api/openapi.json), with
python3-jsonschema (Draft 2020-12 is OpenAPI 3.1's schema dialect):

- the document: every $ref resolves, every schema is valid, and its
  operations are exactly the routes of gateway/router.cc;
- GET /openapi.json serves the file byte for byte;
- every request the test sends is checked against the document first (a
  valid one must be accepted by blimpd, an invalid one refused with 400),
  and every answer's status, content type and body against the operation's
  responses: on blimpd's socket (/vms/...) and on a VM's own socket
  (Firecracker's paths), through a VM's whole life on KVM.
"""
import http.client
import json
import os
import re
import socket
import sys
import time
import unittest
from typing import Any, Dict, Optional

import jsonschema

import junit
from blimpd import TEST_GUEST, Blimpd, kvm_usable, runfile

sys.path.insert(0, runfile("api"))
from openapi_check import Document  # noqa: E402  (api/ is not on PYTHONPATH)

class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=20)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(20)
        self.sock.connect(self.unix_path)


with open(runfile("api/openapi.json")) as _file:
    DOCUMENT_TEXT = _file.read()
DOC = Document(DOCUMENT_TEXT)


class RestCase(unittest.TestCase):
    """call(): one request, checked against the document both ways."""

    socket_path = ""

    def call(self, method: str, path: str, body: Optional[Any] = None, *, status: int,
             doc_rejects: bool = False, raw_body: Optional[str] = None) -> Any:
        """Sends `body` (JSON), or `raw_body` as is, and checks that blimpd
        answers `status` as the document says; returns the parsed JSON (or
        text). The document must accept `body` unless `doc_rejects` (then
        it must refuse it, as blimpd does with its 400)."""
        operation = DOC.operation(method, path)
        if operation is None:  # Another method of a documented path.
            self.assertEqual(status, 405)
            operation = {"responses": {"default": {"$ref": "#/components/responses/Error"}}}
        elif raw_body is None:
            problems = DOC.request_errors(operation, body)
            if doc_rejects:
                self.assertEqual(status, 400)
                self.assertNotEqual(problems, [], f"{method} {path}: {body} should be invalid")
            else:
                self.assertEqual(problems, [], f"{method} {path}: {body}")
        connection = UnixHTTPConnection(self.socket_path)
        try:
            payload = raw_body if raw_body is not None else (
                json.dumps(body) if body is not None else None)
            connection.request(method, path, body=payload)
            response = connection.getresponse()
            data = response.read()
            content_type = response.getheader("Content-Type", "")
        finally:
            connection.close()
        self.assertEqual(response.status, status, f"{method} {path}: {data[:300]!r}")
        self.assertEqual(DOC.response_errors(operation, response.status, content_type, data), [],
                         f"{method} {path} -> {response.status}")
        if content_type.startswith("application/json"):
            return json.loads(data)
        return data.decode()


class DocumentTest(unittest.TestCase):
    def test_is_openapi_3_1_with_valid_schemas_and_refs(self):
        self.assertEqual(DOC.doc["openapi"], "3.1.0")
        for name, schema in DOC.doc["components"]["schemas"].items():
            jsonschema.Draft202012Validator.check_schema(schema)
        refs = re.findall(r'"\$ref": "([^"]+)"', DOCUMENT_TEXT)
        self.assertGreater(len(refs), 50)
        for ref in set(refs):
            DOC.resolver.resolve(ref)  # Raises if it does not resolve.
        # The VM paths share their path items (/balloon, /vms/{vm_id}/balloon),
        # so only the daemon's own operations have ids.
        ids = [op["operationId"] for _, _, op in DOC.operations() if "operationId" in op]
        self.assertEqual(len(ids), len(set(ids)), "operationIds are unique")
        for method, template, operation in DOC.operations():
            self.assertIn("default", operation["responses"], f"{method} {template}")

    def test_operations_are_the_routers_routes(self):
        with open(runfile("gateway/router.cc")) as file:
            source = file.read()

        def table(name: str):
            body = re.search(r"constexpr Route %s\[\] = \{(.*?)\};" % name, source, re.S)
            self.assertIsNotNone(body, name)
            return re.findall(r'\{"([^"]*)", "([A-Z]+)", Op::', body.group(1))

        served = set()
        for path, method in table("kVmRoutes"):
            served |= {(method, f"/vms/{{vm_id}}/{path}"), (method, f"/{path}")}
        served |= {(method, "/") for path, method in table("kSingleVmRoot")}
        served |= {(method, "/vms/{vm_id}") for path, method in table("kDaemonVmRoot")}
        served |= {(method, f"/{path}") for path, method in table("kDaemonRoot")}
        self.assertGreater(len(served), 25)
        documented = {(method, template) for method, template, _ in DOC.operations()}
        self.assertEqual(documented, served)


class DaemonTest(RestCase):
    """blimpd's socket, no VM running (no KVM needed)."""

    @classmethod
    def setUpClass(cls):
        cls.blimpd = Blimpd()
        cls.socket_path = os.path.join(cls.blimpd.run_dir, "blimp.sock")

    @classmethod
    def tearDownClass(cls):
        cls.blimpd.stop()

    def test_serves_the_document_byte_for_byte(self):
        served = self.call("GET", "/openapi.json", status=200)
        self.assertEqual(served, DOC.doc)
        connection = UnixHTTPConnection(self.socket_path)
        connection.request("GET", "/openapi.json")
        self.assertEqual(connection.getresponse().read().decode(), DOCUMENT_TEXT)
        connection.close()

    def test_lists_metrics_and_faults(self):
        self.assertEqual(self.call("GET", "/vms", status=200), {"vms": []})
        self.assertIn("blimp_daemon_", self.call("GET", "/metrics", status=200))
        fault = self.call("GET", "/vms/nope", status=404)
        self.assertEqual(fault, {"fault_message": "no such VM 'nope'"})
        self.call("GET", "/vms/nope/balloon", status=404)
        self.call("DELETE", "/vms/nope", status=404)
        self.call("PUT", "/openapi.json", {}, status=405)

    def test_bad_configs_are_refused_as_the_document_says(self):
        base = {"boot-source": {"kernel_image_path": TEST_GUEST},
                "machine-config": {"vcpu_count": 1, "mem_size_mib": 128}}
        for bad in ({**base, "surprise": 1},
                    {"boot-source": base["boot-source"]},
                    {**base, "machine-config": {"vcpu_count": 0, "mem_size_mib": 128}},
                    {**base, "machine-config": {"vcpu_count": 1}},
                    {**base, "balloon": {"amount_mib": 1}},
                    {**base, "balloon": {"amount_mib": "1", "deflate_on_oom": False}}):
            self.assertIn("fault_message",
                          self.call("PUT", "/vms/bad", bad, status=400, doc_rejects=True))
        self.call("PUT", "/vms/bad", raw_body="{not json", status=400)
        self.assertEqual(self.call("GET", "/vms", status=200), {"vms": []})


@unittest.skipUnless(kvm_usable(), "/dev/kvm is missing or not usable")
class VmLifeTest(RestCase):
    """A test guest's whole life through REST, on both sockets."""

    def setUp(self):
        self.blimpd = Blimpd()
        self.addCleanup(self.blimpd.stop)
        self.socket_path = os.path.join(self.blimpd.run_dir, "blimp.sock")

    def wait_ready(self, vm_id: str) -> None:
        console = os.path.join(self.blimpd.vm_dir(vm_id), "console.log")
        for _ in range(1500):
            if os.path.exists(console) and b"BLIMP-GUEST-READY" in open(console, "rb").read():
                return
            time.sleep(0.02)
        self.fail(f"no BLIMP-GUEST-READY in {console}")

    def test_daemon_socket(self):
        config = {"boot-source": {"kernel_image_path": TEST_GUEST, "boot_args": "console=ttyS0"},
                  "machine-config": {"vcpu_count": 1, "mem_size_mib": 128},
                  "balloon": {"amount_mib": 0, "deflate_on_oom": False,
                              "stats_polling_interval_s": 1, "free_page_hinting": True}}
        self.call("PUT", "/vms/a", config, status=204)
        self.call("PUT", "/vms/a", config, status=400)  # Taken.
        self.assertEqual(self.call("GET", "/vms/a", status=200)["state"], "VM_STATE_CREATED")
        self.assertEqual(self.call("GET", "/vms/a/vm/config", status=200)["balloon"]["amount_mib"], 0)
        self.call("PUT", "/vms/a/boot-source", config["boot-source"], status=204)
        self.call("PUT", "/vms/a/machine-config", config["machine-config"], status=204)
        self.call("GET", "/vms/a/machine-config", status=200)
        self.call("PUT", "/vms/a/balloon", config["balloon"], status=204)
        self.call("PATCH", "/vms/a/balloon", {"amount_mib": 8}, status=400)  # Before boot.
        self.call("PUT", "/vms/a/actions", {"action_type": "Reboot"}, status=400,
                  doc_rejects=True)
        self.call("PUT", "/vms/a/actions", {"action_type": "InstanceStart"}, status=204)
        self.wait_ready("a")

        vm = self.call("GET", "/vms/a", status=200)
        self.assertEqual(vm["state"], "VM_STATE_RUNNING")
        self.assertEqual(vm["balloon_actual_mib"], 0)
        self.assertEqual(len(self.call("GET", "/vms", status=200)["vms"]), 1)
        self.call("PUT", "/vms/a/balloon", config["balloon"], status=400)  # After boot.
        self.call("PATCH", "/vms/a/balloon", {"amount_mib": 32}, status=204)
        self.call("PATCH", "/vms/a/balloon", {"amount_mib": 32, "x": 1}, status=400,
                  doc_rejects=True)
        self.call("PATCH", "/vms/a/balloon", {"amount_mib": 129}, status=400)
        self.assertEqual(self.call("GET", "/vms/a/balloon", status=200)["amount_mib"], 32)
        for _ in range(500):
            stats = self.call("GET", "/vms/a/balloon/statistics", status=200)
            if stats["actual_mib"] == 32 and "available_memory" in stats:
                break
            time.sleep(0.02)
        self.assertEqual(stats["actual_mib"], 32)
        self.call("PATCH", "/vms/a/balloon/statistics", {"stats_polling_interval_s": 2},
                  status=204)
        self.call("PATCH", "/vms/a/balloon/statistics", {"stats_polling_interval_s": 0},
                  status=400)
        self.call("PATCH", "/vms/a/balloon/hinting/start", status=204)
        self.call("PATCH", "/vms/a/balloon/hinting/start", {"acknowledge_on_stop": False},
                  status=204)
        self.assertIn("host_cmd", self.call("GET", "/vms/a/balloon/hinting/status", status=200))
        self.call("PATCH", "/vms/a/balloon/hinting/stop", status=204)
        snapshot = {"snapshot_path": os.path.join(self.blimpd.run_dir, "a.snap"),
                    "mem_file_path": os.path.join(self.blimpd.run_dir, "a.mem")}
        self.call("PUT", "/vms/a/snapshot/create", snapshot, status=400)  # Not paused.
        self.call("PATCH", "/vms/a/vm", {"state": "Frozen"}, status=400, doc_rejects=True)
        self.call("PATCH", "/vms/a/vm", {"state": "Paused"}, status=204)
        self.assertEqual(self.call("GET", "/vms/a", status=200)["state"], "VM_STATE_PAUSED")
        self.call("PUT", "/vms/a/snapshot/create", {"snapshot_path": "/a.snap"}, status=400,
                  doc_rejects=True)
        self.call("PUT", "/vms/a/snapshot/create", {**snapshot, "snapshot_type": "Diff"},
                  status=400, doc_rejects=True)
        self.call("PUT", "/vms/a/snapshot/create", snapshot, status=204)
        self.call("PUT", "/vms/a/snapshot/load", snapshot, status=400)  # 'a' exists.
        # On blimpd a load creates the VM it names, from the snapshot.
        self.call("PUT", "/vms/b/snapshot/load",
                  {"snapshot_path": snapshot["snapshot_path"], "resume_vm": True,
                   "mem_backend": {"backend_type": "File",
                                   "backend_path": snapshot["mem_file_path"]}}, status=204)
        self.assertEqual(self.call("GET", "/vms/b", status=200)["state"], "VM_STATE_RUNNING")
        self.call("DELETE", "/vms/b", status=204)
        self.call("PATCH", "/vms/a/vm", {"state": "Resumed"}, status=204)
        self.assertIn('blimp_vm_state{vm="a",state="running"} 1',
                      self.call("GET", "/metrics", status=200))
        self.call("PUT", "/vms/a/actions", {"action_type": "Stop"}, status=204)
        self.call("DELETE", "/vms/a", status=204)
        self.call("GET", "/vms/a", status=404)

    def test_vm_socket(self):
        config = {"boot-source": {"kernel_image_path": TEST_GUEST, "boot_args": "console=ttyS0"},
                  "machine-config": {"vcpu_count": 1, "mem_size_mib": 128}}
        self.call("PUT", "/vms/fc", config, status=204)
        self.socket_path = os.path.join(self.blimpd.vm_dir("fc"), "firecracker.socket")
        self.assertEqual(self.call("GET", "/", status=200)["state"], "Not started")
        self.call("GET", "/balloon", status=400)  # No balloon yet: device not found.
        self.call("PUT", "/balloon", {"amount_mib": 16, "deflate_on_oom": True,
                                      "stats_polling_interval_s": 1}, status=204)
        self.call("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 8}, status=400)
        self.call("GET", "/balloon/statistics", status=400)  # Before boot.
        self.call("PUT", "/actions", {"action_type": "InstanceStart"}, status=204)
        self.wait_ready("fc")
        info = self.call("GET", "/", status=200)
        self.assertEqual((info["id"], info["state"]), ("fc", "Running"))
        self.call("PATCH", "/balloon", {"amount_mib": 48}, status=204)
        self.assertEqual(self.call("GET", "/balloon", status=200)["amount_mib"], 48)
        self.call("GET", "/balloon/statistics", status=200)
        self.call("GET", "/balloon/hinting/status", status=400)  # Hinting not enabled.
        self.call("GET", "/machine-config", status=200)
        self.assertEqual(self.call("GET", "/vm/config", status=200)["balloon"]["amount_mib"], 48)
        self.call("GET", "/vms", status=404)  # A daemon path.
        self.call("PATCH", "/vm", {"state": "Paused"}, status=204)
        self.assertEqual(self.call("GET", "/", status=200)["state"], "Paused")
        self.call("PATCH", "/vm", {"state": "Resumed"}, status=204)
        self.call("PUT", "/actions", {"action_type": "SendCtrlAltDel"}, status=204)


if __name__ == "__main__":
    junit.main()
