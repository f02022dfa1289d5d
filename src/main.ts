import 'reflect-metadata';
import { createApp } from './app.js';
import { ConfigError, loadConfig } from './config/config.js';
import { openDatabase } from './platform/database/bootstrap.js';
import { createLogger } from './platform/logging/logger.js';

/**
 * The bridge process. ROLE=all serves the admin API and SCIM and runs the workers; ROLE=api only
 * serves HTTP; ROLE=worker only runs jobs (and serves health and metrics).
 * `--migrate-only` applies migrations and exits (npm run db:migrate).
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const migrateOnly = process.argv.includes('--migrate-only');
  const database = await openDatabase(migrateOnly ? { ...config, migrateOnStart: true } : config, logger);
  if (migrateOnly) {
    await database.close();
    logger.info('migrations are up to date');
    return;
  }

  const app = await createApp({ config, logger, dataSource: database.dataSource });
  await app.listen(config.port, config.host);
  logger.info(
    { port: config.port, role: config.role, publicUrl: config.publicUrl },
    'identity bridge listening',
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests');
    const force = setTimeout(() => {
      logger.error('shutdown took longer than 30 s; exiting');
      process.exit(1);
    }, 30_000);
    force.unref();
    try {
      await app.close(); // stops accepting, waits for in-flight requests, runs shutdown hooks
      await database.close(); // pool, then the embedded cluster (fast shutdown)
      logger.info('stopped cleanly');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `Identity Bridge failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
