#!/usr/bin/env python3
"""Boots test_guest.elf through its Linux 64-bit entry on bare /dev/kvm, the
way our VMM does (long mode, identity map of 1 GiB, boot_params in RSI), and
prints its serial output until BLIMP-GUEST-READY. A developer tool for the
64-bit entry path (QEMU only exercises PVH). No ACPI, no input.
Usage: kvm_boot64.py test_guest.elf [MEM_MIB]"""
import ctypes
import fcntl
import mmap
import os
import struct
import sys
import time

KVM_CREATE_VM, KVM_GET_VCPU_MMAP_SIZE, KVM_CREATE_VCPU = 0xAE01, 0xAE04, 0xAE41
KVM_RUN, KVM_CREATE_IRQCHIP = 0xAE80, 0xAE60
KVM_SET_USER_MEMORY_REGION = 0x4020AE46
KVM_GET_SREGS, KVM_SET_SREGS = 0x8138AE83, 0x4138AE84
KVM_GET_REGS, KVM_SET_REGS = 0x8090AE81, 0x4090AE82

libc = ctypes.CDLL(None, use_errno=True)


def ioctl(fd, req, arg=0):
    r = libc.ioctl(fd, ctypes.c_ulong(req), arg)
    if r < 0:
        raise OSError(ctypes.get_errno(), "ioctl 0x%x" % req)
    return r


def main(elf_path, mem_mib=256):
    mem_size = mem_mib << 20
    kvm = os.open("/dev/kvm", os.O_RDWR)
    vm = ioctl(kvm, KVM_CREATE_VM, 0)
    ioctl(vm, KVM_CREATE_IRQCHIP, 0)
    ram = mmap.mmap(-1, mem_size, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(ram))
    region = struct.pack("IIQQQ", 0, 0, 0, mem_size, addr)
    ioctl(vm, KVM_SET_USER_MEMORY_REGION, ctypes.c_char_p(region))

    elf = open(elf_path, "rb").read()
    entry, phoff = struct.unpack_from("<QQ", elf, 0x18)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        p_type, _, off, _, paddr, filesz, memsz, _ = struct.unpack_from("<IIQQQQQQ", elf, phoff + i * phentsize)
        if p_type == 1:
            ram[paddr:paddr + filesz] = elf[off:off + filesz]
            ram[paddr + filesz:paddr + memsz] = bytes(memsz - filesz)

    # GDT at 0x500, page tables at 0x9000 (1 GiB of 2 MiB pages).
    struct.pack_into("<QQQ", ram, 0x500, 0, 0x00AF9B000000FFFF, 0x00CF93000000FFFF)
    struct.pack_into("<Q", ram, 0x9000, 0xA000 | 3)
    struct.pack_into("<Q", ram, 0xA000, 0xB000 | 3)
    for i in range(512):
        struct.pack_into("<Q", ram, 0xB000 + 8 * i, (i << 21) | 0x83)
    # boot_params at 0x7000, command line at 0x20000.
    cmdline = b"console=ttyS0 foo=bar virtio_mmio.device=4K@0xd0000000:5\0"
    ram[0x20000:0x20000 + len(cmdline)] = cmdline
    struct.pack_into("<I", ram, 0x7000 + 0x228, 0x20000)
    e820 = [(0, 0x9FC00, 1), (0x9FC00, 0x400, 2), (0x100000, mem_size - 0x100000, 1)]
    struct.pack_into("<B", ram, 0x7000 + 0x1E8, len(e820))
    for i, (a, s, t) in enumerate(e820):
        struct.pack_into("<QQI", ram, 0x7000 + 0x2D0 + 20 * i, a, s, t)

    vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)
    run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0)
    run = mmap.mmap(vcpu, run_size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    sregs = ctypes.create_string_buffer(312)
    ioctl(vcpu, KVM_GET_SREGS, sregs)
    code = struct.pack("<QIHBBBBBBBBBB", 0, 0xFFFFFFFF, 8, 11, 1, 0, 1, 0, 1, 1, 0, 0, 0)
    data = struct.pack("<QIHBBBBBBBBBB", 0, 0xFFFFFFFF, 16, 3, 1, 0, 1, 1, 0, 1, 0, 0, 0)
    raw = bytearray(sregs.raw)
    raw[0:24] = code  # cs
    for k in (1, 2, 3, 4, 5):  # ds es fs gs ss
        raw[24 * k:24 * k + 24] = data
    struct.pack_into("<QH6x", raw, 8 * 24 + 16, 0x500, 23)  # gdt
    cr0, cr2, cr3, cr4, cr8, efer, apic = struct.unpack_from("<7Q", raw, 8 * 24 + 32)
    struct.pack_into("<7Q", raw, 8 * 24 + 32, 0x80000011, 0, 0x9000, 0x20, cr8, 0x500, apic)
    ctypes.memmove(sregs, bytes(raw), 312)
    ioctl(vcpu, KVM_SET_SREGS, sregs)
    regs = struct.pack("<18Q", *([0] * 4), 0x7000, *([0] * 11), entry, 2)  # rsi, rip, rflags
    ioctl(vcpu, KVM_SET_REGS, ctypes.c_char_p(regs))

    line, t0 = b"", time.monotonic()
    while True:
        ioctl(vcpu, KVM_RUN, 0)
        reason = struct.unpack_from("<I", run, 8)[0]
        if reason == 6:  # KVM_EXIT_MMIO: nothing there (the virtio_mmio.device= probe); reads give 0
            phys, data, length, is_write = struct.unpack_from("<Q8sIB", run, 32)
            if not is_write:
                run[40:48] = bytes(8)
            continue
        if reason != 2:  # KVM_EXIT_IO
            print("\nexit reason %d" % reason)
            return 1
        direction, size, port, count, off = struct.unpack_from("<BBHIQ", run, 32)
        if direction == 1 and port == 0x3F8:
            c = run[off:off + 1]
            sys.stdout.buffer.write(c)
            sys.stdout.flush()
            line = b"" if c == b"\n" else line + c
            if line == b"BLIMP-GUEST-READY":
                print("\n[kvm_boot64] READY after %.3f s" % (time.monotonic() - t0))
                return 0
        elif direction == 0:
            run[off:off + size] = bytes([0x60 if port == 0x3FD else 0xFF] * size)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 256))
