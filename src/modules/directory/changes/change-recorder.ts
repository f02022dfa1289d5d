import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import {
  ChangeEventEntity,
  type ChangeKind,
  type ChangeOrigin,
  type ObjectType,
} from './change-event.entity.js';

export interface ChangeToRecord {
  objectType: ObjectType;
  objectId: string;
  kind: ChangeKind;
  version?: number | null;
  detail?: Record<string, unknown> | null;
}

/**
 * Called inside the transaction that recorded changes, e.g. to enqueue the job that delivers them.
 * Registered by modules above the directory, so the directory depends on none of them.
 */
export type ChangeListener = (tx: EntityManager, events: ChangeEventEntity[]) => Promise<void>;

/** Writes outbox rows. Must be called with the transaction of the write it describes. */
@Injectable()
export class ChangeRecorder {
  private readonly listeners: ChangeListener[] = [];

  onRecorded(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  async record(tx: EntityManager, origin: ChangeOrigin, changes: ChangeToRecord[]): Promise<void> {
    if (changes.length === 0) return;
    if (!tx.queryRunner?.isTransactionActive) {
      throw new Error('ChangeRecorder.record must run inside the transaction of the change');
    }
    // One multi-row INSERT … RETURNING, without ORM overhead: this runs on every directory write.
    const params: unknown[] = [];
    const tuples = changes.map((c) => {
      const at = params.length;
      params.push(
        c.objectType,
        c.objectId,
        c.kind,
        origin.type,
        origin.id,
        c.version ?? null,
        c.detail ? JSON.stringify(c.detail) : null,
      );
      return `($${at + 1}, $${at + 2}, $${at + 3}, $${at + 4}, $${at + 5}, $${at + 6}, $${at + 7})`;
    });
    const rows: { id: string; occurred_at: Date }[] = await tx.query(
      `INSERT INTO change_events (object_type, object_id, kind, origin_type, origin_id, version, detail)
       VALUES ${tuples.join(', ')} RETURNING id, occurred_at`,
      params,
    );
    if (this.listeners.length === 0) return;
    const saved = changes.map((c, i) =>
      Object.assign(new ChangeEventEntity(), {
        id: String(rows[i]!.id),
        objectType: c.objectType,
        objectId: c.objectId,
        kind: c.kind,
        version: c.version ?? null,
        detail: c.detail ?? null,
        originType: origin.type,
        originId: origin.id,
        occurredAt: rows[i]!.occurred_at,
        dispatchedAt: null,
      }),
    );
    for (const listener of this.listeners) await listener(tx, saved);
  }
}
