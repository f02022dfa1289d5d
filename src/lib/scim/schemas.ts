/**
 * The SCIM schema definitions this bridge speaks (RFC 7643 §3.1, §4, §8.7), written as data.
 * They drive inbound validation, PATCH, filter compilation, projection and the discovery
 * endpoints (`/Schemas`, `/ResourceTypes`).
 */
import {
  CORE_GROUP_SCHEMA,
  CORE_USER_SCHEMA,
  ENTERPRISE_USER_SCHEMA,
  type ScimAttribute,
  type ScimAttributeType,
  type ScimResourceType,
  type ScimSchema,
} from './schema.types.js';

type AttributeOptions = Partial<Omit<ScimAttribute, 'name' | 'type' | 'description'>>;

/** An attribute with the RFC 7643 §2.2 defaults, overridden by `options`. */
function attribute(
  name: string,
  type: ScimAttributeType,
  description: string,
  options: AttributeOptions = {},
): ScimAttribute {
  return {
    name,
    type,
    multiValued: false,
    description,
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...options,
  };
}

function complex(
  name: string,
  description: string,
  subAttributes: ScimAttribute[],
  options: AttributeOptions = {},
): ScimAttribute {
  return attribute(name, 'complex', description, { ...options, subAttributes });
}

/** The `type`, `primary` and `display` sub-attributes shared by most multi-valued attributes. */
function multiValuedExtras(label: string, canonicalTypes?: string[]): ScimAttribute[] {
  return [
    attribute('display', 'string', `A human-readable name, primarily used for display purposes.`),
    attribute(
      'type',
      'string',
      `A label indicating the ${label}'s function.`,
      canonicalTypes ? { canonicalValues: canonicalTypes } : {},
    ),
    attribute(
      'primary',
      'boolean',
      `A Boolean value indicating the 'primary' or preferred ${label}. The primary attribute value 'true' MUST appear no more than once.`,
    ),
  ];
}

/** A multi-valued complex attribute of the `value`/`display`/`type`/`primary` shape. */
function multiValuedComplex(
  name: string,
  label: string,
  description: string,
  value: ScimAttribute,
  canonicalTypes?: string[],
): ScimAttribute {
  return complex(name, description, [value, ...multiValuedExtras(label, canonicalTypes)], {
    multiValued: true,
  });
}

// ---------------------------------------------------------------------------------------------
// Common attributes (RFC 7643 §3.1): part of every resource, not of any schema's attribute list.
// ---------------------------------------------------------------------------------------------

export const idAttribute: ScimAttribute = attribute(
  'id',
  'string',
  'Unique identifier for the SCIM resource as defined by the service provider.',
  { caseExact: true, mutability: 'readOnly', returned: 'always', uniqueness: 'server' },
);

export const externalIdAttribute: ScimAttribute = attribute(
  'externalId',
  'string',
  'A String that is an identifier for the resource as defined by the provisioning client.',
  { caseExact: true },
);

export const metaAttribute: ScimAttribute = complex(
  'meta',
  'A complex attribute containing resource metadata.',
  [
    attribute('resourceType', 'string', 'The name of the resource type of the resource.', {
      caseExact: true,
      mutability: 'readOnly',
    }),
    attribute('created', 'dateTime', 'The "DateTime" that the resource was added to the service provider.', {
      mutability: 'readOnly',
    }),
    attribute(
      'lastModified',
      'dateTime',
      'The most recent DateTime that the details of this resource were updated at the service provider.',
      {
        mutability: 'readOnly',
      },
    ),
    attribute('location', 'reference', 'The URI of the resource being returned.', {
      caseExact: true,
      mutability: 'readOnly',
      referenceTypes: ['uri'],
    }),
    attribute('version', 'string', 'The version of the resource being returned (an entity tag).', {
      caseExact: true,
      mutability: 'readOnly',
    }),
  ],
  { mutability: 'readOnly' },
);

/** `id`, `externalId` and `meta`, which every resource carries besides its schemas' attributes. */
export const COMMON_ATTRIBUTES: readonly ScimAttribute[] = [idAttribute, externalIdAttribute, metaAttribute];

// ---------------------------------------------------------------------------------------------
// Core User (RFC 7643 §4.1, §8.7.1)
// ---------------------------------------------------------------------------------------------

