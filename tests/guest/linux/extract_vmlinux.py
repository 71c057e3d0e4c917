#!/usr/bin/env python3
"""Extracts the uncompressed ELF vmlinux from a bzImage, as the kernel's
scripts/extract-vmlinux does, but from the header instead of a byte scan:
setup_header.setup_sects (0x1f1) gives where the protected-mode image starts,
payload_offset/payload_length (0x248/0x24c, boot protocol >= 2.08) where the
compressed kernel is inside it. Handles xz, zstd, gzip, lzma, lz4, bzip2
payloads (Debian 12's kernels use xz).

  extract_vmlinux.py BZIMAGE OUT
"""
import gzip
import lzma
import shutil
import struct
import subprocess
import sys


def payload(image):
    if image[0x202:0x206] != b"HdrS":
        raise SystemExit("not a bzImage (no HdrS)")
    version = struct.unpack_from("<H", image, 0x206)[0]
    if version < 0x208:
        raise SystemExit(f"boot protocol {version:#x} has no payload fields")
    setup_sects = image[0x1F1] or 4
    start = (setup_sects + 1) * 512
    offset, length = struct.unpack_from("<II", image, 0x248)
    return image[start + offset:start + offset + length]


def run_tool(argv, data):
    if shutil.which(argv[0]) is None:
        raise SystemExit(f"{argv[0]} is needed to decompress this kernel")
    # The payload may carry trailing bytes (the size word): tools that stop
    # at the end of their frame are fine; ignore their complaint about it.
    proc = subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if not proc.stdout:
        raise SystemExit(f"{argv[0]} failed: {proc.stderr.decode(errors='replace')}")
    return proc.stdout


def decompress(data):
    if data.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data)
    if data.startswith(b"\x28\xb5\x2f\xfd"):
        return run_tool(["zstd", "-dc"], data)
    if data.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=__import__("io").BytesIO(data)).read()
    if data.startswith(b"\x5d\x00\x00"):
        return lzma.LZMADecompressor(format=lzma.FORMAT_ALONE).decompress(data)
    if data.startswith(b"\x02\x21\x4c\x18"):
        return run_tool(["lz4", "-dc"], data)
    if data.startswith(b"BZh"):
        import bz2
        return bz2.BZ2Decompressor().decompress(data)
    raise SystemExit(f"unknown payload compression (magic {data[:6].hex()})")


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    with open(sys.argv[1], "rb") as f:
        image = f.read()
    elf = decompress(payload(image))
    if elf[:4] != b"\x7fELF":
        raise SystemExit("decompressed payload is not an ELF")
    with open(sys.argv[2], "wb") as f:
        f.write(elf)


if __name__ == "__main__":
    main()
