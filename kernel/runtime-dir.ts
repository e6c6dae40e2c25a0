// Where a user's kernel process lives: a private directory holding its socket.
// DMSETUP_TS_DIR selects another (one fresh kernel per test or scenario).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const SOCKET_NAME = 'kernel.sock';

export function runtimeDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DMSETUP_TS_DIR) return path.resolve(env.DMSETUP_TS_DIR);
  const uid = process.getuid?.() ?? 0;
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, 'dmsetup-ts');
  return path.join(os.tmpdir(), `dmsetup-ts-${uid}`);
}

/**
 * The cluster node a command talks to (DMSETUP_TS_NODE=N): its kernel's socket
 * is node<N>/kernel.sock under the runtime directory. undefined: no node named.
 */
export function nodeOf(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const v = env.DMSETUP_TS_NODE;
  if (v === undefined || v === '') return undefined;
  if (!/^[1-9][0-9]*$/.test(v)) throw new RuntimeDirError(`DMSETUP_TS_NODE=${v}: not a node number (1, 2, ...)`);
  return Number(v);
}

export function nodeDir(dir: string, node: number): string { return path.join(dir, `node${node}`); }

export class RuntimeDirError extends Error {}

/** Create the directory (mode 0700) or check that an existing one is ours and private. */
export function ensureRuntimeDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new RuntimeDirError(`${dir}: ${(e as NodeJS.ErrnoException).code === 'EACCES' ? 'Permission denied' : (e as Error).message}`);
  }
  const st = fs.lstatSync(dir);
  const uid = process.getuid?.() ?? st.uid;
  if (!st.isDirectory()) throw new RuntimeDirError(`${dir}: not a directory`);
  if (st.uid !== uid) throw new RuntimeDirError(`${dir}: owned by uid ${st.uid}, not by you (uid ${uid})`);
  if (st.mode & 0o077) throw new RuntimeDirError(`${dir}: mode ${(st.mode & 0o777).toString(8)} lets others in (must be 700)`);
}
