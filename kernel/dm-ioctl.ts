// The device-mapper control interface (dm-ioctl.c): the commands libdevmapper
// sends, with the kernel's lookup rules, errno results and log lines.

import { DmTable } from './dm-table.js';
import { MappedDevice } from './dm.js';
import { DM_MAJOR, bdevReadOnly } from './block.js';
import { KernelError } from './errno.js';
import type { Kernel } from './kernel.js';
import type { CoreMessageResult } from './dm-stats.js';
import { splitArgs } from '../tables/split.js';

export const DM_DRIVER_VERSION = [4, 47, 0] as const;
const DM_NAME_LEN = 128;
const DM_UUID_LEN = 129;

/** How a command names its device: uuid, else name, else number (__find_device_hash_cell). */
export interface DevRef { name?: string; uuid?: string; minor?: number; major?: number }

export interface DmInfo {
  name: string;
  uuid: string;
  major: number;
  minor: number;
  suspended: boolean;
  readOnly: boolean;
  livePresent: boolean;
  inactivePresent: boolean;
  deferredRemove: boolean;
  openCount: number;
  eventNr: number;
  targetCount: number;
  /** Whether the gendisk exists (read-ahead can be read from its node). */
  hasDisk: boolean;
}

/**
 * One target of DM_TABLE_LOAD: sector_start and length are u64 (struct
 * dm_target_spec); a number is taken as it is (the library API's convenience).
 */
export interface TargetSpec { start: bigint | number; length: bigint | number; type: string; params: string }

/** One target as DM_TABLE_STATUS returns it: exact u64 geometry and the target's text. */
export interface TargetStatus { start: bigint; length: bigint; type: string; params: string }

/** dm-core.h: the most targets a table may have, and the parameter bytes per target copy_params allows for (1 GiB in all). */
export const DM_MAX_TARGETS = 1048576;
export const DM_MAX_TARGET_PARAMS = 1024;
/** Targets built between two turns of the kernel process's event loop (tableLoadAsync). */
const LOAD_YIELD_TARGETS = 1024;

/**
 * The data_size of the DM_TABLE_LOAD ioctl carrying these targets, as libdm's
 * _flatten computes it: struct dm_ioctl (312 bytes), then per target a struct
 * dm_target_spec (40) and its params with their NUL and ALIGNMENT (8), at
 * least 16 KiB.
 */
export function tableLoadDataSize(specs: TargetSpec[]): number {
  let len = 312;
  for (const s of specs) len += 40 + Buffer.byteLength(s.params) + 1 + 8;
  return Math.max(len, 16 * 1024);
}

/** A u64 from the wire or the library API: a bigint, a number or a decimal string; wrapped to 64 bits. */
export function toU64(v: bigint | number | string): bigint {
  return BigInt.asUintN(64, typeof v === 'bigint' ? v : BigInt(v));
}

export interface DeviceListEntry { name: string; uuid: string; major: number; minor: number; eventNr: number }

export class DmIoctl {
  private byName = new Map<string, MappedDevice>();
  private byUuid = new Map<string, MappedDevice>();
  private byMinor = new Map<number, MappedDevice>();
  private log;

  constructor(private readonly kernel: Kernel) {
    this.log = kernel.klog.prefixed('ioctl');
  }

