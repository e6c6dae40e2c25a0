// Writes the TAP report: version and plan, one test point per scenario (a
// failure's diagnostics in YAML, with its diff), and last the summary line
// `# N passed, N failed`.

export interface TestPoint {
  readonly name: string;
  readonly ok: boolean;
  /** Set for a scenario listed in PENDING: why it cannot pass yet. */
  readonly todo?: string;
  /** Scalar diagnostics (message, exit status, ...), in order. */
  readonly diag?: Readonly<Record<string, string | number>>;
  /** Multi-line diagnostics (the diff, the output so far), each shown as a YAML block. */
  readonly blocks?: Readonly<Record<string, string>>;
}

export interface Tally {
  passed: number;
  failed: number;
  todo: number;
}

export class TapWriter {
  private n = 0;
  readonly tally: Tally = { passed: 0, failed: 0, todo: 0 };

  constructor(private readonly write: (text: string) => void) {}

  plan(count: number): void {
    this.write(`TAP version 14\n1..${count}\n`);
  }

  point(p: TestPoint): void {
    this.n++;
    if (p.todo !== undefined) this.tally.todo++;
    else if (p.ok) this.tally.passed++;
    else this.tally.failed++;
    const directive = p.todo !== undefined ? ` # TODO ${p.todo}` : '';
    let text = `${p.ok ? 'ok' : 'not ok'} ${this.n} - ${p.name}${directive}\n`;
    const diag = Object.entries(p.diag ?? {});
    const blocks = Object.entries(p.blocks ?? {});
    if (diag.length > 0 || blocks.length > 0) {
      text += '  ---\n';
      for (const [k, v] of diag) text += `  ${k}: ${typeof v === 'number' ? v : JSON.stringify(v)}\n`;
      for (const [k, v] of blocks) {
        // An explicit indentation indicator, so a first line starting with spaces stays literal.
        text += `  ${k}: |2\n`;
        for (const line of v.replace(/\n$/, '').split('\n')) text += `    ${line}\n`;
      }
      text += '  ...\n';
    }
    this.write(text);
  }

  comment(text: string): void {
    for (const line of text.split('\n')) this.write(`# ${line}\n`);
  }

  /** The last line. */
  summary(): void {
    const { passed, failed, todo } = this.tally;
    this.write(`# ${passed} passed, ${failed} failed${todo > 0 ? `, ${todo} todo` : ''}\n`);
  }
}
