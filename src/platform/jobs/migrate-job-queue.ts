import { Logger as GraphileLogger, runMigrations, type LogFunctionFactory } from 'graphile-worker';
import type { DataSource } from 'typeorm';
import { JOBS_SCHEMA } from './job-queue.js';

const silentLogFactory: LogFunctionFactory = () => () => undefined;

/**
 * Installs or upgrades graphile-worker's own schema (`graphile_worker`). Idempotent and cheap when
 * up to date. Called by `migrate()` while it holds the migration advisory lock, so several
 * processes starting together install it once.
 */
export async function migrateJobQueue(dataSource: DataSource): Promise<void> {
  const url = (dataSource.options as { url?: string }).url;
  if (!url) throw new Error('The DataSource has no URL to install the job queue schema with');
  // Its own short-lived pool (graphile-worker installs its error handlers on it and closes it).
  await runMigrations({
    connectionString: url,
    maxPoolSize: 1,
    schema: JOBS_SCHEMA,
    logger: new GraphileLogger(silentLogFactory),
  });
}
