// Bounds on what one DM_TABLE_LOAD may carry, as the ioctl interface has them
// (copy_params' data size limit, dm_table_create's DM_MAX_TARGETS), a huge
// load that does not stall other clients, and table parsing linear in the
// table's size (issue 13, item 5).

import t from 'tap';
import * as net from 'node:net';
import * as path from 'node:path';
import { bootKernel } from '../../index.js';
import { KernelError } from '../../kernel/errno.js';
import { DM_MAX_TARGETS, tableLoadDataSize, type TargetSpec } from '../../kernel/dm-ioctl.js';
import { encodeFrame, FrameReader, type Response } from '../../kernel/protocol.js';
import { parseTable } from '../../tables/parse.js';
import { sandbox } from '../helpers/cli.js';

const errnoOf = (fn: () => unknown): string | null => {
  try { fn(); return null; } catch (e) { return e instanceof KernelError ? e.errno : String(e); }
};

t.test('the data size and target count limits of DM_TABLE_LOAD', async (t) => {
  const k = bootKernel({ virtualClock: true });
  t.teardown(() => k.shutdown());
  k.dmIoctl.devCreate('t');
  const zero = { start: 0, length: 8, type: 'zero', params: '' };
  t.equal(tableLoadDataSize([zero]), 16384, "libdm's minimum buffer");
  // One past DM_MAX_TARGETS: dm_table_create's EOVERFLOW (no log line).
  const many: TargetSpec[] = Array.from({ length: DM_MAX_TARGETS + 1 }, (_, i) => ({ ...zero, start: i * 8 }));
  t.equal(errnoOf(() => k.dmIoctl.tableLoad({ name: 't' }, many)), 'EOVERFLOW', `${DM_MAX_TARGETS + 1} targets: EOVERFLOW`);
  t.equal(errnoOf(() => k.dmIoctl.tableLoad({ name: 'nosuch' }, many)), 'ENXIO', 'the device is looked up first');
  // Past DM_MAX_TARGETS * DM_MAX_TARGET_PARAMS bytes: copy_params refuses it before anything.
  const params = 'x'.repeat(1024);
  const big: TargetSpec[] = Array.from({ length: DM_MAX_TARGETS }, (_, i) => ({ start: i * 8, length: 8, type: 'zero', params }));
  const size = tableLoadDataSize(big);
  t.ok(size > 1 << 30, `${size} bytes`);
  t.equal(errnoOf(() => k.dmIoctl.tableLoad({ name: 'nosuch' }, big)), 'EINVAL', 'over 1 GiB: EINVAL, even for a device that does not exist');
  t.equal(k.klog.read(false).map((l) => l.text).pop(), `device-mapper: ioctl: Invalid data size in the ioctl structure: ${size}`);
  t.equal(k.dmIoctl.devStatus({ name: 't' }).inactivePresent, false, 'nothing loaded');
  // Exactly DM_MAX_TARGETS is allowed.
  k.dmIoctl.tableLoad({ name: 't' }, many.slice(0, DM_MAX_TARGETS));
  t.equal(k.dmIoctl.devStatus({ name: 't' }, true).targetCount, DM_MAX_TARGETS, `${DM_MAX_TARGETS} targets load`);
});

t.test('a client loading a huge table does not stall another', async (t) => {
  const sb = sandbox();
  t.teardown(() => sb.stop());
  t.equal((await sb.dmsetup(['create', 'huge', '--notable'])).exitCode, 0, 'a device without a table');
  const sockPath = path.join(sb.env.DMSETUP_TS_DIR, 'kernel.sock');
  const open = () => new Promise<net.Socket>((resolve, reject) => { const s = net.connect(sockPath); s.once('connect', () => resolve(s)); s.once('error', reject); });
  const order: string[] = [];
  const answer = (s: net.Socket, what: string) => new Promise<Response>((resolve) => {
    const reader = new FrameReader<Response>();
    s.on('data', (c) => { for (const f of reader.push(c)) { order.push(what); resolve(f.head); } });
  });
  const a = await open(), b = await open();
  t.teardown(() => { a.destroy(); b.destroy(); });
  const targets = Array.from({ length: 200_000 }, (_, i) => ({ start: i * 8, length: 8, type: 'zero', params: '' }));
  const loaded = answer(a, 'load');
  const pinged = answer(b, 'ping');
  await new Promise<void>((resolve) => a.write(encodeFrame({ op: 'tableLoad', args: { ref: { name: 'huge' }, targets } }), () => resolve()));
  await new Promise((r) => setTimeout(r, 100));
  b.write(encodeFrame({ op: 'ping', args: {} }));
  const [l, p] = await Promise.all([loaded, pinged]);
  t.ok(l.ok && p.ok, 'both served');
  t.same(order, ['ping', 'load'], 'the ping was answered while the table was being built');
  t.equal((await sb.dmsetup(['info', '-c', '--noheadings', '-o', 'name,segments', '--inactive', 'huge'])).stdout.trim(), 'huge:200000');
});

t.test('table parsing is linear in the table size', async (t) => {
  // dmsetup's parse of a line with long runs of white space: a /[...]+$/ trim was
  // quadratic in them (64 Ki spaces took 25 s, 4 Mi would take hours); linear,
  // this takes milliseconds. No timing is asserted: a quadratic parse fails by
  // the test's timeout.
  const n = 4 << 20;
  const text = `0 8 linear ${' '.repeat(n)}/dev/loop0 0${' '.repeat(n)}\n${' '.repeat(n)}\n8 8 zero${'\t'.repeat(n)}\n`;
  const t0 = performance.now();
  const r = parseTable(text, 'x');
  t.comment(`${(text.length >> 20)} MiB parsed in ${(performance.now() - t0).toFixed(0)} ms`);
  t.same(r, { targets: [
    { start: 0n, length: 8n, type: 'linear', params: `/dev/loop0 0` },
    { start: 8n, length: 8n, type: 'zero', params: '' },
  ] });
});
