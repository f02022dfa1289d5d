import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDataSource } from '../src/platform/database/data-source.js';
import { EmbeddedPostgres } from '../src/platform/database/embedded-postgres.js';
import { migrate } from '../src/platform/database/migrate.js';
import { withDatabase } from './support/database.js';

/**
 * Real PostgreSQL for the integration and e2e tiers: DATABASE_URL when set, else an embedded
 * cluster in a temporary folder. Migrates one template database; each test file clones it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let embedded: EmbeddedPostgres | undefined;
  let dataDir: string | undefined;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    dataDir = mkdtempSync(join(tmpdir(), 'ib-test-pg-'));
    embedded = new EmbeddedPostgres({ dataDir });
    await embedded.start();
    adminUrl = embedded.url('postgres');
  }

  const runId = randomBytes(4).toString('hex');
  const template = `ib_tpl_${runId}`;
  await admin(adminUrl, `CREATE DATABASE ${template}`);
  const dataSource = createDataSource(withDatabase(adminUrl, template), { poolSize: 2 });
  await dataSource.initialize();
  await migrate(dataSource);
  await dataSource.destroy();

  project.provide('pgAdminUrl', adminUrl);
  project.provide('templateDatabase', template);
  project.provide('testDatabasePrefix', `ib_t_${runId}_`);

  return async () => {
    // Drop the template and whatever per-file database of this run a crashed file left behind.
    if (!embedded) {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        const { rows } = await client.query<{ datname: string }>(
          `SELECT datname FROM pg_database WHERE datname = $1 OR starts_with(datname, $2)`,
          [template, `ib_t_${runId}_`],
        );
        for (const { datname } of rows)
          await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    }
    await embedded?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
