// The thin client's cost per command against `node -e 0`, in alternating
// rounds (min/median/max): `dmsetup-ts status NAME`, one-sector `dmsetup-ts io
// write`/`io read` as the conformance prelude's dm_write/dm_read run them,
// `dmsetup info -c` over 1,000 devices, and `dmsetup ls` over 10,000 devices
// created through the library API (the kernel is served from this process,
// as the daemon would serve it).

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bootKernel } from '../targets/modules.js';
import { serve, listenExclusive } from '../kernel/server.js';
import { SOCKET_NAME } from '../kernel/runtime-dir.js';
import type { BenchResult } from './run.js';
import { alternate, fmtSpread, freshFile, scratchDir, type Spread } from './measure.js';

/** The command as installed (package.json's bin): the one-file CLI when built. */
const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dmsetup-ts/bin.cjs');
const ROUNDS = Number(process.env.BENCH_CLI_ROUNDS ?? 15);

/** One run of node with args to completion (stdout discarded); rejects on a non-zero exit. */
function once(args: string[], env: NodeJS.ProcessEnv, stdin?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const input = stdin ? fs.openSync(stdin, 'r') : 'ignore';
    const child = spawn(process.execPath, args, { env, stdio: [input, 'ignore', 'inherit'] });
    const close = () => { if (typeof input === 'number') fs.closeSync(input); };
    child.on('error', (e) => { close(); reject(e); });
    child.on('exit', (code) => { close(); if (code === 0) resolve(); else reject(new Error(`${args.join(' ')} exited ${code}`)); });
  });
}

/** The command against node -e 0, alternating: its row with the ratio of the medians. */
async function against(name: string, args: string[], env: NodeJS.ProcessEnv, goal: string, maxRatio: number | undefined, rounds = ROUNDS, stdin?: string): Promise<{ ref: Spread; row: BenchResult }> {
  const r = await alternate(rounds, {
    node: { run: () => once(['-e', '0'], env) },
    cmd: { run: () => once([MAIN, ...args], env, stdin) },
  });
  const ratio = r.cmd!.median / r.node!.median;
  return {
    ref: r.node!,
    row: { name, value: r.cmd!.median, unit: 'ms', ratio, goal, met: maxRatio === undefined ? undefined : ratio <= maxRatio, spread: `${fmtSpread(r.cmd!)}; node -e 0 ${fmtSpread(r.node!)}` },
  };
}

export async function run(): Promise<BenchResult[]> {
  const dir = scratchDir('cli');
  const kdir = path.join(dir, 'kernel');
  fs.mkdirSync(kdir, { mode: 0o700 });
  const kernel = bootKernel();
  const server = net.createServer();
  serve(kernel, server, () => undefined);
  await listenExclusive(server, path.join(kdir, SOCKET_NAME));
  const env = { ...process.env, DMSETUP_TS_DIR: kdir, DMSETUP_TS_PROG: 'dmsetup' };
  const own = { ...env, DMSETUP_TS_PROG: 'dmsetup-ts' };
  try {
    const leg = path.join(dir, 'd0');
    freshFile(leg, 4 << 20);
    kernel.loopAttach(0, leg);
    kernel.dmIoctl.devCreate('lin');
    kernel.dmIoctl.tableLoad({ name: 'lin' }, [{ start: 0, length: 8192, type: 'linear', params: '/dev/loop0 0' }]);
    await kernel.dmIoctl.devResume({ name: 'lin' });
    const sector = path.join(dir, 'sector');
    fs.writeFileSync(sector, Buffer.alloc(512, 0x5a));
    const status = await against('dmsetup-ts status NAME', ['status', 'lin'], env, '≤ 1.5× node -e 0', 1.5);
    const write = await against('dmsetup-ts io write NAME 8 1 --bs 512 --buffered (dm_write)', ['io', 'write', 'lin', '8', '1', '--bs', '512', '--buffered'], own, '-', undefined, ROUNDS, sector);
    const read = await against('dmsetup-ts io read NAME 8 1 --bs 512 --buffered (dm_read)', ['io', 'read', 'lin', '8', '1', '--bs', '512', '--buffered'], own, '-', undefined);
    for (let i = 1; i < 1000; i++) {
      const name = `zero${String(i).padStart(4, '0')}`;
      kernel.dmIoctl.devCreate(name);
      kernel.dmIoctl.tableLoad({ name }, [{ start: 0, length: 8192, type: 'zero', params: '' }]);
      await kernel.dmIoctl.devResume({ name });
    }
    const infoC = await against('dmsetup info -c, 1,000 devices', ['info', '-c'], env, '≤ 1.5× node -e 0', 1.5);
    for (let i = 0; i < 10_000; i++) kernel.dmIoctl.devCreate(`dev${String(i).padStart(5, '0')}`);
    const ls = await against('dmsetup ls, 10,000 devices', ['ls'], env, '< 300 ms', undefined, 5);
    ls.row.met = ls.row.value < 300;
    return [
      { name: 'node -e 0 (reference, beside status)', value: status.ref.median, unit: 'ms', goal: '-', spread: fmtSpread(status.ref) },
      status.row, write.row, read.row, infoC.row, ls.row,
    ];
  } finally {
    server.close();
    await kernel.shutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
