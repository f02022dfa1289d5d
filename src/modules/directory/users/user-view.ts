import type { GroupEntity } from '../groups/group.entity.js';
import type { UserEntity, UserKind } from './user.entity.js';
import type { UserInput } from './users.service.js';
import type { GroupInput } from '../groups/groups.service.js';

/**
 * A directory user as one SCIM-shaped JSON object: the promoted columns and every other attribute
 * side by side (extensions under their URN key). This is what property mappings see as `user` and
 * what `source:user` mappings produce.
 */
export interface UserView {
  id?: string;
  userName: string;
  externalId?: string | null;
  displayName?: string | null;
  active?: boolean;
  kind?: UserKind;
  [attribute: string]: unknown;
}

export interface GroupView {
  id?: string;
  displayName: string;
  externalId?: string | null;
  [attribute: string]: unknown;
}

const USER_COLUMNS = new Set([
  'id',
  'userName',
  'externalId',
  'displayName',
  'active',
  'kind',
  'meta',
  'schemas',
  'groups',
]);
const GROUP_COLUMNS = new Set(['id', 'displayName', 'externalId', 'meta', 'schemas', 'members']);

export function userToView(user: UserEntity): UserView {
  return {
    ...user.attributes,
    id: user.id,
    userName: user.userName,
    externalId: user.externalId,
    displayName: user.displayName,
    active: user.active,
    kind: user.kind,
  };
}

/** The inverse of {@link userToView}: `id`, `meta`, `schemas` and `groups` are never stored as attributes. */
export function viewToUserInput(view: UserView): UserInput {
  const attributes: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(view)) {
    if (!USER_COLUMNS.has(key) && value !== undefined && value !== null) attributes[key] = value;
  }
  return {
    userName: view.userName,
    externalId: view.externalId ?? null,
    displayName: view.displayName ?? null,
    active: view.active ?? true,
    kind: view.kind === 'service' ? 'service' : 'person',
    attributes,
  };
}

export function groupToView(group: GroupEntity): GroupView {
  return { ...group.attributes, id: group.id, displayName: group.displayName, externalId: group.externalId };
}

/** `members` never becomes an attribute: membership is structural. */
export function viewToGroupInput(view: GroupView): GroupInput {
  const attributes: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(view)) {
    if (!GROUP_COLUMNS.has(key) && value !== undefined && value !== null) attributes[key] = value;
  }
  return { displayName: view.displayName, externalId: view.externalId ?? null, attributes };
}
