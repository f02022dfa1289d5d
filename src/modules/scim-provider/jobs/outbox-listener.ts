import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ChangeRecorder } from '../../directory/index.js';
import { OUTBOX_CHANNEL } from '../engine/dispatcher.js';

/**
 * In every process that writes to the directory: each directory write, inside its own
 * transaction, signals the outbox channel. PostgreSQL delivers the notification only if the
 * transaction commits (and once per transaction); worker processes turn it into the coalescing
 * dispatch job ({@link OutboxWaker}).
 *
 * Why not `graphile_worker.add_job` here: one coalescing job key is one row, and
 * `add_job(job_key)` row-locks it until the writing transaction commits — every concurrent
 * directory write would queue behind the others' commits. A notification takes no lock. Nothing
 * can be lost: the outbox row itself commits with the change, and workers also dispatch at start
 * and whenever events have waited a few seconds (see `SyncScheduler`).
 */
@Injectable()
export class OutboxListener implements OnModuleInit {
  constructor(private readonly changes: ChangeRecorder) {}

  onModuleInit(): void {
    this.changes.onRecorded(async (tx) => {
      await tx.query(`SELECT pg_notify($1, '')`, [OUTBOX_CHANNEL]);
    });
  }
}
