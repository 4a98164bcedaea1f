/** A child Node process running a TypeScript file, whose output lines a test can wait for. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { waitFor } from './wait';

export class ChildScript {
  readonly process: ChildProcess;
  readonly lines: string[] = [];
  exitCode: number | null | undefined;

  constructor(file: string, env: Record<string, string>) {
    this.process = spawn(process.execPath, ['--import', 'tsx', file], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffered = '';
    this.process.stdout?.on('data', (chunk: Buffer) => {
      const parts = (buffered + chunk.toString('utf8')).split('\n');
      buffered = parts.pop() ?? '';
      this.lines.push(...parts);
    });
    this.process.stderr?.on('data', (chunk: Buffer) => this.lines.push(`stderr: ${chunk.toString('utf8')}`));
    this.process.on('exit', (code) => {
      this.exitCode = code;
    });
  }

  /** The last line starting with `prefix`, without it. */
  last(prefix: string): string | undefined {
    return this.lines.findLast((line) => line.startsWith(prefix))?.slice(prefix.length);
  }

  async waitForLine(predicate: (line: string) => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    await waitFor(() => this.lines.some(predicate), {
      timeoutMs,
      what: `${what} (output: ${this.lines.slice(-5).join(' | ')})`,
    });
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    if (this.exitCode !== undefined) return;
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.process.kill(signal);
    await exited;
  }
}
