import type { BulkLimits } from './bulk-batcher.js';

/**
 * Per-vendor quirks as ONE data table of capability overrides and request shapes. The engine and
 * the client read fields of the provider's profile; nowhere else in the code asks "is this AWS?".
 */
export const PROFILE_NAMES = ['default', 'aws', 'slack', 'salesforce', 'webex', 'entra', 'no-patch'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export interface CompatibilityProfile {
  name: ProfileName;
  description: string;
  /** How changed user attributes are sent: minimal PATCH, or PUT of the whole user. */
  userUpdate: 'patch' | 'put';
  /** How changed group attributes (not members) are sent. */
  groupUpdate: 'patch' | 'put';
  /** How membership changes are sent: add/remove PATCH chunks, or PUT of the group with all members. */
  memberUpdate: 'patch' | 'put';
  /** Operations in one PATCH request (a provider's `maxPatchOperations` overrides it). */
  maxPatchOperations: number;
  /** Members in one add/remove operation's value list. */
  maxMembersPerOperation: number;
  /** Members sent with a group's POST (the rest follow as add PATCHes); 0 = create empty. */
  maxMembersOnCreate: number;
  /**
   * How members are removed: one op with a value list (`path: members, value: [...]`), or one op
   * per member with a filter path (`members[value eq "id"]`, RFC 7644 §3.5.2.2).
   */
  memberRemoval: 'value-list' | 'path-filter';
  /** `type` on member values: none, or the literal the app wants. */
  memberType: null | 'User' | 'user';
  /** Group members may be groups (nested groups). */
  nestedGroups: boolean;
  /** Use `add` for an attribute we never sent before (strict apps refuse `replace` of an absent value). */
  addForNewAttributes: boolean;
  /** What DELETE of a user means to the app; `deactivate` makes our delete action a deactivation. */
  userDelete: 'delete' | 'deactivate';
  /** Attributes the app can filter on to find an object after a 409 or a lost create, in order. */
  userLookup: readonly ('userName' | 'externalId')[];
  groupLookup: readonly ('externalId' | 'displayName')[];
  /** Read the app's /ServiceProviderConfig (PATCH/filter support) and let it override this profile. */
  readServiceProviderConfig: boolean;
  /** Default requests/s when the provider sets none (null = unlimited). */
  defaultMaxRequestsPerSecond: number | null;
  /**
   * Ask for resources without their membership lists (`excludedAttributes=members` on groups,
   * `excludedAttributes=groups` on users, RFC 7644 §3.9) on lookups and writes: we never need them
   * back, and for big groups they are most of the app's work and of the bytes. Off for apps not
   * known to accept the parameter.
   */
  slimResponses: boolean;
  /** Look an object up by all its lookup attributes in one request (`a eq "x" or b eq "y"`). */
  orFilters: boolean;
  /**
   * Carry concurrent writes in SCIM Bulk requests when the app's ServiceProviderConfig declares
   * Bulk support (RFC 7644 §3.7), within its `maxOperations` and `maxPayloadSize`.
   */
  bulk: boolean;
}

const base: Omit<CompatibilityProfile, 'name' | 'description'> = {
  userUpdate: 'patch',
  groupUpdate: 'patch',
  memberUpdate: 'patch',
  maxPatchOperations: 100,
  maxMembersPerOperation: 500,
  maxMembersOnCreate: 500,
  memberRemoval: 'value-list',
  memberType: null,
  nestedGroups: true,
  addForNewAttributes: false,
  userDelete: 'delete',
  userLookup: ['userName', 'externalId'],
  groupLookup: ['externalId', 'displayName'],
  readServiceProviderConfig: true,
  defaultMaxRequestsPerSecond: null,
  slimResponses: true,
  orFilters: true,
  bulk: true,
};

/** Most writes we put in one Bulk request, whatever the app allows: a slow request holds them all. */
export const MAX_BULK_OPERATIONS = 50;
/** The payload limit assumed when an app declares Bulk without one (RFC 7643 makes it required). */
const DEFAULT_BULK_PAYLOAD_BYTES = 1_048_576;

export const COMPATIBILITY_PROFILES: Readonly<Record<ProfileName, CompatibilityProfile>> = {
  default: {
    ...base,
    name: 'default',
    description: 'RFC 7644 app: minimal PATCH, members as chunked add/remove',
  },
  aws: {
    ...base,
    name: 'aws',
    slimResponses: false,
    orFilters: false,
    description:
      'AWS IAM Identity Center: no PUT on groups, ≤ 100 members per request, members not returned on GET, no nested groups',
    maxPatchOperations: 100,
    maxMembersPerOperation: 100,
    maxMembersOnCreate: 0,
    nestedGroups: false,
    userLookup: ['userName', 'externalId'],
    groupLookup: ['displayName'],
    readServiceProviderConfig: false,
    defaultMaxRequestsPerSecond: 20,
  },
  slack: {
    ...base,
    name: 'slack',
    slimResponses: false,
    orFilters: false,
    description: 'Slack: PATCH, DELETE deactivates, no nested groups, low request rate',
    maxPatchOperations: 50,
    maxMembersPerOperation: 100,
    maxMembersOnCreate: 100,
    nestedGroups: false,
    userDelete: 'deactivate',
    userLookup: ['userName'],
    groupLookup: ['displayName'],
    readServiceProviderConfig: false,
    defaultMaxRequestsPerSecond: 5,
  },
  salesforce: {
    ...base,
    name: 'salesforce',
    slimResponses: false,
    orFilters: false,
    description:
      'Salesforce: users replaced with PUT, users cannot be deleted (deactivated instead), no nested groups',
    userUpdate: 'put',
    maxPatchOperations: 50,
    maxMembersPerOperation: 200,
    maxMembersOnCreate: 0,
    nestedGroups: false,
    userDelete: 'deactivate',
    userLookup: ['userName'],
    groupLookup: ['displayName'],
    readServiceProviderConfig: false,
    defaultMaxRequestsPerSecond: 10,
  },
  webex: {
    ...base,
    name: 'webex',
    slimResponses: false,
    orFilters: false,
    description: 'Webex: members carry `type: "user"`, no nested groups',
    memberType: 'user',
    maxMembersPerOperation: 100,
    maxMembersOnCreate: 100,
    nestedGroups: false,
    readServiceProviderConfig: false,
  },
  entra: {
    ...base,
    name: 'entra',
    description:
      'Strict apps in the style Entra ID expects: `add` for new attributes, one member per remove (filter path), members typed `User`',
    maxPatchOperations: 20,
    maxMembersPerOperation: 20,
    maxMembersOnCreate: 0,
    memberRemoval: 'path-filter',
    memberType: 'User',
    addForNewAttributes: true,
    bulk: false,
    userLookup: ['userName', 'externalId'],
    groupLookup: ['externalId', 'displayName'],
  },
  'no-patch': {
    ...base,
    name: 'no-patch',
    description:
      'Apps without PATCH: users and groups are replaced with PUT, groups with their full member list',
    userUpdate: 'put',
    groupUpdate: 'put',
    memberUpdate: 'put',
    readServiceProviderConfig: false,
  },
};

/** What the app's /ServiceProviderConfig told us (absent fields: unknown). */
export interface ServiceProviderCapabilities {
  patch?: boolean;
  filter?: boolean;
  filterMaxResults?: number;
  bulk?: boolean;
  bulkMaxOperations?: number;
  bulkMaxPayloadSize?: number;
}

/**
 * The effective profile of a provider: the named profile, then what the app declares in its
 * ServiceProviderConfig (an app without PATCH gets PUT), then the provider's own PATCH-ops limit.
 */
export function effectiveProfile(
  name: ProfileName,
  capabilities: ServiceProviderCapabilities | undefined,
  maxPatchOperations: number | null,
): CompatibilityProfile & { canFilter: boolean; bulkLimits: BulkLimits | null } {
  const profile: CompatibilityProfile = { ...COMPATIBILITY_PROFILES[name] };
  let canFilter = true;
  let bulkLimits: BulkLimits | null = null;
  if (profile.readServiceProviderConfig && capabilities) {
    if (capabilities.patch === false) {
      profile.userUpdate = 'put';
      profile.groupUpdate = 'put';
      profile.memberUpdate = 'put';
    }
    if (capabilities.filter === false) canFilter = false;
    const operations = Math.min(capabilities.bulkMaxOperations ?? MAX_BULK_OPERATIONS, MAX_BULK_OPERATIONS);
    if (profile.bulk && capabilities.bulk === true && operations >= 2) {
      bulkLimits = {
        maxOperations: operations,
        maxPayloadSize: capabilities.bulkMaxPayloadSize ?? DEFAULT_BULK_PAYLOAD_BYTES,
      };
    }
  }
  if (maxPatchOperations !== null && maxPatchOperations > 0) profile.maxPatchOperations = maxPatchOperations;
  return { ...profile, canFilter, bulkLimits };
}
