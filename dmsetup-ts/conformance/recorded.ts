// Tells whether a golden output was recorded on a real kernel, so that --update must not touch it.

import * as fs from 'node:fs';
import * as path from 'node:path';

/** A file of this name in a folder says: the goldens here come from a real kernel. */
export const KERNEL_RECORDED = 'KERNEL-RECORDED';

/** The marker governing `golden`'s folder (in it or in the folder holding it), if any. */
export function kernelRecordedMarker(golden: string): string | undefined {
  const dir = path.dirname(path.resolve(golden));
  for (const d of [dir, path.dirname(dir)]) {
    const marker = path.join(d, KERNEL_RECORDED);
    if (fs.existsSync(marker)) return marker;
  }
  return undefined;
}
