// What libdevmapper does between dmsetup and the kernel: one "task" per
// ioctl, the error line it logs when one fails, name mangling, device
// lookup by path, /dev/mapper nodes, and create = create + load + resume.

import { strerror, KernelError } from '../kernel/errno.js';
import type { DmInfo, TargetSpec, DeviceListEntry } from '../kernel/dm-ioctl.js';
import { KernelClient, KernelUnreachable, sharedKernelNote } from './client.js';
import type { Output } from './output.js';

export const LIBRARY_VERSION = '1.02.185 (2022-05-18)';

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
export class NoKernel extends Error {}

export class Libdm {
  private clientP: Promise<KernelClient> | null = null;

  constructor(readonly out: Output, readonly mangling: 'none' | 'auto' | 'hex' = 'auto') {}

  client(): Promise<KernelClient> {
    this.clientP ??= KernelClient.connect().catch((e) => {
      throw new NoKernel((e as Error).message);
    });
    return this.clientP;
  }

  close(): void { void this.clientP?.then((c) => c.close(), () => undefined); }

  /** Run one ioctl. On failure log libdm's line (unless quiet for that errno) and return null. */
  async task<T>(ioctl: string, op: string, dev: TaskDevice | null, args: Record<string, unknown> = {}, quietErrno?: string): Promise<T | null> {
    const c = await this.client();
    const ref = dev && op !== 'devCreate' ? this.ref(dev) : undefined;
    if (op === 'tableLoad') args = tableLoadArgs(args);
    try {
      return (await c.call<T>(op, ref ? { ...args, ref } : args)).result;
    } catch (e) {
      if (e instanceof KernelUnreachable) throw new NoKernel(e.message);
      if (!(e instanceof KernelError)) throw e;
      if (e.errno === quietErrno) return null;
      this.out.err(`device-mapper: ${ioctl} ioctl on ${this.ioctlName(dev)} failed: ${strerror(e.errno)}`);
      const note = e.errno === 'EBUSY' ? sharedKernelNote() : undefined;
      if (note) this.out.err(note);
      return null;
    }
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

  private ref(dev: TaskDevice): Record<string, unknown> {
    if (dev.major !== undefined) return { major: dev.major, minor: dev.minor };
    if (dev.name) return { name: this.mangle(dev.name) };
    return { uuid: this.mangle(dev.uuid ?? '') };
  }

  // ---- names ----------------------------------------------------------------

  /** Kernel form of a name in the current mangling mode (auto and hex: \xNN for unsafe bytes). */
  mangle(s: string): string {
    if (this.mangling === 'none') return s;
    let out = '';
    for (const ch of Buffer.from(s, 'utf8')) {
      const c = String.fromCharCode(ch);
      out += /[0-9A-Za-z#+\-.:=@_]/.test(c) ? c : `\\x${ch.toString(16).padStart(2, '0')}`;
    }
    return out;
  }

  /** Display form of a kernel name: \xNN decoded (auto mode). */
  unmangle(s: string): string {
    if (this.mangling === 'none' || !s.includes('\\x')) return s;
    return Buffer.from(s.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  }

  // ---- convenience tasks ------------------------------------------------------

  listDevices(): Promise<DeviceListEntry[] | null> { return this.task<DeviceListEntry[]>('names', 'listDevices', null); }

  /** DM_DEVICE_INFO; null when the device does not exist (ENXIO is not logged). */
  info(dev: TaskDevice, inactive = false): Promise<DmInfo | null> {
    return this.task<DmInfo>('info', 'devStatus', dev, { inactive }, 'ENXIO');
  }

  /** dm_task_get_read_ahead: BLKRAGET on the node, logging why it can't be read. */
  async readAhead(name: string): Promise<number | null> {
    try {
      return (await this.call<number>('readAhead', { name })).result;
    } catch (e) {
      if (!(e instanceof KernelError)) throw e;
      this.out.err(`/dev/mapper/${name}: open failed: ${strerror(e.errno)}`);
      return null;
    }
  }

  /**
   * The node libdm makes on resume (udev-less fallback). /dev/mapper/control
   * and the directory's own `.` and `..` are there already and are not block devices.
   */
  async addNode(name: string): Promise<void> {
    if (name === 'control' || name === '.' || name === '..') {
      this.out.err(`A non-block device file at '/dev/mapper/${name}' is already present`);
      return;
    }
    await this.call('nodeAdd', { name });
  }
  async removeNode(name: string): Promise<void> { await this.call('nodeRemove', { name }); }
  async renameNode(from: string, to: string): Promise<void> { await this.call('nodeRename', { from, to }); }

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
   * dm_task_create(DM_DEVICE_CREATE) with a table: create, load by number,
   * resume; a failed load or resume removes the device again.
   */
  async createDevice(name: string, uuid: string | undefined, minor: number | undefined, table: TargetSpec[] | null, readOnly: boolean, addNodeOnCreate: boolean): Promise<boolean> {
    const dev: TaskDevice = minor !== undefined ? { name, uuid, major: 254, minor } : { name, uuid };
    const info = await this.task<DmInfo>('create', 'devCreate', dev, { name: this.mangle(name), uuid: uuid ? this.mangle(uuid) : '', minor });
    if (!info) return false;
    if (addNodeOnCreate) await this.addNode(info.name);
    if (!table || table.length === 0) return true;
    // The load and resume steps address the new device by number.
    const numbered: TaskDevice = { name, uuid, major: info.major, minor: info.minor };
    const ok = (await this.task('reload', 'tableLoad', numbered, { targets: table, readOnly })) !== null &&
      (await this.task('resume', 'devResume', numbered)) !== null;
    if (!ok) {
      // Revert the creation.
      if ((await this.task('remove', 'devRemove', { name }, {})) === null) this.out.err('Failed to revert device creation.');
      await this.removeNode(info.name);
      return false;
    }
    await this.addNode(info.name);
    return true;
  }
}
