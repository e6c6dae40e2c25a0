// The argument schema of every operation the kernel process serves: what a
// request's args must hold before its operation runs. A request that does not
// fit is refused with EINVAL (as an ioctl refuses a malformed struct dm_ioctl),
// and nothing of it reaches the kernel.

import { KernelError } from './errno.js';
import { BLK_IOCTLS } from './blkdev-ioctl.js';

/** Checks one value; returns why it does not fit, or null. */
type Check = (v: unknown) => string | null;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const opt = (c: Check): Check => (v) => (v === undefined ? null : c(v));
const str: Check = (v) => (typeof v === 'string' ? null : 'not a string');
const bool: Check = (v) => (typeof v === 'boolean' ? null : 'not a boolean');
const int: Check = (v) => (typeof v === 'number' && Number.isSafeInteger(v) ? null : 'not an integer');
const nonNeg: Check = (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? null : 'not a non-negative integer');
const positive: Check = (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? null : 'not a positive integer');
/** A u64 (sector_t): a bigint, or an integer number (wrapped to 64 bits where it is used). */
const u64: Check = (v) => (typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v)) ? null : 'not a 64-bit integer');
/** A sector of block I/O: a non-negative bigint below 2^64, or a non-negative integer number. */
const sector: Check = (v) =>
  (typeof v === 'bigint' && v >= 0n && v < 1n << 64n) || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) ? null : 'not a sector number';
const oneOf = (...vals: string[]): Check => (v) => (typeof v === 'string' && vals.includes(v) ? null : `not one of ${vals.join(', ')}`);

const shape = (fields: Record<string, Check>): Check => (v) => {
  if (!isObject(v)) return 'not an object';
  for (const [k, c] of Object.entries(fields)) {
    const why = c(Object.hasOwn(v, k) ? v[k] : undefined);
    if (why) return `${k}: ${why}`;
  }
  return null;
};
const arrayOf = (c: Check): Check => (v) => {
  if (!Array.isArray(v)) return 'not an array';
  for (let i = 0; i < v.length; i++) {
    const why = c(v[i]);
    if (why) return `[${i}]: ${why}`;
  }
  return null;
};

/** How a command names its device (struct dm_ioctl's name, uuid, dev). */
const ref = shape({ name: opt(str), uuid: opt(str), major: opt(int), minor: opt(int) });
const target = shape({ start: u64, length: u64, type: str, params: str });
const none = {};

/** Each operation's arguments; an op that is not an own key here does not exist. */
export const ARGS: ReadonlyMap<string, Record<string, Check>> = new Map<string, Record<string, Check>>([
  ['version', none], ['listDevices', none], ['listVersions', none], ['removeAll', none],
  ['nodeList', none], ['loopList', none], ['ping', none], ['patches', none], ['stop', none],
  ['targetVersion', { name: str }],
  ['devCreate', { name: str, uuid: opt(str), minor: opt(int) }],
  ['devRemove', { ref: opt(ref), deferred: opt(bool) }],
  ['devSetGeometry', { ref: opt(ref), geometry: str }],
  ['devRename', { ref: opt(ref), newValue: str, setUuid: opt(bool) }],
  ['devSuspend', { ref: opt(ref), noflush: opt(bool), nolockfs: opt(bool) }],
  ['devResume', { ref: opt(ref), noflush: opt(bool), nolockfs: opt(bool) }],
  ['sync', {}],
  ['devStatus', { ref: opt(ref), inactive: opt(bool) }],
  ['devStatusEach', { refs: arrayOf(ref), inactive: opt(bool) }],
  ['devWait', { ref: opt(ref), eventNr: opt(nonNeg) }],
  ['tableLoad', { ref: opt(ref), targets: arrayOf(target), readOnly: opt(bool), attachCwd: opt(str) }],
  ['tableClear', { ref: opt(ref) }],
  ['tableDeps', { ref: opt(ref), inactive: opt(bool) }],
  ['tableStatus', { ref: opt(ref), type: opt(oneOf('info', 'table', 'ima')), inactive: opt(bool) }],
  ['targetMessage', { ref: opt(ref), sector: u64, message: str }],
  ['nodeAdd', { name: str }], ['nodeRemove', { name: str }], ['nodeRename', { from: str, to: str }],
  ['devfsCreat', { name: str }], ['devfsRead', { name: str }], ['devfsWrite', { name: str, data: str }],
  ['readAhead', { name: str }],
  ['setReadAhead', { name: str, kb: nonNeg }],
  ['statPath', { path: str }],
  ['devName', { major: int, minor: int }],
  ['loopAttach', { number: opt(nonNeg), file: str, readOnly: opt(bool), offset: opt(nonNeg), sizelimit: opt(nonNeg), blockSize: opt(nonNeg), directIo: opt(bool), partscan: opt(bool), fileName: opt(str) }],
  ['loopSetCapacity', { number: int }],
  ['loopSetDirectIo', { number: int, on: bool }],
  ['loopSetBlockSize', { number: int, blockSize: nonNeg }],
  ['sysBlock', none],
  ['loopDetach', { number: int }],
  ['loopExists', { number: int }],
  ['diskStat', { name: str }],
  ['ioWrite', { dev: str, sector, bs: opt(positive), buffered: opt(bool) }],
  ['ioRead', { dev: str, sector, count: nonNeg, bs: opt(positive), buffered: opt(bool) }],
  ['vfsLookup', { path: str }],
  ['bdevOpen', { path: str, write: opt(bool), direct: opt(bool) }],
  ['bdevSetDirect', { fd: nonNeg, direct: bool }],
  ['bdevRead', { fd: nonNeg, pos: nonNeg, len: nonNeg, aligned: opt(bool) }],
  ['bdevWrite', { fd: nonNeg, pos: nonNeg, aligned: opt(bool) }],
  ['bdevFsync', { fd: nonNeg }],
  ['bdevClose', { fd: nonNeg }],
  ['blkdevIoctls', { path: str, cmds: arrayOf(shape({ cmd: oneOf(...BLK_IOCTLS), arg: opt(int) })) }],
  ['nbdExport', { name: str, tcp: opt(nonNeg) }],
  ['dmesg', { clear: opt(bool) }],
]);

/**
 * A request's head as it came off the socket: {op, args}, op a known
 * operation, args fitting its schema. Returns them, or throws EINVAL (ENOSYS
 * for an operation that does not exist) with what is wrong.
 */
export function checkRequest(head: unknown): { op: string; args: Record<string, unknown> } {
  if (!isObject(head)) throw new KernelError('EINVAL', 'malformed request: not an object');
  const op = head.op;
  if (typeof op !== 'string') throw new KernelError('EINVAL', 'malformed request: op is not a string');
  const fields = ARGS.get(op);
  if (!fields) throw new KernelError('ENOSYS', `unknown operation ${JSON.stringify(op)}`);
  const args = Object.hasOwn(head, 'args') ? head.args : undefined;
  if (args !== undefined && !isObject(args)) throw new KernelError('EINVAL', `${op}: args is not an object`);
  const why = shape(fields)(args ?? {});
  if (why) throw new KernelError('EINVAL', `${op}: ${why}`);
  return { op, args: (args ?? {}) as Record<string, unknown> };
}
