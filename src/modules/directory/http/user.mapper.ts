import { ENTERPRISE_USER_SCHEMA } from '../../../lib/scim/schema.types.js';
import { DomainError } from '../../../platform/errors/domain-error.js';
import type { UserEntity } from '../users/user.entity.js';
import type { UserInput } from '../users/users.service.js';
import type { UserBodyDto, UserDto } from './user.dto.js';

const COLUMNS = new Set(['userName', 'externalId', 'displayName', 'active', 'kind', 'extensions']);
const EXTENSION_URN = /^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:[A-Za-z0-9()+,\-.:=@;$_!*'%/?#]+$/;

/** Admin body → directory input: columns stay columns, every other SCIM attribute goes to `attributes`. */
export function toUserInput(body: UserBodyDto): UserInput {
  const attributes: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (!COLUMNS.has(key) && value !== undefined) attributes[key] = plain(value);
  }
  for (const [urn, value] of Object.entries(body.extensions ?? {})) {
    if (!EXTENSION_URN.test(urn) || urn === ENTERPRISE_USER_SCHEMA) {
      throw new DomainError(
        'invalid_extension',
        'validation',
        `"${urn}" is not a valid extension schema URN`,
        {
          errors: [
            {
              field: `extensions.${urn}`,
              message: 'must be a schema URN (urn:…) other than the enterprise extension',
            },
          ],
        },
      );
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new DomainError('invalid_extension', 'validation', `Extension "${urn}" must be an object`, {
        errors: [{ field: `extensions.${urn}`, message: 'must be an object' }],
      });
    }
    attributes[urn] = plain(value);
  }
  return {
    userName: body.userName,
    externalId: body.externalId ?? null,
    displayName: body.displayName ?? null,
    active: body.active ?? true,
    kind: body.kind ?? 'person',
    attributes,
  };
}

/** Directory user → admin view (the inverse of {@link toUserInput}). */
export function toUserDto(user: UserEntity, groups?: { id: string; displayName: string }[]): UserDto {
  const attributes: Record<string, unknown> = {};
  const extensions: Record<string, Record<string, unknown>> = {};
  for (const [key, value] of Object.entries(user.attributes)) {
    if (key.startsWith('urn:') && key !== ENTERPRISE_USER_SCHEMA)
      extensions[key] = value as Record<string, unknown>;
    else attributes[key] = value;
  }
  return {
    id: user.id,
    userName: user.userName,
    externalId: user.externalId,
    displayName: user.displayName,
    active: user.active,
    kind: user.kind,
    ...attributes,
    ...(Object.keys(extensions).length ? { extensions } : {}),
    version: user.version,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
    ...(groups ? { groups } : {}),
  } as UserDto;
}

/** The writable part of the admin view, the base a JSON merge patch applies to. */
export function writableView(dto: UserDto): Record<string, unknown> {
  const { id: _id, version: _v, createdAt: _c, updatedAt: _u, groups: _g, ...rest } = dto;
  return rest;
}

/** class-transformer instances → plain JSON for jsonb. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}
