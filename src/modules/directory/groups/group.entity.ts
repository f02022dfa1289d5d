import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** A directory group. Members are rows of {@link MembershipEntity}, never part of `attributes`. */
@Entity({ name: 'groups' })
@Index('groups_display_name_lower_idx', { synchronize: false }) // (lower(display_name))
export class GroupEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  displayName: string;

  @Index('groups_external_id_idx')
  @Column({ type: 'text', nullable: true })
  externalId: string | null;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  attributes: Record<string, unknown>;

  @Column({ type: 'integer', default: 1 })
  version: number;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
