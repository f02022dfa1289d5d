import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  type Relation,
} from 'typeorm';
import { UserEntity } from '../users/user.entity.js';
import { GroupEntity } from './group.entity.js';

/**
 * One member of one group: a user (`memberUserId`) or a nested group (`memberGroupId`), exactly one
 * of them set. Foreign keys cascade, so deleting a user or a group removes its memberships.
 */
@Entity({ name: 'memberships' })
@Check('memberships_one_member', 'num_nonnulls(member_user_id, member_group_id) = 1')
@Check('memberships_not_self', 'member_group_id IS DISTINCT FROM group_id')
@Index('memberships_group_user_key', { synchronize: false }) // UNIQUE (group_id, member_user_id) WHERE member_user_id IS NOT NULL
@Index('memberships_group_group_key', { synchronize: false }) // UNIQUE (group_id, member_group_id) WHERE member_group_id IS NOT NULL
@Index('memberships_member_user_idx', { synchronize: false })
@Index('memberships_member_group_idx', { synchronize: false })
export class MembershipEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ type: 'uuid' })
  groupId: string;

  @Column({ type: 'uuid', nullable: true })
  memberUserId: string | null;

  @Column({ type: 'uuid', nullable: true })
  memberGroupId: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @ManyToOne(() => GroupEntity, { onDelete: 'CASCADE', createForeignKeyConstraints: true })
  @JoinColumn({ name: 'group_id', foreignKeyConstraintName: 'memberships_group_id_fkey' })
  group?: Relation<GroupEntity>;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'member_user_id', foreignKeyConstraintName: 'memberships_member_user_id_fkey' })
  memberUser?: Relation<UserEntity>;

  @ManyToOne(() => GroupEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'member_group_id', foreignKeyConstraintName: 'memberships_member_group_id_fkey' })
  memberGroup?: Relation<GroupEntity>;
}
