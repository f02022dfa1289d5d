import type { CustomComparison, CustomFilterCompiler, FilterTarget } from '../../../lib/scim/filter-sql.js';
import { RESOURCE_SCHEMAS } from '../../../lib/scim/schemas.js';
import { ScimError } from '../../../lib/scim/schema.types.js';
import type { ScimResourceTypeName } from './link.entity.js';

/**
 * How the SCIM filters and sorts of a source compile onto `scim_links l`: the resource is the
 * stored payload, hot attributes are indexed columns, and attributes that are not in the payload
 * (id, meta, group membership) are compiled here. Every query also says `l.source_id = $1`, so
 * these fragments can refer to the link's own source as `l.source_id`.
 */
export const LINK_ALIAS = 'l';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const invalidFilter = (message: string) => new ScimError(400, 'invalidFilter', message);

/** `id`: a uuid column; equality uses the primary key, other operators compare its text. */
const idFilter: CustomFilterCompiler = (c) => {
  if (c.operator === 'pr') return 'true';
  if (typeof c.value !== 'string')
    throw invalidFilter('Attribute "id" is a string: compare it with a quoted string');
  const text = `${LINK_ALIAS}.id::text`;
  switch (c.operator) {
    case 'eq':
      return UUID.test(c.value) ? `${LINK_ALIAS}.id = ${c.param()}::uuid` : 'false';
    case 'ne':
      return UUID.test(c.value) ? `${LINK_ALIAS}.id <> ${c.param()}::uuid` : 'true';
    case 'co':
      return `strpos(${text}, lower(${c.param()})) > 0`;
    case 'sw':
      return `starts_with(${text}, lower(${c.param()}))`;
    case 'ew':
      return `right(${text}, length(${c.param()})) = lower(${c.param()})`;
    case 'gt':
      return `${text} > lower(${c.param()})`;
    case 'ge':
      return `${text} >= lower(${c.param()})`;
    case 'lt':
      return `${text} < lower(${c.param()})`;
    case 'le':
      return `${text} <= lower(${c.param()})`;
  }
};

const resourceTypeFilter =
  (type: ScimResourceTypeName): CustomFilterCompiler =>
  (c) => {
    if (c.operator === 'pr') return 'true';
    if (typeof c.value !== 'string') throw invalidFilter('Attribute "meta.resourceType" is a string');
    if (c.operator === 'eq') return String(c.value.toLowerCase() === type.toLowerCase());
    if (c.operator === 'ne') return String(c.value.toLowerCase() !== type.toLowerCase());
    throw invalidFilter('"meta.resourceType" supports only eq, ne and pr');
  };

/** `meta.version`: the ETag, `W/"<n>"`. */
const versionFilter: CustomFilterCompiler = (c) => {
  if (c.operator === 'pr') return 'true';
  if (c.operator !== 'eq' && c.operator !== 'ne')
    throw invalidFilter('"meta.version" supports only eq, ne and pr');
  if (typeof c.value !== 'string') throw invalidFilter('Attribute "meta.version" is a string such as W/"3"');
  return `('W/"' || ${LINK_ALIAS}.version || '"') ${c.operator === 'eq' ? '=' : '<>'} ${c.param()}`;
};

const notFilterable =
  (label: string, instead: string): CustomFilterCompiler =>
  () => {
    throw invalidFilter(`"${label}" cannot be used in a filter; ${instead}`);
  };

/**
 * Membership as a multi-valued reference: `exists`-style comparisons on member ids, counting only
 * objects this source manages. `memberSql(param)` is the condition on `memberships m` for one id.
 */
