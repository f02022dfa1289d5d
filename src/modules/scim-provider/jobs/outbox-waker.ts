import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import pg from 'pg';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { JobQueue } from '../../../platform/jobs/index.js';
import { LOGGER } from '../../../platform/logging/logging.module.js';
import { OUTBOX_CHANNEL } from '../../directory/index.js';
import { Dispatcher, DISPATCH_JOB_KEY } from '../engine/dispatcher.js';

/**
 * Worker processes: listens on the outbox channel and dispatches at once — one dispatch at a time
 * in this process, with one more after it if notifications arrived meanwhile. Dispatching is safe
 * in several processes at once (each takes other events, `SKIP LOCKED`), and durable without a job:
 * the events stay in the outbox until a dispatch commits. If a dispatch here fails, the dispatch job
 * (with its retries) takes over; the scheduler also enqueues it for events left waiting, and this
 * process dispatches once at start.
 */
@Injectable()
export class OutboxWaker implements OnApplicationBootstrap, OnModuleDestroy {
  private client: pg.Client | undefined;
  private stopping = false;
  private dispatching = false;
  private current: Promise<void> = Promise.resolve();
  private again = false;
  private readonly logger: Logger;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly jobs: JobQueue,
    private readonly dispatcher: Dispatcher,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'outbox-waker' });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.listen();
    this.wake();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    await this.client?.end().catch(() => undefined);
    await this.current;
  }

  /** Dispatches now; notifications arriving meanwhile cause one more dispatch after it. */
  wake(): void {
    if (this.stopping) return;
    if (this.dispatching) {
      this.again = true;
      return;
    }
    this.dispatching = true;
    this.current = this.dispatcher
      .dispatch()
      .then(() => undefined)
      .catch(async (error: unknown) => {
        this.logger.warn({ err: error }, 'outbox dispatch failed; handing it to the dispatch job');
        await this.jobs
          .addJob(this.dataSource.manager, 'scim-provider.dispatch', {}, { jobKey: DISPATCH_JOB_KEY })
          .catch(() => undefined);
      })
      .finally(() => {
        this.dispatching = false;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async listen(): Promise<void> {
    const url = (this.dataSource.options as { url?: string }).url;
    const client = new pg.Client({ connectionString: url, application_name: 'identity-bridge-outbox' });
    client.on('notification', () => this.wake());
    client.on('error', (error) => {
      if (this.stopping) return;
      this.logger.warn({ err: error }, 'outbox listener connection lost; reconnecting');
      this.client = undefined;
      setTimeout(
        () =>
          void this.listen()
            .then(() => this.wake())
            .catch(() => undefined),
        1000,
      ).unref();
    });
    await client.connect();
    await client.query(`LISTEN ${client.escapeIdentifier(OUTBOX_CHANNEL)}`);
    this.client = client;
  }
}
