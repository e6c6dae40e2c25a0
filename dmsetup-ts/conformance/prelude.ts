// Locates the shell files shipped with the runner: the helper preludes.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * prelude.sh (the emulation's helpers), oracle-prelude.sh (the real kernel's,
 * verbatim from shared/oracle), cluster-prelude.sh (a cluster node's extra
 * helpers), cluster-host.sh (on, on_sh, node_kill, node_console).
 */
export type PreludeName = 'prelude.sh' | 'oracle-prelude.sh' | 'cluster-prelude.sh' | 'cluster-host.sh';

/**
 * tsc copies no .sh into dist/, so from dist/dmsetup-ts/conformance/ this
 * reads the source tree's dmsetup-ts/conformance/ (beside dist/ after `npm ci`).
 */
export function preludePath(name: PreludeName): string {
  const candidates = [path.join(here, name), path.resolve(here, '../../../dmsetup-ts/conformance', name)];
  const found = candidates.find((p) => fs.existsSync(p));
  if (found === undefined) throw new Error(`conformance: cannot find ${name} (looked in ${candidates.join(', ')})`);
  return found;
}

