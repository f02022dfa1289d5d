import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Worker ids of job runner processes, for crash recovery. graphile-worker's own schema is not a
 * migration here: it is installed and upgraded by graphile-worker at boot, under the same lock.
 */
export class JobWorkers1763940000000 implements MigrationInterface {
  name = 'JobWorkers1763940000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE job_workers (
        worker_id text PRIMARY KEY,
        process_id text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX job_workers_process_id_idx ON job_workers (process_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE job_workers`);
  }
}
