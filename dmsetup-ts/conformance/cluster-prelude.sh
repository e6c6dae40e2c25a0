# Helpers on an emulated cluster node, after prelude.sh: the same names and
# meaning as shared/cluster-oracle/guest/prelude-cluster.sh (the real nodes'
# helpers). The node is $DMSETUP_TS_NODE; the cluster process keeps its
# cmirrord and corosync output in $DMSETUP_TS_DIR/node<N>/.

# losetup: the project's (coherent across nodes: every node's loop device
# reads and writes the shared file itself).

# leg_read N SECTOR COUNT: the md5 of COUNT sectors at SECTOR of dN itself.
leg_read() { dd if=d"$1" bs=512 skip="$2" count="$3" 2>/dev/null | md5sum | cut -d' ' -f1; }

_dmts_nodelog() { # _dmts_nodelog FILE OFFSETFILE: FILE's lines since the last call
  n=$(cat "$2" 2>/dev/null || echo 0)
  t=$(wc -l < "$1" 2>/dev/null || echo 0)
  [ "$t" -gt "$n" ] && tail -n +$((n + 1)) "$1" | head -n $((t - n))
  echo "$t" > "$2"
}
_dmts_nd() { echo "$DMSETUP_TS_DIR/node${DMSETUP_TS_NODE:-1}"; }

# cm_log: cmirrord's output since the last call, then forget it (without its Built: line).
cm_log() { _dmts_nodelog "$(_dmts_nd)/cmirrord.log" "$(_dmts_nd)/.cm_log.off" | grep -v "^ Built: "; }

# cs_log: corosync's output since the last call, then forget it.
cs_log() { _dmts_nodelog "$(_dmts_nd)/corosync.log" "$(_dmts_nd)/.cs_log.off"; }

# members: the node ids this node's corosync counts as members now, e.g. 1,2.
members() { dmsetup-ts cluster members "${DMSETUP_TS_NODE:-1}"; }

# dm_dwrite NAME SECTOR COUNT BYTE [BS]: O_DIRECT writes of BS bytes each
# (default: one write of COUNT sectors); "dm_write: I/O error" on failure.
dm_dwrite() {
  _bs=${5:-$(( $3 * 512 ))}
  head -c $(( $3 * 512 )) /dev/zero | tr '\000' "\\$(printf %o "$4")" |
    dmsetup-ts io write "$1" "$2" "$3" --bs "$_bs" --direct 2>/dev/null ||
    echo "dm_write: I/O error"
}

# dm_dread NAME SECTOR COUNT [BS]: O_DIRECT reads of BS bytes, md5 or "dm_read: I/O error".
dm_dread() {
  _bs=${4:-$(( $3 * 512 ))}
  dmsetup-ts io read "$1" "$2" "$3" --bs "$_bs" --direct 2>/dev/null > .dm_read.$$ &&
    [ "$(wc -c < .dm_read.$$)" -eq $(( $3 * 512 )) ] && md5sum < .dm_read.$$ | cut -d' ' -f1 ||
    echo "dm_read: I/O error"
  rm -f .dm_read.$$
}

# cm_dump: ask cmirrord for its state (SIGUSR1: its logs, recoverer,
# recovering_region) and print it.
cm_dump() {
  cm_log > /dev/null
  dmsetup-ts cluster dump "${DMSETUP_TS_NODE:-1}"
  cm_log
}

# cm_slot: "recovering region R by node N" or "no region being recovered".
cm_slot() {
  cm_dump | awk '/recoverer *:/{n=$3} /recovering_region:/{r=$2} END{ if (r == "" || r == "18446744073709551615") print "no region being recovered"; else print "recovering region " r " by node " n }'
}

# dm_stat NAME: the block-layer counters of /dev/mapper/NAME: reads, sectors read,
# writes, sectors written, in flight (the dm device's /sys/block/dm-N/stat).
dm_stat() { dmsetup-ts io stat "$1"; }
