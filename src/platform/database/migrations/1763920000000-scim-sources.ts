import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SCIM sources (identity providers pushing into the bridge), their bearer tokens, and the
 * per-source link table that says which directory objects a source manages and what it last sent.
 */
export class ScimSources1763920000000 implements MigrationInterface {
  name = 'ScimSources1763920000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE scim_sources (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        slug text NOT NULL,
        name text NOT NULL,
        enabled boolean NOT NULL DEFAULT true,
        user_mapping_ids uuid[] NOT NULL DEFAULT '{}',
        group_mapping_ids uuid[] NOT NULL DEFAULT '{}',
        delete_behavior text NOT NULL DEFAULT 'delete',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT scim_sources_slug_check CHECK (slug ~ '^[a-z0-9-]{1,64}$'),
        CONSTRAINT scim_sources_delete_behavior_check CHECK (delete_behavior IN ('delete', 'deactivate'))
      )`);
    await q.query(`CREATE UNIQUE INDEX scim_sources_slug_key ON scim_sources (slug)`);

    // A source has one current token; a rotated one stays valid until `retired_at` (the grace period).
    await q.query(`
      CREATE TABLE scim_source_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        source_id uuid NOT NULL,
        prefix text NOT NULL,
        digest bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        retired_at timestamptz,
        last_used_at timestamptz,
        CONSTRAINT scim_source_tokens_source_id_fkey FOREIGN KEY (source_id) REFERENCES scim_sources (id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE UNIQUE INDEX scim_source_tokens_prefix_key ON scim_source_tokens (prefix)`);
    await q.query(`CREATE INDEX scim_source_tokens_source_idx ON scim_source_tokens (source_id)`);

    // One row per object a source manages. The SCIM id is the directory id. `payload` is the
    // resource as the source last sent it (normalised, without members); the promoted columns
    // serve the filters identity providers send all the time. Deleted-but-kept (deactivated)
    // users stay as tombstones (`deleted_at`) so the same source can bring them back.
    await q.query(`
      CREATE TABLE scim_links (
        source_id uuid NOT NULL,
        id uuid NOT NULL,
        resource_type text NOT NULL,
        user_id uuid,
        group_id uuid,
        payload jsonb NOT NULL,
        user_name text,
        external_id text,
        display_name text,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz,
        CONSTRAINT scim_links_pkey PRIMARY KEY (source_id, id),
        CONSTRAINT scim_links_source_id_fkey FOREIGN KEY (source_id) REFERENCES scim_sources (id) ON DELETE CASCADE,
        CONSTRAINT scim_links_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
        CONSTRAINT scim_links_group_id_fkey FOREIGN KEY (group_id) REFERENCES groups (id) ON DELETE CASCADE,
        CONSTRAINT scim_links_object_check CHECK (
          (resource_type = 'User' AND user_id = id AND group_id IS NULL AND user_name IS NOT NULL)
          OR (resource_type = 'Group' AND group_id = id AND user_id IS NULL))
      )`);
    await q.query(
      `CREATE INDEX scim_links_type_id_idx ON scim_links (source_id, resource_type, id) WHERE deleted_at IS NULL`,
    );
    await q.query(
      `CREATE UNIQUE INDEX scim_links_user_name_key ON scim_links (source_id, lower(user_name))
         WHERE resource_type = 'User' AND deleted_at IS NULL`,
    );
    await q.query(
      `CREATE INDEX scim_links_external_id_idx ON scim_links (source_id, resource_type, external_id) WHERE deleted_at IS NULL`,
    );
    await q.query(
      `CREATE INDEX scim_links_display_name_idx ON scim_links (source_id, resource_type, lower(display_name)) WHERE deleted_at IS NULL`,
    );
    await q.query(
      `CREATE INDEX scim_links_emails_idx ON scim_links USING gin (ib_email_values(payload))
         WHERE resource_type = 'User' AND deleted_at IS NULL`,
    );
    await q.query(`CREATE INDEX scim_links_user_idx ON scim_links (user_id) WHERE user_id IS NOT NULL`);
    await q.query(`CREATE INDEX scim_links_group_idx ON scim_links (group_id) WHERE group_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE scim_links`);
    await q.query(`DROP TABLE scim_source_tokens`);
    await q.query(`DROP TABLE scim_sources`);
  }
}
