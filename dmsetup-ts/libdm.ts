// What libdevmapper does between dmsetup and the kernel: one "task" per
// ioctl, the error line it logs when one fails, name mangling, device
// lookup by path, /dev/mapper nodes, and create = create + load + resume.

import { strerror, KernelError, type Errno } from '../kernel/errno.js';
import type { DmInfo, TargetSpec, DeviceListEntry } from '../kernel/dm-ioctl.js';
import { KernelClient, KernelUnreachable, sharedKernelNote } from './client.js';
import { isPacked, unpackRecords, type PackedRecords } from '../kernel/protocol.js';
import type { Output } from './output.js';

export const LIBRARY_VERSION = '1.02.185 (2022-05-18)';

/** DM_NAME_LEN and DM_UUID_LEN: the ioctl's buffers, the terminating NUL included. */
const DM_NAME_LEN = 128;
const DM_UUID_LEN = 129;
/** The dm major (/proc/devices' device-mapper): a minor alone is under it (_flatten's default-major fallback). */
const DM_DEFAULT_MAJOR = 254;

/** _is_whitelisted_char: what udev accepts in a name unmangled. */
/** A string of whitelisted characters only: mangling leaves it as it is (the common case, tested once). */
const ALL_WHITELISTED = /^[0-9A-Za-z#+\-.:=@_]*$/;
/** The same, also allowing the backslash of a mangled \xNN. */
const ALL_WHITELISTED_OR_BACKSLASH = /^[0-9A-Za-z#+\-.:=@_\\]*$/;

function isWhitelisted(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || '#+-.:=@_'.includes(String.fromCharCode(c));
}

/**
 * How a task names its device: by number when major/minor are set (name and
 * uuid then only appear in messages), else by uuid, else by name.
 */
export interface TaskDevice { name?: string; uuid?: string; major?: number; minor?: number }

/**
 * What a DM_TABLE_LOAD carries besides the targets: _add_target doubles every
 * backslash in the parameters (the kernel's dm_split_args undoes it, so a
 * backslash in a table is a plain character); and the DMSETUP_TS_ATTACH_FILES=1
 * extension of this command's own environment sends its working directory, so
 * that a regular file named in the table is attached to a loop device.
 */
function tableLoadArgs(args: Record<string, unknown>): Record<string, unknown> {
  const targets = (args.targets as TargetSpec[]).map((t) => ({ ...t, params: t.params.replace(/\\/g, '\\\\') }));
  const out: Record<string, unknown> = { ...args, targets };
  if (process.env.DMSETUP_TS_ATTACH_FILES === '1') out.attachCwd = process.cwd();
  return out;
}

/** libdm's fatal condition for us: no kernel to talk to. */
/**
 * The device number the kernel reads from dmi->dev: libdm's MKDEV (64-bit
 * dev_t, minor bits above 8 shifted by 12), which huge_decode_dev takes
 * as the u32 new_decode_dev reads: minors from 2^20 up lose their top bits.
 */
export function kernelDev(major: number, minor: number): { major: number; minor: number } {
  const mi = BigInt(minor >>> 0), ma = BigInt(major >>> 0);
  const dev = Number(((mi & 0xffn) | (ma << 8n) | ((mi & ~0xffn) << 12n)) & 0xffffffffn);
  return { major: (dev & 0xfff00) >>> 8, minor: (dev & 0xff) | ((dev >>> 12) & 0xfff00) };
}

export class NoKernel extends Error {}

/** The task flags _do_dm_ioctl's debug line shows (dm_task_no_open_count, dm_task_no_flush, ...). */
export interface TaskFlags {
  noOpenCount?: boolean; noFlush?: boolean; readOnly?: boolean; skipLockfs?: boolean; retryRemove?: boolean;
  deferredRemove?: boolean; secureData?: boolean; imaMeasurement?: boolean; queryInactive?: boolean; enableChecks?: boolean;
}

export interface TaskOpts {
  /** An errno the caller handles itself: not logged (DM_DEVICE_INFO's ENXIO). */
  quietErrno?: Errno;
  /** A task libdm runs for itself (dm_driver_version, dm_tree, dm_stats, create's sub-tasks): no dmsetup Timestamp line after it. */
  internal?: boolean;
  /** Flags set on this task besides what the ioctl arguments say. */
  flags?: TaskFlags;
  /** dm_task_set_major was called (no default-major fallback in _flatten). */
  majorSet?: boolean;
  /** The caller goes on without goto_out when the task fails (_simple): no "<backtrace>". */
  noStack?: boolean;
}

/** sizeof(struct dm_ioctl), struct dm_target_spec, struct dm_target_msg; _flatten's minimum buffer. */
const DM_IOCTL_SIZE = 312, DM_TARGET_SPEC_SIZE = 40, DM_TARGET_MSG_SIZE = 8, MIN_IOCTL_BUFFER = 16 * 1024, ALIGNMENT = 8;
/** DM_IOCTL_RETRIES and DM_RETRY_USLEEP_DELAY: a remove with retry_remove set, after EBUSY. */
const DM_IOCTL_RETRIES = 25, DM_RETRY_DELAY_MS = 200;
const NSEC_PER_SEC = 1_000_000_000n;

export class Libdm {
  private clientP: Promise<KernelClient> | null = null;
  /** dm_check_version ran (the first dm_task_create does it, with a DM_DEVICE_VERSION task of its own). */
  private versionChecked = false;
  /** dmsetup's _initial_timestamp (-vvv): Timestamp lines after each of its tasks are relative to it. */
  private readonly initialTimestamp: bigint | null;
  /** When the last ioctl of a task that records timestamps ran (_dm_ioctl_timestamp). */
  private ioctlTimestamp: bigint | null = null;
  /** The last task failed (dm_task_run returned 0), as opposed to answering that its device does not exist. */
  lastFailed = false;
  /** dm_task_set_add_node: DM_ADD_NODE_ON_CREATE (--addnodeoncreate), else on resume. */
  addNodeOnCreate = false;
  /** dm_task_set_read_ahead on every task (--readahead): set after each resume. */
  taskReadAhead?: { sectors: number; minimum: boolean };

  /**
   * verbose: dmsetup's -v count; from -vv on libdm logs at debug level
   * (dm_log_init_verbose(verbose - 1)), on stdout, and -vvv adds dmsetup's timestamps.
   * common: the flags dmsetup sets on each of its tasks from its switches (--noopencount, --inactive, --checks).
   */
  constructor(readonly out: Output, readonly mangling: 'none' | 'auto' | 'hex' = 'auto', readonly verbose = 0,
    private readonly common: TaskFlags = {}) {
    this.initialTimestamp = verbose > 2 ? process.hrtime.bigint() : null;
  }

  /** log_debug: shown from -vv on, on stdout (_default_log_line: levels above warning with _verbose set). */
  debug(line: string): void {
    if (this.verbose > 1) this.out.print(line + '\n');
  }

  /** dm_task_create: the first one checks the driver's version (its own version ioctl). */
  taskCreate(): void {
    if (this.versionChecked) return;
    this.versionChecked = true;
    this.debugIoctl('version', {}, null, {}, {}, 1);
  }

  /** dmsetup's _task_run after dm_task_run: under -vvv, when the task's last ioctl ran. */
  private logTimestamp(): void {
    if (this.initialTimestamp === null) return;
    const delta = (this.ioctlTimestamp ?? this.initialTimestamp) - this.initialTimestamp;
    this.debug(`Timestamp: ${String(delta / NSEC_PER_SEC).padStart(7)}.${String(delta % NSEC_PER_SEC).padStart(9, '0')} seconds`);
  }

  /**
   * _do_dm_ioctl's debug line: the task's type, the name and uuid in the
   * ioctl, the new name, major:minor as the task has them, its flags, the
   * message's sector and text, the buffer size and which try this is.
   */
  private debugIoctl(ioctl: string, args: Record<string, unknown>, dev: TaskDevice | null, ref: Record<string, unknown>, flags: TaskFlags, retry: number): void {
    if (this.verbose < 2) return;
    const major = dev?.major ?? -1, minor = dev?.minor ?? -1;
    // RESUME and RELOAD by number send only major:minor (the name is for messages).
    const numbered = major >= 0 && minor >= 0 && (ioctl === 'resume' || ioctl === 'reload');
    const name = numbered ? '' : typeof ref.name === 'string' ? ref.name : '';
    const uuid = typeof ref.uuid === 'string' ? ref.uuid : '';
    const newName = ioctl === 'rename' && typeof args.newValue === 'string' ? args.newValue : null;
    const newUuid = newName !== null && args.setUuid === true;
    const message = ioctl === 'message' && typeof args.message === 'string' ? args.message : '';
    const sector = ioctl === 'message' ? String(args.sector ?? '0') : '0';
    const f = { ...flags };
    if (args.noflush === true) f.noFlush = true;
    if (args.readOnly === true) f.readOnly = true;
    if (args.deferred === true) f.deferredRemove = true;
    if (args.inactive === true) f.queryInactive = true;
    const words = [f.noOpenCount ? 'noopencount ' : 'opencount ', f.noFlush ? 'noflush ' : 'flush ', f.readOnly ? 'readonly ' : '',
      f.skipLockfs ? 'skiplockfs ' : '', f.retryRemove ? 'retryremove ' : '', f.deferredRemove ? 'deferredremove ' : '',
      f.secureData ? 'securedata ' : '', f.imaMeasurement ? 'ima_measurement ' : '', f.queryInactive ? 'inactive ' : '',
      f.enableChecks ? 'enablechecks ' : ''].join('');
    const num = major > 0 ? `(${major}:${minor > 0 ? minor : ''}${minor === 0 ? '0' : ''}) ` : '';
    this.debug(`dm ${ioctl} ${newUuid ? 'UUID ' : ''}${name} ${uuid}${newName !== null ? ' ' : ''}${newName ?? ''} ${num}` +
      `[ ${words}] ${sector === '0' ? '' : sector} ${message.toLowerCase().startsWith('key set') ? 'key set' : message} [${this.bufferSize(ioctl, args, newName, message)}] (*${retry})`);
  }

  /** _flatten's buffer: the ioctl header and what the task carries, at least 16 KiB. */
  private bufferSize(ioctl: string, args: Record<string, unknown>, newName: string | null, message: string): number {
    let len = DM_IOCTL_SIZE;
    if (ioctl === 'reload' || ioctl === 'create') {
      for (const t of (args.targets as TargetSpec[] | undefined) ?? []) len += DM_TARGET_SPEC_SIZE + Buffer.byteLength(t.params) + 1 + ALIGNMENT;
    }
    if (newName !== null) len += Buffer.byteLength(newName) + 1;
    if (ioctl === 'message') len += DM_TARGET_MSG_SIZE + Buffer.byteLength(message) + 1;
    if (ioctl === 'setgeometry' && typeof args.geometry === 'string') len += Buffer.byteLength(args.geometry) + 1;
    return Math.max(len, MIN_IOCTL_BUFFER);
  }

  client(): Promise<KernelClient> {
    this.clientP ??= KernelClient.connect().catch((e) => {
      throw new NoKernel((e as Error).message);
    });
    return this.clientP;
  }

  close(): void { void this.clientP?.then((c) => c.close(), () => undefined); }

  /**
   * Run one task (dm_task_run): its ioctl, and on failure libdm's line
   * (unless quiet for that errno) and null. A remove with retry_remove set is
   * tried again after EBUSY only (a transient opener), up to 25 times.
   */
  async task<T>(ioctl: string, op: string, dev: TaskDevice | null, args: Record<string, unknown> = {}, opts: Errno | TaskOpts = {}): Promise<T | null> {
    const o: TaskOpts = typeof opts === 'string' ? { quietErrno: opts } : opts;
    this.taskCreate();
    const c = await this.client();
    this.lastFailed = true;
    // dm_task_run returned 0: the caller's goto_out logs its backtrace.
    const failed = (): null => {
      if (!o.internal && !o.noStack) this.stack();
      return null;
    };
    let ref: Record<string, unknown> | undefined;
    if (dev && op !== 'devCreate') {
      const r = this.ref(dev, o.majorSet ?? true);
      if (!r) return failed();
      ref = r;
    }
    // The ioctls that send a uevent ask whether udev synchronisation is there (_do_dm_ioctl, dm_task_set_cookie).
    if (ioctl === 'resume' || ioctl === 'remove' || ioctl === 'rename' || ioctl === 'create') this.udevSyncSupport();
    const flags: TaskFlags = { ...(o.internal ? {} : this.common), ...o.flags };
    if (op === 'tableLoad') args = tableLoadArgs(args);
    const shown = op === 'devCreate' ? { name: args.name, uuid: args.uuid } : ref ?? {};
    try {
      for (let retry = 1; ; retry++) {
        this.debugIoctl(ioctl, args, dev, shown, flags, retry);
        try {
          let result = (await c.call<T>(op, ref ? { ...args, ref } : args)).result;
          if (args.packed && isPacked(result)) result = unpackRecords(result) as T;
          if (!this.resultNamesOk(op, result)) return failed();
          this.lastFailed = false;
          this.nodeOpsAfter(ioctl, op === 'devCreate' ? String(args.name ?? '') : dev?.name ? this.mangle(dev.name) : '', args, result);
          return result;
        } catch (e) {
          if (e instanceof KernelUnreachable) throw new NoKernel(e.message);
          if (!(e instanceof KernelError)) throw e;
          if (e.errno === o.quietErrno) {
            this.lastFailed = false;
            return null;
          }
          this.taskFailed(ioctl, dev, e.errno);
          if (!(e.errno === 'EBUSY' && ioctl === 'remove' && flags.retryRemove && retry < DM_IOCTL_RETRIES)) return failed();
          await new Promise((r) => setTimeout(r, DM_RETRY_DELAY_MS));
        }
      }
    } finally {
      if (!o.internal) {
        if (this.initialTimestamp !== null) this.ioctlTimestamp = process.hrtime.bigint();
        this.logTimestamp();
      }
    }
  }

  /**
   * dm_task_run after a successful ioctl: the node operations it stacks for
   * the task's name (DEV_NAME: none for a task by uuid or number alone).
   */
  private nodeOpsAfter(ioctl: string, devName: string, args: Record<string, unknown>, result: unknown): void {
    if (!devName) return;
    const info = (result ?? {}) as Partial<DmInfo>;
    if (ioctl === 'create' && this.addNodeOnCreate) void this.addNode(devName, info.major, info.minor);
    else if (ioctl === 'resume') {
      if (!this.addNodeOnCreate) void this.addNode(devName, info.major, info.minor);
      // set_dev_node_read_ahead: stacked unless the read ahead is DM_READ_AHEAD_AUTO.
      const ra = this.taskReadAhead;
      if (ra && ra.sectors !== 0xffffffff) {
        this.debug(`${devName}: Stacking NODE_READ_AHEAD ${ra.sectors} (flags=${ra.minimum ? 1 : 0})`);
        this.nodeOps.push({ type: 'readahead', name: devName, readAhead: ra, major: info.major ?? 0, minor: info.minor ?? 0 });
      }
    }
    else if (ioctl === 'remove') void this.removeNode(devName);
    else if (ioctl === 'rename' && args.setUuid !== true && typeof args.newValue === 'string') void this.renameNode(devName, args.newValue);
  }

  /** libdm's line for a failed ioctl. */
  private taskFailed(ioctl: string, dev: TaskDevice | null, errno: Errno): void {
    this.out.err(`device-mapper: ${ioctl} ioctl on ${this.ioctlName(dev)} failed: ${strerror(errno)}`);
    const note = errno === 'EBUSY' ? sharedKernelNote() : undefined;
    if (note) this.out.err(note);
  }

  /** Raw call for our own operations (nodes, loop, I/O): throws KernelError. */
  async call<T>(op: string, args: Record<string, unknown> = {}, payload: Buffer | null = null): Promise<{ result: T; payload: Buffer | null }> {
    const c = await this.client();
    try {
      return await c.call<T>(op, args, payload);
    } catch (e) {
      if (e instanceof KernelUnreachable) throw new NoKernel(e.message);
      throw e;
    }
  }

  /** `<name> <uuid>(<maj>:<min>)` as _do_dm_ioctl prints it. */
  private ioctlName(dev: TaskDevice | null): string {
    const name = dev?.name ? this.mangle(dev.name) : '';
    const uuid = dev?.uuid ? this.mangle(dev.uuid) : '';
    const num = dev?.major !== undefined && dev.major > 0 ? `(${dev.major}:${dev.minor ?? 0})` : '';
    return `${name} ${uuid}${num}`;
  }

  /**
   * The device as the ioctl names it (_flatten); null after the error lines
   * (dm_task_set_name/uuid's, or a persistent minor without a major: with
   * dm_task_set_major called there is no fallback to the default major).
   */
  private ref(dev: TaskDevice, majorSet = true): Record<string, unknown> | null {
    if (dev.minor !== undefined && dev.minor >= 0 && (dev.major ?? -1) <= 0 && majorSet) {
      this.out.err('Missing major number for persistent device.');
      this.out.err("Couldn't create ioctl argument.");
      return null;
    }
    if (dev.major !== undefined) return dev.minor === undefined ? { major: dev.major } : kernelDev(dev.major, dev.minor);
    if (dev.name) {
      const name = this.setName(dev.name);
      return name === null ? null : { name };
    }
    const uuid = this.setUuid(dev.uuid ?? '');
    return uuid === null ? null : { uuid };
  }

  /** _dm_ioctl_unmangle_names / _uuids: every name and uuid returned must unmangle. */
  private resultNamesOk(op: string, result: unknown): boolean {
    const check = (x: unknown, uuidToo: boolean): boolean => {
      if (!x || typeof x !== 'object') return true;
      const o = x as { name?: unknown; uuid?: unknown };
      if (typeof o.name === 'string' && !this.checkUnmangle(o.name, 'name')) return false;
      if (uuidToo && typeof o.uuid === 'string' && !this.checkUnmangle(o.uuid, 'UUID')) return false;
      return true;
    };
    // Every name is checked (and each bad one logged), as r &= ... does.
    if (op === 'listDevices' && Array.isArray(result)) return result.map((e) => check(e, true)).every(Boolean);
    const r = result as { info?: unknown } | null;
    return check(r && typeof r === 'object' && 'info' in r ? r.info : r, op !== 'devRemove');
  }

  // ---- names (libdm-common.c) ---------------------------------------------

  /**
   * mangle_string: characters off udev's whitelist become \xNN; in auto mode
   * an already mangled \xNN is kept, and a mix of both is an error. r is -1
   * after logging why, 0 when nothing changed, 1 when mangled.
   */
  mangleString(str: string, strName: string, mode = this.mangling, bufLen = DM_NAME_LEN): { r: -1 | 0 | 1; out: string } {
    if (str.length < bufLen && ALL_WHITELISTED.test(str)) return { r: 0, out: str };
    const bytes = Buffer.from(str, 'utf8');
    if (!bytes.length) return { r: 0, out: str };
    if (mode === 'none') mode = 'auto';
    let need = -1;
    let out = '';
    let j = 0;
    const bad1 = () => { this.out.err(`The ${strName} "${str}" contains mixed mangled and unmangled characters or it's already mangled improperly.`); return { r: -1 as const, out: str }; };
    const bad2 = () => { this.out.err(`Mangled form of the ${strName} too long for "${str}".`); return { r: -1 as const, out: str }; };
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i]!;
      if (mode === 'auto' && c === 0x5c && bytes[i + 1] === 0x78) {
        if (bytes.length - i < 4 || need === 1) return bad1();
        if (bufLen - j < 4) return bad2();
        out += bytes.subarray(i, i + 4).toString('latin1');
        i += 3; j += 4;
        need = 0;
        continue;
      }
      if (isWhitelisted(c)) {
        if (bufLen - j < 1) return bad2();
        out += String.fromCharCode(c);
        j++;
      } else {
        if (mode !== 'hex' && need === 0) return bad1();
        if (bufLen - j < 4) return bad2();
        out += `\\x${c.toString(16).padStart(2, '0')}`;
        j += 4;
        need = 1;
      }
    }
    if (bufLen - j < 1) return bad2();
    return { r: need === 1 ? 1 : 0, out: need === 1 ? out : str };
  }

  /** check_multiple_mangled_string_allowed. */
  private multipleMangledAllowed(str: string, strName: string): boolean {
    if (this.mangling === 'auto' && str.includes('\\x5cx')) {
      this.out.err(`The ${strName} "${str}" seems to be mangled more than once. This is not allowed in auto mode.`);
      return false;
    }
    return true;
  }

  /** Kernel form of a name in the current mode, or null after libdm's error lines (_dm_task_set_name). */
  setName(name: string): string | null {
    if (Buffer.byteLength(name) >= DM_NAME_LEN) {
      this.out.err(`Name "${name}" too long.`);
      return null;
    }
    if (!this.multipleMangledAllowed(name, 'name')) return null;
    if (this.mangling === 'none') return name;
    const m = this.mangleString(name, 'name');
    if (m.r < 0) {
      this.out.err(`Failed to mangle device name "${name}".`);
      return null;
    }
    return m.out;
  }

  /** dm_task_set_uuid: kernel form, or null after the error lines. */
  setUuid(uuid: string): string | null {
    if (!this.multipleMangledAllowed(uuid, 'UUID')) return null;
    if (this.mangling === 'none') return uuid;
    const m = this.mangleString(uuid, 'UUID', this.mangling, DM_UUID_LEN);
    if (m.r < 0) {
      this.out.err(`Failed to mangle device uuid "${uuid}".`);
      return null;
    }
    return m.out;
  }

  /** dm_task_set_newname / dm_task_set_newuuid. */
  setNewValue(value: string, uuid: boolean): string | null {
    if (!uuid) {
      if (value.includes('/')) { this.out.err(`Name "${value}" invalid. It contains "/".`); return null; }
      if (Buffer.byteLength(value) >= DM_NAME_LEN) { this.out.err(`Name "${value}" too long`); return null; }
      if (!value) { this.out.err('Non empty new name is required.'); return null; }
    } else if (Buffer.byteLength(value) >= DM_UUID_LEN) {
      this.out.err(`Uuid "${value}" too long`);
      return null;
    }
    const what = uuid ? 'new UUID' : 'new name';
    if (!this.multipleMangledAllowed(value, what)) return null;
    if (this.mangling === 'none') return value;
    const m = this.mangleString(value, what, this.mangling, uuid ? DM_UUID_LEN : DM_NAME_LEN);
    if (m.r < 0) {
      this.out.err(uuid ? `Failed to mangle new device UUID "${value}"` : `Failed to mangle new device name "${value}"`);
      return null;
    }
    return m.out;
  }

  /** Kernel form of a name, quietly (the input itself when it cannot be mangled). */
  mangle(s: string): string {
    if (this.mangling === 'none') return s;
    const quiet = new Libdm({ print: () => undefined, err: () => undefined } as unknown as Output, this.mangling);
    const m = quiet.mangleString(s, 'name');
    return m.r < 0 ? s : m.out;
  }

  /**
   * unmangle_string in strict mode, as libdm applies it to every name and
   * uuid an ioctl returns (not in mode none): false after the error line.
   */
  checkUnmangle(str: string, strName: string): boolean {
    if (this.mangling === 'none' || !str) return true;
    if (!this.multipleMangledAllowed(str, strName)) return false;
    if (ALL_WHITELISTED_OR_BACKSLASH.test(str)) return true;
    for (const c of Buffer.from(str, 'utf8')) {
      if (!isWhitelisted(c) && c !== 0x5c) {
        this.out.err(`The ${strName} "${str}" should be mangled but it contains blacklisted characters.`);
        return false;
      }
    }
    return true;
  }

  /** Display form of a kernel name: \xNN decoded (auto and hex modes). */
  unmangle(s: string): string {
    if (this.mangling === 'none' || !s.includes('\\x')) return s;
    return Buffer.from(s.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  }

  // ---- convenience tasks ------------------------------------------------------

  listDevices(): Promise<DeviceListEntry[] | null> { return this.task<DeviceListEntry[]>('names', 'listDevices', null, { packed: true }); }

  /** DM_DEVICE_INFO; null when the device does not exist (ENXIO is not logged). */
  info(dev: TaskDevice, inactive = false): Promise<DmInfo | null> {
    const key = dev.name !== undefined && dev.uuid === undefined && dev.major === undefined ? `${dev.name}\0${inactive}` : null;
    const ahead = key === null ? undefined : this.infoAhead.get(key);
    if (ahead) {
      this.infoAhead.delete(key!);
      return ahead;
    }
    return this.task<DmInfo>('info', 'devStatus', dev, { inactive }, 'ENXIO');
  }

  /** DM_DEVICE_INFO answers asked for ahead by prefetchInfo, each taken once by info(). */
  private readonly infoAhead = new Map<string, Promise<DmInfo | null>>();

  /**
   * Ask for the info of every named device at once: the requests go down the
   * one socket back to back and the answers come back in order, instead of
   * one round trip per device (a report over 1,000 devices).
   */
  prefetchInfo(names: readonly string[], inactive = false): void {
    // One request for all of them (DM_DEV_STATUS per device, as many ioctls would be, in one frame each way).
    const refs: Array<Record<string, unknown> | null> = [];
    const batch = this.client().then(async (c) => {
      for (const name of names) refs.push(this.ref({ name }));
      try {
        const each = (await c.call<PackedRecords | Array<{ result?: DmInfo; errno?: Errno }>>('devStatusEach', { refs: refs.filter((x) => x !== null), inactive, packed: true })).result;
        if (!isPacked(each)) return each;
        return unpackRecords<DmInfo>(each).map((x) => (typeof x === 'string' ? { errno: x as Errno } : { result: x }));
      } catch (e) {
        if (e instanceof KernelUnreachable) throw new NoKernel(e.message);
        if (e instanceof KernelError && e.errno === 'ENOSYS') return null; // a kernel process from before this request: one by one
        throw e;
      }
    });
    let k = 0;
    names.forEach((name, i) => {
      this.infoAhead.set(`${name}\0${inactive}`, batch.then((items) => {
        if (refs[i] === null) return null;
        if (items === null) return this.task<DmInfo>('info', 'devStatus', { name }, { inactive }, 'ENXIO');
        const item = items[k++]!;
        if (item.errno === undefined) return this.resultNamesOk('devStatus', item.result) ? item.result! : null;
        if (item.errno !== 'ENXIO') this.taskFailed('info', { name }, item.errno);
        return null;
      }));
    });
  }

  /** dm_task_get_read_ahead: BLKRAGET on the node, logging why it can't be read. */
  async readAhead(name: string, major?: number, minor?: number): Promise<number | null> {
    try {
      const ra = (await this.call<number>('readAhead', { name })).result;
      if (major !== undefined) this.debug(`${name} (${major}:${minor}): read ahead is ${ra}`);
      return ra;
    } catch (e) {
      if (!(e instanceof KernelError)) throw e;
      this.out.err(`/dev/mapper/${this.unmangle(name)}: open failed: ${strerror(e.errno)}`);
      return null;
    }
  }

  /**
   * The node libdm makes on resume (udev-less fallback). /dev/mapper/control
   * and the directory's own `.` and `..` are there already and are not block devices.
   */
  // ---- node operations (libdm-common.c _stack_node_op, update_devs) ------------

  /** The /dev/mapper operations stacked by the tasks run so far, done at the next dm_udev_wait (or at exit). */
  private nodeOps: Array<{ type: 'add' | 'del' | 'rename' | 'readahead'; name: string; newName?: string; readAhead?: { sectors: number; minimum: boolean }; major?: number; minor?: number }> = [];

  /** add_dev_node: stacked now, done by processNodeOps (0:6 0660: root, group disk, DM_DEVICE_MODE). */
  async addNode(name: string, major = 254, minor = 0): Promise<void> {
    this.debug(`${name}: Stacking NODE_ADD (${major},${minor}) 0:6 0660`);
    this.nodeOps.push({ type: 'add', name, newName: `${major},${minor}` });
  }

  /** rm_dev_node. */
  async removeNode(name: string): Promise<void> {
    this.debug(`${name}: Stacking NODE_DEL`);
    this.nodeOps.push({ type: 'del', name });
  }

  /** rename_dev_node. */
  async renameNode(from: string, to: string): Promise<void> {
    this.debug(`${from}: Stacking NODE_RENAME to ${to}`);
    this.nodeOps.push({ type: 'rename', name: from, newName: to });
  }

  /**
   * update_devs (from dm_udev_wait, and at exit): each stacked operation on
   * /dev/mapper, in order. A name that is not a block device there
   * (control, the directory's own . and .., a regular file some program
   * made) cannot be made nor renamed onto; `.` and
   * `..` cannot be unlinked either; the errors are logged, the command's
   * result stays what its ioctl made it.
   */
  async processNodeOps(): Promise<void> {
    const ops = this.nodeOps;
    this.nodeOps = [];
    for (const op of ops) {
      if (op.type === 'add') {
        this.debug(`${op.name}: Processing NODE_ADD (${op.newName}) 0:6 0660`);
        const made = op.name === 'control' || op.name === '.' || op.name === '..' ? 'notblock'
          : (await this.call<boolean | 'notblock'>('nodeAdd', { name: op.name })).result;
        if (made === 'notblock') this.out.err(`A non-block device file at '/dev/mapper/${op.name}' is already present`);
        else if (made === true) this.debug(`Created /dev/mapper/${op.name}`);
      } else if (op.type === 'del') {
        this.debug(`${op.name}: Processing NODE_DEL`);
        if (op.name === '.' || op.name === '..') {
          this.out.err(`Unable to unlink device node for '${op.name}'`);
          continue;
        }
        if ((await this.call<boolean>('nodeRemove', { name: op.name })).result === true) this.debug(`Removed /dev/mapper/${op.name}`);
      } else if (op.type === 'readahead') {
        await this.setDevNodeReadAhead(op.name, op.major!, op.minor!, op.readAhead!);
      } else {
        this.debug(`${op.name}: Processing NODE_RENAME to ${op.newName}`);
        const renamed = (await this.call<boolean | 'notblock'>('nodeRename', { from: op.name, to: op.newName })).result;
        if (renamed === 'notblock') this.out.err(`A non-block device file at '/dev/mapper/${op.newName}' is already present`);
        else if (renamed === true) this.debug(`Renamed /dev/mapper/${op.name} to /dev/mapper/${op.newName}`);
      }
    }
  }

  /**
   * _set_dev_node_read_ahead: none is 0; with the minimum flag a larger
   * current read ahead is kept; then _set_read_ahead writes it to sysfs in
   * kB, rounded up (bdi/read_ahead_kb).
   */
  private async setDevNodeReadAhead(name: string, major: number, minor: number, ra: { sectors: number; minimum: boolean }): Promise<void> {
    this.debug(`${name}: Processing NODE_READ_AHEAD ${ra.sectors} (flags=${ra.minimum ? 1 : 0})`);
    if (ra.minimum) {
      const current = await this.readAhead(name, major, minor);
      if (current === null) return;
      if (current >= ra.sectors) {
        this.debug(`${name}: retaining kernel read ahead of ${current} (requested ${ra.sectors})`);
        return;
      }
    }
    this.debug(`${name} (${major}:${minor}): Setting read ahead to ${ra.sectors}`);
    try {
      await this.call('setReadAhead', { name, kb: Math.floor((ra.sectors + 1) / 2) });
    } catch (e) {
      if (!(e instanceof KernelError)) throw e;
      this.out.err(`/dev/mapper/${this.unmangle(name)}: open failed: ${strerror(e.errno)}`);
    }
  }

  /** dm_udev_get_sync_support, first asked by a task with a udev cookie: no udev runs here. */
  private udevChecked = false;
  udevSyncSupport(): boolean {
    if (!this.udevChecked) {
      this.udevChecked = true;
      this.debug('Udev is not running. Not using udev synchronisation code.');
    }
    return false;
  }

  /** The stack macro: libdm's and dmsetup's failing returns log "<backtrace>" at debug level. */
  stack(): void { this.debug('<backtrace>'); }

  /** A device argument with a `/`: the dm device whose node it is, or null. */
  async resolvePath(p: string): Promise<string | null> {
    try {
      const r = (await this.call<{ dmName?: string }>('statPath', { path: p })).result;
      if (r.dmName) return r.dmName;
    } catch (e) {
      if (!(e instanceof KernelError)) throw e;
    }
    if (!p.startsWith('/') && p.split('/').length === 2) return this.resolvePath(`/dev/${p}`);
    return null;
  }

  /**
   * dm_task_create(DM_DEVICE_CREATE) with a table (_create_and_load_v4):
   * create (name, uuid, number), load by number, resume by name; a failed
   * load or resume removes the device again. dmsetup's one task: one
   * Timestamp line after all of it. major: from -j (dm_task_set_major:
   * no default-major fallback); else a minor alone gets the default major.
   */
  async createDevice(name: string, uuid: string | undefined, minor: number | undefined, table: TargetSpec[] | null, readOnly: boolean, major?: number): Promise<DmInfo | null> {
    this.taskCreate();
    this.udevSyncSupport(); // dm_task_set_cookie
    const info = await this.createAndLoad(name, uuid, minor, table, readOnly, major);
    if (this.initialTimestamp !== null) this.ioctlTimestamp = process.hrtime.bigint();
    this.logTimestamp();
    if (!info) this.stack(); // _create_one_device's goto_out
    return info;
  }

  private async createAndLoad(name: string, uuid: string | undefined, minor: number | undefined, table: TargetSpec[] | null, readOnly: boolean, major?: number): Promise<DmInfo | null> {
    const persistent = minor !== undefined && minor >= 0;
    const dev: TaskDevice = persistent || major !== undefined ? { name, uuid, major: major ?? DM_DEFAULT_MAJOR, minor } : { name, uuid };
    const kernelName = this.setName(name);
    if (kernelName === null) return null;
    const kernelUuid = uuid ? this.setUuid(uuid) : '';
    if (kernelUuid === null) return null;
    if (persistent && (dev.major ?? -1) <= 0) {
      this.out.err('Missing major number for persistent device.');
      this.out.err("Couldn't create ioctl argument.");
      return null;
    }
    const internal = { internal: true };
    const info = await this.task<DmInfo>('create', 'devCreate', dev, { name: kernelName, uuid: kernelUuid, minor: persistent ? kernelDev(dev.major!, minor!).minor : undefined }, internal);
    if (!info) {
      this.stack(); // goto_bad
      return null;
    }
    if (!table || table.length === 0) return info;
    // The load addresses the new device by number; the resume is the original task, by name.
    const numbered: TaskDevice = { name, major: info.major, minor: info.minor };
    let resumed: DmInfo | null = null;
    // The resume, and the revert after a failure, reuse the original task: its name and its -j/-m number.
    const original: TaskDevice = persistent ? { name, major: dev.major, minor } : { name };
    const ok = (await this.task('reload', 'tableLoad', numbered, { targets: table, readOnly }, internal)) !== null &&
      (resumed = await this.task<DmInfo>('resume', 'devResume', original, {}, { internal: true, flags: this.common })) !== null;
    if (!ok || !resumed) {
      this.stack();
      // Revert the creation.
      if ((await this.task('remove', 'devRemove', original, {}, { internal: true, flags: this.common })) === null) this.out.err('Failed to revert device creation.');
      return null;
    }
    return resumed;
  }

}
