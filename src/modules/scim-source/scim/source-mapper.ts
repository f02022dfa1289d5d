import { Injectable } from '@nestjs/common';
import {
  viewToGroupInput,
  viewToUserInput,
  type GroupInput,
  type GroupView,
  type UserInput,
  type UserView,
} from '../../directory/index.js';
import { MappingEngine } from '../../property-mapping/index.js';
import type { SourcePrincipal } from '../sources/sources.service.js';

/**
 * Runs a source's `source:*` property mappings over an inbound payload: what the identity
 * provider sent becomes a directory user or group. Errors (`object_skipped`, `mapping_failed`,
 * `mapping_result_invalid`) reach the identity provider as 400s.
 */
@Injectable()
export class SourceMapper {
  constructor(private readonly engine: MappingEngine) {}

  async user(
    source: SourcePrincipal,
    scim: Record<string, unknown>,
    existing: UserView | null,
  ): Promise<UserInput> {
    const { result } = await this.engine.run('source:user', source.userMappingIds, {
      scim,
      source: sourceContext(source),
      user: existing,
    });
    return viewToUserInput(result as UserView);
  }

  async group(
    source: SourcePrincipal,
    scim: Record<string, unknown>,
    existing: GroupView | null,
  ): Promise<GroupInput> {
    const { result } = await this.engine.run('source:group', source.groupMappingIds, {
      scim,
      source: sourceContext(source),
      group: existing,
    });
    return viewToGroupInput(result as GroupView);
  }
}

function sourceContext(source: SourcePrincipal): { id: string; slug: string; name: string } {
  return { id: source.id, slug: source.slug, name: source.name };
}
