import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';

/** Where a mapping runs: on the way in (SCIM payload → directory) or out (directory → SCIM payload). */
export const MAPPING_SCOPES = ['source:user', 'source:group', 'provider:user', 'provider:group'] as const;
export type MappingScope = (typeof MAPPING_SCOPES)[number];

/**
 * A property mapping: the body of a JavaScript function, evaluated in the sandbox, whose returned
 * object is merged into the object being mapped. Managed mappings (`managedKey` set) ship with the
 * service, are read-only for admins and are upgraded at startup.
 */
@Entity({ name: 'property_mappings' })
@Check(
  'property_mappings_scope_check',
  "scope IN ('source:user', 'source:group', 'provider:user', 'provider:group')",
)
@Index('property_mappings_name_lower_key', { synchronize: false }) // UNIQUE (lower(name))
@Index('property_mappings_scope_name_idx', ['scope', 'name', 'id'])
export class PropertyMappingEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'text' })
  scope: MappingScope;

  @Column({ type: 'text' })
  expression: string;

  @Column({ type: 'text', default: '' })
  description: string;

  /** Stable key of a shipped default, e.g. `default:provider:user`; null for admins' own mappings. */
  @Index('property_mappings_managed_key_key', { unique: true })
  @Column({ type: 'text', nullable: true })
  managedKey: string | null;

  /** Which release of a managed mapping's code is stored, so an older process never downgrades it. */
  @Column({ type: 'integer', nullable: true })
  managedRevision: number | null;

  /** Incremented on every change; compiled code is cached per (id, version). */
  @Column({ type: 'integer', default: 1 })
  version: number;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
