import 'reflect-metadata';
import { createDataSource } from './src/platform/database/data-source.js';

/**
 * The DataSource for the TypeORM CLI (`typeorm -d dist/ormconfig.js migration:show`). It is the
 * same definition the app uses. With the embedded database, prefer `npm run db:migrate`, which
 * starts the cluster first; the CLI needs DATABASE_URL.
 */
const url = process.env.DATABASE_URL;
if (!url) {
  throw new Error('ormconfig.ts needs DATABASE_URL (for the embedded database use `npm run db:migrate`)');
}
export default createDataSource(url);
