#!/bin/sh
# Runs a scenario under Linux 6.1 with util-linux's real losetup: the oracle's
# VM image (../shared/oracle, built by its build script: kernel, busybox,
# dmsetup, loop with 16 devices) plus an initramfs overlay of our own holding
# this machine's losetup (util-linux 2.38.1) and its libraries as
# /usr/sbin/losetup; the scenario's `losetup` runs it (busybox's sh prefers its
# own applets whatever PATH says, so it is a shell function naming the path).
# Prints what the scenario printed.
#   test/tools/losetup-vm.sh SCENARIO.sh > OUT
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
img=${ORACLE_DIR:-$HOME/.cache/dm-oracle}
[ -f "$img/base.cpio.gz" ] && [ -f "$img/vmlinuz" ] || { echo "no oracle image in $img: run ../shared/oracle/build" >&2; exit 1; }
lo=$(command -v losetup)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/o/usr/sbin" "$work/o/lib/x86_64-linux-gnu"
cp "$lo" "$work/o/usr/sbin/losetup"
for l in $(ldd "$lo" | awk '/=>/{print $3}'); do cp -L "$l" "$work/o/lib/x86_64-linux-gnu/"; done
{ echo 'losetup() { /usr/sbin/losetup "$@"; }'; cat "$1"; } > "$work/o/scenario.sh"
cp "$root/../shared/oracle/prelude.sh" "$work/o/prelude.sh"
( cd "$work/o" && find . | cpio -o -H newc 2>/dev/null | gzip -1 ) > "$work/overlay.cpio.gz"
cat "$img/base.cpio.gz" "$work/overlay.cpio.gz" > "$work/initrd"
timeout 300 qemu-system-x86_64 -accel tcg -smp 1 -m 512 -nographic -no-reboot \
  -kernel "$img/vmlinuz" -initrd "$work/initrd" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1" > "$work/console" 2>&1 || true
tr -d '\r' < "$work/console" | sed -n '/@@ORACLE-BEGIN@@/,/^@@ORACLE-END@@$/p' | sed '1d;$d' | grep -v '^@@ORACLE-RC '
