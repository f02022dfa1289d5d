import type { MappingScope } from '../mappings/property-mapping.entity.js';

/**
 * The mappings the service ships (managed: read-only for admins, upgraded at startup). Together
 * they carry every SCIM core and enterprise attribute in and out unchanged, so that with no custom
 * mappings a user provisioned in by Entra ID goes out to a downstream app with the same attributes.
 *
 * Bump `revision` whenever an expression or description changes: a process only overwrites a
 * stored managed mapping with a newer revision, so an older replica never downgrades it.
 */
export interface DefaultMapping {
  /** Fixed for ever, so sources and providers can name the defaults without a lookup (even in SQL defaults). */
  id: string;
  managedKey: string;
  revision: number;
  scope: MappingScope;
  name: string;
  description: string;
  expression: string;
}

const SOURCE_USER = String.raw`// Inbound SCIM user (core + enterprise) -> directory user.
// Read-only attributes (id, meta, groups) and password are never stored.
const attributes = ['name', 'nickName', 'profileUrl', 'title', 'userType', 'preferredLanguage',
  'locale', 'timezone', 'emails', 'phoneNumbers', 'ims', 'photos', 'addresses', 'entitlements',
  'roles', 'x509Certificates'];
const out = { userName: scim.userName, active: scim.active !== false };
if (scim.externalId != null) out.externalId = scim.externalId;
if (scim.displayName != null) out.displayName = scim.displayName;
for (const key of attributes) {
  if (scim[key] != null) out[key] = scim[key];
}
// Extensions (the enterprise one and any other the source accepted) stay under their URN.
for (const key of Object.keys(scim)) {
  const value = scim[key];
  if (key.startsWith('urn:') && value && typeof value === 'object' && !Array.isArray(value)) out[key] = value;
}
// Whether a user is a person or a service account is the admin's call: keep it.
if (user && user.kind) out.kind = user.kind;
return out;`;

const SOURCE_GROUP = String.raw`// Inbound SCIM group -> directory group. Members are structural: the source applies them itself.
const out = { displayName: scim.displayName };
if (scim.externalId != null) out.externalId = scim.externalId;
for (const key of Object.keys(scim)) {
  const value = scim[key];
  if (key.startsWith('urn:') && value && typeof value === 'object' && !Array.isArray(value)) out[key] = value;
}
return out;`;

const PROVIDER_USER = String.raw`// Directory user -> outbound SCIM user (core + enterprise).
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const out = {
  schemas: [CORE],
  // The downstream app's externalId is our stable id unless the user already carries one.
  externalId: user.externalId || user.id,
  userName: user.userName,
  active: user.active !== false,
};
if (user.displayName) out.displayName = user.displayName;
for (const key of ['name', 'nickName', 'profileUrl', 'title', 'userType', 'preferredLanguage',
  'locale', 'timezone', 'ims', 'photos', 'addresses', 'entitlements', 'roles', 'x509Certificates']) {
  if (user[key] != null) out[key] = user[key];
}
// Emails and phone numbers always say what they are, and one of them is the primary.
for (const key of ['emails', 'phoneNumbers']) {
  const list = Array.isArray(user[key]) ? user[key].filter((item) => item && item.value) : [];
  if (list.length === 0) continue;
  const primary = Math.max(0, list.findIndex((item) => item.primary === true));
  out[key] = list.map((item, index) => ({ ...item, type: item.type || 'work', primary: index === primary }));
}
const enterprise = user[ENTERPRISE];
if (enterprise && typeof enterprise === 'object' && Object.keys(enterprise).length > 0) {
  out.schemas.push(ENTERPRISE);
  out[ENTERPRISE] = enterprise;
}
return out;`;

const PROVIDER_GROUP = String.raw`// Directory group -> outbound SCIM group. Members are structural: the provider adds them itself.
const out = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
  externalId: group.externalId || group.id,
  displayName: group.displayName,
};
return out;`;

export const DEFAULT_MAPPINGS: readonly DefaultMapping[] = [
  {
    id: '8ec4b730-4e5d-4caa-b897-61f08a271994',
    managedKey: 'default:source:user',
    revision: 1,
    scope: 'source:user',
    name: 'Default: SCIM user → directory',
    description:
      'Stores the inbound SCIM user as sent: userName, externalId, displayName, active, name, emails, phone numbers and every other core attribute, and the enterprise extension (employeeNumber, department, manager, …). Managed: copy it to change it.',
    expression: SOURCE_USER,
  },
  {
    id: 'c205977f-9e24-490e-8656-42a83e219b70',
    managedKey: 'default:source:group',
    revision: 1,
    scope: 'source:group',
    name: 'Default: SCIM group → directory',
    description:
      'Stores the inbound SCIM group: displayName, externalId and extensions. Members are applied by the source itself. Managed: copy it to change it.',
    expression: SOURCE_GROUP,
  },
  {
    id: 'aba7369f-3779-4e98-b225-140663037f8a',
    managedKey: 'default:provider:user',
    revision: 1,
    scope: 'provider:user',
    name: 'Default: directory user → SCIM',
    description:
      'Sends the directory user as a SCIM core + enterprise user: externalId (the directory id unless the user has one), userName, active, names, emails and phone numbers with type and one primary, and the enterprise extension. Managed: copy it to change it.',
    expression: PROVIDER_USER,
  },
  {
    id: '073348aa-8860-4500-a50c-07d1c4a43394',
    managedKey: 'default:provider:group',
    revision: 1,
    scope: 'provider:group',
    name: 'Default: directory group → SCIM',
    description:
      'Sends the directory group as a SCIM group: displayName and externalId (the directory id unless the group has one). Members are added by the provider itself. Managed: copy it to change it.',
    expression: PROVIDER_GROUP,
  },
];

/**
 * The ids of a scope's managed default mappings, in the order they run: a source's or provider's
 * list when the admin sets none. Constant (the seeder installs the defaults under these ids).
 */
export function defaultMappingIds(scope: MappingScope): string[] {
  return DEFAULT_MAPPINGS.filter((mapping) => mapping.scope === scope).map((mapping) => mapping.id);
}
