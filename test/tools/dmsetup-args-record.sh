#!/bin/bash
# Records the dmsetup argument-vector table with the real dmsetup 1.02.185 on
# the oracle (../shared/oracle): twice, and keeps it only if both recordings are
# identical. Writes fixtures/dmsetup-args/recorded.out (scenario outputs in order).
#   test/tools/dmsetup-args-record.sh [WORKDIR]
# A chunk whose VM did not finish (no @@DONE line: a timeout on a loaded
# machine) is run again, up to three times; with WORKDIR, recordings already
# complete there are kept, so an interrupted recording can be resumed.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
run=${ORACLE_RUN:-$root/../shared/oracle/run}
fx=$root/fixtures/dmsetup-args
node "$root/test/tools/dmsetup-args.mjs"
tmp=${1:-$(mktemp -d)}
complete() { [ -f "$1" ] && grep -q '^@@DONE No devices found$' "$1"; }
for pass in 1 2; do
  mkdir -p "$tmp/$pass"
  for try in 1 2 3; do
    todo=""
    for s in "$fx"/scenario-*.sh; do complete "$tmp/$pass/$(basename "$s" .sh).out" || todo="$todo $s"; done
    [ -z "$todo" ] && break
    "$run" -o "$tmp/$pass" $todo
  done
  for s in "$fx"/scenario-*.sh; do
    complete "$tmp/$pass/$(basename "$s" .sh).out" || { echo "$s: no complete recording after 3 tries ($tmp)" >&2; exit 1; }
  done
  ls "$tmp/$pass"/scenario-*.out | sort -t- -k2 -n | xargs cat > "$tmp/$pass.all"
done
# -vvv's Timestamp lines after the first are elapsed times: compared in shape only (as the test does).
shape() { sed -E '/^Timestamp: +0\.000000000 seconds$/!s/^(Timestamp: +)[0-9]+\.[0-9]{9} seconds$/\1N seconds/' "$1"; }
if ! cmp -s "$tmp/1.all" "$tmp/2.all" && ! cmp -s <(shape "$tmp/1.all") <(shape "$tmp/2.all"); then
  diff "$tmp/1.all" "$tmp/2.all" | head -40 >&2
  echo "the two recordings differ: nothing kept ($tmp)" >&2
  exit 1
fi
cp "$tmp/1.all" "$fx/recorded.out"
echo "recorded $(grep -c '^@@V ' "$fx/recorded.out") vectors into $fx/recorded.out"
