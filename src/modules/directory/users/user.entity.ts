import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';

/** `person` for people, `service` for service accounts (providers can exclude them from scope). */
export type UserKind = 'person' | 'service';

/**
 * A directory user. The attributes that are looked up constantly (userName, externalId,
 * displayName, active) are columns; every other SCIM core, enterprise and extension attribute lives
 * in `attributes` in its SCIM shape (extensions under their URN key).
 */
@Entity({ name: 'users' })
@Check('users_kind_check', "kind IN ('person', 'service')")
@Index('users_user_name_lower_key', { synchronize: false }) // UNIQUE (lower(user_name))
@Index('users_email_values_idx', { synchronize: false }) // GIN (ib_email_values(attributes))
export class UserEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  userName: string;

  @Index('users_external_id_idx')
  @Column({ type: 'text', nullable: true })
  externalId: string | null;

  @Column({ type: 'text', nullable: true })
  displayName: string | null;

  @Column({ type: 'boolean', default: true })
  active: boolean;

  @Column({ type: 'text', default: 'person' })
  kind: UserKind;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  attributes: Record<string, unknown>;

  /** Incremented on every change; the SCIM ETag and the admin API's optimistic lock. */
  @Column({ type: 'integer', default: 1 })
  version: number;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
