import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  type Relation,
} from 'typeorm';
import { SourceEntity } from './source.entity.js';

/**
 * A source's bearer token, stored as a SHA-256 digest; the public prefix finds the row. After a
 * rotation the old token keeps working until `retiredAt` (the grace period), then never again.
 */
@Entity({ name: 'scim_source_tokens' })
export class SourceTokenEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index('scim_source_tokens_source_idx')
  @Column({ type: 'uuid' })
  sourceId: string;

  @Index('scim_source_tokens_prefix_key', { unique: true })
  @Column({ type: 'text' })
  prefix: string;

  @Column({ type: 'bytea' })
  digest: Buffer;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  /** The token's own expiry, chosen by the admin (null: no expiry). */
  @Column({ type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  /** Set on rotation: the moment the replaced token stops working. */
  @Column({ type: 'timestamptz', nullable: true })
  retiredAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;

  @ManyToOne(() => SourceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'source_id', foreignKeyConstraintName: 'scim_source_tokens_source_id_fkey' })
  source?: Relation<SourceEntity>;
}
