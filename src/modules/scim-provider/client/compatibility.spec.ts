import { describe, expect, it } from 'vitest';
import {
  COMPATIBILITY_PROFILES,
  effectiveProfile,
  MAX_BULK_OPERATIONS,
  PROFILE_NAMES,
} from './compatibility.js';

describe('compatibility profiles', () => {
  it('has one row per profile name', () => {
    expect(Object.keys(COMPATIBILITY_PROFILES).sort()).toEqual([...PROFILE_NAMES].sort());
    for (const name of PROFILE_NAMES) expect(COMPATIBILITY_PROFILES[name].name).toBe(name);
  });

  const rows: { name: string; check: (p: ReturnType<typeof effectiveProfile>) => void }[] = [
    {
      name: 'aws never PUTs groups and caps members per request',
      check: (p) =>
        expect([p.groupUpdate, p.memberUpdate, p.maxMembersPerOperation]).toEqual(['patch', 'patch', 100]),
    },
    {
      name: 'no-patch replaces users and groups',
      check: (p) => expect([p.userUpdate, p.groupUpdate, p.memberUpdate]).toEqual(['put', 'put', 'put']),
    },
    { name: 'webex types members', check: (p) => expect(p.memberType).toBe('user') },
    {
      name: 'entra removes members one by one and adds new attributes with add',
      check: (p) => expect([p.memberRemoval, p.addForNewAttributes]).toEqual(['path-filter', true]),
    },
    {
      name: 'salesforce deactivates instead of deleting',
      check: (p) => expect(p.userDelete).toBe('deactivate'),
    },
  ];
  for (const row of rows) {
    it(row.name, () => row.check(effectiveProfile(row.name.split(' ')[0] as never, undefined, null)));
  }

  it('follows the app when its ServiceProviderConfig says PATCH is not supported', () => {
    const p = effectiveProfile('default', { patch: false, filter: false }, null);
    expect([p.userUpdate, p.groupUpdate, p.memberUpdate, p.canFilter]).toEqual(['put', 'put', 'put', false]);
  });

  it('ignores ServiceProviderConfig for profiles that know better', () => {
    expect(effectiveProfile('aws', { patch: false }, null).userUpdate).toBe('patch');
  });

  it('takes the provider’s PATCH operations limit over the profile’s', () => {
    expect(effectiveProfile('default', undefined, 7).maxPatchOperations).toBe(7);
  });

  it('uses Bulk only when the app declares it, within its limits and ours', () => {
    expect(effectiveProfile('default', undefined, null).bulkLimits).toBeNull();
    expect(effectiveProfile('default', { bulk: false }, null).bulkLimits).toBeNull();
    expect(
      effectiveProfile('default', { bulk: true, bulkMaxOperations: 1000, bulkMaxPayloadSize: 2048 }, null)
        .bulkLimits,
    ).toEqual({ maxOperations: MAX_BULK_OPERATIONS, maxPayloadSize: 2048 });
    expect(effectiveProfile('default', { bulk: true, bulkMaxOperations: 10 }, null).bulkLimits).toEqual({
      maxOperations: 10,
      maxPayloadSize: 1_048_576,
    });
    // One operation per request is no batching at all.
    expect(effectiveProfile('default', { bulk: true, bulkMaxOperations: 1 }, null).bulkLimits).toBeNull();
    // Strict apps and profiles that do not read the ServiceProviderConfig never get Bulk.
    expect(effectiveProfile('entra', { bulk: true }, null).bulkLimits).toBeNull();
    expect(effectiveProfile('aws', { bulk: true }, null).bulkLimits).toBeNull();
  });
});
