// dmsetup-ts cluster up|down|crash|restart|status|explore: a cluster of
// emulated nodes in one background process (each node's kernel on
// node<N>/kernel.sock; DMSETUP_TS_NODE=N points every other command at one),
// and seeded schedule exploration in this process.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureRuntimeDir, runtimeDir } from '../kernel/runtime-dir.js';
import { controlCall, DAEMON_LOG, NoCluster, type ClusterConfig, type ClusterStatus } from '../cluster/control.js';
import { formatPatches, parsePatches, PATCHES, PATCHES_ENV, PatchError, resolvePatches, type PatchSelection } from '../targets/mirror/patches.js';

export const usage = `Usage: dmsetup-ts cluster up N [--seed S] [--patch NAME=on|off]... [--token MS] [--consensus MS]
       dmsetup-ts cluster down
       dmsetup-ts cluster crash NODE [--while-recovering]
       dmsetup-ts cluster restart NODE
       dmsetup-ts cluster status
       dmsetup-ts cluster members NODE
       dmsetup-ts cluster dump NODE
       dmsetup-ts cluster explore [--seeds N] [--from S] [--patch NAME=on|off]... [--leg-failures] [--variants]
Each node's commands: DMSETUP_TS_NODE=N dmsetup ... (also losetup, io, dmesg).
--patch selects kernel patches (\`dmsetup-ts kernel patches\` lists them) over those of
${PATCHES_ENV}="NAME=on,NAME=off"; --patch on|off is the seed patch (is-remote-recovering).
--token and --consensus: corosync's totem timeouts (ms; default 3000, 3600): a node's
crash blocks every group that long before the others see it leave.
explore --variants runs the same seeds under each variant (patch off, patch on, orderings (a) and (b)).
explore prints the first violating schedule as a trace (replay it with --from SEED --seeds 1)
and exits 2 when it finds one.
`;

class UsageError extends Error {}

/** --name value options of one verb (a 'list' one may repeat: its values joined by commas); everything else is positional. */
function parse(argv: string[], flags: Record<string, 'value' | 'bool' | 'list'>): { pos: string[]; opt: Record<string, string> } {
  const pos: string[] = [], opt: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) { pos.push(a); continue; }
    // --name=value: the value is everything after the first '=' (--patch=NAME=on).
    const eq = a.indexOf('=');
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    const inline = eq < 0 ? undefined : a.slice(eq + 1);
    const kind = flags[name];
    if (!kind) throw new UsageError(`unknown option --${name}`);
    if (kind === 'bool') { opt[name] = 'on'; continue; }
    const v = inline ?? argv[++i];
    if (v === undefined) throw new UsageError(`--${name} needs a value`);
    opt[name] = kind === 'list' && opt[name] !== undefined ? `${opt[name]},${v}` : v;
  }
  return { pos, opt };
}

function int(v: string | undefined, what: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`${what} must be a whole number from ${min} to ${max}, not "${v}"`);
  return Number(v);
}

/** The patch selection: DMSETUP_TS_PATCHES, then --patch NAME=on|off (on|off alone: the seed patch). */
function patchSelection(v: string | undefined): PatchSelection {
  try {
    const sel = parsePatches(process.env[PATCHES_ENV] ?? '');
    const items = (v ?? '').split(',').filter(Boolean).map((i) => (i === 'on' || i === 'off' ? `is-remote-recovering=${i}` : i));
    Object.assign(sel, parsePatches(items.join(',')));
    return resolvePatches(sel);
  } catch (e) {
    if (e instanceof PatchError) throw new UsageError(e.message);
    throw e;
  }
}

