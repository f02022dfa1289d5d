import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  UpdateDateColumn,
  type Relation,
} from 'typeorm';
import type { SyncObjectType } from '../../../platform/jobs/index.js';
import { ProviderEntity } from '../providers/provider.entity.js';

export type ConnectionState = 'pending' | 'synced' | 'failed' | 'deactivated' | 'skipped';

/**
 * One directory object as one provider knows it: the app's id for it, exactly what we last sent
 * (the base of the next diff), and how the last attempt went. A lease (`leaseOwner`,
 * `leaseUntil`) makes pushes of the same object in several workers take turns.
 */
@Entity({ name: 'provider_connections' })
@Check('provider_connections_object_type_check', `object_type IN ('user', 'group')`)
@Check(
  'provider_connections_state_check',
  `state IN ('pending', 'synced', 'failed', 'deactivated', 'skipped')`,
)
@Index('provider_connections_remote_id_idx', { synchronize: false }) // (provider_id, object_type, remote_id)
export class ConnectionEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'provider_connections_pkey' })
  providerId: string;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'provider_connections_pkey' })
  objectType: SyncObjectType;

  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'provider_connections_pkey' })
  localId: string;

  @Column({ type: 'text', nullable: true })
  remoteId: string | null;

  @Column({ type: 'text', default: 'pending' })
  state: ConnectionState;

  /** The payload we last sent (members excluded: see `provider_group_members`). */
  @Column({ type: 'jsonb', nullable: true })
  lastSent: Record<string, unknown> | null;

  @Column({ type: 'timestamptz', nullable: true })
  lastSyncedAt: Date | null;

  @Column({ type: 'text', nullable: true })
  lastError: string | null;

  @Column({ type: 'text', nullable: true })
  lastErrorKind: string | null;

  /** Failed attempts since the last success. */
  @Column({ type: 'integer', default: 0 })
  attempts: number;

  /** Set while a create (POST) is in flight: if it is still set later, the outcome is unknown. */
  @Column({ type: 'timestamptz', nullable: true })
  createStartedAt: Date | null;

  @Column({ type: 'text', nullable: true })
  leaseOwner: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  leaseUntil: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;

  @ManyToOne(() => ProviderEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'provider_id', foreignKeyConstraintName: 'provider_connections_provider_id_fkey' })
  provider?: Relation<ProviderEntity>;
}

/** A member we sent to the app as part of a group (the base of the next membership diff). */
@Entity({ name: 'provider_group_members' })
@Check('provider_group_members_member_type_check', `member_type IN ('user', 'group')`)
@Index('provider_group_members_member_idx', { synchronize: false }) // (provider_id, member_type, member_id)
export class SentMemberEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'provider_group_members_pkey' })
  providerId: string;

  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'provider_group_members_pkey' })
  groupId: string;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'provider_group_members_pkey' })
  memberType: SyncObjectType;

  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'provider_group_members_pkey' })
  memberId: string;

  @Column({ type: 'text' })
  remoteId: string;

  @ManyToOne(() => ProviderEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'provider_id', foreignKeyConstraintName: 'provider_group_members_provider_id_fkey' })
  provider?: Relation<ProviderEntity>;
}
