import type { DataSource } from 'typeorm';
import { migrateJobQueue } from '../jobs/migrate-job-queue.js';

/** Arbitrary but fixed: every bridge process takes the same lock before migrating. */
const MIGRATION_LOCK_KEY = 7_346_118_203;

/**
 * Runs pending migrations while holding a session-level advisory lock, so several processes
 * starting together migrate once and the others wait, then find nothing to do.
 */
export async function migrate(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      await migrateJobQueue(dataSource); // graphile-worker's own schema, under the same lock
      return applied.map((m) => m.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}

/** True when every known migration has been applied. */
export async function migrationsApplied(dataSource: DataSource): Promise<boolean> {
  return !(await dataSource.showMigrations());
}
