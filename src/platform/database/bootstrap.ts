import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '../../config/config.js';
import { createDataSource } from './data-source.js';
import { EmbeddedPostgres } from './embedded-postgres.js';
import { migrate } from './migrate.js';

export interface Database {
  dataSource: DataSource;
  /** The embedded cluster, when no DATABASE_URL was given. */
  embedded?: EmbeddedPostgres;
  close(): Promise<void>;
}

const EMBEDDED_DATABASE = 'identity_bridge';

/**
 * Connects to DATABASE_URL, or starts the embedded cluster under DATA_DIR; then migrates (under an
 * advisory lock) when MIGRATE_ON_START is on.
 */
export async function openDatabase(config: AppConfig, logger: Logger, poolSize?: number): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  let url = config.databaseUrl;
  if (!url) {
    const pgLog = logger.child({ component: 'embedded-postgres' });
    embedded = new EmbeddedPostgres({ dataDir: config.dataDir, log: (line) => pgLog.debug(line) });
    const started = Date.now();
    await embedded.start();
    await embedded.ensureDatabase(EMBEDDED_DATABASE);
    logger.info({ dataDir: config.dataDir, ms: Date.now() - started }, 'embedded PostgreSQL ready');
    url = embedded.url(EMBEDDED_DATABASE);
  }
  const dataSource = createDataSource(url, { poolSize, applicationName: `identity-bridge-${config.role}` });
  try {
    await dataSource.initialize();
    if (config.migrateOnStart) {
      const applied = await migrate(dataSource);
      if (applied.length) logger.info({ applied }, 'migrations applied');
    }
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.stop();
    throw error;
  }
  return {
    dataSource,
    embedded,
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await embedded?.stop();
    },
  };
}
