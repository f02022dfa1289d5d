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
import { GroupEntity, UserEntity } from '../../directory/index.js';
import { SourceEntity } from '../sources/source.entity.js';

export type ScimResourceTypeName = 'User' | 'Group';

/**
 * One object a source manages: the SCIM id (the directory id), the directory object it stands for
 * (deleting that object deletes the link), and the resource as the source last sent it. Filters
 * from the source run against this table only, so a source never sees anything it did not create.
 */
@Entity({ name: 'scim_links' })
@Check(
  'scim_links_object_check',
  `(resource_type = 'User' AND user_id = id AND group_id IS NULL AND user_name IS NOT NULL)
          OR (resource_type = 'Group' AND group_id = id AND user_id IS NULL)`,
)
@Index('scim_links_type_id_idx', { synchronize: false }) // (source_id, resource_type, id) WHERE deleted_at IS NULL
@Index('scim_links_user_name_key', { synchronize: false }) // UNIQUE (source_id, lower(user_name)) WHERE User AND live
@Index('scim_links_external_id_idx', { synchronize: false }) // (source_id, resource_type, external_id) WHERE live
@Index('scim_links_display_name_idx', { synchronize: false }) // (source_id, resource_type, lower(display_name)) WHERE live
@Index('scim_links_emails_idx', { synchronize: false }) // GIN (ib_email_values(payload)) WHERE User AND live
@Index('scim_links_user_idx', { synchronize: false }) // (user_id) WHERE user_id IS NOT NULL
@Index('scim_links_group_idx', { synchronize: false }) // (group_id) WHERE group_id IS NOT NULL
export class LinkEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'scim_links_pkey' })
  sourceId: string;

  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'scim_links_pkey' })
  id: string;

  @Column({ type: 'text' })
  resourceType: ScimResourceTypeName;

  @Column({ type: 'uuid', nullable: true })
  userId: string | null;

  @Column({ type: 'uuid', nullable: true })
  groupId: string | null;

  /** The SCIM resource as last received (normalised; no id, meta, members or password). */
  @Column({ type: 'jsonb' })
  payload: Record<string, unknown>;

  @Column({ type: 'text', nullable: true })
  userName: string | null;

  @Column({ type: 'text', nullable: true })
  externalId: string | null;

  @Column({ type: 'text', nullable: true })
  displayName: string | null;

  /** The SCIM `meta.version` (ETag): bumped whenever the source's view of the object changes. */
  @Column({ type: 'integer', default: 1 })
  version: number;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;

  /** Set when the source deleted a user it only deactivates: hidden from the source, revivable by it. */
  @Column({ type: 'timestamptz', nullable: true })
  deletedAt: Date | null;

  @ManyToOne(() => SourceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'source_id', foreignKeyConstraintName: 'scim_links_source_id_fkey' })
  source?: Relation<SourceEntity>;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'scim_links_user_id_fkey' })
  user?: Relation<UserEntity>;

  @ManyToOne(() => GroupEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'group_id', foreignKeyConstraintName: 'scim_links_group_id_fkey' })
  group?: Relation<GroupEntity>;
}
