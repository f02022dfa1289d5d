import { DataSource, type DataSourceOptions } from 'typeorm';
import { SnakeNamingStrategy } from './naming-strategy.js';
import { ENTITIES } from './entities.js';
import { MIGRATIONS } from './migrations/index.js';

/**
 * The one DataSource definition: the app, the migration runner, tests and `ormconfig.ts` all build
 * theirs here. `synchronize` is off everywhere — the schema only changes through migrations.
 */
export function dataSourceOptions(
  url: string,
  overrides: Partial<{ poolSize: number; applicationName: string }> = {},
): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    namingStrategy: new SnakeNamingStrategy(),
    synchronize: false,
    migrationsRun: false,
    uuidExtension: 'pgcrypto',
    installExtensions: false,
    applicationName: overrides.applicationName ?? 'identity-bridge',
    extra: { max: overrides.poolSize ?? 20 },
  };
}

export function createDataSource(
  url: string,
  overrides?: Parameters<typeof dataSourceOptions>[1],
): DataSource {
  return new DataSource(dataSourceOptions(url, overrides));
}
