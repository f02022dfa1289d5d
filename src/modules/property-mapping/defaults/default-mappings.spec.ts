import { afterAll, describe, expect, it } from 'vitest';
import { Sandbox } from '../../../platform/sandbox/sandbox.js';
import { MAPPING_SCOPES } from '../mappings/property-mapping.entity.js';
import { DEFAULT_MAPPINGS, defaultMappingIds } from './default-mappings.js';

const sandbox = new Sandbox({ poolSize: 1 });
afterAll(() => sandbox.dispose());

describe('managed default mappings', () => {
  it.each(DEFAULT_MAPPINGS.map((m) => [m.managedKey, m] as const))('%s compiles', async (_key, mapping) => {
    await expect(sandbox.compile(mapping.id, mapping.revision, mapping.expression)).resolves.toBeDefined();
  });

  it('have unique, fixed ids, keys and names, one per scope', () => {
    for (const key of ['id', 'managedKey', 'name'] as const) {
      expect(new Set(DEFAULT_MAPPINGS.map((m) => m[key])).size).toBe(DEFAULT_MAPPINGS.length);
    }
    for (const scope of MAPPING_SCOPES) expect(defaultMappingIds(scope)).toHaveLength(1);
  });

  it('map a group in and out', async () => {
    const [inbound, outbound] = ['default:source:group', 'default:provider:group'].map((key) =>
      DEFAULT_MAPPINGS.find((m) => m.managedKey === key)!,
    );
    const stored = await sandbox.evaluate(
      { ...inbound!, version: inbound!.revision },
      {
        scim: { displayName: 'Ops', externalId: 'x1', members: [{ value: 'u' }] },
        source: {},
        group: null,
      },
    );
    expect(stored.result).toEqual({ displayName: 'Ops', externalId: 'x1' });
    const sent = await sandbox.evaluate(
      { ...outbound!, version: outbound!.revision },
      {
        group: { id: 'g1', displayName: 'Ops', externalId: null },
        provider: {},
        connection: null,
      },
    );
    expect(sent.result).toEqual({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      externalId: 'g1',
      displayName: 'Ops',
    });
  });
});
