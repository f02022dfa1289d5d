import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LOG_LEVELS, ROLES, VARIABLES, type VariableSpec } from './config.schema.js';

export type Role = (typeof ROLES)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The typed, frozen configuration every other part of the service receives. */
export interface AppConfig {
  readonly port: number;
  readonly host: string;
  readonly publicUrl: string;
  /** External PostgreSQL, or undefined for the embedded cluster under `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly adminToken: string | undefined;
  /** Key material for credential encryption (resolved from SECRET_KEY or DATA_DIR/secret.key). */
  readonly secretKey: string;
  readonly role: Role;
  readonly migrateOnStart: boolean;
  readonly logLevel: LogLevel;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const MIN_SECRET_KEY_LENGTH = 32;

/**
 * Validates the environment once, at boot. All problems are reported together so an operator
 * fixes them in one go. Reading `DATA_DIR/secret.key` (and creating it on first start with the
 * embedded database) is the only side effect.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const problems: string[] = [];
  const raw = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const spec = (name: string): VariableSpec => VARIABLES.find((v) => v.name === name)!;

  const port = parsePort(raw('PORT') ?? spec('PORT').default!, problems);
  const host = raw('HOST') ?? spec('HOST').default!;
  const databaseUrl = raw('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }
  const publicUrl = (raw('PUBLIC_URL') ?? `http://localhost:${port}`).replace(/\/+$/, '');
  if (!isHttpUrl(publicUrl)) problems.push('PUBLIC_URL must be an http(s) URL');

  const dataDir = resolve(raw('DATA_DIR') ?? spec('DATA_DIR').default!);
  const role = parseEnum('ROLE', raw('ROLE') ?? 'all', ROLES, problems);
  if (role !== 'all' && databaseUrl === undefined) {
    problems.push(`ROLE=${role} needs DATABASE_URL: several processes must share one external PostgreSQL`);
  }
  const logLevel = parseEnum('LOG_LEVEL', raw('LOG_LEVEL') ?? 'info', LOG_LEVELS, problems);
  const migrateOnStart = parseBoolean('MIGRATE_ON_START', raw('MIGRATE_ON_START') ?? 'true', problems);

  const adminToken = raw('ADMIN_TOKEN');
  if (adminToken !== undefined && adminToken.length < 32) {
    problems.push('ADMIN_TOKEN must be at least 32 characters');
  }

  let secretKey = raw('SECRET_KEY');
  if (secretKey !== undefined && secretKey.length < MIN_SECRET_KEY_LENGTH) {
    problems.push(`SECRET_KEY must be at least ${MIN_SECRET_KEY_LENGTH} characters`);
  }
  if (secretKey === undefined && databaseUrl !== undefined) {
    problems.push('SECRET_KEY is required with DATABASE_URL (every process must share the same key)');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  secretKey ??= readOrCreateSecretKey(dataDir);

  return Object.freeze({
    port,
    host,
    publicUrl,
    databaseUrl,
    dataDir,
    adminToken,
    secretKey,
    role,
    migrateOnStart,
    logLevel,
  });
}

function readOrCreateSecretKey(dataDir: string): string {
  const file = join(dataDir, 'secret.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32).toString('base64url');
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return key;
}

function parsePort(value: string, problems: string[]): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    problems.push(`PORT must be an integer from 0 to 65535, got "${value}"`);
    return 0;
  }
  return port;
}

function parseEnum<T extends string>(
  name: string,
  value: string,
  values: readonly T[],
  problems: string[],
): T {
  const found = values.find((v) => v === value.toLowerCase());
  if (found === undefined) {
    problems.push(`${name} must be one of ${values.join(', ')}, got "${value}"`);
    return values[0]!;
  }
  return found;
}

function parseBoolean(name: string, value: string, problems: string[]): boolean {
  const v = value.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  problems.push(`${name} must be true or false, got "${value}"`);
  return false;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
