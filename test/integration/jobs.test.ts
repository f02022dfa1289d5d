import { Test, type TestingModule } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { createDataSource } from '../../src/platform/database/data-source.js';
import { DatabaseModule } from '../../src/platform/database/database.module.js';
import {
  JobProcessors,
  JobQueue,
  JobsModule,
  JOB_QUEUES,
  ProcessPresence,
  type QueuedJob,
} from '../../src/platform/jobs/index.js';
import { JobRunner } from '../../src/platform/jobs/job-runner.js';
import { createLogger } from '../../src/platform/logging/logger.js';
import { LoggingModule } from '../../src/platform/logging/logging.module.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { waitFor } from '../support/process.js';

/** The job platform on real PostgreSQL: transactional enqueue, pickup, coalescing, crash recovery. */
let testDb: TestDatabase;
let dataSource: DataSource;
let module: TestingModule;
let queue: JobQueue;
const seen: QueuedJob<'scim-provider'>[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase();
  dataSource = createDataSource(testDb.url, { poolSize: 4 });
  await dataSource.initialize();
  module = await Test.createTestingModule({
    imports: [
      LoggingModule.forRoot(createLogger('silent')),
      DatabaseModule.forRoot(dataSource),
      JobsModule.forRoot('worker', { concurrency: 2, pollIntervalMs: 200, sweepIntervalMs: 60_000 }),
    ],
  }).compile();
  // A stand-in processor for the one queue: records what it is given.
  module.get(JobProcessors).register('scim-provider', async (job) => {
    seen.push(job);
  });
  await module.init();
  queue = module.get(JobQueue);
});

afterAll(async () => {
  await module?.close();
  if (dataSource?.isInitialized) await dataSource.destroy();
  await testDb?.drop();
});

type PushJob = Extract<QueuedJob<'scim-provider'>, { name: 'scim-provider.push' }>;
const pushesOf = (objectId: string): PushJob[] =>
  seen.filter((j): j is PushJob => j.name === 'scim-provider.push' && j.payload.objectId === objectId);

describe('job platform', () => {
  it('catalogues every job name in exactly one processor queue', () => {
    const names = Object.values(JOB_QUEUES).flat();
    expect(new Set(names).size).toBe(names.length);
  });

  it('runs a job committed with its transaction within moments, and never one rolled back', async () => {
    await dataSource
      .transaction(async (tx) => {
        await queue.addJob(tx, 'scim-provider.push', {
          providerId: 'p',
          objectType: 'user',
          objectId: 'rolled-back',
        });
        throw new Error('roll back');
      })
      .catch(() => undefined);
    const started = Date.now();
    await dataSource.transaction((tx) =>
      queue.addJob(tx, 'scim-provider.push', { providerId: 'p', objectType: 'user', objectId: 'committed' }),
    );
    await waitFor(async () => (pushesOf('committed').length ? true : undefined), 5000, 'the committed job');
    expect(Date.now() - started).toBeLessThan(1000);
    // The rolled-back job was never queued: no row to run, now or later.
    const rows = (await dataSource.query(
      `SELECT count(*) AS n FROM graphile_worker._private_jobs WHERE payload->>'objectId' = 'rolled-back'`,
    )) as { n: string }[];
    expect(Number(rows[0]!.n)).toBe(0);
    expect(pushesOf('rolled-back')).toEqual([]);
  });

  it('collapses jobs with the same key into one run with the latest payload', async () => {
    await module.get(JobRunner).onModuleDestroy(); // stop taking jobs while we queue
    for (let i = 0; i < 10; i++) {
      await dataSource.transaction((tx) =>
        queue.addJob(
          tx,
          'scim-provider.push',
          { providerId: 'p', objectType: 'user', objectId: 'burst', attempt: i },
          { jobKey: 'burst' },
        ),
      );
    }
    await queue.addJobs(dataSource.manager, [
      {
        name: 'scim-provider.push',
        payload: { providerId: 'p', objectType: 'group', objectId: 'g1' },
        options: { jobKey: 'g1' },
      },
      {
        name: 'scim-provider.push',
        payload: { providerId: 'p', objectType: 'group', objectId: 'g1', attempt: 7 },
        options: { jobKey: 'g1' },
      },
    ]);
    const rows: { n: string }[] = await dataSource.query(
      `SELECT count(*) AS n FROM graphile_worker._private_jobs WHERE key IN ('burst', 'g1')`,
    );
    expect(Number(rows[0]!.n)).toBe(2);
    const pending: { payload: { attempt: number } }[] = await dataSource.query(
      `SELECT payload FROM graphile_worker._private_jobs WHERE key = 'burst'`,
    );
    expect(pending[0]!.payload.attempt).toBe(9);
  });

  it('frees the jobs of a crashed process (its presence connection is gone)', async () => {
    await dataSource.query(
      `UPDATE graphile_worker._private_jobs SET locked_at = now(), locked_by = 'worker-of-dead-process' WHERE key = 'burst'`,
    );
    await dataSource.query(
      `INSERT INTO job_workers (worker_id, process_id) VALUES ('worker-of-dead-process', 'deadbeefdeadbeef')`,
    );
    // A new runner (a restarted worker) sweeps before it starts taking jobs.
    const runner = new JobRunner(
      dataSource,
      module.get(JobProcessors),
      module.get(ProcessPresence),
      createLogger('silent'),
      {
        concurrency: 2,
        pollIntervalMs: 200,
        sweepIntervalMs: 60_000,
      },
    );
    await runner.onApplicationBootstrap();
    try {
      await waitFor(async () => (pushesOf('burst').length ? true : undefined), 5000, 'the freed job to run');
      expect(pushesOf('burst')).toHaveLength(1);
      expect(pushesOf('burst')[0]!.payload.attempt).toBe(9);
      const left: unknown[] = await dataSource.query(
        `SELECT 1 FROM job_workers WHERE process_id = 'deadbeefdeadbeef'`,
      );
      expect(left).toEqual([]);
    } finally {
      await runner.onModuleDestroy();
    }
  });
});
