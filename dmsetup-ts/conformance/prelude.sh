# Helpers every conformance scenario may use, on the emulation. Same names and
# the same meaning as the oracle's prelude.sh (oracle-prelude.sh beside this
# file, a verbatim copy): the same calls must print the same output. Where the
# oracle uses dd on /dev/mapper/NAME or the kernel's dmesg, this uses
# `dmsetup-ts io ... --buffered` (through the emulated page cache, as the
# oracle's busybox dd really goes: a write error at writeback is lost) and
# `dmsetup-ts dmesg`; the rest is unchanged.

# dm_disk N MIB: make the sparse file dN of MIB MiB and attach it as /dev/loopN (7:N).
dm_disk() { truncate -s "$2"M d"$1" && losetup /dev/loop"$1" d"$1"; }

# dm_write NAME SECTOR COUNT BYTE: write COUNT 512-byte sectors, every byte BYTE (0-255),
# at SECTOR of /dev/mapper/NAME, bypassing caches. Prints nothing on success,
# "dm_write: I/O error" on failure.
dm_write() {
  head -c $(( $3 * 512 )) /dev/zero | tr '\000' "\\$(printf %o "$4")" |
    dmsetup-ts io write "$1" "$2" "$3" --bs 512 --buffered 2>/dev/null ||
    echo "dm_write: I/O error"
}

# dm_read NAME SECTOR COUNT: print the md5 of COUNT sectors at SECTOR of /dev/mapper/NAME,
# or "dm_read: I/O error".
dm_read() {
  dmsetup-ts io read "$1" "$2" "$3" --bs 512 --buffered 2>/dev/null > .dm_read.$$ &&
    [ "$(wc -c < .dm_read.$$)" -eq $(( $3 * 512 )) ] && md5sum < .dm_read.$$ | cut -d' ' -f1 ||
    echo "dm_read: I/O error"
  rm -f .dm_read.$$
}

# leg_read N SECTOR COUNT: the md5 of COUNT sectors at SECTOR of the file dN itself.
leg_read() { dd if=d"$1" bs=512 skip="$2" count="$3" 2>/dev/null | md5sum | cut -d' ' -f1; }

# dm_wait_sync NAME: wait (at most 120 s) until every mirror target of NAME reports
# all of its regions in sync; prints "dm_wait_sync: timeout" if they never do.
dm_wait_sync() {
  i=0
  while [ $i -lt 1200 ]; do
    dmsetup status "$1" | awk '$3=="mirror"{ n=$4; split($(5+n),a,"/"); if (a[1]!=a[2]) bad=1 } END{ exit bad }' && return 0
    sleep 0.1; i=$((i+1))
  done
  echo "dm_wait_sync: timeout"
}

# dm_klog: print the kernel's device-mapper log lines written since the last
# call (without timestamps), then forget them.
dm_klog() { dmsetup-ts dmesg -c | sed 's/^\[[ 0-9.]*\] //' | grep '^device-mapper:' || true; }
