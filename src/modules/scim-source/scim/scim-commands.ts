import { Injectable } from '@nestjs/common';
import type { ScimResourceTypeName } from '../links/link.entity.js';
import type { LinkRow } from '../links/links.repository.js';
import type { SourcePrincipal } from '../sources/sources.service.js';
import { ScimGroupsService } from './scim-groups.service.js';
import { ScimUsersService } from './scim-users.service.js';

/** The writes every resource type supports, so HTTP and Bulk dispatch them the same way. */
export interface ResourceCommands {
  create(source: SourcePrincipal, body: unknown): Promise<LinkRow>;
  replace(source: SourcePrincipal, id: string, body: unknown, ifMatch: string | undefined): Promise<LinkRow>;
  patch(source: SourcePrincipal, id: string, body: unknown, ifMatch: string | undefined): Promise<LinkRow>;
  delete(source: SourcePrincipal, id: string, ifMatch: string | undefined): Promise<void>;
}

@Injectable()
export class ScimCommands {
  constructor(
    private readonly users: ScimUsersService,
    private readonly groups: ScimGroupsService,
  ) {}

  of(type: ScimResourceTypeName): ResourceCommands {
    return type === 'User' ? this.users : this.groups;
  }
}
