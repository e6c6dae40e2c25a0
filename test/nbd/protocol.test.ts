// The NBD server (kernel/nbd.ts) byte by byte, from a raw client: the
// handshake's options, each command and the bios it becomes, errors, and bad
// input that must close the connection without hurting the kernel.

import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bootKernel } from '../../targets/modules.js';
import { NbdServer } from '../../kernel/nbd.js';
import { ReqOp, REQ_FUA, REQ_PREFLUSH, bioEndio, type Bio } from '../../kernel/bio.js';
import { DmMapio, type TargetType } from '../../kernel/dm-target.js';
import type { Kernel } from '../../kernel/kernel.js';
import { RawNbdClient } from '../helpers/nbd-client.js';

const OPT = { EXPORT_NAME: 1, ABORT: 2, LIST: 3, INFO: 6, GO: 7, STRUCTURED_REPLY: 8 };
const REP = { ACK: 1, SERVER: 2, INFO: 3, ERR_UNSUP: 2 ** 31 + 1, ERR_INVALID: 2 ** 31 + 3, ERR_UNKNOWN: 2 ** 31 + 6 };
const CMD = { READ: 0, WRITE: 1, DISC: 2, FLUSH: 3, TRIM: 4, WRITE_ZEROES: 6, BLOCK_STATUS: 7 };
const MiB = 2 ** 20;

/** A target that completes every bio itself and records what it saw. */
const seen: Array<{ op: ReqOp; flags: number; sector: number; size: number; zero: boolean }> = [];
const probe: TargetType = {
  name: 'probe',
  version: [1, 0, 0],
  ctr(ti) {
    ti.numFlushBios = 1;
    return { map(bio: Bio) { seen.push({ op: bio.op, flags: bio.flags, sector: bio.sector, size: bio.size, zero: bio.data.every((b) => b === 0) }); bioEndio(bio); return DmMapio.SUBMITTED; } };
  },
};

