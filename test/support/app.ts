import type { NestExpressApplication } from '@nestjs/platform-express';
import supertest from 'supertest';
import { createApp } from '../../src/app.js';
import { loadConfig, type AppConfig } from '../../src/config/config.js';
import { openDatabase, type Database } from '../../src/platform/database/bootstrap.js';
import { createLogger } from '../../src/platform/logging/logger.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdefghijklmnop';

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  database: Database;
  testDatabase: TestDatabase;
  /** supertest bound to the app. */
  http: ReturnType<typeof supertest>;
  /** `Authorization` header value with the admin token. */
  auth: string;
  /** The base URL when started with `listen: true`. */
  baseUrl?: string;
  close(): Promise<void>;
}

/**
 * The whole service on its own fresh database, configured as in production except for a known
 * ADMIN_TOKEN and silent logs.
 */
export async function startTestApp(
  options: { env?: Record<string, string>; listen?: boolean } = {},
): Promise<TestApp> {
  const testDatabase = await createTestDatabase();
  const config = loadConfig({
    DATABASE_URL: testDatabase.url,
    SECRET_KEY: 'test-secret-key-0123456789abcdefghijkl',
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PORT: '0',
    ...options.env,
  });
  const logger = createLogger(config.logLevel);
  const database = await openDatabase(config, logger, 10);
  const app = await createApp({ config, logger, dataSource: database.dataSource });
  let baseUrl: string | undefined;
  if (options.listen) {
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address() as { port: number };
    baseUrl = `http://127.0.0.1:${address.port}`;
  } else {
    await app.init();
  }
  return {
    app,
    config,
    database,
    testDatabase,
    http: supertest(app.getHttpServer()),
    auth: `Bearer ${TEST_ADMIN_TOKEN}`,
    baseUrl,
    async close() {
      await app.close();
      await database.close();
      await testDatabase.drop();
    },
  };
}
