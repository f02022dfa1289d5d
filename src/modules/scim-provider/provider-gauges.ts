import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { JOBS_SCHEMA } from '../../platform/jobs/index.js';
import { registry } from '../../platform/metrics/metrics.js';

/**
 * Per-provider gauges read from the database at scrape time (so every process reports the same
 * truth): queue lag (age of the oldest change not yet pushed, including changes still in the
 * outbox), queue depth, last successful full sync, paused. The circuit-breaker gauge is set by
 * the SCIM client of each process.
 */
@Injectable()
export class ProviderGauges implements OnModuleInit {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  onModuleInit(): void {
    const ds = this.dataSource;
    const gauge = (
      name: string,
      help: string,
      read: () => Promise<{ provider: string; value: number }[]>,
    ) => {
      registry.removeSingleMetric(name);
      new Gauge({
        name,
        help,
        labelNames: ['provider'] as const,
        registers: [registry],
        async collect() {
          this.reset();
          if (!ds.isInitialized) return;
          try {
            for (const row of await read()) this.set({ provider: row.provider }, row.value);
          } catch {
            // scrape without these values rather than fail the whole /metrics
          }
        },
      });
    };

    gauge(
      'identity_bridge_provider_queue_lag_seconds',
      'Age of the oldest directory change not yet pushed to the provider',
      async () => {
        const rows: { provider: string; value: string }[] = await ds.query(
          `WITH outbox AS (SELECT min(occurred_at) AS oldest FROM change_events WHERE dispatched_at IS NULL),
              pending AS (
                SELECT j.payload->>'providerId' AS provider, min((j.payload->>'since')::timestamptz) AS oldest
                  FROM ${JOBS_SCHEMA}._private_jobs j JOIN ${JOBS_SCHEMA}._private_tasks t ON t.id = j.task_id
                 WHERE t.identifier = 'scim-provider.push' AND j.attempts < j.max_attempts
                 GROUP BY 1)
         SELECT p.id AS provider,
                coalesce(extract(epoch FROM now() - least((SELECT oldest FROM outbox), pe.oldest)), 0) AS value
           FROM providers p LEFT JOIN pending pe ON pe.provider = p.id::text`,
        );
        return rows.map((r) => ({ provider: r.provider, value: Math.max(0, Number(r.value)) }));
      },
    );

    gauge(
      'identity_bridge_provider_queue_depth',
      'Objects waiting to be pushed to the provider (including retries)',
      async () => {
        const rows: { provider: string; value: string }[] = await ds.query(
          `SELECT p.id AS provider, count(j.id) AS value
           FROM providers p
           LEFT JOIN ${JOBS_SCHEMA}._private_jobs j ON j.payload->>'providerId' = p.id::text AND j.attempts < j.max_attempts
            AND j.task_id = (SELECT id FROM ${JOBS_SCHEMA}._private_tasks WHERE identifier = 'scim-provider.push')
          GROUP BY p.id`,
        );
        return rows.map((r) => ({ provider: r.provider, value: Number(r.value) }));
      },
    );

    gauge(
      'identity_bridge_provider_last_successful_run_timestamp_seconds',
      'When the last full sync of the provider finished successfully (Unix time)',
      async () => {
        const rows: { provider: string; value: string }[] = await ds.query(
          `SELECT provider_id AS provider, extract(epoch FROM max(finished_at)) AS value FROM provider_runs
          WHERE status = 'succeeded' AND NOT dry_run GROUP BY provider_id`,
        );
        return rows.map((r) => ({ provider: r.provider, value: Number(r.value) }));
      },
    );

    gauge(
      'identity_bridge_provider_paused',
      '1 while the provider is paused (by an admin or after a fatal error)',
      async () => {
        const rows: { provider: string; paused: boolean }[] = await ds.query(
          `SELECT id AS provider, paused FROM providers`,
        );
        return rows.map((r) => ({ provider: r.provider, value: r.paused ? 1 : 0 }));
      },
    );
  }
}