function membershipFilter(
  label: string,
  from: string,
  memberSql: (param: string) => string,
): CustomFilterCompiler {
  return (c: CustomComparison) => {
    if (c.operator === 'pr') return `EXISTS (${from})`;
    if (typeof c.value !== 'string')
      throw invalidFilter(`Attribute "${label}" is a string: compare it with a quoted id`);
    if (c.operator === 'eq')
      return UUID.test(c.value) ? `EXISTS (${from} AND ${memberSql(`${c.param()}::uuid`)})` : 'false';
    if (c.operator === 'ne') {
      return UUID.test(c.value)
        ? `EXISTS (${from} AND NOT ${memberSql(`${c.param()}::uuid`)})`
        : `EXISTS (${from})`;
    }
    throw invalidFilter(`"${label}" supports only eq, ne and pr`);
  };
}

/** Members of group `l` that this source manages. */
const MEMBERS_FROM = `SELECT 1 FROM memberships m
  JOIN scim_links ml ON ml.source_id = ${LINK_ALIAS}.source_id AND ml.id = coalesce(m.member_user_id, m.member_group_id) AND ml.deleted_at IS NULL
  WHERE m.group_id = ${LINK_ALIAS}.id`;

/** Groups of user `l` that this source manages. */
const GROUPS_FROM = `SELECT 1 FROM memberships m
  JOIN scim_links gl ON gl.source_id = ${LINK_ALIAS}.source_id AND gl.id = m.group_id AND gl.deleted_at IS NULL
  WHERE m.member_user_id = ${LINK_ALIAS}.id`;

const commonColumns = {
  id: { sql: `${LINK_ALIAS}.id::text`, caseExact: true },
  externalid: { sql: `${LINK_ALIAS}.external_id` },
  displayname: { sql: `${LINK_ALIAS}.display_name` },
  'meta.created': { sql: `${LINK_ALIAS}.created_at`, type: 'dateTime' as const },
  'meta.lastmodified': { sql: `${LINK_ALIAS}.updated_at`, type: 'dateTime' as const },
};

const commonCustom = (type: ScimResourceTypeName) => ({
  id: idFilter,
  'meta.resourcetype': resourceTypeFilter(type),
  'meta.version': versionFilter,
  'meta.location': notFilterable('meta.location', 'filter on "id" instead'),
});

export const USER_FILTER_TARGET: FilterTarget = {
  schemas: RESOURCE_SCHEMAS.User,
  jsonColumn: `${LINK_ALIAS}.payload`,
  columns: {
    ...commonColumns,
    username: { sql: `${LINK_ALIAS}.user_name` },
    'emails.value': { multiValuedTextArraySql: `ib_email_values(${LINK_ALIAS}.payload)` },
  },
  custom: {
    ...commonCustom('User'),
    groups: membershipFilter('groups', GROUPS_FROM, (id) => `m.group_id = ${id}`),
    'groups.value': membershipFilter('groups.value', GROUPS_FROM, (id) => `m.group_id = ${id}`),
    'groups.display': notFilterable('groups.display', 'filter on "groups.value" instead'),
    'groups.type': notFilterable('groups.type', 'every group listed is a direct membership'),
    'groups.$ref': notFilterable('groups.$ref', 'filter on "groups.value" instead'),
  },
};

export const GROUP_FILTER_TARGET: FilterTarget = {
  schemas: RESOURCE_SCHEMAS.Group,
  jsonColumn: `${LINK_ALIAS}.payload`,
  columns: { ...commonColumns },
  custom: {
    ...commonCustom('Group'),
    members: membershipFilter(
      'members',
      MEMBERS_FROM,
      (id) => `(m.member_user_id = ${id} OR m.member_group_id = ${id})`,
    ),
    'members.value': membershipFilter(
      'members.value',
      MEMBERS_FROM,
      (id) => `(m.member_user_id = ${id} OR m.member_group_id = ${id})`,
    ),
    'members.display': notFilterable('members.display', 'filter on "members.value" instead'),
    'members.type': notFilterable('members.type', 'filter on "members.value" instead'),
    'members.$ref': notFilterable('members.$ref', 'filter on "members.value" instead'),
  },
};

export const FILTER_TARGETS: Record<ScimResourceTypeName, FilterTarget> = {
  User: USER_FILTER_TARGET,
  Group: GROUP_FILTER_TARGET,
};