export const coreUserSchema: ScimSchema = {
  id: CORE_USER_SCHEMA,
  name: 'User',
  description: 'User Account',
  attributes: [
    attribute(
      'userName',
      'string',
      'Unique identifier for the User, typically used by the user to directly authenticate to the service provider. REQUIRED.',
      { required: true, uniqueness: 'server' },
    ),
    complex('name', "The components of the user's real name.", [
      attribute(
        'formatted',
        'string',
        "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display (e.g., 'Ms. Barbara J Jensen, III').",
        {},
      ),
      attribute(
        'familyName',
        'string',
        "The family name of the User, or last name in most Western languages (e.g., 'Jensen').",
        {},
      ),
      attribute(
        'givenName',
        'string',
        "The given name of the User, or first name in most Western languages (e.g., 'Barbara').",
        {},
      ),
      attribute('middleName', 'string', "The middle name(s) of the User (e.g., 'Jane').", {}),
      attribute(
        'honorificPrefix',
        'string',
        "The honorific prefix(es) of the User, or title in most Western languages (e.g., 'Ms.').",
        {},
      ),
      attribute(
        'honorificSuffix',
        'string',
        "The honorific suffix(es) of the User, or suffix in most Western languages (e.g., 'III').",
        {},
      ),
    ]),
    attribute('displayName', 'string', 'The name of the User, suitable for display to end-users.'),
    attribute('nickName', 'string', 'The casual way to address the user in real life.'),
    attribute(
      'profileUrl',
      'reference',
      "A fully qualified URL pointing to a page representing the User's online profile.",
      {
        referenceTypes: ['external'],
      },
    ),
    attribute('title', 'string', "The user's title, such as 'Vice President'."),
    attribute(
      'userType',
      'string',
      "Used to identify the relationship between the organization and the user (e.g., 'Employee', 'Contractor').",
    ),
    attribute(
      'preferredLanguage',
      'string',
      "Indicates the User's preferred written or spoken language (e.g., 'en-US').",
    ),
    attribute(
      'locale',
      'string',
      "Used to indicate the User's default location for purposes of localizing items such as currency, date time format, or numerical representations.",
    ),
    attribute(
      'timezone',
      'string',
      "The User's time zone in the 'Olson' time zone database format, e.g., 'America/Los_Angeles'.",
    ),
    attribute('active', 'boolean', "A Boolean value indicating the User's administrative status."),
    attribute(
      'password',
      'string',
      "The User's cleartext password, used to set or compare it; never returned.",
      {
        mutability: 'writeOnly',
        returned: 'never',
      },
    ),
    multiValuedComplex(
      'emails',
      'email address',
      'Email addresses for the user.',
      attribute('value', 'string', 'Email addresses for the user, canonicalized per RFC 5321.'),
      ['work', 'home', 'other'],
    ),
    multiValuedComplex(
      'phoneNumbers',
      'phone number',
      'Phone numbers for the User.',
      attribute('value', 'string', 'Phone number of the User.'),
      ['work', 'home', 'mobile', 'fax', 'pager', 'other'],
    ),
    multiValuedComplex(
      'ims',
      'instant messaging address',
      'Instant messaging addresses for the User.',
      attribute('value', 'string', 'Instant messaging address for the User.'),
      ['aim', 'gtalk', 'icq', 'xmpp', 'msn', 'skype', 'qq', 'yahoo'],
    ),
    multiValuedComplex(
      'photos',
      'photo',
      'URLs of photos of the User.',
      attribute('value', 'reference', 'URL of a photo of the User.', { referenceTypes: ['external'] }),
      ['photo', 'thumbnail'],
    ),
    complex(
      'addresses',
      'A physical mailing address for this User.',
      [
        attribute(
          'formatted',
          'string',
          'The full mailing address, formatted for display or use with a mailing label.',
        ),
        attribute(
          'streetAddress',
          'string',
          'The full street address component, which may include house number, street name, P.O. box, and multi-line extended street address information.',
        ),
        attribute('locality', 'string', 'The city or locality component.'),
        attribute('region', 'string', 'The state or region component.'),
        attribute('postalCode', 'string', 'The zip code or postal code component.'),
        attribute('country', 'string', 'The country name component (ISO 3166-1 alpha-2).'),
        attribute('type', 'string', "A label indicating the address's function, e.g., 'work' or 'home'.", {
          canonicalValues: ['work', 'home', 'other'],
        }),
        attribute('primary', 'boolean', "A Boolean value indicating the 'primary' or preferred address."),
      ],
      { multiValued: true },
    ),
    complex(
      'groups',
      'A list of groups to which the user belongs, either through direct membership, through nested groups, or dynamically calculated.',
      [
        attribute('value', 'string', "The identifier of the User's group.", { mutability: 'readOnly' }),
        attribute(
          '$ref',
          'reference',
          "The URI of the corresponding 'Group' resource to which the user belongs.",
          {
            mutability: 'readOnly',
            referenceTypes: ['User', 'Group'],
          },
        ),
        attribute('display', 'string', 'A human-readable name, primarily used for display purposes.', {
          mutability: 'readOnly',
        }),
        attribute(
          'type',
          'string',
          "A label indicating the attribute's function, e.g., 'direct' or 'indirect'.",
          {
            mutability: 'readOnly',
            canonicalValues: ['direct', 'indirect'],
          },
        ),
      ],
      { multiValued: true, mutability: 'readOnly' },
    ),
    multiValuedComplex(
      'entitlements',
      'entitlement',
      'A list of entitlements for the User that represent a thing the User has.',
      attribute('value', 'string', 'The value of an entitlement.'),
    ),
    multiValuedComplex(
      'roles',
      'role',
      "A list of roles for the User that collectively represent who the User is, e.g., 'Student', 'Faculty'.",
      attribute('value', 'string', 'The value of a role.'),
    ),
    multiValuedComplex(
      'x509Certificates',
      'certificate',
      'A list of certificates issued to the User.',
      attribute('value', 'binary', 'The value of an X.509 certificate (base64-encoded DER).'),
    ),
  ],
};

