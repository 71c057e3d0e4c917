"""Tests only: a throwaway PKI made with the openssl CLI (as
gateway/testing/test_certs.cc makes one): `ca` signs the server certificate
(SAN IP:127.0.0.1, DNS:localhost) and a good client certificate; `other-ca`
signs a client certificate blimpd must refuse. EC P-256 keys: fast.
"""
import os
import subprocess
import tempfile

SERVER_EXT = ("basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
              "extendedKeyUsage=serverAuth\n")
CLIENT_EXT = "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n"


class TestCerts:
    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="blimp-py-certs-", dir="/tmp")
        self._ca("ca")
        self._signed("server", "ca", SERVER_EXT)
        self._signed("client", "ca", CLIENT_EXT)
        self._ca("other-ca")
        self._signed("other-client", "other-ca", CLIENT_EXT)

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def _openssl(self, *args: str) -> None:
        subprocess.run(["openssl", *args], cwd=self.dir, check=True, capture_output=True)

    def _key(self, name: str) -> None:
        self._openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                      "-out", f"{name}.key")

    def _ca(self, name: str) -> None:
        self._key(name)
        self._openssl("req", "-x509", "-new", "-key", f"{name}.key", "-days", "2",
                      "-subj", f"/CN={name}", "-out", f"{name}.crt")

    def _signed(self, name: str, ca: str, ext: str) -> None:
        self._key(name)
        self._openssl("req", "-new", "-key", f"{name}.key", "-subj", f"/CN={name}",
                      "-out", f"{name}.csr")
        with open(self.path(f"{name}.ext"), "w") as file:
            file.write(ext)
        self._openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt",
                      "-CAkey", f"{ca}.key", "-CAcreateserial", "-days", "2",
                      "-extfile", f"{name}.ext", "-out", f"{name}.crt")
