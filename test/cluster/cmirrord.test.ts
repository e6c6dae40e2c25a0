// cmirrord's log state (lvm2 2.03.16 daemons/cmirrord/functions.c) and the
// kernel's userspace log client (dm-log-userspace-base.c) in isolation: the
// bitsets' size (region_count / 32 + 1 words), pull_state refusing a
// checkpoint of another size, print_bits, the debugging history of
// clog_set_region_sync, and userspace_flush's groups and integrated flush.

import t from 'tap';
import { LogC, Sync } from '../../cluster/cmirrord/functions.js';
import { VirtualClock } from '../../kernel/clock.js';
import type { DmTarget } from '../../kernel/dm-target.js';
import { DmUlog, UserspaceLog, userspaceLogType, type UlogTransport } from '../../targets/mirror/log-userspace.js';

function log(regions: number, sync = Sync.DEFAULTSYNC): { lc: LogC; out: string[] } {
  const lc = new LogC('t-uuid', 1, 1024, regions, sync, false, '', null);
  const out: string[] = [];
  lc.print = (l) => out.push(l);
  return { lc, out };
}

t.test('bitsets: region_count / 32 + 1 words, as dm_bitset_create allocates', async (t) => {
  t.equal(log(8).lc.syncBits.byteLength, 4);
  t.equal(log(31).lc.syncBits.byteLength, 4);
  t.equal(log(32).lc.syncBits.byteLength, 8, 'a multiple of 32 has a word more');
  t.equal(log(64).lc.cleanBits.byteLength, 12);
});

t.test('pull_state: a checkpoint of another bitset size is refused, nothing loaded', async (t) => {
  const { lc: member } = log(8);
  member.syncBits[0] = 0xff;
  const { lc: joiner, out } = log(64);
  t.equal(joiner.importCheckpoint(member.exportCheckpoint(2)), -5, '-EIO');
  t.same(out, ['pull_state(sync_bits): bad bitset_size (4 vs 12)', 'Error loading bitmap state from checkpoint.']);
  t.equal(joiner.resumeOverride, 0, 'the next resume would be a master resume');
  t.equal(joiner.syncBits[0], 0);
  // 8 and 16 regions both fit one word: taken, with the other's bits.
  const { lc: bigger, out: out2 } = log(16);
  t.equal(bigger.importCheckpoint(member.exportCheckpoint(2)), 0);
  t.same(out2, []);
  t.equal(bigger.resumeOverride, 3);
  t.equal(bigger.syncBits[0], 0xff);
});

t.test('print_bits: ceil(region_count / 8) bytes, 16 a line', async (t) => {
  const { lc } = log(20);
  lc.syncBits[0] = 0x000fffff;
  t.same(lc.printBits(lc.syncBits), ['[  0 -  15] FF FF 0F']);
  const big = log(200).lc;
  big.cleanBits[0] = 0x12345678;
  const lines = big.printBits(big.cleanBits);
  t.equal(lines.length, 2);
  t.equal(lines[0], '[  0 -  15] 78 56 34 12 00 00 00 00 00 00 00 00 00 00 00 00');
  t.equal(lines[1], '[ 16 -  31] 00 00 00 00 00 00 00 00 00');
  t.same(log(0).lc.printBits(log(0).lc.syncBits), [], 'no regions, no line');
});

t.test('nosync: dm_bit_set_all sets the bits past region_count too, until a resume', async (t) => {
  const { lc } = log(12, Sync.NOSYNC);
  t.same(lc.printBits(lc.syncBits), ['[  0 -  15] FF FF']);
  t.equal(lc.syncCount, 12);
  lc.resume();
  t.same(lc.printBits(lc.syncBits), ['[  0 -  15] FF 0F']);
  t.equal(lc.syncCount, 12);
});

t.test('set_region_sync: a region set out of order leaves its debugging lines in the history', async (t) => {
  const { lc } = log(16);
  lc.resume();
  lc.setRegionSync(0, true, 1, 7);
  lc.setRegionSync(2, true, 1, 8);
  lc.setRegionSync(9, true, 2, 9);
  const h = lc.historyLines().map((l) => l.replace(/^\d+:\d+\) /, ''));
  t.same(h.slice(1), [
    'SET - SEQ#=7, UUID=t-uuid, nodeid = 1:: Setting region (0)',
    'SET - SEQ#=8, UUID=t-uuid, nodeid = 1:: Setting region (2)',
    '*** Previous bit not set ***',
    'SET - SEQ#=9, UUID=t-uuid, nodeid = 2:: Setting region (9)',
    '*** Region #1 skipped during recovery ***',
    '*** Previous bit not set ***',
  ]);
  t.equal(lc.recoverer, 0, 'zalloc: no recoverer yet is node 0');
});

