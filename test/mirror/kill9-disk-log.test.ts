// kill -9 of the kernel process under a disk-log mirror (issue 13, item 6):
// 20 times, SIGKILL at a random moment while NBD writes go to disjoint chunks;
// then, before anything runs again, every region whose legs differ must be
// dirty in the log on disk; restart, recreate the same table, resync: every
// acknowledged write is on both legs, and the legs are identical. A write that
// was not answered may be torn, sector by sector.

import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { KernelClient } from '../../dmsetup-ts/client.js';
import { RawNbdClient } from '../helpers/nbd-client.js';
import { Rng, runSeed } from '../fuzz/rng.js';

const KILLS = 20;

function accepts(sock: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(sock);
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}
const SECTORS = 8192;
const REGION = 64; // sectors: 128 regions
const CHUNK = 64 << 10; // bytes: disjoint writes of two regions each, big enough for the thread pool (legs written in parallel)
const CHUNKS = (SECTORS * 512) / CHUNK;
const LOG_BITMAP = 1024; // bytes into the log device (LOG_OFFSET sectors)
const TABLE = [{ start: 0, length: SECTORS, type: 'mirror', params: `disk 2 /dev/loop2 ${REGION} 2 /dev/loop0 0 /dev/loop1 0` }];

t.test('kill -9 during writes to a disk-log mirror, 20 times', async (t) => {
  const seed = runSeed();
  t.comment(`seed ${seed} (DMSETUP_TS_FUZZ_SEED replays the kill moments)`);
  const r = new Rng(seed);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k9-'));
  const saved = process.env.DMSETUP_TS_DIR;
  process.env.DMSETUP_TS_DIR = path.join(dir, 'k');
  const files = ['d0', 'd1', 'log'].map((f) => path.join(dir, f));
  for (const f of files) { fs.writeFileSync(f, ''); fs.truncateSync(f, f.endsWith('log') ? 1 << 20 : SECTORS * 512); }
  let pid = 0;
  t.teardown(() => {
    try { if (pid) process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    if (saved === undefined) delete process.env.DMSETUP_TS_DIR; else process.env.DMSETUP_TS_DIR = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** What each chunk must hold: the last acknowledged data, or one sent later whose answer was lost. */
  const acked: Array<Buffer | null> = new Array(CHUNKS).fill(null);
  const maybe: Buffer[][] = Array.from({ length: CHUNKS }, () => []);

  const boot = async (): Promise<KernelClient> => {
    const k = await KernelClient.connect();
    for (let i = 0; i < 3; i++) await k.call('loopAttach', { number: i, file: files[i] });
    await k.call('devCreate', { name: 'm' });
    await k.call('tableLoad', { ref: { name: 'm' }, targets: TABLE });
    await k.call('devResume', { ref: { name: 'm' } });
    pid = Number(fs.readFileSync(path.join(process.env.DMSETUP_TS_DIR!, 'kernel.pid'), 'utf8'));
    return k;
  };
  const waitSync = async (k: KernelClient): Promise<string> => {
    for (let i = 0; i < 2000; i++) {
      const st = (await k.call<{ targets: Array<{ params: string }> }>('tableStatus', { ref: { name: 'm' }, type: 'info' })).result.targets[0]!.params;
      if (/ 128\/128 /.test(st)) return st;
      await new Promise((res) => setTimeout(res, 10));
    }
    throw new Error('no resync');
  };
  // An unanswered write may be torn: the mirror splits a bio at region boundaries (max_io_len),
  // and SIGKILL can stop a pwrite between pages. So each sector holds the last acknowledged
  // data or that sector of a later unanswered write; a chunk holding neither is lost data.
  const SECTOR = 512;
  const checkData = (when: string) => {
    const [l0, l1] = [fs.readFileSync(files[0]!), fs.readFileSync(files[1]!)];
    const lost: string[] = [];
    for (let c = 0; c < CHUNKS; c++) {
      const got = l0.subarray(c * CHUNK, (c + 1) * CHUNK);
      const want = [acked[c] ?? Buffer.alloc(CHUNK), ...maybe[c]!];
      // Which candidate each sector holds: a = acknowledged, 1..n = unanswered, ? = none.
      let map = '';
      for (let s = 0; s < CHUNK / SECTOR; s++) {
        const g = got.subarray(s * SECTOR, (s + 1) * SECTOR);
        const i = want.findIndex((w) => w.subarray(s * SECTOR, (s + 1) * SECTOR).equals(g));
        map += i < 0 ? '?' : i === 0 ? 'a' : String(i);
      }
      if (map.includes('?')) lost.push(`chunk ${c} (${maybe[c]!.length} unanswered): ${map}`);
    }
    t.same(lost, [], `${when}: every sector holds its last acknowledged write (or a later unanswered one)`);
    t.ok(l0.equals(l1), `${when}: the legs are identical`);
  };

  let k = await boot();
  await waitSync(k);
  let differing = 0;
  for (let kill = 0; kill < KILLS; kill++) {
    // Writes to chunks in a random order, a few in flight; SIGKILL after a random number of answers.
    const nbd = await RawNbdClient.connect(path.join(process.env.DMSETUP_TS_DIR!, 'nbd.sock'));
    await nbd.hello();
    nbd.sendOpt(7, RawNbdClient.goData('m'));
    t.equal((await nbd.optReplies()).at(-1)?.type, 1);
    const order = Array.from({ length: CHUNKS }, (_, i) => i).sort(() => r.int(3) - 1);
    const killAfter = r.range(0, 40);
    const inflight = new Map<bigint, { chunk: number; data: Buffer }>();
    let answered = 0, next = 0, cookie = 0n;
    const send = () => {
      const chunk = order[next++]!;
      const data = r.bytes(CHUNK);
      cookie++;
      inflight.set(cookie, { chunk, data });
      maybe[chunk]!.push(data);
      nbd.request(1, chunk * CHUNK, CHUNK, { cookie, data });
    };
    for (let i = 0; i < 4; i++) send();
    while (answered < killAfter && next < CHUNKS) {
      const rep = await nbd.simpleReply();
      if (!rep) break;
      const w = inflight.get(rep.cookie)!;
      inflight.delete(rep.cookie);
      if (rep.errno === 0) { acked[w.chunk] = w.data; maybe[w.chunk] = maybe[w.chunk]!.filter((b) => b !== w.data); }
      answered++;
      send();
    }
    // A few more in flight, then the kill a moment later: some may be half written (one leg, not the other).
    for (let i = 0; i < 4 && next < CHUNKS; i++) send();
    await new Promise((res) => setTimeout(res, r.int(6)));
    process.kill(pid, 'SIGKILL');
    nbd.destroy();
    k.close();
    // Dead once its socket refuses connections (it is our child: a zombie until reaped, so kill(pid, 0) cannot tell).
    for (let i = 0; i < 500 && await accepts(path.join(process.env.DMSETUP_TS_DIR!, 'kernel.sock')); i++) await new Promise((res) => setTimeout(res, 10));
    // Before anything runs again: a region whose legs differ is dirty in the log.
    const [l0, l1, log] = files.map((f) => fs.readFileSync(f));
    let undirty = 0;
    for (let reg = 0; reg < SECTORS / REGION; reg++) {
      const a = l0!.subarray(reg * REGION * 512, (reg + 1) * REGION * 512);
      if (a.equals(l1!.subarray(reg * REGION * 512, (reg + 1) * REGION * 512))) continue;
      differing++;
      const clean = (log![LOG_BITMAP + (reg >> 3)]! >> (reg & 7)) & 1;
      if (clean) undirty++;
    }
    t.equal(undirty, 0, `kill ${kill + 1} after ${answered} answers: every region whose legs differ is dirty in the log`);
    k = await boot();
    await waitSync(k);
    checkData(`kill ${kill + 1}, resynced`);
    // What was answered and what was not are settled now: the chunk holds one of them.
    const leg0 = fs.readFileSync(files[0]!);
    for (let c = 0; c < CHUNKS; c++) {
      if (maybe[c]!.length) { acked[c] = Buffer.from(leg0.subarray(c * CHUNK, (c + 1) * CHUNK)); maybe[c] = []; }
    }
  }
  t.comment(`${differing} regions had legs that differed at a kill`);
  k.close();
});
