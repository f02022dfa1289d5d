import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * Which process runs which graphile-worker worker id, so a surviving process can free the jobs of
 * a crashed one (see `JobRunner.sweep`).
 */
@Entity({ name: 'job_workers' })
export class JobWorkerEntity {
  @PrimaryColumn({ type: 'text' })
  workerId: string;

  @Index('job_workers_process_id_idx')
  @Column({ type: 'text' })
  processId: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;
}
