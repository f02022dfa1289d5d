import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { JobName, JobPayloads } from './job-catalogue.js';

/** graphile-worker's schema, installed by {@link migrateJobQueue}. */
export const JOBS_SCHEMA = 'graphile_worker';

export interface AddJobOptions {
  /**
   * Deterministic key: while a job with this key waits, adding it again replaces its payload and
   * run time (a burst of changes collapses into one job). If it is already running, a new job is
   * queued behind it, so a change made during a run is acted upon.
   */
  jobKey?: string;
  /** Keep the waiting job's run time when replacing it (debounce) instead of moving it. */
  preserveRunAt?: boolean;
  runAt?: Date;
  maxAttempts?: number;
  /** graphile-worker serial queue: jobs with the same queue name run one at a time, in order. */
  queueName?: string;
  priority?: number;
}

export interface JobSpec<N extends JobName = JobName> {
  name: N;
  payload: JobPayloads[N];
  options?: Omit<AddJobOptions, 'preserveRunAt'>;
}

/** Our default: an unexpected failure (a bug, the database gone) is retried a few times, not 25. */
export const DEFAULT_MAX_ATTEMPTS = 10;

/**
 * Enqueues jobs through the caller's transaction, so a job exists exactly when the change that
 * caused it commits: a rolled-back write never runs its job, a committed one never loses it.
 * Workers pick a committed job up within milliseconds (LISTEN/NOTIFY).
 */
@Injectable()
export class JobQueue {
  async addJob<N extends JobName>(
    tx: EntityManager,
    name: N,
    payload: JobPayloads[N],
    options: AddJobOptions = {},
  ): Promise<void> {
    await tx.query(
      `SELECT 1 FROM ${JOBS_SCHEMA}.add_job(
         identifier => $1, payload => $2::json, queue_name => $3, run_at => $4::timestamptz,
         max_attempts => $5::smallint, job_key => $6, priority => $7::smallint, job_key_mode => $8)`,
      [
        name,
        JSON.stringify(payload),
        options.queueName ?? null,
        options.runAt?.toISOString() ?? null,
        options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
        options.jobKey ?? null,
        options.priority ?? null,
        options.preserveRunAt ? 'preserve_run_at' : 'replace',
      ],
    );
  }

  /**
   * Enqueues many jobs in one statement. Specs sharing a job key collapse to the last one (one
   * statement cannot touch the same keyed row twice).
   */
  async addJobs(
    tx: EntityManager,
    specs: readonly JobSpec[],
    options: { preserveRunAt?: boolean } = {},
  ): Promise<void> {
    if (specs.length === 0) return;
    const byKey = new Map<string, JobSpec>();
    const unkeyed: JobSpec[] = [];
    for (const spec of specs) {
      const key = spec.options?.jobKey;
      if (key === undefined) unkeyed.push(spec);
      else {
        byKey.delete(key); // keep the latest spec's position
        byKey.set(key, spec);
      }
    }
    const all = [...unkeyed, ...byKey.values()];
    await tx.query(
      `SELECT count(*) FROM ${JOBS_SCHEMA}.add_jobs(
         (SELECT array_agg((t.identifier, t.payload, t.queue_name, t.run_at, t.max_attempts, t.job_key, t.priority, NULL)::${JOBS_SCHEMA}.job_spec)
            FROM unnest($1::text[], $2::json[], $3::text[], $4::timestamptz[], $5::smallint[], $6::text[], $7::smallint[])
              AS t(identifier, payload, queue_name, run_at, max_attempts, job_key, priority)),
         $8::boolean)`,
      [
        all.map((s) => s.name),
        all.map((s) => JSON.stringify(s.payload)),
        all.map((s) => s.options?.queueName ?? null),
        all.map((s) => s.options?.runAt?.toISOString() ?? null),
        all.map((s) => s.options?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS),
        all.map((s) => s.options?.jobKey ?? null),
        all.map((s) => s.options?.priority ?? 0),
        options.preserveRunAt ?? false,
      ],
    );
  }
}
