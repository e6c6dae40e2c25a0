// The data path against the physical limit, files on tmpfs, alternating
// rounds: NBD writes to a two-leg mirror (nbdcopy) against dd writing the
// same bytes to both leg files; NBD reads against cat of a leg; `dmsetup-ts
// io write` against the same dd; the resync of a 1 GiB mirror against
// `cat leg0 > copy`. The kernel is served from this process as the daemon
// serves it (control socket and NBD socket).

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import { bootKernel } from '../targets/modules.js';
import { serve, listenExclusive } from '../kernel/server.js';
import { SOCKET_NAME } from '../kernel/runtime-dir.js';
import { NBD_SOCKET_NAME, NbdServer } from '../kernel/nbd.js';
import type { Kernel } from '../kernel/kernel.js';
import type { BenchResult } from './run.js';
import { alternate, fmtSpread, freshFile, have, scratchDir, sh, type Spread } from './measure.js';

/** The command as installed (package.json's bin): the one-file CLI when built. */
const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dmsetup-ts/bin.cjs');
const MiB = 2 ** 20;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

async function mirror(k: Kernel, name: string, bytes: number, params: string): Promise<void> {
  k.dmIoctl.devCreate(name);
  k.dmIoctl.tableLoad({ name }, [{ start: 0, length: bytes / 512, type: 'mirror', params }]);
  await k.dmIoctl.devResume({ name });
}

function inSync(k: Kernel, name: string): boolean {
  const m = / (\d+)\/(\d+) 1 /.exec(k.dmIoctl.tableStatus({ name }, 'info').targets[0]!.params);
  return !!m && m[1] === m[2];
}

const mibs = (bytes: number, s: Spread) => bytes / MiB / (s.median / 1000);

function row(name: string, bytes: number, s: Spread, ref: Spread, goal: string, min?: number): BenchResult {
  const ratio = ref.median / s.median;
  return { name, value: mibs(bytes, s), unit: 'MiB/s', ratio, goal, met: min === undefined ? undefined : ratio >= min, spread: fmtSpread(s) };
}

