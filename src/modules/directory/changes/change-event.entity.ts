import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type ObjectType = 'user' | 'group';
export type ChangeKind = 'created' | 'updated' | 'deleted' | 'members_added' | 'members_removed';
export type OriginType = 'admin' | 'source' | 'system';

/** Who made a directory change: an admin (token id), a SCIM source (source id) or the system. */
export interface ChangeOrigin {
  type: OriginType;
  id: string | null;
}

/**
 * The transactional outbox: one row per directory write, inserted in the same transaction as the
 * write itself, so a change is never lost and never recorded without its write. Outbound sync
 * consumes rows in id order and marks them dispatched.
 */
@Entity({ name: 'change_events' })
@Check('change_events_object_type_check', "object_type IN ('user', 'group')")
@Check(
  'change_events_kind_check',
  "kind IN ('created', 'updated', 'deleted', 'members_added', 'members_removed')",
)
@Check('change_events_origin_type_check', "origin_type IN ('admin', 'source', 'system')")
@Index('change_events_undispatched_idx', { synchronize: false }) // (id) WHERE dispatched_at IS NULL
@Index('change_events_object_idx', ['objectType', 'objectId'])
export class ChangeEventEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ type: 'text' })
  objectType: ObjectType;

  @Column({ type: 'uuid' })
  objectId: string;

  @Column({ type: 'text' })
  kind: ChangeKind;

  @Column({ type: 'text' })
  originType: OriginType;

  @Column({ type: 'text', nullable: true })
  originId: string | null;

  /** The object's version after the change (null for deletions and membership sets). */
  @Column({ type: 'integer', nullable: true })
  version: number | null;

  /** Kind-specific detail, e.g. `{ userIds: [...], groupIds: [...] }` for membership sets. */
  @Column({ type: 'jsonb', nullable: true })
  detail: Record<string, unknown> | null;

  @CreateDateColumn({ type: 'timestamptz' })
  occurredAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  dispatchedAt: Date | null;
}
