import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Logger } from 'pino';
import type { DataSource, EntityManager, EntitySubscriberInterface, QueryRunner } from 'typeorm';
import { LOGGER } from '../../../platform/logging/logging.module.js';

/** The notification channel the outbox signals; worker processes listen on it. */
export const OUTBOX_CHANNEL = 'identity_bridge_outbox';
/** Least time between two notifications while writes keep coming (the first after a pause goes at once). */
const RESIGNAL_INTERVAL_MS = 10;

/**
 * Tells listening workers that the outbox has new events, once the write that recorded them is
 * committed — never for a rolled-back one.
 *
 * Why not `NOTIFY` inside the writing transaction: PostgreSQL serialises the commits of every
 * transaction that notified (a cluster-wide lock held through the WAL flush), which measurably
 * slows concurrent directory writes. So the signal is sent after the commit, on a pooled
 * connection, and coalesced: while one notification is on its way, any number of further commits
 * cause exactly one more, sent {@link RESIGNAL_INTERVAL_MS} after it. A signal lost to a crash
 * right after a commit only delays delivery: the events are durable in the outbox, and workers
 * also dispatch at start and for events left waiting a few seconds.
 */
@Injectable()
export class OutboxSignal implements EntitySubscriberInterface, OnModuleInit {
  private readonly recorded = new WeakSet<QueryRunner>();
  private sending = false;
  private again = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.dataSource.subscribers.push(this);
  }

  /** Called after outbox rows were written through `em`: signals now, or when its transaction commits. */
  written(em: EntityManager): void {
    const runner = em.queryRunner;
    if (runner?.isTransactionActive) this.recorded.add(runner);
    else this.signal();
  }

  afterTransactionCommit(event: { queryRunner: QueryRunner }): void {
    const runner = event.queryRunner;
    // A released savepoint is not the commit: wait for the outermost transaction.
    if (runner.isTransactionActive || !this.recorded.has(runner)) return;
    this.recorded.delete(runner);
    this.signal();
  }

  afterTransactionRollback(event: { queryRunner: QueryRunner }): void {
    if (!event.queryRunner.isTransactionActive) this.recorded.delete(event.queryRunner);
  }

  private signal(): void {
    if (this.sending) {
      this.again = true;
      return;
    }
    this.sending = true;
    void this.send();
  }

  private async send(): Promise<void> {
    for (;;) {
      this.again = false;
      try {
        await this.dataSource.query(`SELECT pg_notify($1, '')`, [OUTBOX_CHANNEL]);
      } catch (error) {
        if (!this.dataSource.isInitialized) break; // shutting down: workers dispatch at their start
        this.logger.warn(
          { err: error },
          'could not signal the outbox; workers will pick the events up shortly',
        );
      }
      if (!this.again) break;
      // Under a steady stream of writes, one notification per interval: the workers' dispatch
      // takes every waiting event at once, and the round trips go to the writes themselves.
      await new Promise((resolve) => setTimeout(resolve, RESIGNAL_INTERVAL_MS));
    }
    this.sending = false;
  }
}