async function setup(t: { teardown(fn: () => Promise<void>): void }): Promise<{ k: Kernel; sock: string; srv: NbdServer; files: string[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbd-proto-'));
  const k = bootKernel();
  k.targetTypes.register(probe);
  const files = [0, 1].map((i) => {
    const f = path.join(dir, `d${i}`);
    fs.writeFileSync(f, '');
    fs.truncateSync(f, 16 * MiB);
    k.loopAttach(i, f);
    return f;
  });
  const make = async (name: string, type: string, params: string, readOnly = false, len = 8192) => {
    k.dmIoctl.devCreate(name);
    k.dmIoctl.tableLoad({ name }, [{ start: 0, length: len, type, params }], readOnly);
    await k.dmIoctl.devResume({ name });
  };
  await make('m', 'mirror', 'core 2 1024 nosync 2 /dev/loop0 0 /dev/loop1 0');
  await make('ro', 'linear', '/dev/loop0 0', true);
  await make('bad', 'error', '');
  await make('p', 'probe', '', false, 1 << 20);
  k.dmIoctl.devCreate('empty');
  const srv = new NbdServer(k);
  const sock = path.join(dir, 'nbd.sock');
  await srv.listenUnix(sock);
  t.teardown(async () => { await srv.close(); await k.shutdown(); fs.rmSync(dir, { recursive: true, force: true }); });
  return { k, sock, srv, files };
}

/** Connect, negotiate (structured or not) and GO to `name`; returns the client and the export's info. */
async function open(sock: string, name: string, structured = false): Promise<{ c: RawNbdClient; size: bigint; flags: number; replies: Array<{ type: number; data: Buffer }> }> {
  const c = await RawNbdClient.connect(sock);
  await c.hello();
  if (structured) {
    c.sendOpt(OPT.STRUCTURED_REPLY);
    const r = await c.optReply();
    if (r?.type !== REP.ACK) throw new Error('no structured replies');
  }
  c.sendOpt(OPT.GO, RawNbdClient.goData(name, [3]));
  const replies = await c.optReplies();
  const exp = replies.find((r) => r.type === REP.INFO && r.data.readUInt16BE(0) === 0);
  if (!exp) throw new Error(`GO ${name} failed: ${replies.map((r) => r.type).join(',')}`);
  return { c, size: exp.data.readBigUInt64BE(2), flags: exp.data.readUInt16BE(10), replies };
}

t.test('handshake: greeting, LIST, INFO, unknown options, GO with block sizes', async (t) => {
  const { sock } = await setup(t);
  const c = await RawNbdClient.connect(sock);
  const hello = await c.hello();
  t.equal(hello.magic, 0x4e42444d41474943n, 'NBDMAGIC');
  t.equal(hello.opt, 0x49484156454f5054n, 'IHAVEOPT');
  t.equal(hello.flags, 3, 'fixed newstyle, no zeroes');

  c.sendOpt(OPT.LIST);
  const list = await c.optReplies();
  t.same(list.filter((r) => r.type === REP.SERVER).map((r) => r.data.toString('utf8', 4, 4 + r.data.readUInt32BE(0))), ['bad', 'm', 'p', 'ro'], 'LIST: devices with a table');
  t.equal(list.at(-1)!.type, REP.ACK);

  c.sendOpt(99, Buffer.from('xyz'));
  t.equal((await c.optReply())!.type, REP.ERR_UNSUP, 'unknown option: NBD_REP_ERR_UNSUP');
  c.sendOpt(10, Buffer.alloc(12)); // SET_META_CONTEXT
  t.equal((await c.optReply())!.type, REP.ERR_UNSUP, 'meta contexts: unsupported');

  c.sendOpt(OPT.INFO, RawNbdClient.goData('nosuch'));
  t.equal((await c.optReply())!.type, REP.ERR_UNKNOWN, 'INFO of a missing device: NBD_REP_ERR_UNKNOWN');
  c.sendOpt(OPT.INFO, RawNbdClient.goData('empty'));
  t.equal((await c.optReply())!.type, REP.ERR_UNKNOWN, 'INFO of a device without a table: NBD_REP_ERR_UNKNOWN');
  c.sendOpt(OPT.INFO, Buffer.from([0, 0, 0, 9, 1]));
  t.equal((await c.optReply())!.type, REP.ERR_INVALID, 'malformed INFO: NBD_REP_ERR_INVALID');

  c.sendOpt(OPT.INFO, RawNbdClient.goData('m', [1, 3]));
  const info = await c.optReplies();
  const byInfo = new Map(info.filter((r) => r.type === REP.INFO).map((r) => [r.data.readUInt16BE(0), r.data]));
  t.equal(byInfo.get(0)!.readBigUInt64BE(2), 8192n * 512n, 'NBD_INFO_EXPORT: the size');
  t.equal(byInfo.get(0)!.readUInt16BE(10), 1 | 4 | 8 | 32 | 64 | 256, 'flags: HAS_FLAGS SEND_FLUSH SEND_FUA SEND_TRIM SEND_WRITE_ZEROES CAN_MULTI_CONN');
  t.equal(byInfo.get(1)!.toString('utf8', 2), 'm', 'NBD_INFO_NAME');
  const bs = byInfo.get(3)!;
  t.same([bs.readUInt32BE(2), bs.readUInt32BE(6), bs.readUInt32BE(10)], [512, 4096, 32 * MiB], 'NBD_INFO_BLOCK_SIZE: 512 / 4096 / 32 MiB');
  t.equal(info.at(-1)!.type, REP.ACK, 'INFO ends with ACK and negotiation goes on');

  c.sendOpt(OPT.GO, RawNbdClient.goData('m'));
  const go = await c.optReplies();
  t.equal(go.at(-1)!.type, REP.ACK, 'GO: ACK, transmission begins');
  c.request(CMD.READ, 0, 512);
  t.equal((await c.simpleReply(512))!.errno, 0, 'a read works after GO');
  c.request(CMD.DISC, 0, 0);
  t.ok(await c.closedWithin(2000), 'DISC closes the connection');
});

t.test('ABORT, EXPORT_NAME, bad option magic, unknown client flags', async (t) => {
  const { sock } = await setup(t);
  let c = await RawNbdClient.connect(sock);
  await c.hello();
  c.sendOpt(OPT.ABORT);
  t.equal((await c.optReply())!.type, REP.ACK, 'ABORT is acknowledged');
  t.ok(await c.closedWithin(2000), 'then the connection closes');

  c = await RawNbdClient.connect(sock);
  await c.hello();
  c.sendOpt(OPT.EXPORT_NAME, Buffer.from('m'));
  const tail = (await c.read(10))!;
  t.equal(tail.readBigUInt64BE(0), 8192n * 512n, 'EXPORT_NAME: size and flags (no zeroes)');
  c.request(CMD.WRITE, 512, 512, { data: Buffer.alloc(512, 7), cookie: 42n });
  const w = (await c.simpleReply())!;
  t.same([w.errno, w.cookie], [0, 42n], 'a write replies with its cookie');
  c.destroy();

  c = await RawNbdClient.connect(sock);
  await c.hello();
  c.sendOpt(OPT.EXPORT_NAME, Buffer.from('nosuch'));
  t.ok(await c.closedWithin(2000), 'EXPORT_NAME of a missing device closes the connection');

  c = await RawNbdClient.connect(sock);
  await c.hello();
  c.sendOpt(OPT.LIST, Buffer.alloc(0), 0x1122334455667788n);
  t.ok(await c.closedWithin(2000), 'a bad option magic closes the connection');

  c = await RawNbdClient.connect(sock);
  await c.hello(0x80);
  t.ok(await c.closedWithin(2000), 'unknown client flags close the connection');

  c = await RawNbdClient.connect(sock);
  await c.hello();
  const h = Buffer.alloc(16);
  h.writeBigUInt64BE(0x49484156454f5054n, 0);
  h.writeUInt32BE(OPT.GO, 8);
  h.writeUInt32BE(0xffffffff, 12);
  c.write(h);
  t.equal((await c.optReply())!.type, REP.ERR_INVALID, 'an option with 4 GiB of data: NBD_REP_ERR_INVALID');
  t.ok(await c.closedWithin(2000), 'and the connection closes');
});

t.test('transmission: data through a mirror, errors for bad requests, simple replies', async (t) => {
  const { k, sock, files } = await setup(t);
  const { c, size, flags } = await open(sock, 'm');
  t.equal(size, 8192n * 512n);
  t.equal(flags & 2, 0, 'not read-only');
  const data = Buffer.alloc(64 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 0xff;
  c.request(CMD.WRITE, 4096, data.length, { data, cookie: 1n });
  t.equal((await c.simpleReply())!.errno, 0, 'write');
  for (const f of files) t.ok(fs.readFileSync(f).subarray(4096, 4096 + data.length).equals(data), `${path.basename(f)} holds the data`);
  t.equal(k.dmIoctl.deviceByName('m')!.openCount, 1, 'the connection holds the device open');
  c.request(CMD.READ, 4096, data.length, { cookie: 2n });
  const r = (await c.simpleReply(data.length))!;
  t.same([r.errno, r.cookie], [0, 2n]);
  t.ok(r.data.equals(data), 'read back');

  // Several requests in flight at once, each answered under its cookie.
  for (let i = 0; i < 8; i++) c.request(CMD.READ, i * 512, 512, { cookie: BigInt(100 + i) });
  const cookies = new Set<bigint>();
  for (let i = 0; i < 8; i++) cookies.add((await c.simpleReply(512))!.cookie);
  t.equal(cookies.size, 8, 'eight pipelined reads, eight replies');

  c.request(CMD.WRITE_ZEROES, 4096, 4096);
  t.equal((await c.simpleReply())!.errno, 0, 'WRITE_ZEROES');
  t.ok(fs.readFileSync(files[1]!).subarray(4096, 8192).every((b) => b === 0), 'zeroes on the second leg');
  c.request(CMD.FLUSH, 0, 0);
  t.equal((await c.simpleReply())!.errno, 0, 'FLUSH');
  c.request(CMD.WRITE, 0, 512, { data: Buffer.alloc(512, 1), flags: 1 });
  t.equal((await c.simpleReply())!.errno, 0, 'FUA write');
  c.request(CMD.TRIM, 0, 4096);
  t.equal((await c.simpleReply())!.errno, 0, 'TRIM');

  c.request(CMD.READ, 8192 * 512 - 512, 1024);
  t.equal((await c.simpleReply())!.errno, 22, 'read past the end: EINVAL');
  c.request(CMD.READ, 2 ** 62, 512);
  t.equal((await c.simpleReply())!.errno, 22, 'read at 2^62: EINVAL');
  c.request(CMD.WRITE, 8192 * 512, 512, { data: Buffer.alloc(512) });
  t.equal((await c.simpleReply())!.errno, 28, 'write past the end: ENOSPC');
  c.request(CMD.READ, 100, 512);
  t.equal((await c.simpleReply())!.errno, 22, 'unaligned read: EINVAL');
  c.request(CMD.READ, 0, 0xffffffff);
  t.equal((await c.simpleReply())!.errno, 75, 'a 4 GiB read: EOVERFLOW');
  c.request(CMD.BLOCK_STATUS, 0, 512);
  t.equal((await c.simpleReply())!.errno, 22, 'an unnegotiated command: EINVAL');
  c.request(CMD.READ, 0, 512);
  t.equal((await c.simpleReply(512))!.errno, 0, 'the connection still serves after those errors');

  c.request(CMD.WRITE, 0, 0xfffffe00);
  t.equal((await c.simpleReply())!.errno, 75, 'a 4 GiB write: EOVERFLOW');
  t.ok(await c.closedWithin(2000), 'and the connection closes (its payload cannot be skipped)');
  t.equal(k.dmIoctl.deviceByName('m')!.openCount, 0, 'closing the connection closes the device');
});

t.test('bad input never hurts the server: bad request magic, disconnect mid-write, garbage', async (t) => {
  const { sock, files } = await setup(t);
  let { c } = await open(sock, 'm');
  c.request(CMD.READ, 0, 512, { magic: 0xdeadbeef });
  t.ok(await c.closedWithin(2000), 'a bad request magic closes the connection');

  ({ c } = await open(sock, 'm'));
  const h = Buffer.alloc(28);
  h.writeUInt32BE(0x25609513, 0);
  h.writeUInt16BE(CMD.WRITE, 6);
  h.writeBigUInt64BE(0n, 16);
  h.writeUInt32BE(MiB, 24);
  c.write(Buffer.concat([h, Buffer.alloc(1000, 0xee)]));
  await new Promise((r) => setTimeout(r, 50));
  c.destroy();
  await new Promise((r) => setTimeout(r, 50));
  t.ok(fs.readFileSync(files[0]!).subarray(0, 1000).every((b) => b !== 0xee), 'half a write is not written');

  const g = await RawNbdClient.connect(sock);
  g.write(Buffer.from('GET / HTTP/1.0\r\n\r\n'));
  t.ok(await g.closedWithin(2000), 'garbage instead of client flags: closed');
  const early = await RawNbdClient.connect(sock);
  early.destroy();

  ({ c } = await open(sock, 'm'));
  c.request(CMD.READ, 0, 512);
  t.equal((await c.simpleReply(512))!.errno, 0, 'the server still serves new connections');
});

t.test('structured replies: data and error chunks', async (t) => {
  const { sock } = await setup(t);
  const { c } = await open(sock, 'm', true);
  c.request(CMD.WRITE, 0, 1024, { data: Buffer.alloc(1024, 9), cookie: 5n });
  const w = (await c.structuredReply())!;
  t.same([w.flags, w.structuredType, w.cookie], [1, 0, 5n], 'a write: NBD_REPLY_TYPE_NONE with DONE');
  c.request(CMD.READ, 512, 512, { cookie: 6n });
  const r = (await c.structuredReply())!;
  t.same([r.flags, r.structuredType, r.cookie], [1, 1, 6n], 'a read: one OFFSET_DATA chunk with DONE');
  t.ok(r.data.equals(Buffer.alloc(512, 9)));
  c.request(CMD.READ, 8192 * 512, 512, { cookie: 7n });
  const e = (await c.structuredReply())!;
  t.same([e.flags, e.structuredType, e.errno], [1, 0x8001, 22], 'an error: NBD_REPLY_TYPE_ERROR, EINVAL');
  t.match(e.message, /past the end/);
});

t.test('device errors, read-only devices, bios seen by the target', async (t) => {
  const { sock } = await setup(t);
  let { c, flags } = await open(sock, 'bad');
  c.request(CMD.READ, 0, 512);
  t.equal((await c.simpleReply())!.errno, 5, 'an error target: EIO');
  c.request(CMD.WRITE, 0, 512, { data: Buffer.alloc(512) });
  t.equal((await c.simpleReply())!.errno, 5, 'writes too');
  c.destroy();

  ({ c, flags } = await open(sock, 'ro'));
  t.equal(flags & 2, 2, 'a read-only table: NBD_FLAG_READ_ONLY');
  t.equal(flags & (32 | 64), 0, 'no trim or write zeroes');
  c.request(CMD.WRITE, 0, 512, { data: Buffer.alloc(512) });
  t.equal((await c.simpleReply())!.errno, 1, 'a write: EPERM');
  c.request(CMD.READ, 0, 512);
  t.equal((await c.simpleReply(512))!.errno, 0, 'reads work');
  c.destroy();

  ({ c } = await open(sock, 'p'));
  seen.length = 0;
  c.request(CMD.FLUSH, 0, 0);
  await c.simpleReply();
  t.same(seen.map((b) => [b.op, b.flags & REQ_PREFLUSH, b.size]), [[ReqOp.FLUSH, REQ_PREFLUSH, 0]], 'FLUSH: an empty PREFLUSH bio');
  seen.length = 0;
  c.request(CMD.WRITE, 4096, 4096, { data: Buffer.alloc(4096, 1), flags: 1 });
  await c.simpleReply();
  t.same(seen.map((b) => [b.op, b.flags & REQ_FUA, b.sector, b.size]), [[ReqOp.WRITE, REQ_FUA, 8, 4096]], 'FUA: a REQ_FUA write');
  seen.length = 0;
  c.request(CMD.TRIM, 0, 3 * MiB);
  await c.simpleReply();
  t.same(seen.map((b) => [b.op, b.sector, b.size]), [[ReqOp.DISCARD, 0, MiB], [ReqOp.DISCARD, 2048, MiB], [ReqOp.DISCARD, 4096, MiB]], 'TRIM: discard bios of 1 MiB');
  seen.length = 0;
  c.request(CMD.WRITE_ZEROES, MiB, 1536 * 1024);
  await c.simpleReply();
  t.same(seen.map((b) => [b.op, b.sector, b.size, b.zero]), [[ReqOp.WRITE, 2048, MiB, true], [ReqOp.WRITE, 4096, 512 * 1024, true]], 'WRITE_ZEROES: writes of zero pages');
  seen.length = 0;
  c.request(CMD.WRITE, 0, 3 * MiB, { data: Buffer.alloc(3 * MiB, 2) });
  await c.simpleReply();
  t.same(seen.map((b) => b.size), [MiB, MiB, MiB], 'a 3 MiB write: three 1 MiB bios');
});

t.test('a suspended device holds requests until resume', async (t) => {
  const { k, sock } = await setup(t);
  const { c } = await open(sock, 'm');
  await k.dmIoctl.devSuspend({ name: 'm' }, false);
  c.request(CMD.WRITE, 0, 512, { data: Buffer.alloc(512, 3), cookie: 11n });
  let replied = false;
  const reply = c.simpleReply().then((r) => { replied = true; return r; });
  await new Promise((r) => setTimeout(r, 200));
  t.notOk(replied, 'no reply while suspended');
  await k.dmIoctl.devResume({ name: 'm' });
  const r = (await reply)!;
  t.same([r.errno, r.cookie], [0, 11n], 'the write completes after resume');
});