// ---------------------------------------------------------------------------------------------
// Core Group (RFC 7643 §4.2, §8.7.1)
// ---------------------------------------------------------------------------------------------

export const coreGroupSchema: ScimSchema = {
  id: CORE_GROUP_SCHEMA,
  name: 'Group',
  description: 'Group',
  attributes: [
    attribute('displayName', 'string', 'A human-readable name for the Group. REQUIRED.', { required: true }),
    complex(
      'members',
      'A list of members of the Group.',
      [
        attribute('value', 'string', 'Identifier of the member of this Group.', {
          caseExact: true,
          mutability: 'immutable',
        }),
        attribute(
          '$ref',
          'reference',
          'The URI corresponding to a SCIM resource that is a member of this Group.',
          {
            mutability: 'immutable',
            referenceTypes: ['User', 'Group'],
          },
        ),
        attribute(
          'display',
          'string',
          'A human-readable name for the member, primarily used for display purposes.',
          {
            mutability: 'readOnly',
          },
        ),
        attribute('type', 'string', "A label indicating the type of resource, e.g., 'User' or 'Group'.", {
          mutability: 'immutable',
          canonicalValues: ['User', 'Group'],
        }),
      ],
      { multiValued: true },
    ),
  ],
};

// ---------------------------------------------------------------------------------------------
// Enterprise User extension (RFC 7643 §4.3, §8.7.1)
// ---------------------------------------------------------------------------------------------

export const enterpriseUserSchema: ScimSchema = {
  id: ENTERPRISE_USER_SCHEMA,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  attributes: [
    attribute(
      'employeeNumber',
      'string',
      'Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or association with an organization.',
    ),
    attribute('costCenter', 'string', 'Identifies the name of a cost center.'),
    attribute('organization', 'string', 'Identifies the name of an organization.'),
    attribute('division', 'string', 'Identifies the name of a division.'),
    attribute('department', 'string', 'Identifies the name of a department.'),
    complex('manager', "The User's manager.", [
      attribute('value', 'string', "The id of the SCIM resource representing the User's manager.", {
        caseExact: true,
      }),
      attribute('$ref', 'reference', "The URI of the SCIM resource representing the User's manager.", {
        referenceTypes: ['User'],
      }),
      attribute('displayName', 'string', "The displayName of the User's manager.", {
        mutability: 'readOnly',
      }),
    ]),
  ],
};

// ---------------------------------------------------------------------------------------------
// Resource types (RFC 7643 §6)
// ---------------------------------------------------------------------------------------------

