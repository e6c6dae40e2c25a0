// Finding a program of this machine by its usual paths (the conformance
// sandbox's busybox and script(1), the vfs applets' script(1)).

import * as fs from 'node:fs';

/** The first of these files that is executable, if any. */
export function firstExecutable(files: readonly string[]): string | undefined {
  return files.find((f) => {
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** util-linux script(1): a command on a new pseudo-terminal. */
export function scriptCommand(): string | undefined {
  return firstExecutable(['/usr/bin/script', '/bin/script']);
}