/** qemu-nbd serving a file on a Unix socket (persistent, writeback cache, thread-pool I/O), once it listens. */
async function startQemuNbd(img: string, sock: string, bytes: number): Promise<ChildProcess> {
  freshFile(img, bytes);
  const child = spawn('qemu-nbd', ['-f', 'raw', '-t', '-k', sock, '--cache=writeback', '--aio=threads', img], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
  if (!fs.existsSync(sock)) { child.kill(); throw new Error('qemu-nbd did not start'); }
  return child;
}

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const dir = scratchDir('datapath');
  const kdir = path.join(dir, 'kernel');
  fs.mkdirSync(kdir, { mode: 0o700 });
  const k = bootKernel();
  const control = net.createServer();
  serve(k, control, () => undefined);
  await listenExclusive(control, path.join(kdir, SOCKET_NAME));
  const nbd = new NbdServer(k);
  await nbd.listenUnix(path.join(kdir, NBD_SOCKET_NAME));
  try {
    const total = Number(process.env.BENCH_NBD_MIB ?? 256) * MiB;
    const src = path.join(dir, 'src');
    await sh('dd', ['if=/dev/urandom', `of=${src}`, 'bs=1M', `count=${total / MiB}`, 'status=none']);
    const legs = [0, 1].map((i) => path.join(dir, `leg${i}`));
    for (const [i, f] of legs.entries()) { freshFile(f, total); k.loopAttach(i, f); }
    await mirror(k, 'm', total, 'core 2 1024 nosync 2 /dev/loop0 0 /dev/loop1 0');
    const refs = [path.join(dir, 'ref0'), path.join(dir, 'ref1')];
    const copy = path.join(dir, 'copy');
    const uri = `nbd+unix:///m?socket=${path.join(kdir, NBD_SOCKET_NAME)}`;
    const ddBoth = {
      setup: () => refs.forEach((f) => freshFile(f, total)),
      run: async () => {
        for (const f of refs) await sh('dd', [`if=${src}`, `of=${f}`, 'bs=1M', 'conv=notrunc', 'status=none']);
      },
    };
    const freshLegs = () => legs.forEach((f) => freshFile(f, total));

    if (have('nbdcopy')) {
      // A C NBD server for scale: qemu-nbd serving one file (no mirror, one copy of the data).
      const qemuImg = path.join(dir, 'qemu.img'), qemuSock = path.join(dir, 'qemu-nbd.sock');
      const qemu = have('qemu-nbd') ? await startQemuNbd(qemuImg, qemuSock, total) : undefined;
      try {
        const w = await alternate(ROUNDS, {
          dd: ddBoth,
          nbd: { setup: freshLegs, run: async () => { await sh('nbdcopy', [src, uri]); } },
          ...(qemu ? { qemu: { setup: () => freshFile(qemuImg, total), run: async () => { await sh('nbdcopy', [src, `nbd+unix:///?socket=${qemuSock}`]); } } } : {}),
        });
        if (!fs.readFileSync(legs[1]!).equals(fs.readFileSync(src))) throw new Error('nbdcopy: the second leg differs from the source');
        out.push({ name: `dd to both leg files, ${total / MiB} MiB (reference)`, value: mibs(total, w.dd!), unit: 'MiB/s', goal: '-', spread: fmtSpread(w.dd!) });
        out.push(row('NBD write: nbdcopy to a 2-leg mirror', total, w.nbd!, w.dd!, '≥ 0.5× dd to both legs', 0.5));
        if (w.qemu) out.push(row('NBD write: nbdcopy to qemu-nbd serving one file (for scale)', total, w.qemu, w.dd!, '- (reported)'));
      } finally {
        qemu?.kill();
      }
      const r = await alternate(ROUNDS, {
        cat: { setup: () => fs.rmSync(copy, { force: true }), run: async () => { await sh('sh', ['-c', `cat "${legs[0]}" > "${copy}"`]); } },
        nbd: { setup: () => fs.rmSync(copy, { force: true }), run: async () => { await sh('nbdcopy', [uri, copy]); } },
      });
      out.push({ name: 'cat leg0 > copy (reference)', value: mibs(total, r.cat!), unit: 'MiB/s', goal: '-', spread: fmtSpread(r.cat!) });
      out.push(row('NBD read: nbdcopy from the mirror to a file', total, r.nbd!, r.cat!, '- (reported)'));
      fs.rmSync(copy, { force: true });
    } else {
      out.push({ name: 'NBD rows skipped: nbdcopy not installed (Debian: libnbd-bin)', value: 0, unit: '-', goal: '-' });
    }

    const io = await alternate(ROUNDS, {
      dd: ddBoth,
      io: {
        setup: freshLegs,
        run: () => sh(process.execPath, [MAIN, 'io', 'write', 'm', '0', '--bs', String(MiB)], { env: { ...process.env, DMSETUP_TS_DIR: kdir }, stdin: src }),
      },
    });
    out.push(row('dmsetup-ts io write (1 MiB bios) to the mirror', total, io.io!, io.dd!, '- (reported; pipes every byte through the control socket)'));
    refs.forEach((f) => fs.rmSync(f, { force: true }));
    await k.dmIoctl.devRemove({ name: 'm' });
    for (const i of [0, 1]) k.loop(i)!.detach();
    fs.rmSync(src, { force: true });

    // Resync of 1 GiB from a leg full of data, against cat of that leg.
    const GiB = Number(process.env.BENCH_RESYNC_MIB ?? 1024) * MiB;
    freshFile(legs[0]!, GiB);
    await sh('dd', ['if=/dev/urandom', `of=${legs[0]}`, 'bs=1M', `count=${GiB / MiB}`, 'conv=notrunc', 'status=none']);
    freshFile(legs[1]!, GiB);
    k.loopAttach(0, legs[0]!); k.loopAttach(1, legs[1]!);
    for (const [regionKiB, goal] of [[512, 0.8], [4096, 0.8]] as const) {
      const res = await alternate(ROUNDS, {
        cat: { setup: () => fs.rmSync(copy, { force: true }), run: async () => { await sh('sh', ['-c', `cat "${legs[0]}" > "${copy}"`]); } },
        resync: {
          setup: () => { fs.rmSync(copy, { force: true }); freshFile(legs[1]!, GiB); },
          run: async () => {
            const t0 = performance.now();
            await mirror(k, 'r', GiB, `core 1 ${regionKiB * 2} 2 /dev/loop0 0 /dev/loop1 0`);
            const md = k.dmIoctl.deviceByName('r')!;
            while (!inSync(k, 'r')) await md.waitEvent(md.eventNr);
            const ms = performance.now() - t0;
            await k.dmIoctl.devRemove({ name: 'r' });
            return ms;
          },
        },
      });
      if (regionKiB === 512) out.push({ name: `cat leg0 > copy, ${GiB / MiB} MiB (reference)`, value: mibs(GiB, res.cat!), unit: 'MiB/s', goal: '-', spread: fmtSpread(res.cat!) });
      out.push(row(`resync ${GiB / MiB} MiB, ${regionKiB} KiB regions (vs cat in the same rounds)`, GiB, res.resync!, res.cat!, `≥ ${goal}× cat`, goal));
    }
    if (!fs.readFileSync(legs[1]!).equals(fs.readFileSync(legs[0]!))) throw new Error('resync: the legs differ');
  } finally {
    await nbd.close();
    control.close();
    await k.shutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
