#!/bin/sh
# The Linux peer of machines/qemu-virt-channels.ron and its riscv64 twin (docs/channels.md),
# with nothing of ours in the kernel: the channel's region and the management page through
# /dev/mem (busybox devmem), the doorbell a GPIO controller Debian's kernel drives built in (a
# PL061 on arm64, a SiFive GPIO on riscv64). It rings with Debian's gpioset (a rising edge on
# line 4+k rings peer k). On arm64 it is rung through gpio-keys, a module of the same kernel
# package, which the device tree wires to input line k (each ring from peer k, or change of
# its state, is one press and release of BTN_0+k); on riscv64 through gpiomon on line k. It
# never polls: each wait is a blocking read that sleeps until the next ring.
set -eu
export PATH=/bin:/usr/bin
dt=/proc/device-tree
cell() { printf '%d' "0x$(od -An -tx1 -j "${2:-0}" -N "${3:-4}" "$1" | tr -d ' \n')"; }
chan="$(ls -d $dt/channel@* | head -1)"
mgr="$(ls -d $dt/vm-manager@* | head -1)"
base=$(cell "$chan/reg" 0 8)
me=$(cell "$chan/hv,peer")
peers=$(cell "$chan/hv,peers")
out0=$(cell "$chan/hv,output" 0 8)
outsz=$(cell "$chan/hv,output" 8 8)
page=$(cell "$mgr/reg" 0 8)
other=$((1 - me))
mine=$((base + out0 + outsz * me))
theirs=$((base + out0 + outsz * other))
echo "hv-channel: region $(printf '%#x' $base), peer $me of $peers, management page $(printf '%#x' $page)"

# The state table: each peer's state (0 off, 1 running, 2 paused, 3 restarting) and restarts.
state() { printf '%d' "$(devmem $((base + 16 * $1)) 32)"; }
restarts() { printf '%d' "$(devmem $((base + 16 * $1 + 4)) 32)"; }

# put ADDR TEXT: the text's length, then its bytes four to a little-endian word.
put() {
    a=$1 s=$2 n=${#2} i=0
    devmem "$a" 32 "$n"
    while [ $i -lt "$n" ]; do
        w=0 j=3
        while [ $j -ge 0 ]; do
            c="${s:$((i + j)):1}" v=0
            [ -n "$c" ] && v=$(printf '%d' "'$c")
            w=$(((w << 8) | v)) j=$((j - 1))
        done
        devmem $((a + 4 + i)) 32 $w
        i=$((i + 4))
    done
}

# get ADDR: the text `put` left there.
get() {
    a=$1 n=$(printf '%d' "$(devmem "$1" 32)") i=0 out=""
    while [ $i -lt "$n" ] && [ $i -lt 64 ]; do
        w=$(printf '%d' "$(devmem $((a + 4 + i)) 32)")
        for j in 0 1 2 3; do
            [ $((i + j)) -lt "$n" ] && out="$out$(printf "\\$(printf '%03o' $(((w >> (8 * j)) & 255)))")"
        done
        i=$((i + 4))
    done
    echo "$out"
}

# Rung through gpio-keys where the kernel package has it (arm64): it holds the input lines'
# interrupts from here on, so no ring is lost. Otherwise (riscv64) through one gpiomon that
# runs throughout, for the same reason: a ring is an edge, and one that comes while nobody
# waits is gone. Its banner says the line is requested; each event is a line on fd 4.
if [ -e /lib/modules/gpio_keys.ko ]; then
    insmod /lib/modules/evdev.ko
    insmod /lib/modules/gpio_keys.ko
    # Open once and kept open: an input device queues events only for readers that have it open.
    exec 3<"/dev/input/$(ls /sys/class/input/ | grep '^event' | head -1)"
    keys=1
else
    keys=0
    mkfifo /tmp/rung
    gpiomon --banner -c gpiochip0 -e rising "$other" >/tmp/rung &
    exec 4</tmp/rung
    read -r banner <&4
    echo "hv-channel: $banner"
fi
# libgpiod 2 (Debian 13) names the chip with -c, and holds a line until told otherwise.
v2=0
gpioset --version 2>&1 | grep -q 'libgpiod) v2' && v2=1

rang=0 rung=0
ring() {
    if [ $v2 = 1 ]; then
        # -t 0: set the value and exit (without it, libgpiod 2's gpioset holds the line).
        gpioset -c gpiochip0 -t 0 $((4 + other))=1
        gpioset -c gpiochip0 -t 0 $((4 + other))=0
    else
        gpioset gpiochip0 $((4 + other))=1
        gpioset gpiochip0 $((4 + other))=0
    fi
    rang=$((rang + 1))
}
# Sleep until the peer rings: one press and one release, each an event and a sync report, of
# 24 bytes each (a read of the device returns whole events).
wait_ring() {
    if [ $keys = 1 ]; then
        dd bs=24 count=4 <&3 >/dev/null 2>&1
    else
        read -r event <&4
    fi
    rung=$((rung + 1))
}

echo "hv-channel: peer $other is $(state $other) (1 = running), restarted $(restarts $other) times"
put $mine "hello from linux"
ring
wait_ring
echo "hv-channel: rung by peer $other, it says: $(get $theirs)"

# Restart the peer through the management page (slot 0: COMMAND 4), then wait to be told.
devmem $((page + 0x108)) 32 4
echo "hv-channel: restarted peer $other: result $(printf '%d' "$(devmem $((page + 0x10c)) 32)")"
wait_ring
echo "hv-channel: rung by peer $other: it is $(state $other), restarted $(restarts $other) times"
put $mine "hello again"
ring
wait_ring
echo "hv-channel: rung by peer $other, it says: $(get $theirs)"

# The peer ends itself on `bye`; its stop rings us too.
put $mine "bye"
ring
wait_ring
echo "hv-channel: rung by peer $other: it is $(state $other) (0 = off)"
echo "hv-channel: rang $rang times, was rung $rung times"
[ "$(state $other)" = 0 ] && [ "$(restarts $other)" = 1 ]