export const userResourceType: ScimResourceType = {
  name: 'User',
  endpoint: '/Users',
  description: 'User Account',
  schema: CORE_USER_SCHEMA,
  schemaExtensions: [{ schema: ENTERPRISE_USER_SCHEMA, required: false }],
};

export const groupResourceType: ScimResourceType = {
  name: 'Group',
  endpoint: '/Groups',
  description: 'Group',
  schema: CORE_GROUP_SCHEMA,
  schemaExtensions: [],
};

/** The schemas of each resource type: the core schema first, then its extensions. */
export const RESOURCE_SCHEMAS: { User: ScimSchema[]; Group: ScimSchema[] } = {
  User: [coreUserSchema, enterpriseUserSchema],
  Group: [coreGroupSchema],
};

// ---------------------------------------------------------------------------------------------
// Lookup helpers
// ---------------------------------------------------------------------------------------------

export interface ResolvedAttribute {
  /** The schema the attribute belongs to (the core schema for `id`, `externalId`, `meta`). */
  schema: ScimSchema;
  attribute: ScimAttribute;
  subAttribute?: ScimAttribute;
}

/** Finds an attribute by name, case-insensitively. */
export function findAttribute(attributes: readonly ScimAttribute[], name: string): ScimAttribute | undefined {
  const wanted = name.toLowerCase();
  return attributes.find((candidate) => candidate.name.toLowerCase() === wanted);
}

/** Finds a schema by its URN, case-insensitively. */
export function findSchema(schemas: readonly ScimSchema[], urn: string): ScimSchema | undefined {
  const wanted = urn.toLowerCase();
  return schemas.find((schema) => schema.id.toLowerCase() === wanted);
}

/**
 * Splits a URN-qualified path (`urn:…:User:name.givenName`) into the schema it names and the
 * attribute path after it. The longest matching schema URN wins, so dots inside the URN (`2.0`)
 * never split the path. Returns `undefined` for a path that does not start with a known URN.
 */
export function splitSchemaUrn(
  schemas: readonly ScimSchema[],
  path: string,
): { schema: ScimSchema; rest: string } | undefined {
  const lower = path.toLowerCase();
  let best: ScimSchema | undefined;
  for (const schema of schemas) {
    const urn = schema.id.toLowerCase();
    const matches = lower === urn || lower.startsWith(`${urn}:`);
    if (matches && (!best || urn.length > best.id.length)) best = schema;
  }
  if (!best) return undefined;
  return { schema: best, rest: path.slice(best.id.length + 1) };
}

/** The attributes a path may name within `schema`: its own, plus the common ones for a core schema. */
function attributesIn(schema: ScimSchema, isCore: boolean): readonly ScimAttribute[] {
  return isCore ? [...COMMON_ATTRIBUTES, ...schema.attributes] : schema.attributes;
}

/**
 * Resolves an attribute path against a resource's schemas (core first, then extensions), per
 * RFC 7644 §3.10. Names are case-insensitive. Accepts `attr`, `attr.sub` and URN-qualified forms
 * (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`). Unqualified names
 * resolve against the core schema (including `id`, `externalId`, `meta`) before the extensions.
 * Returns `undefined` when nothing matches or the path has more than one sub-attribute level.
 */
export function resolveAttribute(schemas: ScimSchema[], path: string): ResolvedAttribute | undefined {
  const core = schemas[0];
  if (!core) return undefined;

  let candidates: ScimSchema[] = schemas;
  let attributePath = path.trim();
  if (attributePath.toLowerCase().startsWith('urn:')) {
    const split = splitSchemaUrn(schemas, attributePath);
    if (!split || split.rest === '') return undefined;
    candidates = [split.schema];
    attributePath = split.rest;
  }

  const parts = attributePath.split('.');
  if (parts.length > 2 || parts.some((part) => part === '')) return undefined;
  const [attributeName, subAttributeName] = parts as [string, string | undefined];

  for (const schema of candidates) {
    const attribute = findAttribute(attributesIn(schema, schema === core), attributeName);
    if (!attribute) continue;
    if (subAttributeName === undefined) return { schema, attribute };
    const subAttribute = findAttribute(attribute.subAttributes ?? [], subAttributeName);
    return subAttribute ? { schema, attribute, subAttribute } : undefined;
  }
  return undefined;
}
