// The thin client's cost: `dmsetup-ts status NAME` and `dmsetup info -c` over
// 1,000 devices against `node -e 0`, and `dmsetup ls` over 10,000 devices
// created through the library API (the kernel is served from this process,
// as the daemon would serve it).

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bootKernel } from '../targets/modules.js';
import { serve, listenExclusive } from '../kernel/server.js';
import { SOCKET_NAME } from '../kernel/runtime-dir.js';
import type { BenchResult } from './run.js';

/** The command as installed (package.json's bin): the one-file CLI when built. */
const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dmsetup-ts/bin.cjs');

function once(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${args.join(' ')} exited ${code}`))));
  });
}

/** Median wall time in ms over n runs, after one warm-up. */
async function median(args: string[], env: NodeJS.ProcessEnv, n: number): Promise<number> {
  await once(args, env);
  const times: number[] = [];
  for (let i = 0; i < n; i++) times.push(await once(args, env));
  times.sort((a, b) => a - b);
  return times[Math.floor(n / 2)]!;
}

export async function run(): Promise<BenchResult[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmsetup-ts-bench-'));
  const kdir = path.join(dir, 'kernel');
  fs.mkdirSync(kdir, { mode: 0o700 });
  const kernel = bootKernel();
  const server = net.createServer();
  serve(kernel, server, () => undefined);
  await listenExclusive(server, path.join(kdir, SOCKET_NAME));
  const env = { ...process.env, DMSETUP_TS_DIR: kdir, DMSETUP_TS_PROG: 'dmsetup' };
  try {
    kernel.dmIoctl.devCreate('lin');
    kernel.dmIoctl.tableLoad({ name: 'lin' }, [{ start: 0, length: 8192, type: 'zero', params: '' }]);
    await kernel.dmIoctl.devResume({ name: 'lin' });
    const node = await median(['-e', '0'], env, 15);
    const status = await median([MAIN, 'status', 'lin'], env, 15);
    for (let i = 1; i < 1000; i++) {
      const name = `zero${String(i).padStart(4, '0')}`;
      kernel.dmIoctl.devCreate(name);
      kernel.dmIoctl.tableLoad({ name }, [{ start: 0, length: 8192, type: 'zero', params: '' }]);
      await kernel.dmIoctl.devResume({ name });
    }
    const nodeAgain = await median(['-e', '0'], env, 15);
    const infoC = await median([MAIN, 'info', '-c'], env, 9);
    for (let i = 0; i < 10_000; i++) kernel.dmIoctl.devCreate(`dev${String(i).padStart(5, '0')}`);
    const ls = await median([MAIN, 'ls'], env, 5);
    return [
      { name: 'node -e 0 (reference)', value: node, unit: 'ms', goal: '-' },
      { name: 'dmsetup-ts status NAME', value: status, unit: 'ms', ratio: status / node, goal: '≤ 1.5× node -e 0', met: status / node <= 1.5 },
      { name: 'dmsetup info -c, 1,000 devices', value: infoC, unit: 'ms', ratio: infoC / nodeAgain, goal: '≤ 1.5× node -e 0', met: infoC / nodeAgain <= 1.5 },
      { name: 'dmsetup ls, 10,000 devices', value: ls, unit: 'ms', ratio: ls / node, goal: '< 300 ms', met: ls < 300 },
    ];
  } finally {
    server.close();
    await kernel.shutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
