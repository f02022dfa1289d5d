import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Property mappings: admin-written (and shipped, managed) expressions that shape SCIM attributes. */
export class PropertyMappings1763960000000 implements MigrationInterface {
  name = 'PropertyMappings1763960000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE property_mappings (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        scope text NOT NULL,
        expression text NOT NULL,
        description text NOT NULL DEFAULT '',
        managed_key text,
        managed_revision integer,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT property_mappings_scope_check
          CHECK (scope IN ('source:user', 'source:group', 'provider:user', 'provider:group'))
      )`);
    await q.query(`CREATE UNIQUE INDEX property_mappings_name_lower_key ON property_mappings (lower(name))`);
    await q.query(`CREATE UNIQUE INDEX property_mappings_managed_key_key ON property_mappings (managed_key)`);
    await q.query(`CREATE INDEX property_mappings_scope_name_idx ON property_mappings (scope, name, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE property_mappings`);
  }
}