function printStatus(dir: string, s: ClusterStatus): void {
  const lines = [`cluster running in ${dir} (pid ${s.pid}, ${s.nodes.length} nodes, seed ${s.seed}, patches ${formatPatches(s.patches)}, up ${(s.uptimeMs / 1000).toFixed(1)} s)`];
  for (const n of s.nodes) {
    lines.push(`node ${n.id}: ${n.state} (boot ${n.boots})`);
    for (const l of n.logs) {
      const rec = l.recoveringRegion >= 0 ? `region ${l.recoveringRegion} by node ${l.recoverer}` : 'none';
      lines.push(`  log ${l.uuid}: group ${l.group}, members ${l.members.join(' ') || '-'}, in sync ${l.syncCount}/${l.regionCount}, recovering ${rec}${l.resent ? `, resent ${l.resent}` : ''}`);
      if (l.outOfSync) lines.push(`    out of sync: ${l.outOfSync}`);
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
}

async function up(dir: string, argv: string[]): Promise<number> {
  const { pos, opt } = parse(argv, { seed: 'value', patch: 'list', token: 'value', consensus: 'value' });
  if (pos.length !== 1) throw new UsageError('cluster up takes the number of nodes');
  const config: ClusterConfig = {
    nodes: int(pos[0], 'the number of nodes', 1, 32, 0),
    seed: int(opt.seed, '--seed', 0, 2 ** 32 - 1, 1),
    patches: patchSelection(opt.patch),
    tokenMs: int(opt.token, '--token', 0, 600_000, 3000),
    consensusMs: int(opt.consensus, '--consensus', 0, 600_000, 3600),
  };
  ensureRuntimeDir(dir);
  if (await controlCall(dir, 'status').then(() => true, () => false)) {
    process.stderr.write(`dmsetup-ts cluster: a cluster is already running in ${dir} (stop it with \`dmsetup-ts cluster down\`)\n`);
    return 1;
  }
  const logPath = path.join(dir, DAEMON_LOG);
  const log = fs.openSync(logPath, 'w', 0o600);
  const { spawn } = await import('node:child_process');
  const daemon = new URL('../cluster/daemon.js', import.meta.url);
  const child = spawn(process.execPath, [daemon.pathname, JSON.stringify(config)], { detached: true, stdio: ['ignore', log, log], env: process.env });
  fs.closeSync(log);
  let exited = false;
  child.once('exit', () => { exited = true; });
  child.unref();
  const deadline = Date.now() + 10_000;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    const s = await controlCall<ClusterStatus>(dir, 'status').catch(() => null);
    if (s && s.pid === child.pid) { printStatus(dir, s); return 0; }
    if (exited || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, delay));
  }
  const why = fs.readFileSync(logPath, 'utf8').trim();
  process.stderr.write(`dmsetup-ts cluster: the cluster process did not start${why ? `: ${why}` : ''}\n`);
  return 1;
}

async function down(dir: string): Promise<number> {
  const before = await controlCall<ClusterStatus>(dir, 'status').catch(() => null);
  if (!before) return 0; // nothing to stop
  await controlCall(dir, 'down').catch(() => undefined);
  // Wait for the process to go (its nodes' devices are removed first).
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try { process.kill(before.pid, 0); } catch { return 0; }
    await new Promise((r) => setTimeout(r, 20));
  }
  process.stderr.write(`dmsetup-ts cluster: the cluster process (pid ${before.pid}) did not stop\n`);
  return 1;
}

