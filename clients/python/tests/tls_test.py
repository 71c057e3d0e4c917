"""blimp_client's mutual TLS against a real blimpd --grpc-listen on
127.0.0.1 (no VM, so no KVM): a client certificate from blimpd's client CA
is served, by address and by --tls-server-name; plain text, another CA's
certificate and a wrong server name are refused; bad TLS input is a
ValueError before any connection.
"""
import re
import shutil
import time
import unittest

import junit
from blimp_client import Client, Tls, UnavailableError, open_channel
from blimpd import Blimpd
from certs import TestCerts


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = TestCerts()
        path = cls.certs.path
        cls.blimpd = Blimpd(["--grpc-listen", "127.0.0.1:0", "--tls-cert", path("server.crt"),
                             "--tls-key", path("server.key"), "--tls-client-ca", path("ca.crt")])
        cls.port = cls.grpc_port()

    @classmethod
    def tearDownClass(cls):
        cls.blimpd.stop()
        shutil.rmtree(cls.certs.dir, ignore_errors=True)

    @classmethod
    def grpc_port(cls) -> int:
        # blimpd answers on its unix socket a moment before it logs the port.
        for _ in range(500):
            found = re.search(r"gRPC on TCP port (\d+)\n", cls.blimpd.log())
            if found:
                return int(found.group(1))
            time.sleep(0.02)
        raise AssertionError("no 'gRPC on TCP port' in blimpd's log")

    def tls(self, client: str = "client", server_name=None) -> Tls:
        path = self.certs.path
        return Tls(path(f"{client}.crt"), path(f"{client}.key"), path("ca.crt"), server_name)

    def connect(self, tls, host="127.0.0.1") -> Client:
        client = Client.connect(f"{host}:{self.port}", tls, timeout_s=5)
        self.addCleanup(client.close)
        return client

    def test_client_certificate_is_served(self):
        self.assertEqual(self.connect(self.tls()).list_vms(), [])

    def test_server_name_is_checked(self):
        self.assertEqual(self.connect(self.tls(server_name="localhost")).list_vms(), [])
        with self.assertRaises(UnavailableError):
            self.connect(self.tls(server_name="not-blimpd.example")).list_vms()

    def test_plain_text_and_another_ca_are_refused(self):
        with self.assertRaises(UnavailableError) as raised:
            self.connect(None).list_vms()
        self.assertIn(f"cannot reach blimpd at 127.0.0.1:{self.port}", str(raised.exception))
        with self.assertRaises(UnavailableError):
            self.connect(self.tls("other-client")).list_vms()

    def test_bad_tls_input_is_a_value_error(self):
        with self.assertRaisesRegex(ValueError, "unix socket is plain"):
            open_channel(self.blimpd.server, self.tls())
        with self.assertRaisesRegex(ValueError, "cert, key and ca together"):
            open_channel(f"127.0.0.1:{self.port}", Tls("", "", self.certs.path("ca.crt")))
        with self.assertRaisesRegex(ValueError, "cannot read /nonexistent.pem"):
            open_channel(f"127.0.0.1:{self.port}", Tls("/nonexistent.pem", "k", "ca"))
        with self.assertRaisesRegex(ValueError, "client.ext is not PEM"):
            open_channel(f"127.0.0.1:{self.port}",
                         Tls(self.certs.path("client.ext"), "k", "ca"))


if __name__ == "__main__":
    junit.main()
