import { Injectable } from '@nestjs/common';
import {
  GroupsService,
  UsersService,
  groupToView,
  userToView,
  type GroupView,
  type UserView,
} from '../../directory/index.js';
import { CORE_GROUP_SCHEMA, CORE_USER_SCHEMA } from '../../../lib/scim/schema.types.js';
import { DomainError } from '../../../platform/errors/domain-error.js';
import { MappingEngine, type MappingOutcome } from '../engine/mapping-engine.js';
import { MappingReferenceChecker } from '../mappings/mapping-references.js';
import type { MappingScope } from '../mappings/property-mapping.entity.js';
import { PropertyMappingsService } from '../mappings/property-mappings.service.js';
import { MappingErrors } from '../property-mapping.errors.js';

/** Exactly one of these. */
export interface MappingSubject {
  userId?: string;
  groupId?: string;
  sample?: Record<string, unknown>;
}

export interface PreviewRequest {
  scope: MappingScope;
  mappingIds?: string[];
  sourceId?: string;
  providerId?: string;
  subject: MappingSubject;
}

/** Stand-ins for the source or provider when a preview names none. */
const PREVIEW_SOURCE = { id: null, slug: 'preview', name: 'Preview' };
const PREVIEW_PROVIDER = { id: null, name: 'Preview' };

/**
 * Tries mappings on a real directory object or a sample without writing anything: one mapping's
 * own contribution (test), or a whole list merged and validated (preview).
 */
@Injectable()
export class MappingPreviewService {
  constructor(
    private readonly mappings: PropertyMappingsService,
    private readonly engine: MappingEngine,
    private readonly owners: MappingReferenceChecker,
    private readonly users: UsersService,
    private readonly groups: GroupsService,
  ) {}

  async test(
    mappingId: string,
    subject: MappingSubject,
  ): Promise<{ result: Record<string, unknown> | null; durationMs: number }> {
    const mapping = await this.mappings.get(mappingId);
    const context = await this.contextFor(mapping.scope, subject);
    return this.engine.evaluateOne(mapping, context);
  }

  async preview(request: PreviewRequest): Promise<MappingOutcome> {
    const { scope } = request;
    const owner = await this.ownerList(request);
    const ids = request.mappingIds ?? owner?.mappingIds ?? (await this.mappings.defaultIds(scope));
    const context = { ...(await this.contextFor(scope, request.subject)), ...owner?.context };
    return this.engine.run(scope, ids, context, { measureEach: true });
  }

  private async ownerList(
    request: PreviewRequest,
  ): Promise<{ mappingIds: string[]; context: Record<string, unknown> } | undefined> {
    const named = [
      ...(request.sourceId ? [{ type: 'source', id: request.sourceId, side: 'source:' }] : []),
      ...(request.providerId ? [{ type: 'provider', id: request.providerId, side: 'provider:' }] : []),
    ];
    if (named.length === 0) return undefined;
    if (named.length > 1) throw invalid('Give sourceId or providerId, not both', 'providerId');
    const { type, id, side } = named[0]!;
    if (!request.scope.startsWith(side))
      throw invalid(`${type}Id only applies to ${side}* scopes`, `${type}Id`);
    const lists = this.owners.owner(type)?.mappingIdsOf;
    if (!lists) throw invalid(`Previewing a ${type}'s mapping list is not available`, `${type}Id`);
    const list = await lists(id, request.scope);
    if (!list) throw MappingErrors.subjectNotFound(type, id);
    return list;
  }

  /** The variables of `scope` for the subject (see README "Property mappings" for each scope). */
  private async contextFor(scope: MappingScope, subject: MappingSubject): Promise<Record<string, unknown>> {
    const given = (['userId', 'groupId', 'sample'] as const).filter((key) => subject[key] !== undefined);
    if (given.length !== 1) throw invalid('Give exactly one of userId, groupId or sample', 'subject');
    const forUsers = scope.endsWith(':user');
    if (subject.userId !== undefined && !forUsers)
      throw invalid(`${scope} mappings map groups: give groupId or sample`, 'userId');
    if (subject.groupId !== undefined && forUsers)
      throw invalid(`${scope} mappings map users: give userId or sample`, 'groupId');
    const sample = subject.sample;
    if (sample !== undefined && (typeof sample !== 'object' || sample === null || Array.isArray(sample))) {
      throw invalid('sample must be an object', 'sample');
    }

    switch (scope) {
      case 'source:user': {
        const user = subject.userId !== undefined ? await this.userView(subject.userId) : null;
        return { scim: sample ?? viewAsScim(user!, 'User'), source: PREVIEW_SOURCE, user };
      }
      case 'source:group': {
        const group = subject.groupId !== undefined ? await this.groupView(subject.groupId) : null;
        return { scim: sample ?? viewAsScim(group!, 'Group'), source: PREVIEW_SOURCE, group };
      }
      case 'provider:user':
        return {
          user: sample ? { groups: [], ...sample } : await this.userView(subject.userId!),
          provider: PREVIEW_PROVIDER,
          connection: null,
        };
      case 'provider:group':
        return {
          group: sample ?? (await this.groupView(subject.groupId!)),
          provider: PREVIEW_PROVIDER,
          connection: null,
        };
    }
  }

  private async userView(id: string): Promise<UserView> {
    const user = await this.users.get(id).catch((error: unknown) => {
      throw error instanceof DomainError && error.kind === 'not_found'
        ? MappingErrors.subjectNotFound('user', id)
        : error;
    });
    const groups = await this.users.groupsOf(id);
    return { ...userToView(user), groups };
  }

  private async groupView(id: string): Promise<GroupView> {
    const group = await this.groups.get(id).catch((error: unknown) => {
      throw error instanceof DomainError && error.kind === 'not_found'
        ? MappingErrors.subjectNotFound('group', id)
        : error;
    });
    return groupToView(group);
  }
}

/** A directory object as an identity provider would send it, for trying `source:*` mappings on it. */
function viewAsScim(view: UserView | GroupView, resource: 'User' | 'Group'): Record<string, unknown> {
  const { id: _id, kind: _kind, groups: _groups, ...attributes } = view as Record<string, unknown>;
  const schemas = [resource === 'User' ? CORE_USER_SCHEMA : CORE_GROUP_SCHEMA];
  for (const key of Object.keys(attributes)) {
    if (key.startsWith('urn:')) schemas.push(key);
    if (attributes[key] === null) delete attributes[key];
  }
  return { schemas, ...attributes };
}

function invalid(message: string, field: string): DomainError {
  return new DomainError('invalid_subject', 'validation', message, { errors: [{ field, message }] });
}
