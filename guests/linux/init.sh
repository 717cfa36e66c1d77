#!/bin/sh
# /init of the test initramfs (guests/linux/fetch packs it with Debian's busybox-static).
# The kernel command line picks the mode: hv.mode=test reports and powers off, hv.mode=panic
# lets init die (a kernel panic), hv.mode=channel runs the channel demo (channel.sh) and powers
# off, anything else gives a shell on the console.
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "hv-linux: init reached"
# The same line in the kernel log, with the kernel's timestamp: `make bench` reads it.
echo "<2>hv-linux: init reached" >/dev/kmsg
echo "hv-linux: nproc $(nproc)"
uname -a
echo "hv-linux: cmdline $(cat /proc/cmdline)"
free
grep MemTotal /proc/meminfo
mode=shell
for arg in $(cat /proc/cmdline); do
    case "$arg" in hv.mode=*) mode="${arg#hv.mode=}" ;; esac
done
case "$mode" in
test)
    # Let both CPUs take timer ticks and IPIs, then show them.
    sleep 1
    cat /proc/interrupts
    echo "hv-linux: powering off"
    poweroff -f
    ;;
channel)
    # A failure resets the VM, which the demo's description stops with a status of its own.
    if /channel.sh; then
        echo "hv-channel: done"
        poweroff -f
    fi
    echo "hv-channel: FAILED"
    sleep 1
    reboot -f
    ;;
panic)
    echo "hv-linux: init exits, the kernel panics"
    # The tty drains that line by interrupts; the panic's messages go straight to the console
    # and would cut into it.
    sleep 1
    exit 1
    ;;
esac
echo "hv-linux: shell on the console (poweroff -f to stop)"
while true; do
    setsid cttyhack sh -l || sh -l
done
