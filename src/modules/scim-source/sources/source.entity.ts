import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';

/** What a SCIM DELETE of a user does in the directory. Groups are always deleted. */
export const DELETE_BEHAVIORS = ['delete', 'deactivate'] as const;
export type DeleteBehavior = (typeof DELETE_BEHAVIORS)[number];

/**
 * An identity provider that provisions into the bridge over SCIM: one tenant of the SCIM server,
 * reached at `/scim/{slug}/v2` with its own token, mapping lists and objects.
 */
@Entity({ name: 'scim_sources' })
@Check('scim_sources_slug_check', "slug ~ '^[a-z0-9-]{1,64}$'")
@Check('scim_sources_delete_behavior_check', "delete_behavior IN ('delete', 'deactivate')")
export class SourceEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** `[a-z0-9-]{1,64}`, unique and immutable: it is part of the SCIM base URL. */
  @Index('scim_sources_slug_key', { unique: true })
  @Column({ type: 'text' })
  slug: string;

  @Column({ type: 'text' })
  name: string;

  /** A disabled source answers every SCIM request with 401. */
  @Column({ type: 'boolean', default: true })
  enabled: boolean;

  /** `source:user` mappings, in the order they run. */
  @Column({ type: 'uuid', array: true, default: () => "'{}'" })
  userMappingIds: string[];

  /** `source:group` mappings, in the order they run. */
  @Column({ type: 'uuid', array: true, default: () => "'{}'" })
  groupMappingIds: string[];

  @Column({ type: 'text', default: 'delete' })
  deleteBehavior: DeleteBehavior;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
