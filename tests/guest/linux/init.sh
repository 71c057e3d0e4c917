#!/bin/sh
# /init of the Blimp Linux test guest (busybox sh).
export PATH=/bin:/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || mdev -s
for m in $(cat /lib/modules/order); do
  insmod /lib/modules/$m || echo "init: insmod $m failed"
done
echo "BLIMP-GUEST-READY $(uname -r)"
# A shell on the console (setsid-less: ttyS0 is /dev/console here).
while true; do
  /bin/sh
done
