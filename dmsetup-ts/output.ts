// Where dmsetup's output goes. stdout and stderr are written as they come, so
// that with both on one pipe the order is the program's order (as on the
// oracle's console, where stdout is line-buffered).

export interface Output {
  /** Text (or bytes) to stdout, as printf: no newline added. */
  print(s: string | Uint8Array): void;
  /** One line to stderr (log_error). */
  err(line: string): void;
}

export const stdio: Output = {
  print: (s) => { if (s.length) process.stdout.write(s); },
  err: (line) => { process.stderr.write(line + '\n'); },
};
