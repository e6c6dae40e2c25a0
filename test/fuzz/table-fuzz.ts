// The table and ioctl fuzzer: seeded random table lines (valid ones and mutated
// ones, for every target type) and ioctl sequences (create, load, resume,
// suspend, message, rename, status, I/O at the edges, remove) against an
// in-process kernel on the virtual clock, every operation bounded in time.
// What must hold: only KernelErrors come out of the kernel, nothing hangs, a
// failed load releases what it took and a failed create leaves nothing, every
// device can be removed (and every loop device is closed again), and a mirror
// whose legs work has identical legs once in sync, with every acknowledged
// write readable.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bootKernel } from '../../targets/modules.js';
import { Bio, ReqOp, REQ_FUA, REQ_PREFLUSH, REQ_RAHEAD, REQ_SYNC, submitBio, type BlkStatus } from '../../kernel/bio.js';
import { KernelError } from '../../kernel/errno.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { TargetSpec } from '../../kernel/dm-ioctl.js';
import type { MappedDevice } from '../../kernel/dm.js';
import { waitForSync } from '../../targets/mirror/sync-progress.js';
import { EDGE_NUMBERS, Rng, caseSeed } from './rng.js';
import { Hang, bounded, type FuzzFailure, type Summary, newSummary, trapEscapes } from './summary.js';

export interface TableFuzzOptions {
  cases: number;
  seed: number;
  /** Where the loop devices' files go (a temporary directory by default, removed afterwards). */
  dir?: string;
  /** The index of the first case (to replay one case of a run: first = i, cases = 1). */
  first?: number;
  /** Real-time bound of one operation. */
  opTimeoutMs?: number;
  /** Stop collecting details after this many failures (counting goes on). */
  maxFailures?: number;
}

/** Sectors of the data disks (loop0-loop5), the log disk (loop6) and the tiny one (loop7). */
const DISK = 16384;
const LOG_DISK = 2048;
const TINY = 128;
const DATA_LOOPS = [0, 1, 2, 3, 4, 5];
/** loop8 exists with no file (size 0); loop9 is read-only; loop15 has no file either. */
const DEVICES = ['/dev/loop0', '/dev/loop1', '/dev/loop2', '/dev/loop3', '/dev/loop4', '/dev/loop5', '/dev/loop6', '/dev/loop7',
  '/dev/loop8', '/dev/loop9', '7:0', '7:1', '7:5', '7:9', '7:15', '7:16', '7:255', '7:4294967295', '254:0', '254:1', '1:3',
  '/dev/nosuch', '/dev/mapper/nosuch', '/dev/null', 'loop0', '/dev/loop', '/dev/loop00', '/dev/loop0 ', '-', '0:0', '/', ''];
const MESSAGES = ['@stats_create - /1', '@stats_create 0+8 /2', '@stats_list', '@stats_print 0', '@stats_print_clear 0', '@stats_delete 0',
  '@stats_clear 0', '@stats_set_aux 0 x', '@stats_create - /0', '@stats_create - /18446744073709551615', '@cancel_deferred_remove',
  '@cancel_deferred_remove x', '@nope', 'foo', '', ' ', 'handle_errors', 'rename x', '@stats_create 0+0 /1', '@STATS_LIST'];

interface Made { spec: TargetSpec[]; valid: boolean; mirror?: MirrorPlan }
/** A valid mirror over working legs: what the invariant check needs. */
interface MirrorPlan { legs: Array<{ loop: number; offset: number }>; len: number; nosync: boolean }

class Case {
  readonly log: string[] = [];
  /** Bios not yet completed: each must complete by the end of the case. */
  readonly io: Array<{ what: string; done: Promise<BlkStatus> }> = [];
  /** The minors of the devices this case created. */
  readonly minors = new Set<number>();
  constructor(readonly rng: Rng, readonly index: number, readonly seed: number) {}
}

class TableFuzzer {
  k!: Kernel;
  readonly s: Summary;
  /** Operations running at once: the before/after checks of one operation hold only when it runs alone. */
  private concurrent = 0;
  private dir: string;
  private ownDir: boolean;

