#!/usr/bin/env python3
"""Copies kernel modules and their dependencies, decompressed, in load order.

  modules.py MODDIR DEST NAME...

MODDIR is a /lib/modules/<version> tree unpacked from Debian's kernel
package. Dependencies come from each module's own .modinfo section
(`depends=`), read from the ELF here so kmod's modinfo is not needed.
Modules built into the kernel (modules.builtin) are skipped. Prints the
copied file names, dependencies first, one per line.
"""
import lzma
import os
import struct
import subprocess
import sys


def find_modules(moddir):
    found = {}
    for dirpath, _, files in os.walk(os.path.join(moddir, "kernel")):
        for name in files:
            for ext in (".ko", ".ko.xz", ".ko.zst", ".ko.gz"):
                if name.endswith(ext):
                    found[name[:-len(ext)].replace("-", "_")] = os.path.join(dirpath, name)
    return found


def builtin(moddir):
    names = set()
    path = os.path.join(moddir, "modules.builtin")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                names.add(os.path.basename(line.strip()).rsplit(".ko", 1)[0].replace("-", "_"))
    return names


def read_module(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if path.endswith(".zst"):
        return subprocess.run(["zstd", "-dc"], input=data, stdout=subprocess.PIPE,
                              check=True).stdout
    if path.endswith(".gz"):
        import gzip
        return gzip.decompress(data)
    return data


def modinfo(elf):
    """The key=value strings of an ELF64 little-endian module's .modinfo."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2:
        raise ValueError("not an ELF64 module")
    shoff = struct.unpack_from("<Q", elf, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    def section(i):
        name, _, _, _, off, size = struct.unpack_from("<IIQQQQ", elf, shoff + i * shentsize)
        return name, off, size
    _, stroff, _ = section(shstrndx)
    for i in range(shnum):
        name, off, size = section(i)
        end = elf.index(b"\0", stroff + name)
        if elf[stroff + name:end] == b".modinfo":
            return [s.decode(errors="replace") for s in elf[off:off + size].split(b"\0") if s]
    return []


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    moddir, dest, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
    available, inkernel = find_modules(moddir), builtin(moddir)
    order, seen = [], set()

    def visit(name):
        name = name.replace("-", "_")
        if name in seen or name in inkernel:
            return
        seen.add(name)
        if name not in available:
            raise SystemExit(f"module {name} is neither built in nor in {moddir}")
        elf = read_module(available[name])
        for entry in modinfo(elf):
            if entry.startswith("depends="):
                for dep in filter(None, entry[len("depends="):].split(",")):
                    visit(dep)
        out = os.path.join(dest, name + ".ko")
        with open(out, "wb") as f:
            f.write(elf)
        order.append(name + ".ko")

    for name in wanted:
        visit(name)
    print("\n".join(order))


if __name__ == "__main__":
    main()
