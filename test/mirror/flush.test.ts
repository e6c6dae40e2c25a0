// The flush path of a resyncing mirror (issue 13, item 2): an empty flush and a
// write with REQ_PREFLUSH (through the library) or NBD FLUSH and FUA writes
// (through the NBD export) must leave no region pending, so recovery finishes
// and remove gets past presuspend. Every wait is bounded: a hang fails the test.

import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bootKernel } from '../../targets/modules.js';
import { Bio, ReqOp, REQ_FUA, REQ_PREFLUSH, submitBioWait } from '../../kernel/bio.js';
import { NbdServer } from '../../kernel/nbd.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { MirrorSet } from '../../targets/mirror/raid1.js';
import { waitForSync } from '../../targets/mirror/sync-progress.js';
import { createDevice } from '../helpers/kernel.js';
import { RawNbdClient } from '../helpers/nbd-client.js';

const REGIONS = 16;
const REGION = 1024;
const LEN = REGIONS * REGION;
/** A region the resync reaches only after the writes. */
const TARGET_SECTOR = 10 * REGION + 8;

/** p, or a rejection naming what did not finish within ms. */
function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not done after ${ms} ms`)), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** A fresh kernel on the real clock with a resyncing two-leg core mirror "m". */
async function resyncingMirror(t: Test): Promise<{ k: Kernel; dir: string; files: string[]; ms: MirrorSet }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirror-flush-'));
  const k = bootKernel();
  t.teardown(async () => { await within(5000, k.shutdown(), 'shutdown').catch(() => undefined); fs.rmSync(dir, { recursive: true, force: true }); });
  const files = [0, 1].map((i) => {
    const f = path.join(dir, `d${i}`);
    fs.writeFileSync(f, '');
    fs.truncateSync(f, LEN * 512);
    k.loopAttach(i, f);
    return f;
  });
  await createDevice(k, 'm', [{ start: 0, length: LEN, type: 'mirror', params: `core 1 ${REGION} 2 /dev/loop0 0 /dev/loop1 0` }]);
  const ms = k.dmIoctl.deviceByName('m')!.live!.targets[0]!.target as MirrorSet;
  return { k, dir, files, ms };
}

function leg(file: string, sector: number, bytes: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(bytes);
    fs.readSync(fd, b, 0, bytes, sector * 512);
    return b;
  } finally { fs.closeSync(fd); }
}

/** Recovery finishes, nothing is left in flight or pending, and remove returns. */
async function finishes(t: Test, k: Kernel, ms: MirrorSet, files: string[], data: Buffer): Promise<void> {
  t.same(await within(20000, waitForSync(k, 'm', { timeoutMs: 20000 }), 'resync'), { inSync: REGIONS, regions: REGIONS, health: 'AA' }, 'the resync gets past the written region');
  t.equal(ms.rh.recoveryInFlight, 0, 'recovery_in_flight back at 0');
  t.equal(ms.rh.lookup(Math.floor(TARGET_SECTOR / REGION))?.pending ?? 0, 0, 'no write left pending in its region');
  for (const f of files) t.same(leg(f, TARGET_SECTOR, data.length), data, `the write is on ${path.basename(f)}`);
  await within(10000, k.dmIoctl.devRemove({ name: 'm' }), 'remove (presuspend)');
  t.notOk(k.dmIoctl.deviceByName('m'), 'removed');
}

t.test('library: an empty flush, then a write with REQ_PREFLUSH, on a resyncing core mirror', async (t) => {
  const { k, files, ms } = await resyncingMirror(t);
  const md = k.dmIoctl.deviceByName('m')!;
  const data = Buffer.alloc(4096, 0x5a);
  t.equal(await within(5000, submitBioWait(new Bio(ReqOp.FLUSH, md, 0, Buffer.alloc(0), null, REQ_PREFLUSH)), 'empty flush'), 0, 'the empty flush completes');
  t.equal(await within(5000, submitBioWait(new Bio(ReqOp.WRITE, md, TARGET_SECTOR, data, null, REQ_PREFLUSH)), 'preflush write'), 0, 'the preflush write completes');
  t.equal(await within(5000, submitBioWait(new Bio(ReqOp.WRITE, md, 0, Buffer.alloc(0), null, REQ_PREFLUSH)), 'empty preflush write'), 0, 'an empty REQ_OP_WRITE | REQ_PREFLUSH is an empty flush');
  await finishes(t, k, ms, files, data);
});

t.test('library: a write with REQ_PREFLUSH | REQ_FUA reaches the target as a flush, then a FUA write', async (t) => {
  const { k, files, ms } = await resyncingMirror(t);
  const md = k.dmIoctl.deviceByName('m')!;
  const data = Buffer.alloc(8192, 0xa5);
  t.equal(await within(5000, submitBioWait(new Bio(ReqOp.WRITE, md, TARGET_SECTOR, data, null, REQ_PREFLUSH | REQ_FUA)), 'write'), 0);
  await finishes(t, k, ms, files, data);
});

t.test('NBD: FLUSH, then FUA writes, on a resyncing core mirror', async (t) => {
  const { k, dir, files, ms } = await resyncingMirror(t);
  const srv = new NbdServer(k);
  const sock = path.join(dir, 'nbd.sock');
  await srv.listenUnix(sock);
  t.teardown(() => srv.close());
  const c = await RawNbdClient.connect(sock);
  await c.hello();
  c.sendOpt(7, RawNbdClient.goData('m'));
  const replies = await within(5000, c.optReplies(), 'NBD_OPT_GO');
  t.equal(replies.at(-1)?.type, 1, 'GO acknowledged');
  const data = Buffer.alloc(4096, 0x3c);
  c.request(3, 0, 0, { cookie: 1n });
  t.equal((await within(5000, c.simpleReply(), 'FLUSH'))?.errno, 0, 'FLUSH');
  c.request(1, TARGET_SECTOR * 512, data.length, { cookie: 2n, flags: 1, data });
  t.equal((await within(5000, c.simpleReply(), 'FUA write'))?.errno, 0, 'WRITE with NBD_CMD_FLAG_FUA');
  c.request(3, 0, 0, { cookie: 3n });
  t.equal((await within(5000, c.simpleReply(), 'FLUSH'))?.errno, 0, 'FLUSH after the write');
  c.request(2, 0, 0);
  t.ok(await c.closedWithin(5000), 'NBD_CMD_DISC closes');
  await finishes(t, k, ms, files, data);
});
