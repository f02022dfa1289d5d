import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';
import { VARIABLES } from './config.schema.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'ib-config-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('loadConfig', () => {
  it('applies the documented defaults and freezes the result', () => {
    const dataDir = tempDir();
    const config = loadConfig({ DATA_DIR: dataDir });
    expect(config).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      publicUrl: 'http://localhost:3000',
      databaseUrl: undefined,
      role: 'all',
      migrateOnStart: true,
      logLevel: 'info',
    });
    expect(Object.isFrozen(config)).toBe(true);
    // The embedded default generates a key once and keeps it.
    expect(readFileSync(join(dataDir, 'secret.key'), 'utf8').trim()).toBe(config.secretKey);
    expect(loadConfig({ DATA_DIR: dataDir }).secretKey).toBe(config.secretKey);
  });

  it('derives PUBLIC_URL from PORT', () => {
    expect(loadConfig({ DATA_DIR: tempDir(), PORT: '8080' }).publicUrl).toBe('http://localhost:8080');
  });

  it.each([
    ['a port out of range', { PORT: '70000' }, 'PORT'],
    ['an unknown role', { ROLE: 'boss' }, 'ROLE'],
    ['ROLE=api without DATABASE_URL', { ROLE: 'api' }, 'ROLE=api needs DATABASE_URL'],
    ['ROLE=worker without DATABASE_URL', { ROLE: 'worker' }, 'ROLE=worker needs DATABASE_URL'],
    ['DATABASE_URL without SECRET_KEY', { DATABASE_URL: 'postgres://x@y/z' }, 'SECRET_KEY is required'],
    ['a short SECRET_KEY', { SECRET_KEY: 'short' }, 'SECRET_KEY must be at least 32'],
    ['a short ADMIN_TOKEN', { ADMIN_TOKEN: 'short' }, 'ADMIN_TOKEN must be at least 32'],
    [
      'a non-postgres DATABASE_URL',
      { DATABASE_URL: 'mysql://x', SECRET_KEY: 'k'.repeat(32) },
      'DATABASE_URL must be',
    ],
    ['a bad boolean', { MIGRATE_ON_START: 'maybe' }, 'MIGRATE_ON_START'],
    ['a bad log level', { LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    ['a bad PUBLIC_URL', { PUBLIC_URL: 'ftp://x' }, 'PUBLIC_URL'],
  ])('refuses %s', (_name, env, message) => {
    expect(() => loadConfig({ DATA_DIR: tempDir(), ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ DATA_DIR: tempDir(), ...env })).toThrow(message);
  });

  it('reports every problem at once', () => {
    try {
      loadConfig({ DATA_DIR: tempDir(), PORT: 'x', ROLE: 'y' });
      expect.fail('should throw');
    } catch (error) {
      expect((error as ConfigError).problems).toHaveLength(2);
    }
  });
});

describe('configuration documentation', () => {
  const root = join(import.meta.dirname, '..', '..');

  it('.env.example names every variable of the schema, and no other', () => {
    const text = readFileSync(join(root, '.env.example'), 'utf8');
    const named = [...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
    expect(new Set(named)).toEqual(new Set(VARIABLES.map((v) => v.name)));
  });

  it('the README configuration table lists every variable with its default', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.split('## Configuration')[1]?.split('\n## ')[0] ?? '';
    const rows = [...section.matchAll(/^\| `([A-Z_]+)` +\|(.*)\|(.*)\|$/gm)].map((m) => ({
      name: m[1],
      def: m[3]!.trim(),
    }));
    expect(rows.map((r) => r.name).sort()).toEqual(VARIABLES.map((v) => v.name).sort());
    for (const v of VARIABLES) {
      const row = rows.find((r) => r.name === v.name)!;
      if (v.default !== undefined) expect(row.def, v.name).toContain(v.default);
    }
  });
});
