import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import { DataSource } from 'typeorm';
import { LOGGER } from '../logging/logging.module.js';
import { metricOnce, registry } from '../metrics/metrics.js';

/** How often the change counts are read. */
export const STATISTICS_CHECK_MS = 3000;
/** A table is analysed once it has seen this many changed rows since its last analysis… */
export const MIN_CHANGED_ROWS = 500;
/** …and at least as many as it had rows then (it has doubled, or been rewritten). */
const CHANGED_FRACTION = 1;

/** One process analyses at a time; the others skip the round. */
const LOCK_KEY = 'identity-bridge:statistics-keeper';

const analyzedTotal = metricOnce(
  'identity_bridge_db_analyze_total',
  () =>
    new Counter({
      name: 'identity_bridge_db_analyze_total',
      help: 'Tables the bridge analysed itself after bulk changes, by table',
      labelNames: ['table'] as const,
      registers: [registry],
    }),
);

interface TableChanges {
  table: string;
  quoted: string;
  rowsAtLastAnalysis: number;
  changedSince: number;
}

/**
 * Keeps the planner's statistics up with bulk loads. Autovacuum analyses a table at most once a
 * minute (its nap time) and only after 10% of it changed; a table that has never been analysed,
 * or was analysed nearly empty, is planned as if it were tiny. Then PostgreSQL takes any index
 * whose leading columns match — the partial indexes on `(source_id, resource_type, …)` for a
 * lookup by `(source_id, id)` — and reads every row of the source on each lookup. Measured on
 * this machine: a SCIM PATCH against a source freshly provisioned with 10,000 users took 230 ms
 * at 50 changes/s (the link lookup read 10,000 rows), against 1.4 ms once analysed.
 *
 * So every few seconds one process (advisory lock) reads the tables' change counts from
 * `pg_stat_user_tables` and analyses those that have seen at least {@link MIN_CHANGED_ROWS}
 * changed rows and at least as many as they had at their last analysis. A steady table is left to
 * autovacuum; a table being filled from empty is analysed at ~500, ~1,000, ~2,000 … rows, a handful of
 * times. Only the bridge's own schema: graphile-worker's queue tables churn by design and are
 * planned by their own indexes.
 */
@Injectable()
export class StatisticsKeeper implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<string[]> | undefined;
  private readonly logger: Logger;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'statistics-keeper' });
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.check(), STATISTICS_CHECK_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.current; // never close the database under an ANALYZE
  }

  /** One round: the tables analysed (none when another process holds the round, or on error). */
  check(): Promise<string[]> {
    if (this.current) return this.current;
    this.current = this.analyzeChanged()
      .catch((error: unknown) => {
        this.logger.warn({ err: error }, 'statistics check failed');
        return [];
      })
      .finally(() => {
        this.current = undefined;
      });
    return this.current;
  }

  private analyzeChanged(): Promise<string[]> {
    return this.dataSource.transaction(async (tx) => {
      const [lock] = (await tx.query(`SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS locked`, [
        LOCK_KEY,
      ])) as { locked: boolean }[];
      if (!lock?.locked) return [];
      const tables = (await tx.query(
        `SELECT s.relname AS "table", quote_ident(s.relname) AS quoted, greatest(c.reltuples, 0)::float8 AS "rowsAtLastAnalysis",
                s.n_mod_since_analyze::float8 AS "changedSince"
           FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
          WHERE s.schemaname = current_schema()
            AND s.n_mod_since_analyze >= $1
            AND s.n_mod_since_analyze >= greatest(c.reltuples, 0) * $2
          ORDER BY s.relname`,
        [MIN_CHANGED_ROWS, CHANGED_FRACTION],
      )) as TableChanges[];
      for (const t of tables) {
        const started = performance.now();
        await tx.query(`ANALYZE ${t.quoted}`);
        analyzedTotal.inc({ table: t.table });
        this.logger.info(
          {
            table: t.table,
            rowsAtLastAnalysis: t.rowsAtLastAnalysis,
            changedSince: t.changedSince,
            ms: Math.round(performance.now() - started),
          },
          'analysed a table after bulk changes',
        );
      }
      return tables.map((t) => t.table);
    });
  }
}
