import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import type { ProfileName } from '../client/compatibility.js';

export type DeprovisionAction = 'delete' | 'deactivate' | 'none';

/** Which directory objects a provider sends. */
export interface ProviderScope {
  /** `all` users, or only direct members of `userGroupIds`. */
  users: 'all' | 'groups';
  userGroupIds: string[];
  /** Leave users of kind `service` out. */
  excludeServiceAccounts: boolean;
  /** `all` groups, only `groupIds`, or `none`. */
  groups: 'all' | 'selected' | 'none';
  groupIds: string[];
}

export interface ProviderDeprovision {
  /** What happens downstream when a user or group is deleted from the directory. */
  deleted: DeprovisionAction;
  /** … and when it leaves the provider's scope. */
  outOfScope: DeprovisionAction;
}

/** Full-sync schedule: a cron expression or an interval; `paused` stops scheduled runs only. */
export interface ProviderSchedule {
  cron?: string;
  intervalMinutes?: number;
  timezone?: string;
  paused?: boolean;
}

/** Backoff of delta pushes that failed transiently (the app down, 5xx, 429). */
export interface ProviderRetry {
  maxAttempts: number;
  baseDelaySeconds: number;
  maxDelaySeconds: number;
}

/** Non-secret auth settings; the token or client secret is sealed in `authSecret`. */
export interface ProviderAuthSettings {
  tokenUrl?: string;
  clientId?: string;
  scope?: string | null;
}

/** A downstream app that the directory is pushed to over SCIM. */
@Entity({ name: 'providers' })
@Check('providers_auth_type_check', `auth_type IN ('bearer', 'oauth2')`)
@Index('providers_name_lower_key', { synchronize: false }) // UNIQUE (lower(name))
@Index('providers_next_sync_at_idx', { synchronize: false }) // (next_sync_at) WHERE next_sync_at IS NOT NULL
export class ProviderEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'text' })
  url: string;

  @Column({ type: 'text' })
  authType: 'bearer' | 'oauth2';

  @Column({ type: 'jsonb', default: () => "'{}'" })
  authSettings: ProviderAuthSettings;

  /** The bearer token or OAuth2 client secret, sealed with SECRET_KEY (SecretBox). Never returned. */
  @Column({ type: 'text' })
  authSecret: string;

  @Column({ type: 'boolean', default: true })
  tlsVerify: boolean;

  @Column({ type: 'text', nullable: true })
  caBundle: string | null;

  @Column({ type: 'text', default: 'default' })
  compatibility: ProfileName;

  @Column({ type: 'integer', nullable: true })
  maxPatchOperations: number | null;

  /** Ordered `provider:user` mapping ids; null = the managed defaults. */
  @Column({ type: 'uuid', array: true, nullable: true })
  userMappings: string[] | null;

  @Column({ type: 'uuid', array: true, nullable: true })
  groupMappings: string[] | null;

  @Column({ type: 'jsonb' })
  scope: ProviderScope;

  @Column({ type: 'jsonb' })
  deprovision: ProviderDeprovision;

  @Column({ type: 'jsonb', nullable: true })
  schedule: ProviderSchedule | null;

  @Column({ type: 'timestamptz', nullable: true })
  nextSyncAt: Date | null;

  @Column({ type: 'integer', default: 8 })
  maxConcurrency: number;

  @Column({ type: 'double precision', nullable: true })
  maxRequestsPerSecond: number | null;

  @Column({ type: 'integer', default: 30 })
  timeoutSeconds: number;

  @Column({ type: 'jsonb' })
  retry: ProviderRetry;

  @Column({ type: 'boolean', default: false })
  dryRun: boolean;

  /** The source that represents the same system: changes that came through it are not pushed back. */
  @Column({ type: 'uuid', nullable: true })
  linkedSourceId: string | null;

  /** Paused by an admin or by a fatal error (401/403, bad URL): nothing is pushed. */
  @Column({ type: 'boolean', default: false })
  paused: boolean;

  @Column({ type: 'text', nullable: true })
  pausedReason: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  pausedAt: Date | null;

  @Column({ type: 'integer', default: 1 })
  version: number;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
