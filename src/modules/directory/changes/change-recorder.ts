import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { ChangeKind, ChangeOrigin, ObjectType } from './change-event.entity.js';
import { OutboxSignal } from './outbox-signal.js';

export interface ChangeToRecord {
  objectType: ObjectType;
  objectId: string;
  kind: ChangeKind;
  version?: number | null;
  detail?: Record<string, unknown> | null;
}

/**
 * Writes outbox rows: with the transaction of the write they describe (`record`), or as part of
 * the very statement that makes the write (`statementFor`, then `written`). Either way the
 * {@link OutboxSignal} wakes the workers once the write is committed.
 */
@Injectable()
export class ChangeRecorder {
  constructor(private readonly signal: OutboxSignal) {}

  /** After a statement from `statementFor` ran through `em`. */
  written(em: EntityManager): void {
    this.signal.written(em);
  }

  /**
   * The outbox insert for one object written by the same statement, as a data-modifying CTE body:
   * the object's id is read from `from`, a CTE of that statement returning `id`. The write and its
   * event are then one statement — atomic without a transaction, one round trip instead of four
   * (the hot path of provisioning). Appends its parameters to `params`.
   */
  statementFor(
    origin: ChangeOrigin,
    change: Omit<ChangeToRecord, 'objectId'>,
    from: string,
    params: unknown[],
  ): string {
    const param = (value: unknown, type: string): string => {
      params.push(value);
      return `$${params.length}::${type}`;
    };
    return `INSERT INTO change_events (object_type, object_id, kind, origin_type, origin_id, version, detail)
      SELECT ${param(change.objectType, 'text')}, id, ${param(change.kind, 'text')}, ${param(origin.type, 'text')},
             ${param(origin.id, 'text')}, ${param(change.version ?? null, 'int')},
             ${param(change.detail ? JSON.stringify(change.detail) : null, 'jsonb')}
        FROM ${from}`;
  }

  async record(tx: EntityManager, origin: ChangeOrigin, changes: ChangeToRecord[]): Promise<void> {
    if (changes.length === 0) return;
    if (!tx.queryRunner?.isTransactionActive) {
      throw new Error('ChangeRecorder.record must run inside the transaction of the change');
    }
    // One multi-row INSERT without ORM overhead: this runs on every directory write.
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
    await tx.query(
      `INSERT INTO change_events (object_type, object_id, kind, origin_type, origin_id, version, detail)
       VALUES ${tuples.join(', ')}`,
      params,
    );
    this.signal.written(tx);
  }
}
