// What corosync 3.1.7 (knet, logging to stderr) prints on a surviving node
// when another node fails, as the cluster oracle recorded it (cs_log after a
// node_kill): knet's link down at its ping timeout, the token warning at 75%
// of the token timeout, the failure at the token timeout, and after consensus
// the quorum sync and the new membership. Lines carry corosync's local-time
// stamp ("Dec 02 02:02:46"), its level and subsystem columns.

import type { NodeId } from './cpg.js';

export type CorosyncLevel = 'info' | 'notice' | 'warning';
export type CorosyncSubsys = 'KNET' | 'TOTEM' | 'QUORUM' | 'MAIN';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** One line as corosync's stderr logging writes it ("%b %d %T", level, [SUBSYS]). */
export function corosyncLine(when: Date, level: CorosyncLevel, subsys: CorosyncSubsys, msg: string): string {
  const stamp = `${MONTHS[when.getMonth()]} ${two(when.getDate())} ${two(when.getHours())}:${two(when.getMinutes())}:${two(when.getSeconds())}`;
  return `${stamp} ${level.padEnd(7)} [${subsys.padEnd(6)}] ${msg}`;
}

/**
 * The steps of a node failure as one survivor logs them, each at its time
 * after the failure (ms); ELAPSED in a line is the time since then, in whole ms.
 */
export interface FailureStep { afterMs: number; lines: [CorosyncLevel, CorosyncSubsys, string][] }

/**
 * failed: the node that stopped; members: the ring after it (ascending);
 * ringId: the new ring's "rep.seq" (hex, as corosync prints it).
 */
export function nodeFailureSteps(failed: NodeId, members: readonly NodeId[], tokenMs: number, consensusMs: number, ringId: string): FailureStep[] {
  const list = (ids: readonly NodeId[]) => `[${ids.length}]: ${ids.join(' ')}`;
  return [
    // knet_ping_timeout: token / knet_pong_count (2).
    { afterMs: tokenMs / 2, lines: [
      ['info', 'KNET', `link: host: ${failed} link: 0 is down`],
      ['info', 'KNET', `host: host: ${failed} (passive) best link: 0 (pri: 1)`],
      ['warning', 'KNET', `host: host: ${failed} has no active links`],
    ] },
    // token_warning: at 75% of the token timeout, the time since the last token as measured (ELAPSED).
    { afterMs: tokenMs * 0.75, lines: [['notice', 'TOTEM', 'Token has not been received in ELAPSED ms ']] },
    { afterMs: tokenMs, lines: [['notice', 'TOTEM', `A processor failed, forming new configuration: token timed out (${tokenMs}ms), waiting ${consensusMs}ms for consensus.`]] },
    { afterMs: tokenMs + consensusMs, lines: [
      ['notice', 'QUORUM', `Sync members${list(members)}`],
      ['notice', 'QUORUM', `Sync left${list([failed])}`],
      ['notice', 'TOTEM', `A new membership (${ringId}) was formed. Members left: ${failed}`],
      ['notice', 'TOTEM', `Failed to receive the leave message. failed: ${failed}`],
      ['notice', 'QUORUM', `Members${list(members)}`],
      ['notice', 'MAIN', 'Completed service synchronization, ready to provide service.'],
    ] },
  ];
}
