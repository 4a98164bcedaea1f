/**
 * The ledger's spool: rows that cannot reach the database yet, appended to a
 * local file (JSON lines) and replayed once the database answers, also by the
 * next process after a crash. Replaying twice is harmless: the ledger's
 * writes are idempotent.
 *
 * Files in the spool directory:
 * - `<instance>.jsonl`: the file a live process appends to;
 * - `<instance>.replay-<id>.jsonl`: a file a process is replaying;
 * - `rejected.ndjson`: rows PostgreSQL itself refused (never replayed: they
 *   would be refused again), each with the error, kept for someone to look at.
 * Every process touches its files while it lives; a file untouched for
 * `staleAfterMs` belongs to a process that is gone, and any process may claim
 * it by renaming it (renames are atomic: one claimer wins).
 */
import { randomUUID } from 'node:crypto';
import { promises as fs, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { DiagLogger } from '@opentelemetry/api';
import type { LedgerRows } from './ledger-rows';

/** Not `.jsonl`: never claimed for replay. */
const REJECTED_FILE = 'rejected.ndjson';

interface Replay {
  readonly file: string;
  offset: number;
  /** A line read only in part. */
  rest: string;
  /** Rows known to be in the file and not written yet (0 for another process's file). */
  knownRows: number;
}

export interface SpoolRead {
  readonly rows: readonly LedgerRows[];
  commit(): Promise<void>;
  rollback(): void;
}

export interface SpoolOptions {
  readonly directory: string;
  readonly staleAfterMs: number;
}

const READ_CHUNK_BYTES = 1 << 20;

export class Spool {
  private readonly instance = randomUUID();
  private readonly ownFile: string;
  /** Operations on this process's own file (appends, the rename that claims it), one at a time. */
  private ownFileOps: Promise<unknown> = Promise.resolve();
  private ownRows = 0;
  /** Files claimed for replay, oldest first, with how far they have been read and written. */
  private readonly replays: Replay[] = [];

  constructor(
    private readonly options: SpoolOptions,
    private readonly diag: DiagLogger,
  ) {
    mkdirSync(options.directory, { recursive: true });
    this.ownFile = path.join(options.directory, `${this.instance}.jsonl`);
  }

  /** Rows this process appended that have not been written to the database yet (as far as it knows). */
  get pendingRows(): number {
    return this.ownRows + this.replays.reduce((sum, replay) => sum + replay.knownRows, 0);
  }

  /** Whether there is something to replay (claimed files, or rows appended by this process). */
  get hasWork(): boolean {
    return this.replays.length > 0 || this.ownRows > 0;
  }

  /** Appends rows; resolves when they are on disk. Never rejects: a failure is logged and reported as false. */
  append(rows: readonly LedgerRows[]): Promise<boolean> {
    if (rows.length === 0) return Promise.resolve(true);
    const text = rows.map((row) => JSON.stringify(row)).join('\n') + '\n';
    return this.onOwnFile(async () => {
      try {
        await fs.appendFile(this.ownFile, text, 'utf8');
        this.ownRows += rows.length;
        return true;
      } catch (err) {
        this.diag.error(`bullmq-ledger: could not append to the spool file ${this.ownFile}`, err);
        return false;
      }
    });
  }

  /**
   * Keeps rows the database refused in `rejected.ndjson`, with the reason.
   * Resolves to the file's path, or undefined when it could not be written (logged).
   */
  async setAside(rows: readonly LedgerRows[], reason: string): Promise<string | undefined> {
    const file = path.join(this.options.directory, REJECTED_FILE);
    const rejectedAt = new Date().toISOString();
    const text = rows.map((row) => JSON.stringify({ rejectedAt, reason, row })).join('\n') + '\n';
    try {
      await fs.appendFile(file, text, 'utf8');
      return file;
    } catch (err) {
      this.diag.error(`bullmq-ledger: could not keep a refused row in ${file}`, err);
      return undefined;
    }
  }

  /**
   * Claims files to replay: this process's own spooled rows, and files of
   * processes that are gone. Call when the database answers again.
   */
  async claim(): Promise<void> {
    await this.onOwnFile(async () => {
      if (this.ownRows === 0) return;
      const claimed = await this.rename(this.ownFile);
      if (claimed === undefined) return;
      this.replays.push({ file: claimed, offset: 0, rest: '', knownRows: this.ownRows });
      this.ownRows = 0;
    });
    let names: string[];
    try {
      names = await fs.readdir(this.options.directory);
    } catch {
      return;
    }
    const now = Date.now();
    for (const name of names) {
      if (!name.endsWith('.jsonl') || name.startsWith(this.instance)) continue;
      const file = path.join(this.options.directory, name);
      try {
        const stat = await fs.stat(file);
        if (now - stat.mtimeMs < this.options.staleAfterMs) continue;
      } catch {
        continue;
      }
      const claimed = await this.rename(file);
      if (claimed !== undefined) {
        this.replays.push({ file: claimed, offset: 0, rest: '', knownRows: 0 });
        this.diag.info(`bullmq-ledger: replaying the spool file ${name} left by a process that is gone`);
      }
    }
  }

  /**
   * Reads the next rows to replay (up to about `max`) from the oldest claimed
   * file. `commit()` once they are written: a file is deleted only when all its
   * rows are. `rollback()` when the write failed: they are read again next time.
   * Undefined when there is nothing to replay.
   */
  async read(max: number): Promise<SpoolRead | undefined> {
    const replay = this.replays[0];
    if (replay === undefined) return undefined;
    const start = { offset: replay.offset, rest: replay.rest };
    const rows: LedgerRows[] = [];
    let exhausted = false;
    const handle = await fs.open(replay.file, 'r');
    try {
      const buffer = Buffer.alloc(READ_CHUNK_BYTES);
      while (rows.length < max) {
        const { bytesRead } = await handle.read(buffer, 0, READ_CHUNK_BYTES, replay.offset);
        if (bytesRead === 0) {
          this.parseInto(replay.rest, rows, replay.file);
          replay.rest = '';
          exhausted = true;
          break;
        }
        replay.offset += bytesRead;
        const lines = (replay.rest + buffer.subarray(0, bytesRead).toString('utf8')).split('\n');
        replay.rest = lines.pop() ?? '';
        for (const line of lines) this.parseInto(line, rows, replay.file);
      }
    } finally {
      await handle.close();
    }
    return {
      rows,
      commit: async () => {
        replay.knownRows = Math.max(replay.knownRows - rows.length, 0);
        if (!exhausted) return;
        this.replays.splice(this.replays.indexOf(replay), 1);
        await fs.rm(replay.file, { force: true });
      },
      rollback: () => {
        replay.offset = start.offset;
        replay.rest = start.rest;
      },
    };
  }

  /** Keeps this process's files from looking abandoned. */
  async touch(): Promise<void> {
    const now = new Date();
    for (const file of [this.ownFile, ...this.replays.map((replay) => replay.file)]) {
      await fs.utimes(file, now, now).catch(() => undefined);
    }
  }

  /** Removes this process's append file when it holds nothing. */
  async close(): Promise<void> {
    await this.onOwnFile(async () => {
      if (this.ownRows > 0) return;
      try {
        await fs.rm(this.ownFile, { force: true });
      } catch (err) {
        // The directory itself is gone or unreadable: nothing of ours to remove, and shutdown must not fail.
        this.diag.warn(`bullmq-ledger: could not remove the empty spool file ${this.ownFile}`, err);
      }
    });
  }

  private onOwnFile<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.ownFileOps.then(operation);
    this.ownFileOps = result.catch(() => undefined);
    return result;
  }

  private async rename(file: string): Promise<string | undefined> {
    const target = path.join(this.options.directory, `${this.instance}.replay-${randomUUID()}.jsonl`);
    try {
      await fs.rename(file, target);
      return target;
    } catch {
      return undefined; // gone, or claimed by another process first
    }
  }

  private parseInto(line: string, rows: LedgerRows[], file: string): void {
    if (line.trim() === '') return;
    try {
      const parsed: unknown = JSON.parse(line);
      if (isLedgerRows(parsed)) {
        rows.push(parsed);
        return;
      }
    } catch {
      // fall through: a line cut short by a crash, or not ours
    }
    this.diag.warn(`bullmq-ledger: skipped an unreadable line in the spool file ${file}`);
  }
}

function isLedgerRows(value: unknown): value is LedgerRows {
  if (typeof value !== 'object' || value === null || !('record' in value)) return false;
  const record: unknown = value.record;
  return (
    typeof record === 'object' &&
    record !== null &&
    'id' in record &&
    typeof record.id === 'string' &&
    'jobId' in record &&
    'queueName' in record
  );
}
