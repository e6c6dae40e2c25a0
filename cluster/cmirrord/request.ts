// The messages of dm-log-userspace and cmirrord (dm-log-userspace.h,
// cmirrord/cluster.h): struct dm_ulog_request and struct clog_request, with
// the request types' payloads as little-endian u64/s64 words.

import { DmUlog } from '../../targets/mirror/log-userspace.js';
import type { NodeId } from '../cpg.js';

export { DmUlog };

/** The response bit a server sets in request_type. */
export const DM_ULOG_RESPONSE = 0x1000;
export const DM_ULOG_CHECKPOINT_READY = 21;
export const DM_ULOG_MEMBER_JOIN = 22;

/** struct dm_ulog_request. */
export interface DmUlogRequest {
  luid: number;
  uuid: string;
  seq: number;
  requestType: number;
  error: number;
  data: Buffer;
}

/** A checkpoint (export_checkpoint): the bits and the recovery slot, for one joiner. */
export interface Checkpoint {
  requester: NodeId;
  syncBits: Uint32Array;
  cleanBits: Uint32Array;
  /** "<recovering_region> <recoverer>", as cmirrord writes it. */
  recoveringRegion: string;
}

/** struct clog_request: what travels in the CPG. */
export interface ClogRequest {
  originator: NodeId;
  /** The server when this request was delivered (kept for the startup list). */
  pitServer: NodeId;
  rq: DmUlogRequest;
  checkpoint?: Checkpoint;
}

export function rqName(type: number): string {
  const t = type & ~DM_ULOG_RESPONSE;
  const name = t === DM_ULOG_CHECKPOINT_READY ? 'CHECKPOINT_READY' : t === DM_ULOG_MEMBER_JOIN ? 'MEMBER_JOIN' : DmUlog[t] ?? `#${t}`;
  return type & DM_ULOG_RESPONSE ? `${name}(response)` : name;
}

export function u64s(...v: number[]): Buffer {
  const b = Buffer.alloc(v.length * 8);
  v.forEach((x, i) => b.writeBigInt64LE(BigInt(x), i * 8));
  return b;
}

export function readU64s(b: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i + 8 <= b.length; i += 8) out.push(Number(b.readBigInt64LE(i)));
  return out;
}

export function copyRq(rq: DmUlogRequest): DmUlogRequest {
  return { ...rq, data: Buffer.from(rq.data) };
}

/** One line describing a CPG message, for traces. */
export function describeClog(msg: unknown): string {
  const m = msg as ClogRequest;
  const words = (m.rq.requestType & 0xff) === DM_ULOG_CHECKPOINT_READY || m.rq.data.length % 8 ? [] : readU64s(m.rq.data);
  return `${rqName(m.rq.requestType)} seq ${m.rq.seq} orig ${m.originator}${words.length ? ` [${words.join(' ')}]` : ''}${m.rq.error ? ` error ${m.rq.error}` : ''}`;
}
