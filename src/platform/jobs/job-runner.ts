import { EventEmitter, setMaxListeners } from 'node:events';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Logger as GraphileLogger, run, type Runner, type Task, type TaskList } from 'graphile-worker';
import pg from 'pg';
import type { Logger } from 'pino';
import { Counter, Histogram } from 'prom-client';
import { DataSource } from 'typeorm';
import { logContext } from '../logging/logger.js';
import { LOGGER } from '../logging/logging.module.js';
import { metricOnce, registry } from '../metrics/metrics.js';
import { JOB_QUEUES, type JobName, type ProcessorQueue, type QueuedJob } from './job-catalogue.js';
import { JobProcessors } from './job-processors.js';
import { JOBS_SCHEMA } from './job-queue.js';
import { ProcessPresence, processAliveSql } from './process-presence.js';

export interface JobRunnerOptions {
  /** Jobs run at once in this process. */
  concurrency: number;
  /** How often idle workers look for jobs whose run time has come (new jobs arrive by NOTIFY). */
  pollIntervalMs: number;
  /** How often this process looks for jobs held by crashed processes. */
  sweepIntervalMs: number;
}

export const JOB_RUNNER_OPTIONS = Symbol('JOB_RUNNER_OPTIONS');

/**
 * Jobs mostly wait on downstream apps (a push is one HTTP round trip), so a worker runs many at
 * once; each holds a database connection only for its short queries.
 */
export const DEFAULT_JOB_RUNNER_OPTIONS: JobRunnerOptions = {
  concurrency: 24,
  pollIntervalMs: 1000,
  sweepIntervalMs: 5000,
};

const jobsTotal = metricOnce(
  'identity_bridge_jobs_total',
  () =>
    new Counter({
      name: 'identity_bridge_jobs_total',
      help: 'Jobs run by this process, by job name and outcome (success, error)',
      labelNames: ['job', 'outcome'] as const,
      registers: [registry],
    }),
);
const jobDuration = metricOnce(
  'identity_bridge_job_duration_seconds',
  () =>
    new Histogram({
      name: 'identity_bridge_job_duration_seconds',
      help: 'Job run time by job name',
      labelNames: ['job'] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60],
      registers: [registry],
    }),
);

/**
 * Runs the job catalogue on graphile-worker in worker processes (ROLE=all|worker): one
 * graphile-worker pool with its own connections, each job handed to its queue's processor.
 *
 * Crash recovery: graphile-worker frees jobs of a vanished worker only after 4 hours. So each
 * runner records its worker ids in `job_workers` with its process id, and every runner
 * periodically unlocks the jobs of worker ids whose process is gone ({@link ProcessPresence}).
 * After a `kill -9`, PostgreSQL drops the dead process's connections at once, and its jobs run
 * again within one sweep interval.
 *
 * Shutdown: on module destroy the runner stops taking jobs, signals running jobs to stop at a
 * safe point (long jobs re-enqueue their remainder) and waits for them.
 */
