#!/usr/bin/env python3
"""Writes an uncompressed initramfs (cpio "newc", the format the kernel
unpacks, Documentation/driver-api/early-userspace/buffer-format.rst) without
root privileges: device nodes and owners are written into the archive, not
created on the host.

Usage: make_initramfs.py OUT ENTRY...
  dir:PATH                 a directory (0755)
  file:PATH=SOURCE[:MODE]  a host file (mode in octal, default 0644)
  link:PATH=TARGET         a symbolic link
  char:PATH=MAJOR:MINOR:MODE  a character device node
Entries are written in the order given, all owned by root; mtime is 0 so the
same inputs give the same bytes.
"""
import stat
import sys


def header(ino, mode, size, name, rdev=(0, 0)):
    fields = [ino, mode, 0, 0, 1, 0, size, 0, 0, rdev[0], rdev[1], len(name) + 1, 0]
    return b"070701" + b"".join(b"%08X" % f for f in fields) + name.encode() + b"\0"


def pad(data):
    return data + b"\0" * (-len(data) % 4)


def entry(ino, mode, name, body=b"", rdev=(0, 0)):
    return pad(header(ino, mode, len(body), name, rdev)) + pad(body)


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    out = bytearray()
    for ino, spec in enumerate(argv[2:], start=1):
        kind, _, rest = spec.partition(":")
        path, _, value = rest.partition("=")
        path = path.lstrip("/")
        if kind == "dir":
            out += entry(ino, stat.S_IFDIR | 0o755, path)
        elif kind == "file":
            source, _, mode = value.partition(":")
            with open(source, "rb") as f:
                out += entry(ino, stat.S_IFREG | int(mode or "644", 8), path, f.read())
        elif kind == "link":
            out += entry(ino, stat.S_IFLNK | 0o777, path, value.encode())
        elif kind == "char":
            major, minor, mode = value.split(":")
            out += entry(ino, stat.S_IFCHR | int(mode, 8), path, rdev=(int(major), int(minor)))
        else:
            sys.exit(f"make_initramfs: unknown entry {spec!r}")
    out += entry(0, 0, "TRAILER!!!")
    with open(argv[1], "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main(sys.argv)
