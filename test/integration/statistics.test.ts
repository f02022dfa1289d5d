import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { MIN_CHANGED_ROWS, StatisticsKeeper } from '../../src/platform/database/statistics-keeper.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { eventually } from '../support/provider-helpers.js';

let t: TestApp;
let db: DataSource;
let keeper: StatisticsKeeper;

beforeAll(async () => {
  t = await startTestApp();
  db = t.database.dataSource;
  keeper = t.app.get(StatisticsKeeper);
  // Stop its timer: every round below is started by the test.
  await keeper.onModuleDestroy();
});
afterAll(async () => t?.close());

interface TableStats {
  changed: number;
  analysedAt: Date | null;
  rows: number;
}

async function stats(table: string): Promise<TableStats> {
  const [row] = (await db.query(
    `SELECT s.n_mod_since_analyze::int AS changed, s.last_analyze AS "analysedAt", c.reltuples::int AS rows
       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
      WHERE s.schemaname = current_schema() AND s.relname = $1`,
    [table],
  )) as TableStats[];
  return row!;
}

/** A table autovacuum leaves alone, so only the keeper (a manual ANALYZE) can analyse it. */
async function probeTable(name: string, rows: number): Promise<void> {
  await db.query(`CREATE TABLE ${name} (id int PRIMARY KEY, kind text) WITH (autovacuum_enabled = false)`);
  await db.query(`INSERT INTO ${name} SELECT g, 'k' || (g % 3) FROM generate_series(1, $1) g`, [rows]);
}

describe('statistics keeper', () => {
  it('analyses a table filled in bulk, and only once it has changed by as much as it held', async () => {
    const rows = MIN_CHANGED_ROWS * 4;
    await probeTable('stats_bulk', rows);
    await eventually(
      async () => {
        await keeper.check();
        return (await stats('stats_bulk')).analysedAt !== null;
      },
      20_000,
      'the bulk-filled table to be analysed',
    );
    const analysed = await stats('stats_bulk');
    expect(analysed.rows).toBe(rows);
    expect(analysed.changed).toBe(0);

    // Half as many rows again: not enough to be worth a new analysis.
    await db.query(
      `INSERT INTO stats_bulk SELECT g, 'k' FROM generate_series($1::int + 1, $1::int * 3 / 2) g`,
      [rows],
    );
    await eventually(
      async () => (await stats('stats_bulk')).changed === rows / 2,
      20_000,
      'the change count',
    );
    await keeper.check();
    expect((await stats('stats_bulk')).analysedAt).toEqual(analysed.analysedAt);

    // As many rows again as at the last analysis: analysed again.
    await db.query(
      `INSERT INTO stats_bulk SELECT g, 'k' FROM generate_series($1::int * 3 / 2 + 1, $1::int * 2) g`,
      [rows],
    );
    await eventually(
      async () => {
        await keeper.check();
        return (await stats('stats_bulk')).rows === rows * 2;
      },
      20_000,
      'the grown table to be analysed again',
    );
  });

  it('leaves a table with few changes to autovacuum', async () => {
    await probeTable('stats_small', MIN_CHANGED_ROWS - 1);
    await eventually(
      async () => (await stats('stats_small')).changed === MIN_CHANGED_ROWS - 1,
      20_000,
      'the change count',
    );
    await keeper.check();
    expect((await stats('stats_small')).analysedAt).toBeNull();
  });

  it('lets one process analyse at a time', async () => {
    await probeTable('stats_locked', MIN_CHANGED_ROWS * 2);
    await eventually(
      async () => (await stats('stats_locked')).changed === MIN_CHANGED_ROWS * 2,
      20_000,
      'the change count',
    );
    const other = db.createQueryRunner();
    try {
      await other.startTransaction();
      await other.query(
        `SELECT pg_advisory_xact_lock(hashtextextended('identity-bridge:statistics-keeper', 0))`,
      );
      expect(await keeper.check()).toEqual([]);
      expect((await stats('stats_locked')).analysedAt).toBeNull();
    } finally {
      await other.rollbackTransaction();
      await other.release();
    }
    await eventually(
      async () => {
        await keeper.check();
        return (await stats('stats_locked')).analysedAt !== null;
      },
      20_000,
      'the table to be analysed once the lock is free',
    );
  });
});
