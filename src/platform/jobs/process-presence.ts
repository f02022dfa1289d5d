import { randomBytes } from 'node:crypto';
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import pg from 'pg';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { LOGGER } from '../logging/logging.module.js';

/** Prefix of the `application_name` of a process's presence connection. */
export const PRESENCE_PREFIX = 'ib-proc-';

/**
 * Proof that this process is alive, visible to every other process: one connection held open for
 * the process's lifetime, named `ib-proc-<processId>`. When a process dies — even by `kill -9` —
 * PostgreSQL closes its connection at once, so "is process X alive?" is a lookup in
 * `pg_stat_activity` ({@link processAliveSql}). Used to free a crashed process's jobs and leases.
 */
@Injectable()
export class ProcessPresence implements OnModuleInit, OnApplicationShutdown {
  /** Short (application_name is cut at 63 bytes) and unique per process start. */
  readonly processId = randomBytes(8).toString('hex');
  private client: pg.Client | undefined;
  private stopping = false;
  private readonly logger: Logger;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'presence' });
  }

  async onModuleInit(): Promise<void> {
    await this.connect();
  }

  /** Last of the shutdown hooks: the runner has stopped its jobs and released its leases by then. */
  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const url = (this.dataSource.options as { url?: string }).url;
    if (!url) throw new Error('Process presence needs the DataSource to be configured with a URL');
    const client = new pg.Client({
      connectionString: url,
      application_name: `${PRESENCE_PREFIX}${this.processId}`,
    });
    client.on('error', (error) => {
      if (this.stopping) return;
      this.logger.warn({ err: error }, 'presence connection lost; reconnecting');
      this.client = undefined;
      setTimeout(() => void this.connect().catch(() => undefined), 1000).unref();
    });
    await client.connect();
    this.client = client;
  }
}

/** SQL: true when the process whose id is `processIdExpr` (an SQL expression) is alive. */
export function processAliveSql(processIdExpr: string): string {
  return `EXISTS (SELECT 1 FROM pg_stat_activity pa WHERE pa.application_name = '${PRESENCE_PREFIX}' || ${processIdExpr})`;
}