/** A userspace log on a virtual clock whose server answers every request (or fails the listed types). */
function ulog(integratedFlush: boolean, failing: DmUlog[] = []) {
  const clock = new VirtualClock();
  const sent: string[] = [];
  let events = 0;
  const answer = (type: DmUlog, data: Buffer) => {
    const words: number[] = [];
    for (let i = 0; i + 8 <= data.length; i += 8) words.push(Number(data.readBigInt64LE(i)));
    sent.push(`${DmUlog[type]}${words.length ? ` ${words.join(',')}` : ''}`);
    return { error: failing.includes(type) && words.length > 1 ? -22 : 0, data: Buffer.alloc(8) };
  };
  const transport: UlogTransport = {
    request: async (_u, _l, type, data) => answer(type, data),
    requestNow: (_u, _l, type, data) => answer(type, data),
  };
  const ti = {
    len: 8192n, kernel: { clock, klog: { prefixed: () => ({ err() {}, warn() {}, info() {} }) } },
    event: () => { events++; },
  } as unknown as DmTarget;
  const lc = new UserspaceLog(userspaceLogType, ti, 'u', integratedFlush, 3, '8192 clustered-core 1024', transport);
  return { lc, clock, sent, events: () => events };
}

t.test('userspace_flush: clears then marks (each list newest first) then FLUSH', async (t) => {
  const { lc, sent } = ulog(false);
  lc.markRegion(1); lc.markRegion(2); lc.clearRegion(5); lc.clearRegion(6);
  t.equal(await lc.flush(), 0);
  t.same(sent, ['CLEAR_REGION 6,5', 'MARK_REGION 2,1', 'FLUSH']);
  sent.length = 0;
  t.equal(await lc.flush(), 0);
  t.same(sent, [], 'nothing to flush: no request');
});

t.test('flush_by_group: groups of 32; a failed group request sends what was sent and what is left one by one', async (t) => {
  const { lc, sent } = ulog(false, [DmUlog.MARK_REGION]);
  for (let r = 0; r < 34; r++) lc.markRegion(r);
  t.equal(await lc.flush(), 0);
  const group = Array.from({ length: 32 }, (_, i) => 33 - i);
  t.same(sent[0], `MARK_REGION ${group.join(',')}`);
  // tmp_list holds the group moved entry by entry to its head (reversed), then the rest of the list.
  t.same(sent.slice(1, -1), [...[...group].reverse(), 1, 0].map((r) => `MARK_REGION ${r}`));
  t.equal(sent.at(-1), 'FLUSH');
});

t.test('integrated_flush: marks travel in FLUSH; clears alone put the FLUSH off 3 s; marks cancel it', async (t) => {
  const { lc, clock, sent } = ulog(true);
  for (let r = 0; r < 40; r++) lc.markRegion(r);
  t.equal(await lc.flush(), 0);
  t.same(sent.map((s) => s.split(' ')[0]), ['FLUSH', 'FLUSH'], 'two FLUSH requests of 32 and 8 regions');
  t.equal(sent[1], 'FLUSH 7,6,5,4,3,2,1,0');
  sent.length = 0;
  lc.clearRegion(3);
  t.equal(await lc.flush(), 0);
  t.same(sent, ['CLEAR_REGION 3'], 'no FLUSH yet');
  clock.advance(2999);
  t.same(sent, ['CLEAR_REGION 3']);
  clock.advance(1);
  await clock.settle();
  t.same(sent, ['CLEAR_REGION 3', 'FLUSH'], 'do_flush 3 s later');
  sent.length = 0;
  lc.clearRegion(4);
  await lc.flush();
  lc.markRegion(5);
  await lc.flush();
  clock.advance(5000);
  await clock.settle();
  t.same(sent, ['CLEAR_REGION 4', 'FLUSH 5'], 'the flush with a mark cancelled the planned one');
  sent.length = 0;
  lc.clearRegion(6);
  await lc.flush();
  t.equal(await lc.postsuspend(), 0);
  t.same(sent, ['CLEAR_REGION 6', 'FLUSH', 'POSTSUSPEND'], 'postsuspend runs the planned flush first');
});
