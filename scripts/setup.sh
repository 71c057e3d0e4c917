#!/usr/bin/env bash
# Installs every Debian package Blimp needs to build, test and demo.
# Idempotent: a second run installs nothing and is quick.
set -euo pipefail

packages=(
  # Build: Bazel (offline), the compiler, pkg-config for system libraries.
  bazel-bootstrap g++ pkg-config
  # The stack.
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libgoogle-glog-dev libgflags-dev libgtest-dev libgmock-dev
  libseccomp-dev
  # TLS for blimpd's TCP listeners (the REST gateway links libssl).
  libssl-dev
  # blimpd's GET /metrics: prometheus-cpp's core (metric families and the text
  # serializer; the package also brings its pull and push parts, unused).
  prometheus-cpp-dev
  # Fuzzing and sanitizers with clang.
  clang libclang-rt-14-dev
  # Tests, peers and validators: curl for REST, openssl makes the TLS tests'
  # throwaway CA and certificates, QEMU as the benchmark peer,
  # iasl to check our ACPI tables; xz-utils unpacks Debian's kernel source.
  curl openssl qemu-system-x86 acpica-tools xz-utils
  # promtool checks the live /metrics, a real Prometheus server scrapes blimpd
  # (tests/e2e/prometheus_e2e_test runs its own on a free loopback port).
  prometheus
  linux-libc-dev procps python3
  # The Linux guest kernel, built from Debian's linux-source-6.1
  # (tests/guest/linux/build_kernel.sh).
  make patch flex bison bc libelf-dev libssl-dev
  # The Debian package (packaging/): dpkg-dev for dpkg-shlibdeps and
  # dpkg-parsechangelog, binutils to strip, lintian to check the .deb, systemd
  # for systemd-analyze verify on its units (no running systemd needed).
  dpkg-dev binutils lintian systemd
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -q
  $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi
