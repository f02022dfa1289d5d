import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { JobQueue } from '../../../platform/jobs/index.js';
import { LOGGER } from '../../../platform/logging/logging.module.js';
import { DISPATCH_JOB_KEY } from '../engine/dispatcher.js';
import { ProviderRepository } from '../providers/provider.repository.js';
import { nextRunAt } from '../providers/schedule.js';
import { RunsService } from '../runs/runs.service.js';

const TICK_MS = 5000;

/**
 * Worker processes only: every few seconds, start the full syncs that are due (schedules live in
 * the database with the provider). Due providers are row-locked with SKIP LOCKED and their next
 * time is moved in the same transaction, so several worker replicas never start the same run
 * twice (and a run already going is simply kept). The tick also re-kicks the outbox dispatcher
 * if events have been waiting, a safety net behind the transactional enqueue.
 */
@Injectable()
export class SyncScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private current: Promise<void> = Promise.resolve();
  private readonly logger: Logger;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly runs: RunsService,
    private readonly jobs: JobQueue,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'sync-scheduler' });
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.current = this.tick();
    }, TICK_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.current; // never close the database under a tick
  }

  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.dataSource.transaction(async (tx) => {
        const repo = new ProviderRepository(tx);
        for (const provider of await repo.due(20)) {
          const { runId, started } = await this.runs.start(provider.id, 'schedule', tx);
          await repo.setNextSyncAt(provider.id, nextRunAt(provider.schedule, new Date()));
          if (started) this.logger.info({ providerId: provider.id, runId }, 'scheduled full sync started');
        }
      });
      const [waiting] = (await this.dataSource.query(
        `SELECT EXISTS (SELECT 1 FROM change_events WHERE dispatched_at IS NULL AND occurred_at < now() - interval '5 seconds') AS waiting`,
      )) as { waiting: boolean }[];
      if (waiting?.waiting) {
        await this.dataSource.transaction((tx) =>
          this.jobs.addJob(tx, 'scim-provider.dispatch', {}, { jobKey: DISPATCH_JOB_KEY }),
        );
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'scheduler tick failed');
    } finally {
      this.running = false;
    }
  }
}
