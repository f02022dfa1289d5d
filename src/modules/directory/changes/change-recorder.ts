import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { ChangeKind, ChangeOrigin, ObjectType } from './change-event.entity.js';
import { OutboxSignal } from './outbox-signal.js';

const EVENT_COLUMNS = '(object_type, object_id, kind, origin_type, origin_id, version, detail)';

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
    const [objectType, kind, originType, originId, version, detail] = eventValues(origin, change).map(
      (value, i) => bindParam(params, value, EVENT_TYPES[i]!),
    );
    return `INSERT INTO change_events ${EVENT_COLUMNS}
      SELECT ${objectType}, id, ${kind}, ${originType}, ${originId}, ${version}, ${detail} FROM ${from}`;
  }

  async record(tx: EntityManager, origin: ChangeOrigin, changes: ChangeToRecord[]): Promise<void> {
    if (changes.length === 0) return;
    if (!tx.queryRunner?.isTransactionActive) {
      throw new Error('ChangeRecorder.record must run inside the transaction of the change');
    }
    // One multi-row INSERT without ORM overhead: this runs on every directory write.
    const params: unknown[] = [];
    const tuples = changes.map((c) => {
      const [objectType, ...rest] = eventValues(origin, c);
      const values = [objectType, c.objectId, ...rest].map((value) => {
        params.push(value);
        return `$${params.length}`;
      });
      return `(${values.join(', ')})`;
    });
    await tx.query(`INSERT INTO change_events ${EVENT_COLUMNS} VALUES ${tuples.join(', ')}`, params);
    this.signal.written(tx);
  }
}

/** Types of {@link eventValues}, in its order. */
const EVENT_TYPES = ['text', 'text', 'text', 'text', 'int', 'jsonb'] as const;

/** An event's values but its object id, in column order: type, kind, origin type and id, version, detail. */
function eventValues(origin: ChangeOrigin, change: Omit<ChangeToRecord, 'objectId'>): unknown[] {
  return [
    change.objectType,
    change.kind,
    origin.type,
    origin.id,
    change.version ?? null,
    change.detail ? JSON.stringify(change.detail) : null,
  ];
}

/**
 * Binds `value` as the next positional parameter, cast to `type`: `INSERT … SELECT $n::type …`
 * needs the casts, because PostgreSQL cannot infer a parameter's type from a SELECT list the way
 * it does from VALUES. Returns the placeholder (`$n::type`).
 */
function bindParam(params: unknown[], value: unknown, type: string): string {
  params.push(value);
  return `$${params.length}::${type}`;
}
