import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAPPINGS, PropertyMappingEntity } from '../../src/modules/property-mapping/index.js';
import { DefaultMappingsSeeder } from '../../src/modules/property-mapping/defaults/defaults-seeder.js';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
let seeder: DefaultMappingsSeeder;
beforeAll(async () => {
  t = await startTestApp();
  seeder = t.app.get(DefaultMappingsSeeder, { strict: false });
});
afterAll(async () => t?.close());

const rows = () => t.database.dataSource.getRepository(PropertyMappingEntity);
const keys = () => Object.fromEntries(DEFAULT_MAPPINGS.map((m) => [m.managedKey, 'unchanged']));

describe('managed default mappings at startup', () => {
  it('are installed once, under their fixed ids, by the API process starting', async () => {
    for (const mapping of DEFAULT_MAPPINGS) {
      const row = await rows().findOneByOrFail({ id: mapping.id });
      expect(row).toMatchObject({
        managedKey: mapping.managedKey,
        managedRevision: mapping.revision,
        expression: mapping.expression,
      });
    }
  });

  it('are idempotent, also when several processes seed at once', async () => {
    const outcomes = await Promise.all([seeder.seed(), seeder.seed(), seeder.seed()]);
    for (const outcome of outcomes) expect(outcome).toEqual(keys());
    expect(await rows().countBy({})).toBeGreaterThanOrEqual(DEFAULT_MAPPINGS.length);
  });

  it('upgrade an older revision, and never downgrade a newer one', async () => {
    const [first] = DEFAULT_MAPPINGS;
    await rows().update({ id: first!.id }, { managedRevision: 0, expression: 'return null;' });
    const before = await rows().findOneByOrFail({ id: first!.id });
    expect((await seeder.seed())[first!.managedKey]).toBe('upgraded');
    const after = await rows().findOneByOrFail({ id: first!.id });
    expect(after).toMatchObject({
      expression: first!.expression,
      managedRevision: first!.revision,
      version: before.version + 1,
    });

    await rows().update(
      { id: first!.id },
      { managedRevision: first!.revision + 1, expression: 'return {};' },
    );
    expect((await seeder.seed())[first!.managedKey]).toBe('unchanged');
    expect((await rows().findOneByOrFail({ id: first!.id })).expression).toBe('return {};');
    await rows().update(
      { id: first!.id },
      { managedRevision: first!.revision, expression: first!.expression },
    );
  });

  it("come back under a marked name when an admin's mapping took the shipped one", async () => {
    const [first] = DEFAULT_MAPPINGS;
    await rows().delete({ id: first!.id });
    await rows().save(
      rows().create({ name: first!.name, scope: first!.scope, expression: 'return null;', description: '' }),
    );
    expect((await seeder.seed())[first!.managedKey]).toBe('created');
    expect((await rows().findOneByOrFail({ id: first!.id })).name).toBe(`${first!.name} (managed)`);
  });
});
