"""Drives a balloon: Blimp through Firecracker's REST API on --api-sock,
QEMU through QMP. Both report the balloon's actual size in MiB."""
import http.client
import json
import socket


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.unix_path)


class BlimpRest:
    """Firecracker's /balloon endpoints on a blimp-vmm --api-sock."""

    def __init__(self, path):
        self.conn = _UnixHTTPConnection(path)

    def request(self, method, path, body=None):
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None,
                          headers={"Content-Type": "application/json"})
        response = self.conn.getresponse()
        data = response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {data!r}")
        return json.loads(data) if data else None

    def set_target_mib(self, mib):
        self.request("PATCH", "/balloon", {"amount_mib": mib})

    def actual_mib(self):
        return self.request("GET", "/balloon/statistics")["actual_mib"]


class QemuQmp:
    """QEMU's balloon over QMP: `balloon` takes the guest's memory size."""

    def __init__(self, path, mem_mib):
        self.mem_mib = mem_mib
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.file = self.sock.makefile("rw")
        json.loads(self.file.readline())  # Greeting.
        self.execute("qmp_capabilities")

    def execute(self, command, arguments=None):
        message = {"execute": command}
        if arguments:
            message["arguments"] = arguments
        self.file.write(json.dumps(message) + "\n")
        self.file.flush()
        while True:
            reply = json.loads(self.file.readline())
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise RuntimeError(f"{command}: {reply['error']}")

    def set_target_mib(self, mib):
        self.execute("balloon", {"value": (self.mem_mib - mib) << 20})

    def actual_mib(self):
        return self.mem_mib - (self.execute("query-balloon")["actual"] >> 20)
