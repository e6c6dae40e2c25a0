# Host-side helpers of a multi-node scenario (`dmsetup-ts conformance --nodes N`),
# with the meaning of shared/cluster-oracle's lib2.sh: the scenario runs in the
# run folder, where d0..d3 are the shared disks; each node sees them as d0..d3
# in its own working folder ($DMSETUP_TS_CLUSTER_RUN/nodeN).
#   on N CMD [ARG...]  run CMD with its arguments on node N, after the node
#                      preludes (prelude.sh, cluster-prelude.sh); prints its
#                      output (stdout and stderr in order, a last newline added)
#                      and returns its status (255: the node is powered off)
#   on_sh N 'LINE'     a shell command line on node N
#   node_kill N        power node N off: its kernel and cmirrord stop at once;
#                      its commands end (status 255), later ones fail at once
#   node_console N     node N's kernel log so far
on() {
  _n=$1; shift
  _c=""
  for _a in "$@"; do _c="$_c '$(printf '%s' "$_a" | sed "s/'/'\\\\''/g")'"; done
  _dmts_on "$_n" "$_c"
}
on_sh() { _dmts_on "$1" "$2"; }
_dmts_on() {
  _r=$DMSETUP_TS_CLUSTER_RUN
  if [ ! -d "$_r/node$1" ] || [ -e "$_r/dead.$1" ]; then echo "on $1: node $1 is powered off"; return 255; fi
  _o=$(mktemp "$_r/on.XXXXXX")
  ( cd "$_r/node$1" && DMSETUP_TS_NODE=$1 exec sh -c '. "$0"; . "$1"; eval "$2"' \
      "$DMSETUP_TS_PRELUDE" "$DMSETUP_TS_CLUSTER_PRELUDE" "$2" ) < /dev/null > "$_o" 2>&1 &
  _p=$!
  echo "$_p" > "$_o.pid.$1"
  wait "$_p"
  _rc=$?
  rm -f "$_o.pid.$1"
  if [ -e "$_r/dead.$1" ]; then rm -f "$_o"; return 255; fi
  cat "$_o"
  [ -s "$_o" ] && [ -n "$(tail -c 1 "$_o")" ] && echo
  rm -f "$_o"
  return $_rc
}
node_kill() {
  touch "$DMSETUP_TS_CLUSTER_RUN/dead.$1"
  dmsetup-ts cluster crash "$1" > /dev/null 2>&1
  # (a command that ends meanwhile removes its pid file: not an error)
  for _f in "$DMSETUP_TS_CLUSTER_RUN"/on.*.pid."$1"; do
    _p=$(cat "$_f" 2>/dev/null) && [ -n "$_p" ] && kill -9 "$_p" 2>/dev/null
  done
  return 0
}
node_console() { DMSETUP_TS_NODE=$1 dmsetup-ts dmesg 2>/dev/null; }

# As run2 does once the ring has formed: every node's kernel log, cmirrord and
# corosync output so far are forgotten.
_dmts_k=1
while [ "$_dmts_k" -le "${DMSETUP_TS_NODES:-0}" ]; do
  on_sh "$_dmts_k" 'dmesg -c >/dev/null; cm_log >/dev/null; cs_log >/dev/null'
  _dmts_k=$((_dmts_k + 1))
done
unset _dmts_k
