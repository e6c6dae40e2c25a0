// dmsetup-ts wait-sync NAME: waits until a mirror is in sync. On a terminal it
// draws a bar of regions in sync with the rate and the time left; otherwise it
// prints only the final state.

import { strerror, KernelError } from '../kernel/errno.js';
import type { TargetSpec } from '../kernel/dm-ioctl.js';
import { isInSync, syncProgress, type SyncProgress } from '../targets/mirror/sync-progress.js';
import { KernelClient, KernelUnreachable } from './client.js';

export const usage = `Usage: dmsetup-ts wait-sync [--timeout SECONDS] NAME
Waits until mirror NAME has every region in sync, then prints its state and exits 0.
On a terminal, shows a bar of regions in sync with the rate and the time left.
--timeout: give up after SECONDS (exit 1; default: wait as long as it takes).
`;

const BAR = 30;

/** One line of the bar: regions in sync, rate (regions/s) and time left. */
export function progressLine(name: string, p: SyncProgress, rate: number): string {
  const done = p.regions ? Math.floor((BAR * p.inSync) / p.regions) : BAR;
  const pct = p.regions ? Math.floor((100 * p.inSync) / p.regions) : 100;
  const left = rate > 0 ? (p.regions - p.inSync) / rate : NaN;
  const eta = Number.isFinite(left) ? `${Math.floor(left / 60)}:${String(Math.ceil(left % 60)).padStart(2, '0')} left` : '--:-- left';
  return `${name} [${'#'.repeat(done)}${'-'.repeat(BAR - done)}] ${p.inSync}/${p.regions} regions ${pct}% ${rate.toFixed(1)} regions/s ${eta}`;
}

export function finalLine(name: string, p: SyncProgress): string {
  return `${name}: ${isInSync(p) ? 'in sync' : 'not in sync'}: ${p.inSync}/${p.regions} regions, legs ${p.health}`;
}

export async function main(argv: string[]): Promise<number> {
  let timeoutS = Infinity;
  const pos: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = a === '--timeout' ? argv[++i] : a.startsWith('--timeout=') ? a.slice(10) : undefined;
    if (a === '--timeout' || a.startsWith('--timeout=')) {
      if (v === undefined || !(Number(v) > 0)) { process.stderr.write(`dmsetup-ts wait-sync: --timeout needs a positive number of seconds\n${usage}`); return 2; }
      timeoutS = Number(v);
    } else if (a.startsWith('-')) {
      process.stderr.write(`dmsetup-ts wait-sync: unknown option ${a}\n${usage}`); return 2;
    } else pos.push(a);
  }
  if (pos.length !== 1) { process.stderr.write(usage); return 2; }
  const name = pos[0]!;
  const client = await KernelClient.connect().catch((e: Error) => e);
  if (client instanceof Error) {
    process.stderr.write(`dmsetup-ts wait-sync: cannot reach the emulated kernel: ${client.message}\n`);
    return 1;
  }
  const tty = process.stdout.isTTY === true;
  const started = Date.now();
  const samples: Array<{ t: number; n: number }> = [];
  let drawn = false;
  try {
    for (;;) {
      const st = (await client.call<{ targets: TargetSpec[] }>('tableStatus', { ref: { name }, type: 'info' })).result;
      const p = syncProgress(st.targets);
      if (!p) { process.stderr.write(`dmsetup-ts wait-sync: ${name}: not a mirror (its table has no mirror target)\n`); return 1; }
      const now = Date.now();
      samples.push({ t: now, n: p.inSync });
      while (samples.length > 2 && now - samples[0]!.t > 5000) samples.shift(); // rate over the last 5 s
      const first = samples[0]!;
      const rate = now > first.t ? ((p.inSync - first.n) * 1000) / (now - first.t) : 0;
      if (tty) { process.stdout.write(`\r\x1b[K${progressLine(name, p, rate)}`); drawn = true; }
      if (isInSync(p) || now - started >= timeoutS * 1000) {
        if (drawn) process.stdout.write('\r\x1b[K');
        process.stdout.write(finalLine(name, p) + '\n');
        return isInSync(p) ? 0 : 1;
      }
      await new Promise((r) => setTimeout(r, tty ? 100 : 50));
    }
  } catch (e) {
    if (drawn) process.stdout.write('\n');
    if (e instanceof KernelError) {
      process.stderr.write(`dmsetup-ts wait-sync: ${name}: ${e.errno === 'ENXIO' || e.errno === 'ENODEV' ? 'No such device' : strerror(e.errno)}\n`);
      return 1;
    }
    if (e instanceof KernelUnreachable) { process.stderr.write(`dmsetup-ts wait-sync: ${e.message}\n`); return 1; }
    throw e;
  } finally {
    client.close();
  }
}
