#!/bin/sh
# /init of the Blimp Linux guest (busybox sh). Prints BLIMP-GUEST-READY,
# then serves one command per console line, each answered with "ok" or
# "error: ..." as the Blimp test guest's shell does (tests/e2e/vm_process.h):
#
#   mem              MemTotal/MemFree/MemAvailable in KiB
#   hog MIB          memhog holds MIB MiB in the background (until unhog)
#   unhog            frees what hog holds
#   run CMD...       runs a shell command; error if it fails
#   dmesg-check      error if the kernel log has a probe failure or ACPI error
#   unbind | bind    the balloon driver off/on its device through sysfs
#   poweroff
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
stty -echo -F /dev/console 2>/dev/null

balloon_dev() {
  for d in /sys/bus/virtio/devices/*; do
    # virtio device id 5 is the balloon (virtio 1.1, 5.5).
    [ "$(cat "$d/device" 2>/dev/null)" = "0x0005" ] && { basename "$d"; return 0; }
  done
  return 1
}

drv=/sys/bus/virtio/drivers/virtio_balloon
echo "BLIMP-GUEST-READY $(uname -r) balloon=$(balloon_dev || echo none)"

while read -r cmd args; do
  case "$cmd" in
    "") continue ;;
    mem)
      sed -n 's/^\(MemTotal\|MemFree\|MemAvailable\): *\([0-9]*\) kB$/\1 \2/p' /proc/meminfo
      echo ok ;;
    hog)
      rm -f /tmp/hog.out
      memhog "$args" > /tmp/hog.out 2>&1 &
      echo $! >> /tmp/hog.pids
      i=0
      while [ $i -lt 600 ] && ! grep -q touched /tmp/hog.out 2>/dev/null && kill -0 $! 2>/dev/null; do
        sleep 0.1; i=$((i + 1))
      done
      if grep -q touched /tmp/hog.out; then echo ok; else echo "error: memhog: $(cat /tmp/hog.out)"; fi ;;
    unhog)
      [ -f /tmp/hog.pids ] && kill $(cat /tmp/hog.pids) 2>/dev/null
      for p in $(cat /tmp/hog.pids 2>/dev/null); do
        while kill -0 "$p" 2>/dev/null; do sleep 0.05; done
      done
      rm -f /tmp/hog.pids
      echo ok ;;
    run)
      if sh -c "$args"; then echo ok; else echo "error: exit $?"; fi ;;
    dmesg-check)
      bad=$(dmesg | grep -E 'probe of .* failed|ACPI Error|ACPI BIOS Error|can.t request region|Call Trace')
      if [ -z "$bad" ]; then echo ok; else echo "error: $(echo "$bad" | head -n 3 | tr '\n' '|')"; fi ;;
    unbind)
      if dev=$(balloon_dev) && echo "$dev" > $drv/unbind; then echo ok; else echo "error: unbind"; fi ;;
    bind)
      if dev=$(balloon_dev) && echo "$dev" > $drv/bind; then echo ok; else echo "error: bind"; fi ;;
    poweroff)
      echo ok; sync; poweroff -f ;;
    *)
      echo "error: unknown command $cmd" ;;
  esac
done < /dev/console
poweroff -f
