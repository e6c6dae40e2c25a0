// The cluster process's control socket (cluster.sock under the runtime
// directory): what it is asked and answers, and the client's call.

import * as net from 'node:net';
import * as path from 'node:path';
import { encodeFrame, FrameReader, type Response } from '../kernel/protocol.js';

export const CONTROL_SOCKET = 'cluster.sock';
/** The cluster process's stdout and stderr, beside the sockets. */
export const DAEMON_LOG = 'cluster.log';

/** What `cluster up` asks for (argv[2] of the cluster process, as JSON). */
export interface ClusterConfig {
  nodes: number; seed: number;
  /** corosync's totem token and consensus timeouts (ms): how long a node failure blocks the groups. */
  tokenMs?: number; consensusMs?: number;
  /** Every kernel patch's state on every node (resolvePatches). */
  patches: Readonly<Record<string, boolean>>;
}

export interface LogStatus {
  uuid: string; group: string; members: number[]; syncCount: number; regionCount: number;
  recoveringRegion: number; recoverer: number;
  /** Regions out of sync, as ranges ("3 5-9"). */
  outOfSync: string;
  /** Requests this node re-sent to a new server after the old one left. */
  resent: number;
}
export interface NodeStatus { id: number; state: string; boots: number; logs: LogStatus[] }
export interface ClusterStatus extends Omit<ClusterConfig, 'nodes'> { pid: number; uptimeMs: number; nodes: NodeStatus[] }

/** No cluster process answers in this runtime directory. */
export class NoCluster extends Error {}

/** One request to the cluster process; rejects with its message on failure. */
export function controlCall<T>(dir: string, op: string, args: Record<string, unknown> = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(path.join(dir, CONTROL_SOCKET));
    const reader = new FrameReader<Response>();
    let connected = false, done = false;
    sock.once('connect', () => { connected = true; sock.write(encodeFrame({ op, args })); });
    sock.on('data', (chunk) => {
      const [f] = reader.push(chunk);
      if (!f || done) return;
      done = true;
      sock.end();
      if (f.head.ok) resolve(f.head.result as T);
      else reject(new Error(f.head.message ?? 'cluster error'));
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      if (done) return;
      done = true;
      reject(connected ? new Error('lost connection to the cluster process') : new NoCluster(`no cluster running in ${dir}`));
    });
  });
}
