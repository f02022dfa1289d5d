import { ScimError } from '../../../lib/scim/schema.types.js';

/** 409 for a userName this source already uses for another of its users. */
export const userNameInSource = (userName: string): ScimError =>
  new ScimError(409, 'uniqueness', `A User with userName "${userName}" already exists in this source`);

/**
 * 409 for a userName held by an object this source does not manage (SPEC "Inbound conflicts"):
 * says whose kind of object it is without ever saying which one.
 */
export const userNameHeldElsewhere = (userName: string): ScimError =>
  new ScimError(
    409,
    'uniqueness',
    `The userName "${userName}" is already taken by a user this source does not manage: it belongs to another source or to an admin-managed user. Linking it to this source is an admin decision.`,
  );

/** The source names something (member, manager) that is not one of its own objects. */
export const notManaged = (what: string, ids: string[]): ScimError => {
  const shown = ids
    .slice(0, 10)
    .map((id) => `"${id}"`)
    .join(', ');
  const more = ids.length > 10 ? ` and ${ids.length - 10} more` : '';
  return new ScimError(400, 'invalidValue', `${what} ${shown}${more}: no such resource in this source`);
};
