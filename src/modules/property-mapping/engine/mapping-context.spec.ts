import { describe, expect, it } from 'vitest';
import { buildVariables } from './mapping-context.js';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

describe('buildVariables', () => {
  it('adds every attribute of the resource type as a variable for source:* scopes', () => {
    const scim = {
      userName: 'a',
      Emails: [{ value: 'a@x' }],
      [ENTERPRISE]: { department: 'd' },
      'urn:acme:ext:2.0:Badge': { n: 1 },
    };
    const variables = buildVariables('source:user', { scim, source: { slug: 's' }, user: null });
    expect(variables).toMatchObject({
      scim,
      userName: 'a',
      emails: [{ value: 'a@x' }],
      enterpriseUser: { department: 'd' },
      extBadge: { n: 1 },
      source: { slug: 's' },
      user: null,
    });
    expect(variables).toHaveProperty('displayName', undefined);
    // The same names whatever the payload holds, so compiled code is reused.
    expect(
      Object.keys(buildVariables('source:user', { scim: { userName: 'b' }, source: {}, user: null })).sort(),
    ).toEqual(
      Object.keys(variables)
        .filter((k) => k !== 'extBadge')
        .sort(),
    );
  });

  it("lets the caller's parts win over attributes of the same name", () => {
    const variables = buildVariables('source:group', {
      scim: { displayName: 'g', group: 'x' },
      source: {},
      group: { id: 'real' },
    });
    expect(variables.group).toEqual({ id: 'real' });
  });

  it('leaves provider contexts as they are', () => {
    const context = { user: { userName: 'a' }, provider: {}, connection: null };
    expect(buildVariables('provider:user', context)).toBe(context);
  });
});
