// Where a user's kernel process lives: a private directory holding its socket.
// DMSETUP_TS_DIR selects another (one fresh kernel per test or scenario).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const SOCKET_NAME = 'kernel.sock';

export function runtimeDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DMSETUP_TS_DIR === '') throw new RuntimeDirError(EMPTY_DIR_MESSAGE);
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

/** DMSETUP_TS_DIR= (set, empty): a mistake (an unset variable in a script), never the default directory. */
export const EMPTY_DIR_MESSAGE = 'DMSETUP_TS_DIR is set but empty: set it to a directory (e.g. DMSETUP_TS_DIR=$(mktemp -d)), or unset it for the default runtime directory';

/**
 * Why a runtime directory or socket no longer keeps others out, or null: it
 * must be ours (the kernel process's uid) and reachable by nobody else
 * (a directory 0700, a socket 0600 or less). The kernel process asks this
 * on every connection it accepts.
 */
export function privacyProblem(p: string, kind: 'directory' | 'socket'): string | null {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch (e) {
    return `${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  const uid = process.geteuid?.() ?? st.uid;
  if (kind === 'directory' ? !st.isDirectory() : !st.isSocket()) return `${p}: not a ${kind}`;
  if (st.uid !== uid) return `${p}: owned by uid ${st.uid}, not by the kernel's (uid ${uid})`;
  if (st.mode & 0o077) return `${p}: mode ${(st.mode & 0o777).toString(8)} lets others in (must be ${kind === 'directory' ? '700' : '600'})`;
  return null;
}

/** Where the kernel process of a runtime directory writes its pid while it runs (removed when it stops cleanly). */
export const PID_NAME = 'kernel.pid';
/** Where a kernel that stopped cleanly leaves its pid. */
export const LAST_NAME = 'kernel.last';

/** sun_path holds 108 bytes with its NUL; the kernel process first listens on `kernel.sock.<pid>`. */
const SUN_PATH_MAX = 107;
const PID_SUFFIX_MAX = 8;

/** What names this runtime directory in messages: the path, and where it came from. */
export function describeRuntimeDir(dir: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.DMSETUP_TS_DIR ? `${dir} (DMSETUP_TS_DIR)` : `${dir} (the default runtime directory, shared by every command of this user without DMSETUP_TS_DIR)`;
}

/** Create the directory (mode 0700) or check that an existing one is ours and private. */
export function ensureRuntimeDir(dir: string): void {
  const what = process.env.DMSETUP_TS_DIR ? `DMSETUP_TS_DIR=${process.env.DMSETUP_TS_DIR}` : `runtime directory ${dir}`;
  const sock = Buffer.byteLength(path.join(dir, 'node999', SOCKET_NAME)) + PID_SUFFIX_MAX;
  if (sock > SUN_PATH_MAX) {
    throw new RuntimeDirError(`${what}: path too long for a Unix socket (its sockets would need ${sock} bytes, at most ${SUN_PATH_MAX} fit): choose a shorter DMSETUP_TS_DIR`);
  }
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new RuntimeDirError(`${what}: ${notADirectory(dir)}: the runtime directory must be a directory (it is created if missing)`);
    throw new RuntimeDirError(`${what}: ${code === 'EACCES' ? 'Permission denied' : (e as Error).message}`);
  }
  const st = fs.lstatSync(dir);
  const uid = process.getuid?.() ?? st.uid;
  if (!st.isDirectory()) throw new RuntimeDirError(`${what}: ${notADirectory(dir)}: the runtime directory must be a directory (it is created if missing)`);
  if (st.uid !== uid) throw new RuntimeDirError(`${dir}: owned by uid ${st.uid}, not by you (uid ${uid})`);
  if (st.mode & 0o077) throw new RuntimeDirError(`${dir}: mode ${(st.mode & 0o777).toString(8)} lets others in (must be 700)`);
}

/** Which part of dir is in the way: "/x is a regular file", "/x/y: a symbolic link"... */
function notADirectory(dir: string): string {
  for (let p = dir; ; p = path.dirname(p)) {
    let st: fs.Stats | undefined;
    try { st = fs.lstatSync(p); } catch { /* missing: look further up */ }
    if (st && !st.isDirectory()) {
      const kind = st.isFile() ? 'a regular file' : st.isSymbolicLink() ? 'a symbolic link' : st.isSocket() ? 'a socket' : 'not a directory';
      return p === dir ? `is ${kind}` : `${p} is ${kind}`;
    }
    if (p === path.dirname(p)) return 'not a directory';
  }
}

/** The pid a runtime directory's kernel process recorded, if its file is there. */
export function recordedPid(dir: string, name: string = PID_NAME): number | undefined {
  try {
    const v = Number(fs.readFileSync(path.join(dir, name), 'utf8').trim());
    return Number.isInteger(v) && v > 0 ? v : undefined;
  } catch {
    return undefined;
  }
}
