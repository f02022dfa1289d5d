/**
 * Every environment variable the bridge reads, once: its type, default, meaning and whether it is
 * sensitive. `.env.example` and the README's configuration table are checked against this list by
 * a test, so documentation cannot drift from the code.
 */
export type VariableType = 'string' | 'port' | 'url' | 'enum' | 'boolean' | 'secret';

export interface VariableSpec {
  name: string;
  type: VariableType;
  /** Human-readable default, as documented. `undefined` = unset. */
  default?: string;
  doc: string;
  sensitive: boolean;
  values?: readonly string[];
}

export const ROLES = ['all', 'api', 'worker'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const VARIABLES: readonly VariableSpec[] = [
  {
    name: 'PORT',
    type: 'port',
    default: '3000',
    doc: 'HTTP port (every role listens: workers serve only health and metrics)',
    sensitive: false,
  },
  { name: 'HOST', type: 'string', default: '0.0.0.0', doc: 'Bind address', sensitive: false },
  {
    name: 'PUBLIC_URL',
    type: 'url',
    default: 'http://localhost:$PORT',
    doc: 'The address clients reach, used for `scimBaseUrl`, `Location` and `meta.location`',
    sensitive: false,
  },
  {
    name: 'DATABASE_URL',
    type: 'url',
    doc: 'External PostgreSQL (`postgres://…`); unset → embedded PostgreSQL under `DATA_DIR`',
    sensitive: true,
  },
  {
    name: 'DATA_DIR',
    type: 'string',
    default: './data',
    doc: 'Embedded database cluster in `DATA_DIR/pg`, generated key in `DATA_DIR/secret.key`',
    sensitive: false,
  },
  {
    name: 'ADMIN_TOKEN',
    type: 'secret',
    doc: 'An admin API token valid while the variable is set; unset → one is generated on first start, printed once to the log, stored hashed',
    sensitive: true,
  },
  {
    name: 'SECRET_KEY',
    type: 'secret',
    doc: '≥ 32 characters; the key (via HKDF) that encrypts downstream credentials at rest (AES-256-GCM); unset → generated once into `DATA_DIR/secret.key` (embedded), required with `DATABASE_URL`',
    sensitive: true,
  },
  {
    name: 'ROLE',
    type: 'enum',
    values: ROLES,
    default: 'all',
    doc: '`all` (API + workers), `api`, `worker`; `api`/`worker` need `DATABASE_URL`',
    sensitive: false,
  },
  {
    name: 'MIGRATE_ON_START',
    type: 'boolean',
    default: 'true',
    doc: 'Run pending migrations at start under an advisory lock',
    sensitive: false,
  },
  {
    name: 'LOG_LEVEL',
    type: 'enum',
    values: LOG_LEVELS,
    default: 'info',
    doc: 'pino log level',
    sensitive: false,
  },
];
