import { projectResource, type ProjectionOptions } from '../../../lib/scim/projection.js';
import { RESOURCE_SCHEMAS } from '../../../lib/scim/schemas.js';
import type { LinkRow, MemberRow } from '../links/links.repository.js';
import type { ScimResourceTypeName } from '../links/link.entity.js';

export const ENDPOINTS: Record<ScimResourceTypeName, string> = { User: 'Users', Group: 'Groups' };

/** The weak ETag of a link version; also its `meta.version`. */
export const etagOfVersion = (version: number): string => `W/"${version}"`;

/** What a resource carries besides its payload: read-only, computed attributes. */
export interface ResourceExtras {
  /** For a user: the groups of this source it is a direct member of. */
  groups?: { id: string; display: string | null }[];
  /** For a group: its members that this source manages. */
  members?: Pick<MemberRow, 'id' | 'type' | 'display'>[];
}

/**
 * The SCIM resource a source sees: what it sent (the stored payload), the id, computed members or
 * groups, and `meta`. `baseUrl` is the source's SCIM base URL.
 */
export function toResource(
  link: LinkRow,
  baseUrl: string,
  extras: ResourceExtras = {},
): Record<string, unknown> {
  const { schemas, ...attributes } = link.payload;
  const location = `${baseUrl}/${ENDPOINTS[link.resourceType]}/${link.id}`;
  const resource: Record<string, unknown> = { schemas, id: link.id, ...attributes };
  if (extras.groups) {
    resource['groups'] = extras.groups.map((g) => ({
      value: g.id,
      $ref: `${baseUrl}/Groups/${g.id}`,
      ...(g.display !== null ? { display: g.display } : {}),
      type: 'direct',
    }));
  }
  if (extras.members) {
    resource['members'] = extras.members.map((m) => ({
      value: m.id,
      $ref: `${baseUrl}/${ENDPOINTS[m.type]}/${m.id}`,
      ...(m.display !== null ? { display: m.display } : {}),
      type: m.type,
    }));
  }
  resource['meta'] = {
    resourceType: link.resourceType,
    created: link.createdAt.toISOString(),
    lastModified: link.updatedAt.toISOString(),
    location,
    version: etagOfVersion(link.version),
  };
  return resource;
}

/**
 * A resource shaped by `attributes` / `excludedAttributes` (RFC 7644 §3.9). Always applied, so
 * responses list attributes in schema order (jsonb does not keep the order of keys).
 */
export function project(
  resource: Record<string, unknown>,
  type: ScimResourceTypeName,
  projection: ProjectionOptions,
): Record<string, unknown> {
  return projectResource(resource, projection, RESOURCE_SCHEMAS[type]);
}
