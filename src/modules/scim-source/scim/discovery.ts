import { groupResourceType, RESOURCE_SCHEMAS, userResourceType } from '../../../lib/scim/schemas.js';
import {
  LIST_RESPONSE_SCHEMA,
  type ScimResourceType,
  type ScimSchema,
} from '../../../lib/scim/schema.types.js';
import { DEFAULT_COUNT, MAX_RESULTS } from './list-request.js';

export const SERVICE_PROVIDER_CONFIG_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
export const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
export const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

/** Most operations in one Bulk request. */
export const BULK_MAX_OPERATIONS = 1000;

/** How long a cursor stays usable (RFC 9865 `cursorTimeout`); our keyset cursors never expire. */
const CURSOR_TIMEOUT_SECONDS = 3600;

const RESOURCE_TYPES: ScimResourceType[] = [userResourceType, groupResourceType];
const SCHEMAS: ScimSchema[] = [...RESOURCE_SCHEMAS.User, ...RESOURCE_SCHEMAS.Group];

/**
 * RFC 7643 §5 (with RFC 9865's `pagination`): what this server really does. Every flag here is
 * backed by the implementation: PATCH, Bulk within these limits, filters compiled to SQL with at
 * most `maxResults` per page, sorting, weak ETags, index and cursor paging. Passwords are never
 * stored, so changing them is not supported.
 */
export function serviceProviderConfig(baseUrl: string, maxPayloadSize: number): Record<string, unknown> {
  return {
    schemas: [SERVICE_PROVIDER_CONFIG_SCHEMA],
    documentationUri: 'https://datatracker.ietf.org/doc/html/rfc7644',
    patch: { supported: true },
    bulk: { supported: true, maxOperations: BULK_MAX_OPERATIONS, maxPayloadSize },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    pagination: {
      cursor: true,
      index: true,
      defaultPaginationMethod: 'index',
      defaultPageSize: DEFAULT_COUNT,
      maxPageSize: MAX_RESULTS,
      cursorTimeout: CURSOR_TIMEOUT_SECONDS,
    },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: 'The source token from the admin API, as Authorization: Bearer <token>',
        specUri: 'https://datatracker.ietf.org/doc/html/rfc6750',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  };
}

export function resourceTypeDocument(type: ScimResourceType, baseUrl: string): Record<string, unknown> {
  return {
    schemas: [RESOURCE_TYPE_SCHEMA],
    id: type.name,
    name: type.name,
    endpoint: type.endpoint,
    description: type.description,
    schema: type.schema,
    schemaExtensions: type.schemaExtensions,
    meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/${type.name}` },
  };
}

export function schemaDocument(schema: ScimSchema, baseUrl: string): Record<string, unknown> {
  return {
    schemas: [SCHEMA_SCHEMA],
    id: schema.id,
    name: schema.name,
    description: schema.description,
    attributes: schema.attributes,
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${schema.id}` },
  };
}

export function findResourceType(name: string): ScimResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.name.toLowerCase() === name.toLowerCase());
}

export function findSchemaDocument(urn: string): ScimSchema | undefined {
  return SCHEMAS.find((s) => s.id.toLowerCase() === urn.toLowerCase());
}

export function listOf(resources: Record<string, unknown>[]): Record<string, unknown> {
  return {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults: resources.length,
    itemsPerPage: resources.length,
    startIndex: 1,
    Resources: resources,
  };
}

export const allResourceTypes = (): ScimResourceType[] => RESOURCE_TYPES;
export const allSchemas = (): ScimSchema[] => SCHEMAS;