async function explore(argv: string[]): Promise<number> {
  const { pos, opt } = parse(argv, { seeds: 'value', from: 'value', patch: 'list', 'leg-failures': 'bool', variants: 'bool' });
  if (pos.length) throw new UsageError(`cluster explore takes no argument "${pos[0]}"`);
  const seeds = int(opt.seeds, '--seeds', 1, 10_000_000, 1000);
  const from = int(opt.from, '--from', 0, 2 ** 32 - 1, 1);
  const legFailures = opt['leg-failures'] === 'on';
  if (opt.variants === 'on' && opt.patch !== undefined) throw new UsageError('--variants picks the patches itself: no --patch with it');
  const { explore: run, VARIANTS } = await import('../cluster/explore.js');
  const runs = opt.variants === 'on'
    ? VARIANTS.map((v) => ({ label: v.name, patches: resolvePatches(v.patches) }))
    : [{ label: '', patches: patchSelection(opt.patch) }];
  const out: string[] = [], summary: string[] = [];
  let violating = 0;
  for (const { label, patches } of runs) {
    const s = await run(from, seeds, { patches, legFailures });
    violating += s.violating;
    const flags = `${PATCHES.filter((p) => patches[p.name] !== p.default).map((p) => `--patch ${p.name}=${patches[p.name] ? 'on' : 'off'} `).join('')}${legFailures ? '--leg-failures' : ''}`.trim();
    out.push(`${label ? `${label}: ` : ''}explored seeds ${from}..${from + seeds - 1} (patches ${formatPatches(patches)}${legFailures ? ', leg failures' : ''}): ${s.schedules} schedules in ${(s.ms / 1000).toFixed(1)} s`);
    out.push(`violating schedules: ${s.violating}`);
    out.push(`  violating a data invariant: ${s.dataViolating} (${Object.entries(s.byDataInvariant).map(([k, n]) => `${k}: ${n}`).join(', ')})`);
    const known = Object.entries(s.known);
    out.push(`known cmirrord divergences (not counted as violations): ${known.length ? known.map(([k, n]) => `${k}: ${n}`).join(', ') : 'none'}`);
    const replay = (seed: number) => `dmsetup-ts cluster explore --from ${seed} --seeds 1${flags ? ` ${flags}` : ''}`;
    if (label) {
      // One summary per variant; the traces are a replay away.
      if (s.first) out.push(`first violating schedule: seed ${s.first.seed} (replay: ${replay(s.first.seed)})`);
      summary.push(`  ${label}: ${s.violating} violating, ${s.dataViolating} a data invariant (${Object.entries(s.byDataInvariant).map(([k, n]) => `${k}: ${n}`).join(', ')})`);
      continue;
    }
    const shown = s.first ?? (seeds === 1 ? s.last : null);
    if (s.first) out.push(`first violating schedule, seed ${s.first.seed} (replay: ${replay(s.first.seed)}):`);
    else if (shown) out.push(`schedule, seed ${shown.seed}:`);
    if (shown) out.push(...shown.trace.map((l) => `  ${l}`));
  }
  if (summary.length) out.push(`violating schedules by variant, of ${seeds}${legFailures ? ' (leg failures)' : ''}:`, ...summary);
  process.stdout.write(out.join('\n') + '\n');
  return violating ? 2 : 0;
}

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  const dir = runtimeDir();
  try {
    switch (verb) {
      case 'up': return await up(dir, rest);
      case 'down':
        if (rest.length) throw new UsageError('cluster down takes no argument');
        return await down(dir);
      case 'status': {
        if (rest.length) throw new UsageError('cluster status takes no argument');
        const s = await controlCall<ClusterStatus>(dir, 'status').catch((e: Error) => e);
        if (s instanceof NoCluster) { process.stdout.write(`${s.message}\n`); return 3; }
        if (s instanceof Error) throw s;
        printStatus(dir, s);
        return 0;
      }
      case 'crash': case 'restart': {
        const { pos, opt } = parse(rest, verb === 'crash' ? { 'while-recovering': 'bool' } : {});
        if (pos.length !== 1) throw new UsageError(`cluster ${verb} takes one node number`);
        const node = int(pos[0], 'NODE', 1, 32, 0);
        await controlCall(dir, verb, { node, whileRecovering: opt['while-recovering'] === 'on' });
        return 0;
      }
      case 'members': case 'dump': {
        // members: the ring as NODE's corosync sees it ("1,2"); dump: SIGUSR1 to NODE's cmirrord (its state, to its output).
        const { pos } = parse(rest, {});
        if (pos.length !== 1) throw new UsageError(`cluster ${verb} takes one node number`);
        const node = int(pos[0], 'NODE', 1, 32, 0);
        const r = await controlCall<number[] | null>(dir, verb, { node });
        if (verb === 'members') process.stdout.write(`${(r ?? []).join(',')}\n`);
        return 0;
      }
      case 'explore': return await explore(rest);
      default:
        throw new UsageError(verb === undefined ? 'a command is needed' : `unknown command "${verb}"`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`dmsetup-ts cluster: ${e.message}\n${usage}`);
      return 1;
    }
    process.stderr.write(`dmsetup-ts cluster: ${(e as Error).message}\n`);
    return 1;
  }
}