  constructor(readonly opts: TableFuzzOptions) {
    this.s = newSummary('table', opts.cases, opts.seed);
    this.ownDir = !opts.dir;
    this.dir = opts.dir ?? fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'table-fuzz-'));
    fs.mkdirSync(this.dir, { recursive: true });
  }

  private get timeout(): number { return this.opts.opTimeoutMs ?? 5000; }

  boot(): void {
    this.k = bootKernel({ virtualClock: true });
    const file = (n: number, sectors: number) => {
      const f = path.join(this.dir, `d${n}`);
      fs.writeFileSync(f, '');
      fs.truncateSync(f, sectors * 512);
      return f;
    };
    for (const n of DATA_LOOPS) this.k.loopAttach(n, file(n, DISK));
    this.k.loopAttach(6, file(6, LOG_DISK));
    this.k.loopAttach(7, file(7, TINY));
    this.k.loopAttach(9, file(9, DISK), true);
  }

  cleanupDir(): void { if (this.ownDir) fs.rmSync(this.dir, { recursive: true, force: true }); }

  fail(c: Case, kind: FuzzFailure['kind'], what: string): void {
    if (kind === 'escaped') this.s.escaped++;
    else if (kind === 'hang') this.s.hangs++;
    else if (kind === 'leftover') this.s.leftovers++;
    else this.s.invariants++;
    if (this.s.failures.length < (this.opts.maxFailures ?? 20)) {
      this.s.failures.push({ case: c.index, seed: c.seed, kind, what, ops: c.log.slice(-30) });
    }
  }

  /** One operation: bounded; a KernelError is the kernel's answer, anything else escaped. */
  async op<T>(c: Case, label: string, fn: () => T | Promise<T>): Promise<{ ok: true; v: T } | { ok: false; errno?: string }> {
    this.s.ops++;
    c.log.push(label);
    try {
      const v = await bounded((async () => fn())(), this.timeout, label);
      return { ok: true, v };
    } catch (e) {
      if (e instanceof Hang) { this.fail(c, 'hang', label); throw e; }
      if (e instanceof KernelError) { this.s.kernelErrors++; return { ok: false, errno: e.errno }; }
      this.fail(c, 'escaped', `${label}: ${(e as Error)?.stack ?? String(e)}`);
      return { ok: false };
    }
  }

  private openCounts(): number[] { return this.k.loopDevices().map((l) => l.openCount); }

  // ---- table lines ------------------------------------------------------------

  private num(r: Rng, valid: number): string { return r.chance(0.85) ? String(valid) : r.pick(EDGE_NUMBERS); }

  private lenFor(r: Rng): number {
    return r.pick([1, 2, 7, 8, 64, 1000, 1024, 2048, 4096, 8192, 16384, r.range(1, 16384)]);
  }

  /** A valid (or nearly valid) target of each type, with its params. */
  private target(r: Rng, start: number, others: string[]): Made {
    const type = r.pick(['linear', 'linear', 'striped', 'zero', 'error', 'flakey', 'delay', 'mirror', 'mirror', 'mirror']);
    const dev = () => r.chance(0.9) ? `/dev/loop${r.pick(DATA_LOOPS)}` : r.chance(0.5) && others.length ? r.pick(others) : r.pick(DEVICES);
    let len = this.lenFor(r);
    const off = (n: number) => r.range(0, Math.max(0, DISK - n));
    let params = '';
    let mirror: MirrorPlan | undefined;
    switch (type) {
      case 'linear': params = `${dev()} ${off(len)}`; break;
      case 'zero': case 'error': params = r.chance(0.1) ? 'x' : ''; break;
      case 'striped': {
        const n = r.range(1, 4);
        const chunk = r.pow2(3, 9);
        len = n * chunk * r.range(1, Math.max(1, Math.floor(DISK / chunk / 4)));
        const devs = Array.from({ length: n }, () => `${dev()} ${off(len / n)}`);
        params = `${n} ${chunk} ${devs.join(' ')}`;
        break;
      }
      case 'flakey': {
        const feats: string[] = [];
        for (const f of ['drop_writes', 'error_writes', 'error_reads']) if (r.chance(0.2)) feats.push(f);
        if (r.chance(0.2)) feats.push('corrupt_bio_byte', String(r.range(1, 512)), r.pick(['r', 'w']), String(r.range(0, 255)), String(r.pick([0, 1, 2048, 1 << 17])));
        if (r.chance(0.1)) feats.push(r.pick(['random_read_corrupt', 'random_write_corrupt', 'nope']), '1');
        params = `${dev()} ${off(len)} ${r.range(0, 3)} ${r.range(0, 3)}`;
        if (feats.length || r.chance(0.2)) params += ` ${feats.length} ${feats.join(' ')}`;
        break;
      }
      case 'delay': {
        const groups = r.range(1, 3);
        params = Array.from({ length: groups }, () => `${dev()} ${off(len)} ${r.pick([0, 0, 1, 5, 50, 500])}`).join(' ');
        break;
      }
      case 'mirror': {
        len = r.pick([64, 1000, 1024, 2048, 4096, r.range(2, 4096)]);
        const nr = r.chance(0.8) ? 2 : r.range(3, 4);
        const loops = [...DATA_LOOPS].sort(() => r.int(3) - 1).slice(0, nr);
        const legs = loops.map((loop) => ({ loop, offset: off(len) }));
        const rs = r.pow2(1, 11);
        const sync = r.pick(['', '', 'sync', 'nosync']);
        const disk = r.chance(0.4);
        const logArgs = [...(disk ? ['/dev/loop6'] : []), String(rs), ...(sync ? [sync] : [])];
        const feats = r.pick([[], [], ['handle_errors'], ['handle_errors', 'keep_log'], ['keep_log'], ['handle_errors', 'handle_errors']]);
        params = `${disk ? 'disk' : 'core'} ${logArgs.length} ${logArgs.join(' ')} ${nr} ${legs.map((l) => `/dev/loop${l.loop} ${l.offset}`).join(' ')}`;
        if (feats.length || r.chance(0.1)) params += ` ${feats.length} ${feats.join(' ')}`.trimEnd();
        mirror = { legs, len, nosync: sync === 'nosync' };
        break;
      }
    }
    return { spec: [{ start, length: len, type, params }], valid: true, mirror };
  }

  /** A table: one to three targets, valid or mutated at the token, the line or the table level. */
  table(r: Rng, others: string[]): Made {
    const n = r.chance(0.75) ? 1 : r.range(2, 3);
    const spec: TargetSpec[] = [];
    let start = 0;
    let mirror: MirrorPlan | undefined;
    for (let i = 0; i < n; i++) {
      const t = this.target(r, start, others);
      spec.push(...t.spec);
      if (n === 1) mirror = t.mirror;
      start += Number(t.spec[0]!.length);
    }
    if (r.chance(0.55)) return { spec, valid: true, mirror };
    // Mutations.
    const m = r.int(14);
    const t = spec[r.int(spec.length)]!;
    const toks = t.params.split(' ').filter((x) => x !== '');
    const at = r.int(Math.max(1, toks.length));
    switch (m) {
      case 0: toks[at] = r.pick(EDGE_NUMBERS); break;
      case 1: toks.splice(at, 1); break;
      case 2: toks.splice(at, 0, r.pick(EDGE_NUMBERS)); break;
      case 3: toks.splice(at, 0, toks[at] ?? 'x'); break;
      case 4: toks[at] = r.pick(DEVICES); break;
      case 5: t.type = r.pick(['linear', 'striped', 'zero', 'error', 'flakey', 'delay', 'mirror', 'nope', '', 'Linear', 'mirror ', 'raid1', 'userspace']); break;
      case 6: t.length = r.pick([0, -1, 2 ** 32, 2 ** 53, 18446744073709551615n, 9223372036854775808n, 1n << 63n, (1n << 64n) - 1n]); break;
      case 7: t.start = r.pick([1, -1, 8, 2 ** 32, (1n << 64n) - 1n, Number(t.start) + 1]); break;
      case 8: t.params = t.params + ' ' + Array.from({ length: r.range(1, 300) }, () => r.pick(EDGE_NUMBERS)).join(' '); break;
      case 9: t.params = toks.join(r.pick(['\t', '  ', ' \\ ', '\\\t'])); break;
      case 10: t.params = Buffer.from(r.bytes(r.range(0, 64))).toString('latin1'); break;
      case 11: { // a huge count: #stripes, #mirrors, #feature args, #log params
        const i = toks.findIndex((x) => /^[0-9]+$/.test(x));
        if (i >= 0) toks[i] = r.pick(['4294967295', '4294967296', '1000000', '9', '10', '65', '18446744073709551615']);
        break;
      }
      case 12: spec.push({ start: r.pick([0, start - 1, start + 1, start]), length: r.pick([1, 8]), type: 'zero', params: '' }); break;
      case 13: if (spec.length > 1) spec.reverse(); else toks.reverse(); break;
    }
    if (m <= 4 || m === 11 || (m === 13 && spec.length === 1)) t.params = toks.join(' ');
    return { spec, valid: false };
  }

  // ---- operations ---------------------------------------------------------------

  private name(r: Rng): string {
    return r.pick(['a', 'b', 'fz', 'x'.repeat(127), 'x'.repeat(128), '', 'a/b', '..', '-', 'ünï', ' sp', 'a'.repeat(r.range(1, 40)), 'mirror', 'control']);
  }

  /** dmsetup create: DM_DEV_CREATE, DM_TABLE_LOAD, DM_DEV_SUSPEND (resume); on failure the device is removed. */
  async create(c: Case, name: string, made: Made): Promise<MappedDevice | undefined> {
    const before = this.openCounts();
    const devsBefore = this.k.dmIoctl.devices().length;
    const r = await this.op(c, `create ${JSON.stringify(name)}`, () => this.k.dmIoctl.devCreate(name, c.rng.chance(0.2) ? `U-${c.index}-${name.length}` : ''));
    if (!r.ok) return undefined;
    c.minors.add(r.v.minor);
    const load = await this.op(c, `load ${JSON.stringify(name)} ${JSON.stringify(made.spec, (_, v) => typeof v === 'bigint' ? `${v}n` : v)}`, () => this.k.dmIoctl.tableLoad({ name }, made.spec));
    let ok = load.ok;
    if (!load.ok && !this.concurrent) {
      const after = this.openCounts();
      if (after.some((n, i) => n !== before[i])) this.fail(c, 'leftover', `a failed load left loop devices open: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
      const md = this.k.dmIoctl.deviceByName(name);
      if (md?.inactive) this.fail(c, 'leftover', 'a failed load left an inactive table');
    } else {
      const res = await this.op(c, `resume ${JSON.stringify(name)}`, () => this.k.dmIoctl.devResume({ name }));
      ok = res.ok;
    }
    if (ok) return this.k.dmIoctl.deviceByName(name);
    await this.op(c, `remove ${JSON.stringify(name)} (failed create)`, () => this.k.dmIoctl.devRemove({ name }));
    if (!this.k.dmIoctl.deviceByMinor(r.v.minor)) c.minors.delete(r.v.minor);
    if (this.concurrent) return undefined;
    if (this.k.dmIoctl.deviceByName(name) || this.k.dmIoctl.devices().length !== devsBefore) this.fail(c, 'leftover', `a failed create of ${JSON.stringify(name)} left a device`);
    const after = this.openCounts();
    if (after.some((n, i) => n !== before[i])) this.fail(c, 'leftover', `a failed create left loop devices open: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
    return undefined;
  }

  /** A bio at the edges of the device (or far beyond); not awaited past a short while. */
  async io(c: Case, md: MappedDevice): Promise<void> {
    const r = c.rng;
    const size = md.sizeSectors();
    const sector = r.pick([0, 0, size - 1, size - 8, size, size + 1, r.int(Math.max(1, size)), r.int(Math.max(1, size)),
      2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 63, 2 ** 64, Number.MAX_SAFE_INTEGER]);
    if (sector < 0) return;
    const sectors = r.pick([0, 1, 1, 7, 8, 8, 64, 255, 256, 1024, r.range(1, 128)]);
    const op = r.pick([ReqOp.READ, ReqOp.READ, ReqOp.WRITE, ReqOp.WRITE, ReqOp.FLUSH, ReqOp.DISCARD]);
    const flags = (r.chance(0.1) ? REQ_FUA : 0) | (r.chance(0.1) ? REQ_PREFLUSH : 0) | (r.chance(0.1) ? REQ_SYNC : 0) | (op === ReqOp.READ && r.chance(0.1) ? REQ_RAHEAD : 0);
    const data = op === ReqOp.FLUSH ? Buffer.alloc(0) : op === ReqOp.WRITE ? r.bytes(sectors * 512) : Buffer.alloc(sectors * 512);
    const what = `io ${ReqOp[op]} ${md.name} ${sector}+${sectors} flags ${flags}`;
    this.s.ops++;
    c.log.push(what);
    let thrown: unknown;
    const done = new Promise<BlkStatus>((resolve) => {
      try {
        submitBio(new Bio(op, md, sector, data, (b) => resolve(b.status), flags));
      } catch (e) {
        thrown = e;
        resolve('EIO');
      }
    });
    if (thrown !== undefined) {
      if (thrown instanceof KernelError) this.s.kernelErrors++;
      else this.fail(c, 'escaped', `${what}: ${(thrown as Error)?.stack ?? String(thrown)}`);
      return;
    }
    c.io.push({ what, done });
    // Most bios complete at once on the virtual clock; held ones wait for a suspend.
    await Promise.race([done, new Promise((res) => setImmediate(res))]);
  }

  /** One random ioctl (or bio) on one of the case's devices. */
  async randomOp(c: Case, made: () => Made): Promise<void> {
    const r = c.rng;
    const io = this.k.dmIoctl;
    const mds = [...c.minors].map((m) => io.deviceByMinor(m)).filter((m): m is MappedDevice => !!m);
    const md = mds.length ? r.pick(mds) : undefined;
    const name = md && r.chance(0.95) ? md.name : this.name(r);
    const q = JSON.stringify(name);
    switch (r.int(18)) {
      case 16: case 17: {
        // Two or three operations at once, as concurrent clients would send them.
        const n = r.range(2, 3);
        this.concurrent++;
        try {
          await Promise.all(Array.from({ length: n }, () => this.randomOp(c, made)));
        } finally { this.concurrent--; }
        break;
      }
      case 0: case 1: case 2: if (md) await this.io(c, md); break;
      case 3: await this.op(c, `suspend ${q}`, () => io.devSuspend({ name }, r.chance(0.4))); break;
      case 4: await this.op(c, `resume ${q}`, () => io.devResume({ name }, r.chance(0.2))); break;
      case 5: {
        const m = made();
        const before = this.openCounts();
        const hadInactive = !!io.deviceByName(name)?.inactive;
        const res = await this.op(c, `load ${q} ${JSON.stringify(m.spec, (_, v) => typeof v === 'bigint' ? `${v}n` : v)}`, () => io.tableLoad({ name }, m.spec, r.chance(0.1)));
        if (!res.ok && !this.concurrent) {
          const after = this.openCounts();
          if (after.some((n, i) => n !== before[i])) this.fail(c, 'leftover', `a failed load left loop devices open: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
          if (!!io.deviceByName(name)?.inactive !== hadInactive) this.fail(c, 'leftover', 'a failed load changed the inactive table');
        }
        break;
      }
      case 6: await this.op(c, `clear ${q}`, () => io.tableClear({ name })); break;
      case 7: {
        const msg = r.pick(MESSAGES);
        const sector = r.pick([0, 0, 1, 8, 2 ** 53, (1n << 64n) - 1n]);
        await this.op(c, `message ${q} ${sector} ${JSON.stringify(msg)}`, () => io.targetMessage({ name }, sector, msg));
        break;
      }
      case 8: {
        const to = this.name(r);
        const uuid = r.chance(0.3);
        await this.op(c, `rename ${q} ${uuid ? '--setuuid ' : ''}${JSON.stringify(to)}`, () => io.devRename({ name }, to, uuid));
        break;
      }
      case 9: case 10: {
        const type = r.pick(['info', 'table', 'ima'] as const);
        await this.op(c, `status ${q} ${type}`, () => io.tableStatusAsync({ name }, type, r.chance(0.3)));
        break;
      }
      case 11: await this.op(c, `deps ${q}`, () => io.tableDeps({ name }, r.chance(0.3))); break;
      case 12: await this.op(c, `info ${q}`, () => io.devStatus(r.chance(0.8) ? { name } : r.pick([{ minor: r.int(8) }, { uuid: 'nosuch' }, { name, minor: 0 }, {}]))); break;
      case 13: {
        const m = made();
        const nm = r.chance(0.5) ? `fz${c.index % 7}` : this.name(r);
        await this.create(c, nm, m);
        break;
      }
      case 14: {
        if (!r.chance(0.3)) break;
        const deferred = r.chance(0.3);
        await this.op(c, `remove ${q}${deferred ? ' --deferred' : ''}`, () => io.devRemove({ name }, deferred));
        break;
      }
      case 15: await this.op(c, 'list', () => { io.listDevices(); io.listVersions(); return io.targetVersion(r.pick(['mirror', 'linear', 'nope', ''])); }); break;
    }
  }

  /** A mirror over working legs: writes are acknowledged, it comes in sync, legs are identical, data reads back. */
  async mirrorCheck(c: Case, md: MappedDevice, plan: MirrorPlan): Promise<void> {
    if (plan.nosync) return; // nosync declares the legs in sync without copying: they may differ
    this.s.mirrorChecks++;
    const r = c.rng;
    const written: Array<{ sector: number; data: Buffer }> = [];
    for (let i = 0, n = r.range(1, 4); i < n; i++) {
      const sectors = r.pick([1, 8, 64]);
      if (sectors > plan.len) continue;
      const sector = r.int(plan.len - sectors + 1);
      const data = r.bytes(sectors * 512);
      const st = await this.op(c, `mirror write ${md.name} ${sector}+${sectors}`, () => new Promise<BlkStatus>((res) => submitBio(new Bio(ReqOp.WRITE, md, sector, data, (b) => res(b.status)))));
      if (st.ok && st.v === 0) written.push({ sector, data });
      else if (st.ok) this.fail(c, 'invariant', `a write to a mirror over working legs failed: ${st.v}`);
    }
    const sync = await this.op(c, `wait-sync ${md.name}`, () => waitForSync(this.k, md.name, { timeoutMs: this.timeout - 500 }));
    if (!sync.ok) { this.fail(c, 'invariant', `${md.name} did not come in sync`); return; }
    const files = plan.legs.map((l) => this.k.loop(l.loop)!.file!);
    const legData = files.map((f, i) => {
      const fd = fs.openSync(f, 'r');
      try {
        const b = Buffer.alloc(plan.len * 512);
        fs.readSync(fd, b, 0, b.length, plan.legs[i]!.offset * 512);
        return b;
      } finally { fs.closeSync(fd); }
    });
    for (let i = 1; i < legData.length; i++) {
      if (!legData[i]!.equals(legData[0]!)) { this.fail(c, 'invariant', `${md.name} in sync but leg ${i} differs from leg 0`); break; }
    }
    // The last write to a sector wins.
    const expect = Buffer.from(legData[0]!);
    for (const w of written) {
      w.data.copy(expect, w.sector * 512);
      const buf = Buffer.alloc(w.data.length);
      const st = await this.op(c, `mirror read ${md.name} ${w.sector}`, () => new Promise<BlkStatus>((res) => submitBio(new Bio(ReqOp.READ, md, w.sector, buf, (b) => res(b.status)))));
      if (!st.ok || st.v !== 0) this.fail(c, 'invariant', `an acknowledged write to ${md.name} at ${w.sector} does not read back: ${st.ok ? st.v : 'error'}`);
    }
    // Reads return what the legs hold, and the legs hold the writes in their order.
    const last = written.length ? written[written.length - 1]! : undefined;
    if (last && !legData[0]!.subarray(last.sector * 512, last.sector * 512 + last.data.length).equals(last.data)) {
      this.fail(c, 'invariant', `the last acknowledged write to ${md.name} at ${last.sector} is not on leg 0`);
    }
  }

  /** Remove every device of the case (loading an error table where a table holds one open); complete every bio. */
  async cleanup(c: Case): Promise<void> {
    const io = this.k.dmIoctl;
    for (let pass = 0; pass < 4; pass++) {
      const left = [...c.minors].map((m) => io.deviceByMinor(m)).filter((m): m is MappedDevice => !!m).sort((a, b) => b.minor - a.minor);
      if (!left.length) break;
      for (const md of left) {
        const minor = md.minor;
        if (pass > 0) {
          // Still held (a table above it, or its own table naming it): wipe_table as dmsetup does it.
          await this.op(c, `cleanup wipe ${minor}`, async () => {
            io.tableLoad({ minor }, [{ start: 0, length: Math.max(1, md.sizeSectors()), type: 'error', params: '' }]);
            await io.devResume({ minor });
          });
        }
        if (md.deferredRemove) await this.op(c, `cleanup cancel deferred ${minor}`, () => io.targetMessage({ minor }, 0, '@cancel_deferred_remove'));
        await this.op(c, `cleanup remove ${minor}`, () => io.devRemove({ minor }));
      }
    }
    for (const b of c.io.splice(0)) {
      try {
        await bounded(b.done, this.timeout, b.what);
      } catch (e) {
        if (e instanceof Hang) { this.fail(c, 'hang', `${b.what}: never completed, even after every device was removed`); throw e; }
        this.fail(c, 'escaped', `${b.what}: ${(e as Error)?.stack ?? String(e)}`);
      }
    }
    // A deferred remove runs when the last opener goes, and finishes on its own time (as dm_deferred_remove's work does).
    for (let i = 0; i < 50 && this.k.loopDevices().some((l) => l.openCount !== 0); i++) {
      await bounded(this.k.clock.settle(), this.timeout, 'settle').catch(() => undefined);
      await new Promise((res) => setImmediate(res));
    }
    const left = io.devices();
    if (left.length) this.fail(c, 'leftover', `devices left after removal: ${left.map((md) => `${md.name} (${md.minor}${c.minors.has(md.minor) ? '' : ', not known to the case'})`).join(', ')}`);
    const open = this.k.loopDevices().filter((l) => l.openCount !== 0);
    if (open.length) this.fail(c, 'leftover', `loop devices still open: ${open.map((l) => `${l.diskName}=${l.openCount}`).join(', ')}`);
    // Whatever is left goes, so the next case starts clean.
    if (left.length || open.length) { await this.reboot(); }
  }

  async reboot(): Promise<void> {
    const old = this.k;
    await bounded(old.shutdown(), this.timeout, 'shutdown').catch(() => undefined);
    for (const l of old.loopDevices()) { try { l.detach(); } catch { /* busy */ } }
    this.boot();
  }

  async runCase(i: number): Promise<void> {
    const seed = caseSeed(this.opts.seed, i);
    const c = new Case(new Rng(seed), i, seed);
    const r = c.rng;
    const others = () => [...c.minors].flatMap((m) => { const md = this.k.dmIoctl.deviceByMinor(m); return md ? [`/dev/mapper/${md.name}`, `254:${m}`] : []; });
    const made = () => this.table(r, others());
    // A disk log remembers its regions across cases: start each case with a blank one,
    // so the first mirror of the case resyncs what earlier cases left different.
    const fd = fs.openSync(this.k.loop(6)!.file!, 'r+');
    try { fs.writeSync(fd, Buffer.alloc(8192), 0, 8192, 0); } finally { fs.closeSync(fd); }
    try {
      const first = made();
      const md = await this.create(c, r.chance(0.9) ? `fz${i % 7}` : this.name(r), first);
      // Checked only while it is the case's one device, so no other device's I/O reaches its legs.
      if (md && first.mirror && r.chance(0.4)) await this.mirrorCheck(c, md, first.mirror);
      for (let n = r.range(0, 8); n > 0; n--) await this.randomOp(c, made);
      await this.cleanup(c);
    } catch (e) {
      if (!(e instanceof Hang)) throw e;
      await this.reboot();
    }
  }
}

/** Run `cases` seeded cases; the summary counts escaped exceptions, hangs, leftovers and broken invariants. */
export async function runTableFuzz(opts: TableFuzzOptions): Promise<Summary> {
  const f = new TableFuzzer(opts);
  const t0 = Date.now();
  const untrap = trapEscapes((what) => {
    f.s.escaped++;
    if (f.s.failures.length < (opts.maxFailures ?? 20)) f.s.failures.push({ case: -1, seed: opts.seed, kind: 'escaped', what, ops: [] });
  });
  try {
    f.boot();
    const first = opts.first ?? 0;
    for (let i = first; i < first + opts.cases; i++) await f.runCase(i);
    await bounded(f.k.shutdown(), 5000, 'shutdown').catch(() => undefined);
  } finally {
    untrap();
    f.cleanupDir();
  }
  f.s.ms = Date.now() - t0;
  return f.s;
}
