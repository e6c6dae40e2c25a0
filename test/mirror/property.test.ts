// Property: random writes, leg failures (error tables under the legs),
// suspends and resyncs against a model of what was acknowledged. No
// acknowledged write is lost while one leg survives, and the legs are
// identical whenever status says every region is in sync and no leg failed.

import t from 'tap';
import * as fs from 'node:fs';
import { rig, prng } from './helpers.js';
import { Bio, ReqOp, submitBioWait, type BlkStatus } from '../../kernel/bio.js';

const LEN = 8192; // sectors: 16 regions of 512
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

for (const seed of [1, 2, 3, 4]) {
  t.test(`seed ${seed}`, async (t) => {
    const rnd = prng(seed);
    const r = rig();
    t.teardown(() => r.done());
    const legs = 2 + Math.floor(rnd() * 2);
    for (let i = 0; i < legs; i++) {
      r.disk(i, 4);
      await r.create(`leg${i}`, `linear /dev/loop${i} 0`, LEN);
    }
    const devs = Array.from({ length: legs }, (_, i) => `/dev/mapper/leg${i} 0`).join(' ');
    await r.create('m', `mirror core 2 512 nosync ${legs} ${devs} 1 handle_errors`, LEN);
    const io = r.k.dmIoctl;
    const md = io.deviceByName('m')!;
    // allowed[s]: the byte values a read of sector s may return.
    const allowed: number[][] = Array.from({ length: LEN }, () => [0]);
    const failed = new Set<number>();
    let pending: Array<{ p: Promise<BlkStatus>; s: number; n: number; b: number; done?: BlkStatus }> = [];

    const reap = () => {
      for (const w of pending) {
        if (w.done === undefined) continue;
        for (let s = w.s; s < w.s + w.n; s++) {
          if (w.done === 0) allowed[s] = [w.b];
          else if (!allowed[s]!.includes(w.b)) allowed[s]!.push(w.b); // may or may not have landed
        }
      }
      pending = pending.filter((w) => w.done === undefined);
    };
    const cycle = async () => { await io.devSuspend({ name: 'm' }); await io.devResume({ name: 'm' }); };

    for (let step = 0; step < 60; step++) {
      const x = rnd();
      if (x < 0.6) {
        const s = Math.floor(rnd() * (LEN - 64));
        const n = 1 + Math.floor(rnd() * 64);
        const b = 1 + Math.floor(rnd() * 254);
        const w: (typeof pending)[number] = { p: submitBioWait(new Bio(ReqOp.WRITE, md, s, Buffer.alloc(n * 512, b))), s, n, b };
        void w.p.then((st) => { w.done = st; });
        pending.push(w);
        // Overlapping writes in flight would make the model ambiguous: wait for this one or release it.
        await sleep(3);
        if (w.done === undefined) await cycle();
        await w.p;
        reap();
      } else if (x < 0.7 && failed.size < legs - 1) {
        const i = Math.floor(rnd() * legs);
        if (failed.has(i)) continue;
        failed.add(i);
        await io.devSuspend({ name: `leg${i}` });
        io.tableLoad({ name: `leg${i}` }, [{ start: 0, length: LEN, type: 'error', params: '' }]);
        await io.devResume({ name: `leg${i}` });
      } else if (x < 0.85) {
        await cycle();
        await sleep(5);
      } else {
        // Read back and check.
        const s = Math.floor(rnd() * (LEN - 128));
        const n = 1 + Math.floor(rnd() * 128);
        const data = Buffer.alloc(n * 512);
        const st = await submitBioWait(new Bio(ReqOp.READ, md, s, data));
        t.equal(st, 0, `read ${s}+${n} succeeds (step ${step})`);
        let bad = -1;
        for (let i = 0; i < n && bad < 0; i++) if (!allowed[s + i]!.includes(data[i * 512]!)) bad = s + i;
        t.equal(bad, -1, `read ${s}+${n} returns acknowledged data (step ${step})`);
      }
      const m = / (\d+)\/(\d+) 1 /.exec(r.status('m'));
      if (m && m[1] === m[2] && failed.size === 0 && pending.length === 0) {
        const files = Array.from({ length: legs }, (_, i) => fs.readFileSync(r.file(i)).subarray(0, LEN * 512));
        for (let i = 1; i < legs; i++) t.ok(files[0]!.equals(files[i]!), `legs 0 and ${i} identical while in sync (step ${step})`);
      }
    }
    // Final check of every sector.
    const data = Buffer.alloc(LEN * 512);
    t.equal(await submitBioWait(new Bio(ReqOp.READ, md, 0, data)), 0);
    let bad = -1;
    for (let s = 0; s < LEN && bad < 0; s++) if (!allowed[s]!.includes(data[s * 512]!)) bad = s;
    t.equal(bad, -1, 'every acknowledged write is readable');
  });
}