@Injectable()
export class JobRunner implements OnApplicationBootstrap, OnModuleDestroy {
  private runner: Runner | undefined;
  private pool: pg.Pool | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private readonly logger: Logger;
  private stopping = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly processors: JobProcessors,
    private readonly presence: ProcessPresence,
    @Inject(LOGGER) logger: Logger,
    @Inject(JOB_RUNNER_OPTIONS) private readonly options: JobRunnerOptions,
  ) {
    this.logger = logger.child({ component: 'jobs' });
  }

  async onApplicationBootstrap(): Promise<void> {
    setMaxListeners(0, this.abort.signal); // every running job (and its requests) listens to it
    const missing = this.processors.missing();
    if (missing.length) throw new Error(`No job processor registered for queue(s): ${missing.join(', ')}`);
    const url = connectionUrl(this.dataSource);
    this.pool = new pg.Pool({
      connectionString: url,
      // graphile-worker fetches and completes jobs on it (connections open lazily and idle out).
      max: this.options.concurrency + 2,
      application_name: `identity-bridge-jobs`,
    });
    this.pool.on('error', (error) => this.logger.warn({ err: error }, 'job pool connection error'));
    this.pool.on('connect', (client) =>
      client.on('error', (error) => this.logger.warn({ err: error }, 'job connection error')),
    );

    const events = new EventEmitter();
    events.on('pool:create', ({ workerPool }: { workerPool: { id: string } }) =>
      this.recordWorker(workerPool.id),
    );
    events.on('worker:create', ({ worker }: { worker: { workerId: string } }) =>
      this.recordWorker(worker.workerId),
    );
    await this.sweep();
    this.runner = await run({
      pgPool: this.pool,
      schema: JOBS_SCHEMA,
      concurrency: this.options.concurrency,
      pollInterval: this.options.pollIntervalMs,
      noHandleSignals: true,
      taskList: this.taskList(),
      logger: this.graphileLogger(),
      events: events as never,
    });
    this.runner.promise.catch((error: unknown) =>
      this.logger.error({ err: error }, 'job runner stopped with an error'),
    );
    this.sweepTimer = setInterval(() => void this.sweep(), this.options.sweepIntervalMs);
    this.sweepTimer.unref();
    this.logger.info(
      { processId: this.presence.processId, concurrency: this.options.concurrency },
      'job runner started',
    );
  }

  async onModuleDestroy(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.abort.abort();
    try {
      await this.runner?.stop('shutting down');
    } catch (error) {
      this.logger.warn({ err: error }, 'job runner did not stop cleanly');
    }
    try {
      await this.pool?.query('DELETE FROM job_workers WHERE process_id = $1', [this.presence.processId]);
    } catch {
      // the sweep of another process removes the rows
    }
    await this.pool?.end().catch(() => undefined);
    this.logger.info('job runner stopped');
  }

  private taskList(): TaskList {
    const tasks: TaskList = {};
    for (const [queue, names] of Object.entries(JOB_QUEUES) as [ProcessorQueue, readonly JobName[]][]) {
      const processor = this.processors.get(queue)!;
      for (const name of names) {
        const task: Task = async (payload, helpers) => {
          const job = {
            name,
            payload: (payload ?? {}) as never,
            id: helpers.job.id,
            attempts: helpers.job.attempts,
            maxAttempts: helpers.job.max_attempts,
            signal: this.abort.signal,
          } as QueuedJob<ProcessorQueue>;
          const stop = jobDuration.startTimer({ job: name });
          try {
            await logContext.run({ jobId: helpers.job.id }, () => processor(job));
            jobsTotal.inc({ job: name, outcome: 'success' });
          } catch (error) {
            jobsTotal.inc({ job: name, outcome: 'error' });
            this.logger.error(
              { err: error, jobId: helpers.job.id, job: name, attempts: helpers.job.attempts },
              'job failed',
            );
            throw error;
          } finally {
            stop();
          }
        };
        tasks[name] = task;
      }
    }
    return tasks;
  }

  private recordWorker(workerId: string): void {
    this.pool
      ?.query(
        'INSERT INTO job_workers (worker_id, process_id) VALUES ($1, $2) ON CONFLICT (worker_id) DO NOTHING',
        [workerId, this.presence.processId],
      )
      .catch((error: unknown) => this.logger.warn({ err: error, workerId }, 'could not record job worker'));
  }

  /** Frees the jobs of processes that are gone (their presence connection closed). */
  async sweep(): Promise<void> {
    try {
      const rows: { worker_id: string }[] = await this.dataSource.query(
        `SELECT w.worker_id FROM job_workers w WHERE NOT ${processAliveSql('w.process_id')}`,
      );
      if (rows.length === 0) return;
      const ids = rows.map((r) => r.worker_id);
      await this.dataSource.query(`SELECT ${JOBS_SCHEMA}.force_unlock_workers($1::text[])`, [ids]);
      await this.dataSource.query('DELETE FROM job_workers WHERE worker_id = ANY($1::text[])', [ids]);
      this.logger.info({ workers: ids.length }, 'released jobs of crashed worker processes');
    } catch (error) {
      this.logger.warn({ err: error }, 'job sweep failed');
    }
  }

  private graphileLogger(): GraphileLogger {
    const log = this.logger;
    return new GraphileLogger((scope) => (level, message, meta) => {
      const fields = { ...scope, ...(meta ?? {}) };
      switch (level as string) {
        case 'error':
          log.error(fields, message);
          break;
        case 'warning':
          log.warn(fields, message);
          break;
        case 'info':
          log.debug(fields, message); // graphile-worker's info lines are per job: debug for us
          break;
        default:
          log.trace(fields, message);
      }
    });
  }
}

function connectionUrl(dataSource: DataSource): string {
  const url = (dataSource.options as { url?: string }).url;
  if (!url) throw new Error('The job runner needs the DataSource to be configured with a URL');
  return url;
}
