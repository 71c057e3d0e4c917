"""The gRPC channel to blimpd: its unix socket, or HOST:PORT with optional
mutual TLS, with the same rules as blimpctl's --tls-* flags (client/channel.cc).
"""
from __future__ import annotations

import dataclasses
from typing import List, Optional, Tuple

import grpc

DEFAULT_SERVER = "unix:/run/blimp/blimp.grpc.sock"


@dataclasses.dataclass(frozen=True)
class Tls:
    """PEM files for mutual TLS to a blimpd --grpc-listen HOST:PORT.

    cert/key: the client's certificate (signed by blimpd's --tls-client-ca)
    and its key; ca: the CA that signed blimpd's certificate; server_name:
    the name to check blimpd's certificate for instead of the host.
    """

    cert: str
    key: str
    ca: str
    server_name: Optional[str] = None


def _read_pem(what: str, path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            text = file.read()
    except OSError as error:
        raise ValueError(f"{what}: cannot read {path}: {error.strerror}") from None
    if b"-----BEGIN " not in text:
        raise ValueError(f"{what}: {path} is not PEM")
    return text


def open_channel(server: str = DEFAULT_SERVER, tls: Optional[Tls] = None) -> grpc.Channel:
    """A channel to `server` ("unix:/path" or "host:port").

    Raises ValueError for TLS on a unix socket (blimpd's is plain) or an
    unreadable or non-PEM file. Without TLS a host:port is plain text, which
    blimpd serves on loopback only.
    """
    if tls is None:
        return grpc.insecure_channel(server)
    if server.startswith("unix:"):
        raise ValueError("TLS is for a HOST:PORT server; blimpd's unix socket is plain")
    if not (tls.cert and tls.key and tls.ca):
        raise ValueError("TLS needs cert, key and ca together (blimpd wants a client certificate)")
    cert = _read_pem("tls cert", tls.cert)
    key = _read_pem("tls key", tls.key)
    ca = _read_pem("tls ca", tls.ca)
    credentials = grpc.ssl_channel_credentials(root_certificates=ca, private_key=key,
                                               certificate_chain=cert)
    options: List[Tuple[str, str]] = []
    if tls.server_name:
        options.append(("grpc.ssl_target_name_override", tls.server_name))
    return grpc.secure_channel(server, credentials, options=options)