  /** All devices in the kernel's list order (sorted by name, as the rb-tree keeps them). */
  devices(): MappedDevice[] {
    return [...this.byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  deviceByName(name: string): MappedDevice | undefined { return this.byName.get(name); }
  deviceByMinor(minor: number): MappedDevice | undefined { return this.byMinor.get(minor); }

  find(ref: DevRef): MappedDevice {
    let md: MappedDevice | undefined;
    if (ref.uuid) {
      if (ref.name || ref.minor !== undefined) throw new KernelError('ENXIO');
      md = this.byUuid.get(ref.uuid);
    } else if (ref.name) {
      if (ref.minor !== undefined) throw new KernelError('ENXIO');
      md = this.byName.get(ref.name);
    } else if (ref.minor !== undefined) {
      md = (ref.major ?? DM_MAJOR) === DM_MAJOR ? this.byMinor.get(ref.minor) : undefined;
    }
    if (!md) throw new KernelError('ENXIO');
    return md;
  }

  info(md: MappedDevice, inactive = false): DmInfo {
    const table = inactive ? md.inactive : md.live;
    return {
      name: md.name,
      uuid: md.uuid,
      major: md.major,
      minor: md.minor,
      suspended: md.suspended,
      // __dev_status: with a live table, get_disk_ro() (set_disk_ro from the live table's mode, or
      // bd_read_only set by BLKROSET); with DM_QUERY_INACTIVE_TABLE_FLAG only the inactive table's own mode.
      readOnly: inactive ? (md.inactive?.readOnly ?? false) : md.live !== null && (bdevReadOnly(md) || md.readOnly),
      livePresent: md.live !== null,
      inactivePresent: md.inactive !== null,
      deferredRemove: md.deferredRemove,
      openCount: md.openCount,
      eventNr: md.eventNr,
      targetCount: table?.targets.length ?? 0,
      hasDisk: md.hasDisk,
    };
  }

  version(): readonly [number, number, number] { return DM_DRIVER_VERSION; }

  listDevices(): DeviceListEntry[] {
    return this.devices().map((md) => ({ name: md.name, uuid: md.uuid, major: md.major, minor: md.minor, eventNr: md.eventNr }));
  }

  listVersions(): Array<{ name: string; version: readonly [number, number, number] }> {
    return this.kernel.targetTypes.list().map((t) => ({ name: t.name, version: t.version }));
  }

  targetVersion(name: string): { name: string; version: readonly [number, number, number] } {
    const t = this.kernel.targetTypes.get(name);
    if (!t) throw new KernelError('EINVAL');
    return { name: t.name, version: t.version };
  }

  /** DM_DEV_CREATE: a device with no table, the lowest free minor unless one is asked for. */
  devCreate(name: string, uuid = '', minor?: number): DmInfo {
    if (!name || name.length >= DM_NAME_LEN || name.includes('/')) {
      if (name.includes('/')) this.log.err('invalid device name');
      throw new KernelError('EINVAL');
    }
    if (uuid.length >= DM_UUID_LEN) throw new KernelError('EINVAL');
    if (this.byName.has(name) || (uuid && this.byUuid.has(uuid))) throw new KernelError('EBUSY');
    if (minor !== undefined) {
      // dm_create: alloc_dev fails (specific_minor: a minor in use or past MINORBITS) and dm_create says -ENXIO.
      if (this.byMinor.has(minor) || minor >= 1 << 20 || minor < 0) throw new KernelError('ENXIO');
    } else {
      minor = 0;
      while (this.byMinor.has(minor)) minor++;
    }
    const md = new MappedDevice(this.kernel, name, minor);
    md.uuid = uuid;
    this.byName.set(name, md);
    if (uuid) this.byUuid.set(uuid, md);
    this.byMinor.set(minor, md);
    return this.info(md);
  }

  /** DM_DEV_REMOVE. */
  async devRemove(ref: DevRef, deferred = false): Promise<DmInfo> {
    const md = this.find(ref);
    if (md.openCount > 0) {
      if (!deferred) throw new KernelError('EBUSY');
      md.deferredRemove = true;
      return this.info(md);
    }
    const info = this.info(md);
    this.unhash(md);
    await md.locked(() => md.destroy());
    return info;
  }

  /** A device marked for deferred removal lost its last opener. */
  deferredRemove(md: MappedDevice): void {
    this.unhash(md);
    void md.locked(() => md.destroy());
  }

  private unhash(md: MappedDevice): void {
    this.byName.delete(md.name);
    if (md.uuid) this.byUuid.delete(md.uuid);
    this.byMinor.delete(md.minor);
  }

  /** DM_REMOVE_ALL: every device nobody holds open, until none can go. */
  async removeAll(): Promise<void> {
    for (;;) {
      const victims = this.devices().filter((md) => md.openCount === 0);
      if (victims.length === 0) return;
      for (const md of victims) {
        if (md.openCount > 0 || this.byMinor.get(md.minor) !== md) continue;
        this.unhash(md);
        await md.locked(() => md.destroy());
      }
    }
  }

  /** DM_DEV_RENAME (dev_rename + dm_hash_rename): a new name, or with setUuid a uuid for a device that has none. */
  /**
   * DM_DEV_SET_GEOMETRY (dev_set_geometry): "%lu %lu %lu %lu%c" read as
   * the kernel's sscanf reads it (digits only, wrapping past 64 bits, a
   * fifth item refused), cylinders up to 65535, heads and sectors up to 255;
   * dm_set_geometry refuses a start beyond cylinders * heads * sectors.
   */
  devSetGeometry(ref: DevRef, geometry: string): DmInfo {
    const md = this.find(ref);
    const nums: bigint[] = [];
    let i = 0, extra = false;
    for (let n = 0; n < 4; n++) {
      while (i < geometry.length && /\s/.test(geometry[i]!)) i++;
      const m = /^[0-9]+/.exec(geometry.slice(i));
      if (!m) break;
      nums.push(BigInt.asUintN(64, BigInt(m[0])));
      i += m[0].length;
    }
    if (nums.length === 4 && i < geometry.length) extra = true; // %c took a character
    const [cyl, heads, sectors, start] = nums;
    if (nums.length !== 4 || extra || cyl! > 65535n || heads! > 255n || sectors! > 255n) {
      this.log.err('Unable to interpret geometry settings.');
      throw new KernelError('EINVAL');
    }
    if (start! > cyl! * heads! * sectors!) {
      this.kernel.klog.prefixed('core').err('Start sector is beyond the geometry limits.');
      throw new KernelError('EINVAL');
    }
    md.geometry = { cylinders: Number(cyl), heads: Number(heads), sectors: Number(sectors), start: start! };
    return this.info(md);
  }

  devRename(ref: DevRef, newValue: string, setUuid = false): DmInfo {
    if (!newValue || newValue.length > (setUuid ? DM_UUID_LEN - 1 : DM_NAME_LEN - 1)) {
      this.log.warn('Invalid new mapped device name or uuid string supplied.');
      throw new KernelError('EINVAL');
    }
    if (!setUuid && newValue.includes('/')) {
      this.log.warn('invalid device name');
      throw new KernelError('EINVAL');
    }
    // dm_hash_rename: is the new one free? Then the old one is looked up by name only.
    const oldName = ref.name ?? '';
    if ((setUuid ? this.byUuid : this.byName).has(newValue)) {
      this.log.warn(`Unable to change ${setUuid ? 'uuid' : 'name'} on mapped device ${oldName} to one that already exists: ${newValue}`);
      throw new KernelError('EBUSY');
    }
    const md = this.byName.get(oldName);
    if (!md) {
      this.log.warn(`Unable to rename non-existent device, ${oldName} to ${setUuid ? 'uuid ' : ''}${newValue}`);
      throw new KernelError('ENXIO');
    }
    if (setUuid) {
      if (md.uuid) {
        this.log.warn(`Unable to change uuid of mapped device ${oldName} to ${newValue} because uuid is already set to ${md.uuid}`);
        throw new KernelError('EINVAL');
      }
      md.uuid = newValue;
      this.byUuid.set(newValue, md);
    } else {
      this.byName.delete(md.name);
      md.name = newValue;
      this.byName.set(newValue, md);
    }
    md.live?.event();
    return this.info(md);
  }

  /** DM_DEV_SUSPEND with DM_SUSPEND_FLAG. */
  async devSuspend(ref: DevRef, noflush = false, nolockfs = false): Promise<DmInfo> {
    const md = this.find(ref);
    await md.locked(() => md.suspend(noflush, !nolockfs));
    return this.info(md);
  }

  /** DM_DEV_SUSPEND without DM_SUSPEND_FLAG: do_resume. */
  async devResume(ref: DevRef, noflush = false, nolockfs = false): Promise<DmInfo> {
    const md = this.find(ref);
    return md.locked(async () => {
      const table = md.inactive;
      md.inactive = null;
      let old: DmTable | null = null;
      if (table) {
        if (!md.suspended) await md.suspend(noflush, !nolockfs);
        try {
          old = md.swapTable(table);
        } catch (e) {
          table.destroy();
          throw e;
        }
        md.readOnly = table.readOnly;
      }
      const r = await md.resume();
      old?.destroy();
      if (r) throw new KernelError(r);
      return this.info(md);
    });
  }

  /** DM_DEV_STATUS. */
  devStatus(ref: DevRef, inactive = false): DmInfo { return this.info(this.find(ref), inactive); }

  /** DM_DEV_WAIT: wait for the event counter to move past eventNr. */
  async devWait(ref: DevRef, eventNr: number): Promise<DmInfo> {
    const md = this.find(ref);
    await md.waitEvent(eventNr);
    return this.info(md);
  }

  /** DM_TABLE_LOAD: build and validate a table into the inactive slot. */
  tableLoad(ref: DevRef, specs: TargetSpec[], readOnly = false, attachCwd?: string): DmInfo {
    const steps = this.tableLoadSteps(ref, specs, readOnly, attachCwd);
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
    }
  }

  /**
   * DM_TABLE_LOAD as the kernel process serves it: the same, but other
   * requests are served between every LOAD_YIELD_TARGETS targets, as table_load
   * builds a table without holding any lock (a client loading a huge table does
   * not stall the others).
   */
  async tableLoadAsync(ref: DevRef, specs: TargetSpec[], readOnly = false, attachCwd?: string): Promise<DmInfo> {
    const steps = this.tableLoadSteps(ref, specs, readOnly, attachCwd);
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** table_load: copy_params' size check, find the device, dm_table_create, populate_table, then hash the table in. */
  private *tableLoadSteps(ref: DevRef, specs: TargetSpec[], readOnly: boolean, attachCwd?: string): Generator<void, DmInfo> {
    const dataSize = tableLoadDataSize(specs);
    if (dataSize > DM_MAX_TARGETS * DM_MAX_TARGET_PARAMS) {
      this.log.err(`Invalid data size in the ioctl structure: ${dataSize >>> 0}`);
      throw new KernelError('EINVAL');
    }
    const md = this.find(ref);
    if (specs.length > DM_MAX_TARGETS) throw new KernelError('EOVERFLOW'); // dm_table_create
    const table = new DmTable(md, this.kernel, readOnly, attachCwd);
    try {
      if (specs.length === 0) {
        this.log.err('populate_table: no targets specified');
        throw new KernelError('EINVAL');
      }
      for (let i = 0; i < specs.length; i++) {
        if (i > 0 && i % LOAD_YIELD_TARGETS === 0) yield;
        const s = specs[i]!;
        try {
          table.addTarget(s.type, toU64(s.start), toU64(s.length), s.params);
        } catch (e) {
          this.log.err('error adding target to table');
          throw e;
        }
      }
      if (!md.hasDiskType) {
        // Initial table load: fix the device type and set up its queue.
        md.hasDiskType = true;
        try {
          table.validateDeviceAreas();
          md.setRestrictions(table);
        } catch (e) {
          this.kernel.klog.prefixed('core').err('Cannot calculate initial queue limits');
          this.log.err('unable to set up device queue for new table.');
          throw e;
        }
        md.hasDisk = true;
      }
      // Removed while its table was being built (other requests ran meanwhile).
      if (this.byMinor.get(md.minor) !== md) {
        this.log.err('device has been removed from the dev hash table.');
        throw new KernelError('ENXIO');
      }
    } catch (e) {
      table.destroy();
      throw e;
    }
    md.inactive?.destroy();
    md.inactive = table;
    return this.info(md);
  }

  /** DM_TABLE_CLEAR: drop the inactive table. */
  tableClear(ref: DevRef): DmInfo {
    const md = this.find(ref);
    md.inactive?.destroy();
    md.inactive = null;
    return this.info(md);
  }

  /** DM_TABLE_DEPS. */
  tableDeps(ref: DevRef, inactive = false): { info: DmInfo; deps: Array<{ major: number; minor: number; diskName: string }> } {
    const md = this.find(ref);
    const table = inactive ? md.inactive : md.live;
    const deps = (table?.deps() ?? []).map((b) => ({ major: b.major, minor: b.minor, diskName: b.diskName }));
    return { info: this.info(md, inactive), deps };
  }

  /** DM_TABLE_STATUS: each target's INFO (or TABLE) text, for targets that answer at once. */
  tableStatus(ref: DevRef, type: 'info' | 'table' | 'ima', inactive = false): { info: DmInfo; targets: TargetStatus[] } {
    const r = this.tableStatusOf(ref, type, inactive);
    const targets = r.targets.map((t) => {
      if (typeof t.params !== 'string') throw new Error(`the ${t.type} target's status must be waited for (tableStatusAsync)`);
      return { ...t, params: t.params };
    });
    return { info: r.info, targets };
  }

  /** DM_TABLE_STATUS as the ioctl runs it: a target's status may sleep (a userspace log asking its server). */
  async tableStatusAsync(ref: DevRef, type: 'info' | 'table' | 'ima', inactive = false): Promise<{ info: DmInfo; targets: TargetStatus[] }> {
    const r = this.tableStatusOf(ref, type, inactive);
    const targets: TargetStatus[] = [];
    for (const t of r.targets) targets.push({ ...t, params: await t.params });
    return { info: r.info, targets };
  }

  private tableStatusOf(ref: DevRef, type: 'info' | 'table' | 'ima', inactive: boolean) {
    const md = this.find(ref);
    const table = inactive ? md.inactive : md.live;
    const info = this.info(md, inactive);
    const targets = (table?.targets ?? []).map((t) => ({
      start: t.begin, length: t.len, type: t.type.name, params: t.target.status?.(type) ?? '',
    }));
    return { info, targets };
  }

  /**
   * DM_TARGET_MSG. data: the bytes of the reply (the C string at the start of
   * the result buffer) when the handler returned 1.
   */
  targetMessage(ref: DevRef, sector: bigint | number, message: string): { info: DmInfo; data?: Buffer } {
    const md = this.find(ref);
    const argv = splitArgs(message);
    if (argv.length === 0) {
      this.log.err('Empty message received.');
      throw new KernelError('EINVAL');
    }
    const core = this.messageForMd(md, argv);
    if (core.handled) {
      if (core.result === undefined) return { info: this.info(md) };
      // A handler that returned 1 without emitting anything leaves the result
      // buffer as it was: get_result_buffer puts it where the request's
      // struct dm_target_msg is (its sector, then the message as
      // dm_split_args left it).
      const reply = core.result === '' ? messageBufferString(toU64(sector), message) : Buffer.from(core.result);
      return { info: this.info(md), data: reply };
    }
    const table = md.live;
    if (!table) {
      this.log.err('The device has no table.');
      throw new KernelError('EINVAL');
    }
    const t = table.findTargetExact(toU64(sector));
    if (!t) {
      this.log.err('Target message sector outside device.');
      throw new KernelError('EINVAL');
    }
    if (!t.target.message) {
      this.log.err('Target type does not support messages');
      throw new KernelError('EINVAL');
    }
    const data = t.target.message(argv);
    return { info: this.info(md), data: data === null || data === undefined ? undefined : Buffer.from(data) };
  }

  /**
   * message_for_md: messages starting with '@' are the DM core's own
   * (@cancel_deferred_remove, dm-stats' @stats_*), matched without regard to case.
   */
  private messageForMd(md: MappedDevice, argv: string[]): CoreMessageResult {
    const cmd = argv[0]!;
    if (!cmd.startsWith('@')) return { handled: false };
    if (cmd.toLowerCase() === '@cancel_deferred_remove') {
      if (argv.length !== 1) {
        this.log.err('Invalid arguments for @cancel_deferred_remove');
        throw new KernelError('EINVAL');
      }
      md.deferredRemove = false;
      return { handled: true };
    }
    const r = md.stats.message(argv, md.live?.size() ?? 0n);
    if (r.handled) return r;
    this.log.err(`Unsupported message sent to DM core: ${cmd}`);
    throw new KernelError('EINVAL');
  }
}

/**
 * The C string at the start of a DM_TARGET_MSG buffer after dm_split_args:
 * struct dm_target_msg's u64 sector (little-endian), then the message, whose
 * leading white space is untouched and whose first word dm_split_args has
 * unescaped in place and ended with a NUL. Up to the first NUL.
 */
export function messageBufferString(sector: bigint, message: string): Buffer {
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(sector);
  const lead = /^[ \t\n\v\f\r]*/.exec(message)![0];
  const text = Buffer.concat([head, Buffer.from(lead + (splitArgs(message)[0] ?? ''))]);
  const nul = text.indexOf(0);
  return nul < 0 ? text : text.subarray(0, nul);
}
