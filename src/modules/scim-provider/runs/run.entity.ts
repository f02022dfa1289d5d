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
import type { SyncObjectType } from '../../../platform/jobs/index.js';
import { ProviderEntity } from '../providers/provider.entity.js';

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'partial' | 'failed';
export type RunPhase = 'start' | 'users' | 'groups' | 'cleanup' | 'done';
export type RunTrigger = 'manual' | 'schedule' | 'resume';

/** Outcome counters of a run (and of each of its pages). */
export interface RunCounts {
  created: number;
  updated: number;
  deleted: number;
  deactivated: number;
  unchanged: number;
  skipped: number;
  failed: number;
}

export const EMPTY_COUNTS: RunCounts = {
  created: 0,
  updated: 0,
  deleted: 0,
  deactivated: 0,
  unchanged: 0,
  skipped: 0,
  failed: 0,
};

/** A full sync of one provider. At most one per provider is queued or running (partial unique index). */
@Entity({ name: 'provider_runs' })
@Check('provider_runs_trigger_check', `trigger IN ('manual', 'schedule', 'resume')`)
@Check('provider_runs_status_check', `status IN ('queued', 'running', 'succeeded', 'partial', 'failed')`)
@Check('provider_runs_phase_check', `phase IN ('start', 'users', 'groups', 'cleanup', 'done')`)
@Index('provider_runs_provider_created_idx', { synchronize: false }) // (provider_id, created_at DESC, id DESC)
@Index('provider_runs_one_active_key', { synchronize: false }) // UNIQUE (provider_id) WHERE queued or running
export class RunEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  providerId: string;

  @Column({ type: 'text' })
  trigger: RunTrigger;

  @Column({ type: 'text', default: 'queued' })
  status: RunStatus;

  @Column({ type: 'text', default: 'start' })
  phase: RunPhase;

  @Column({ type: 'boolean', default: false })
  dryRun: boolean;

  /** Objects in scope (users + groups); null until counted. */
  @Column({ type: 'integer', nullable: true })
  total: number | null;

  /** Counts of the out-of-scope cleanup (`deleted`, `deactivated`, `failed`, `unchanged`). */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  deprovisioned: Partial<RunCounts>;

  /** Why a run failed (fatal error), or a note. */
  @Column({ type: 'text', nullable: true })
  message: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  startedAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  finishedAt: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @ManyToOne(() => ProviderEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'provider_id', foreignKeyConstraintName: 'provider_runs_provider_id_fkey' })
  provider?: Relation<ProviderEntity>;
}

/** A keyset page of a run: objects with `afterId < id <= upToId`, pushed by one job. */
@Entity({ name: 'provider_run_pages' })
@Check('provider_run_pages_object_type_check', `object_type IN ('user', 'group')`)
@Index('provider_run_pages_run_page_key', { synchronize: false }) // UNIQUE (run_id, object_type, page_no)
export class RunPageEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  runId: string;

  @Column({ type: 'text' })
  objectType: SyncObjectType;

  @Column({ type: 'integer' })
  pageNo: number;

  @Column({ type: 'uuid', nullable: true })
  afterId: string | null;

  @Column({ type: 'uuid' })
  upToId: string;

  @Column({ type: 'integer' })
  size: number;

  @Column({ type: 'integer', default: 0 })
  done: number;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  counts: Partial<RunCounts>;

  @Column({ type: 'timestamptz', nullable: true })
  finishedAt: Date | null;

  @ManyToOne(() => RunEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id', foreignKeyConstraintName: 'provider_run_pages_run_id_fkey' })
  run?: Relation<RunEntity>;
}

/** Why one object failed in a run (one row per object and run; a retry overwrites it). */
@Entity({ name: 'provider_run_errors' })
@Index('provider_run_errors_object_key', { synchronize: false }) // UNIQUE (run_id, object_type, object_id)
export class RunErrorEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ type: 'uuid' })
  runId: string;

  @Column({ type: 'text' })
  objectType: SyncObjectType;

  @Column({ type: 'uuid' })
  objectId: string;

  @Column({ type: 'text' })
  kind: string;

  @Column({ type: 'text' })
  message: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @ManyToOne(() => RunEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id', foreignKeyConstraintName: 'provider_run_errors_run_id_fkey' })
  run?: Relation<RunEntity>;
}

/** A write a dry-run provider would have sent. */
@Entity({ name: 'provider_dry_run_requests' })
@Index('provider_dry_run_requests_provider_idx', { synchronize: false }) // (provider_id, id)
export class DryRunRequestEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ type: 'uuid' })
  providerId: string;

  @Column({ type: 'uuid', nullable: true })
  runId: string | null;

  @Column({ type: 'text' })
  objectType: SyncObjectType;

  @Column({ type: 'uuid' })
  objectId: string;

  @Column({ type: 'text' })
  method: string;

  @Column({ type: 'text' })
  path: string;

  @Column({ type: 'jsonb', nullable: true })
  body: unknown;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @ManyToOne(() => ProviderEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'provider_id', foreignKeyConstraintName: 'provider_dry_run_requests_provider_id_fkey' })
  provider?: Relation<ProviderEntity>;

  @ManyToOne(() => RunEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id', foreignKeyConstraintName: 'provider_dry_run_requests_run_id_fkey' })
  run?: Relation<RunEntity>;
}
