import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outbound SCIM: providers (downstream apps), what we created in each (connections and the group
 * members we sent), full-sync runs with their pages and per-object errors, and dry-run records.
 */
export class ScimProviders1763970000000 implements MigrationInterface {
  name = 'ScimProviders1763970000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE providers (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        url text NOT NULL,
        auth_type text NOT NULL CHECK (auth_type IN ('bearer', 'oauth2')),
        auth_settings jsonb NOT NULL DEFAULT '{}'::jsonb,
        auth_secret text NOT NULL,
        tls_verify boolean NOT NULL DEFAULT true,
        ca_bundle text,
        compatibility text NOT NULL DEFAULT 'default',
        max_patch_operations integer,
        user_mappings uuid[],
        group_mappings uuid[],
        scope jsonb NOT NULL,
        deprovision jsonb NOT NULL,
        schedule jsonb,
        next_sync_at timestamptz,
        max_concurrency integer NOT NULL DEFAULT 8,
        max_requests_per_second double precision,
        timeout_seconds integer NOT NULL DEFAULT 30,
        retry jsonb NOT NULL,
        dry_run boolean NOT NULL DEFAULT false,
        linked_source_id uuid,
        paused boolean NOT NULL DEFAULT false,
        paused_reason text,
        paused_at timestamptz,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX providers_name_lower_key ON providers (lower(name))`);
    await q.query(
      `CREATE INDEX providers_next_sync_at_idx ON providers (next_sync_at) WHERE next_sync_at IS NOT NULL`,
    );

    await q.query(`
      CREATE TABLE provider_connections (
        provider_id uuid NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
        object_type text NOT NULL CHECK (object_type IN ('user', 'group')),
        local_id uuid NOT NULL,
        remote_id text,
        state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'synced', 'failed', 'deactivated', 'skipped')),
        last_sent jsonb,
        last_synced_at timestamptz,
        last_error text,
        last_error_kind text,
        attempts integer NOT NULL DEFAULT 0,
        create_started_at timestamptz,
        lease_owner text,
        lease_until timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (provider_id, object_type, local_id)
      )`);
    await q.query(
      `CREATE INDEX provider_connections_remote_id_idx ON provider_connections (provider_id, object_type, remote_id)`,
    );

    await q.query(`
      CREATE TABLE provider_group_members (
        provider_id uuid NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
        group_id uuid NOT NULL,
        member_type text NOT NULL CHECK (member_type IN ('user', 'group')),
        member_id uuid NOT NULL,
        remote_id text NOT NULL,
        PRIMARY KEY (provider_id, group_id, member_type, member_id)
      )`);
    await q.query(
      `CREATE INDEX provider_group_members_member_idx ON provider_group_members (provider_id, member_type, member_id)`,
    );

    await q.query(`
      CREATE TABLE provider_runs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        provider_id uuid NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
        trigger text NOT NULL CHECK (trigger IN ('manual', 'schedule', 'resume')),
        status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'partial', 'failed')),
        phase text NOT NULL DEFAULT 'start' CHECK (phase IN ('start', 'users', 'groups', 'cleanup', 'done')),
        dry_run boolean NOT NULL DEFAULT false,
        total integer,
        deprovisioned jsonb NOT NULL DEFAULT '{}'::jsonb,
        message text,
        started_at timestamptz,
        finished_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX provider_runs_provider_created_idx ON provider_runs (provider_id, created_at DESC, id DESC)`,
    );
    await q.query(
      `CREATE UNIQUE INDEX provider_runs_one_active_key ON provider_runs (provider_id) WHERE status IN ('queued', 'running')`,
    );

    await q.query(`
      CREATE TABLE provider_run_pages (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        run_id uuid NOT NULL REFERENCES provider_runs (id) ON DELETE CASCADE,
        object_type text NOT NULL CHECK (object_type IN ('user', 'group')),
        page_no integer NOT NULL,
        after_id uuid,
        up_to_id uuid NOT NULL,
        size integer NOT NULL,
        done integer NOT NULL DEFAULT 0,
        counts jsonb NOT NULL DEFAULT '{}'::jsonb,
        finished_at timestamptz
      )`);
    await q.query(
      `CREATE UNIQUE INDEX provider_run_pages_run_page_key ON provider_run_pages (run_id, object_type, page_no)`,
    );

    await q.query(`
      CREATE TABLE provider_run_errors (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        run_id uuid NOT NULL REFERENCES provider_runs (id) ON DELETE CASCADE,
        object_type text NOT NULL,
        object_id uuid NOT NULL,
        kind text NOT NULL,
        message text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE UNIQUE INDEX provider_run_errors_object_key ON provider_run_errors (run_id, object_type, object_id)`,
    );

    await q.query(`
      CREATE TABLE provider_dry_run_requests (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        provider_id uuid NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
        run_id uuid REFERENCES provider_runs (id) ON DELETE CASCADE,
        object_type text NOT NULL,
        object_id uuid NOT NULL,
        method text NOT NULL,
        path text NOT NULL,
        body jsonb,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX provider_dry_run_requests_provider_idx ON provider_dry_run_requests (provider_id, id)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE provider_dry_run_requests`);
    await q.query(`DROP TABLE provider_run_errors`);
    await q.query(`DROP TABLE provider_run_pages`);
    await q.query(`DROP TABLE provider_runs`);
    await q.query(`DROP TABLE provider_group_members`);
    await q.query(`DROP TABLE provider_connections`);
    await q.query(`DROP TABLE providers`);
  }
}
