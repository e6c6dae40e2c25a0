// dmsetup-ts dmesg [-c]: the emulated kernel's log, as dmesg prints it; -c clears it after reading.
import { KernelClient } from './client.js';

export const usage = 'Usage: dmsetup-ts dmesg [-c|--read-clear] [-C|--clear]\n' +
  "The emulated kernel's log, as dmesg prints it. -c: clear it after printing; -C: clear it without printing.\n";

export async function main(argv: string[]): Promise<number> {
  const clear = argv.includes('-c') || argv.includes('--read-clear') || argv.includes('-C') || argv.includes('--clear');
  const bad = argv.find((a) => !['-c', '-C', '--read-clear', '--clear'].includes(a));
  if (bad) {
    process.stderr.write(`dmesg: unrecognized option '${bad}'\n${usage}`);
    return 1;
  }
  const client = await KernelClient.connect().catch((e: Error) => e);
  if (client instanceof Error) {
    process.stderr.write(`dmesg: cannot reach the emulated kernel: ${client.message}\n`);
    return 1;
  }
  try {
    const lines = (await client.call<string[]>('dmesg', { clear })).result;
    if (!argv.includes('-C') && !argv.includes('--clear')) process.stdout.write(lines.map((l) => l + '\n').join(''));
    return 0;
  } finally {
    client.close();
  }
}
