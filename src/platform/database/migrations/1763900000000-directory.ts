import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The directory: users, groups, memberships, the change outbox, and admin tokens. */
export class Directory1763900000000 implements MigrationInterface {
  name = 'Directory1763900000000';

  async up(q: QueryRunner): Promise<void> {
    // Lower-cased email values of a SCIM user, for a GIN index behind `emails.value eq "…"`.
    await q.query(`
      CREATE FUNCTION ib_email_values(attributes jsonb) RETURNS text[]
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT coalesce(array_agg(lower(e->>'value')) FILTER (WHERE e->>'value' IS NOT NULL), '{}')
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(attributes->'emails') = 'array'
                                       THEN attributes->'emails' ELSE '[]'::jsonb END) AS e
      $$`);

    await q.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_name text NOT NULL,
        external_id text,
        display_name text,
        active boolean NOT NULL DEFAULT true,
        kind text NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'service')),
        attributes jsonb NOT NULL DEFAULT '{}'::jsonb,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX users_user_name_lower_key ON users (lower(user_name))`);
    await q.query(`CREATE INDEX users_external_id_idx ON users (external_id)`);
    await q.query(`CREATE INDEX users_email_values_idx ON users USING gin (ib_email_values(attributes))`);

    await q.query(`
      CREATE TABLE groups (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        display_name text NOT NULL,
        external_id text,
        attributes jsonb NOT NULL DEFAULT '{}'::jsonb,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX groups_display_name_lower_idx ON groups (lower(display_name))`);
    await q.query(`CREATE INDEX groups_external_id_idx ON groups (external_id)`);

    await q.query(`
      CREATE TABLE memberships (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        group_id uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        member_user_id uuid REFERENCES users (id) ON DELETE CASCADE,
        member_group_id uuid REFERENCES groups (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT memberships_one_member CHECK (num_nonnulls(member_user_id, member_group_id) = 1),
        CONSTRAINT memberships_not_self CHECK (member_group_id IS DISTINCT FROM group_id)
      )`);
    await q.query(
      `CREATE UNIQUE INDEX memberships_group_user_key ON memberships (group_id, member_user_id) WHERE member_user_id IS NOT NULL`,
    );
    await q.query(
      `CREATE UNIQUE INDEX memberships_group_group_key ON memberships (group_id, member_group_id) WHERE member_group_id IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX memberships_member_user_idx ON memberships (member_user_id) WHERE member_user_id IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX memberships_member_group_idx ON memberships (member_group_id) WHERE member_group_id IS NOT NULL`,
    );

    await q.query(`
      CREATE TABLE change_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        object_type text NOT NULL CHECK (object_type IN ('user', 'group')),
        object_id uuid NOT NULL,
        kind text NOT NULL CHECK (kind IN ('created', 'updated', 'deleted', 'members_added', 'members_removed')),
        origin_type text NOT NULL CHECK (origin_type IN ('admin', 'source', 'system')),
        origin_id text,
        version integer,
        detail jsonb,
        occurred_at timestamptz NOT NULL DEFAULT now(),
        dispatched_at timestamptz
      )`);
    await q.query(
      `CREATE INDEX change_events_undispatched_idx ON change_events (id) WHERE dispatched_at IS NULL`,
    );
    await q.query(`CREATE INDEX change_events_object_idx ON change_events (object_type, object_id)`);

    await q.query(`
      CREATE TABLE admin_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        prefix text NOT NULL,
        digest bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        last_used_at timestamptz,
        revoked_at timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX admin_tokens_prefix_key ON admin_tokens (prefix)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE admin_tokens`);
    await q.query(`DROP TABLE change_events`);
    await q.query(`DROP TABLE memberships`);
    await q.query(`DROP TABLE groups`);
    await q.query(`DROP TABLE users`);
    await q.query(`DROP FUNCTION ib_email_values(jsonb)`);
  }
}
