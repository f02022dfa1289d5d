import { RESOURCE_SCHEMAS, COMMON_ATTRIBUTES } from '../../../lib/scim/schemas.js';
import { toIdentifier } from '../../../platform/sandbox/sandbox.js';
import type { MappingScope } from '../mappings/property-mapping.entity.js';

/**
 * The variables a mapping of each scope sees (README "Property mappings"). Callers pass the named
 * parts; for `source:*` the engine adds each top-level attribute of `scim` as a variable of its own.
 */
export const CONTEXT_VARIABLES: Record<MappingScope, { name: string; description: string }[]> = {
  'source:user': [
    {
      name: 'scim',
      description: 'The inbound SCIM user as the identity provider sent it (after SCIM validation).',
    },
    {
      name: '<attribute>',
      description:
        'Each top-level attribute of `scim` as a variable of its own: `userName`, `name`, `emails`, `active`, … (undefined when absent); extension URNs become identifiers (`enterpriseUser` for the enterprise extension).',
    },
    { name: 'source', description: 'The source the request came in through: `{ id, slug, name }`.' },
    {
      name: 'user',
      description: 'The directory user this payload updates (a user view), or null on create.',
    },
  ],
  'source:group': [
    {
      name: 'scim',
      description: 'The inbound SCIM group as the identity provider sent it (members are not mapped).',
    },
    {
      name: '<attribute>',
      description:
        'Each top-level attribute of `scim` as a variable of its own: `displayName`, `externalId`, …',
    },
    { name: 'source', description: 'The source the request came in through: `{ id, slug, name }`.' },
    {
      name: 'group',
      description: 'The directory group this payload updates (a group view), or null on create.',
    },
  ],
  'provider:user': [
    {
      name: 'user',
      description:
        'The directory user (a user view) with `groups: [{ id, displayName }]`, its direct groups.',
    },
    { name: 'provider', description: 'The provider (downstream app) being synced: `{ id, name }`.' },
    {
      name: 'connection',
      description:
        'What the provider knows of this user, `{ remoteId, lastSent }`, or null before the first push.',
    },
  ],
  'provider:group': [
    {
      name: 'group',
      description: 'The directory group (a group view; members are added by the provider, not mapped).',
    },
    { name: 'provider', description: 'The provider (downstream app) being synced: `{ id, name }`.' },
    {
      name: 'connection',
      description:
        'What the provider knows of this group, `{ remoteId, lastSent }`, or null before the first push.',
    },
  ],
};

/** Extension URNs beyond this many are reachable through `scim` only (keeps the variable sets few). */
const MAX_EXTENSION_VARIABLES = 16;

/** For each resource type, the variable of every attribute its schemas define, in a fixed order. */
const ATTRIBUTE_VARIABLES: Record<'User' | 'Group', { key: string; variable: string }[]> = {
  User: attributeVariables('User'),
  Group: attributeVariables('Group'),
};

function attributeVariables(resource: 'User' | 'Group'): { key: string; variable: string }[] {
  const [core, ...extensions] = RESOURCE_SCHEMAS[resource];
  const keys = [
    'schemas',
    ...COMMON_ATTRIBUTES.map((a) => a.name),
    ...core!.attributes.map((a) => a.name),
    ...extensions.map((s) => s.id),
  ];
  return keys.map((key) => ({ key, variable: toIdentifier(key) }));
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The variables of one evaluation. For `source:*` scopes every attribute the resource type's
 * schemas define is a variable (undefined when the payload lacks it), so payloads of one type share
 * one set of variable names and the compiled code is reused; other top-level keys of `scim` that
 * are extension URNs become variables too. The caller's own parts (`scim`, `source`, `user` …) win
 * over an attribute of the same name.
 */
export function buildVariables(
  scope: MappingScope,
  context: Record<string, unknown>,
): Record<string, unknown> {
  if (scope !== 'source:user' && scope !== 'source:group') return context;
  const scim = context.scim;
  if (!isPlainObject(scim)) return context;
  const variables: Record<string, unknown> = {};
  const byLowerKey = new Map(Object.keys(scim).map((key) => [key.toLowerCase(), key]));
  for (const { key, variable } of ATTRIBUTE_VARIABLES[scope === 'source:user' ? 'User' : 'Group']) {
    const actual = byLowerKey.get(key.toLowerCase());
    variables[variable] = actual === undefined ? undefined : scim[actual];
  }
  let extensions = 0;
  for (const key of Object.keys(scim)) {
    if (!/^urn:/i.test(key) || extensions >= MAX_EXTENSION_VARIABLES) continue;
    const variable = toIdentifier(key);
    if (Object.prototype.hasOwnProperty.call(variables, variable)) continue;
    variables[variable] = scim[key];
    extensions++;
  }
  return { ...variables, ...context };
}
