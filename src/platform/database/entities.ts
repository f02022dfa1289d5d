import { AdminTokenEntity } from '../http/admin-tokens/admin-token.entity.js';
import { ChangeEventEntity } from '../../modules/directory/changes/change-event.entity.js';
import { GroupEntity } from '../../modules/directory/groups/group.entity.js';
import { MembershipEntity } from '../../modules/directory/groups/membership.entity.js';
import { UserEntity } from '../../modules/directory/users/user.entity.js';
import { LinkEntity } from '../../modules/scim-source/links/link.entity.js';
import { SourceTokenEntity } from '../../modules/scim-source/sources/source-token.entity.js';
import { SourceEntity } from '../../modules/scim-source/sources/source.entity.js';
import { JobWorkerEntity } from '../jobs/job-worker.entity.js';
import { PropertyMappingEntity } from '../../modules/property-mapping/mappings/property-mapping.entity.js';
import {
  ConnectionEntity,
  SentMemberEntity,
} from '../../modules/scim-provider/connections/connection.entity.js';
import { ProviderEntity } from '../../modules/scim-provider/providers/provider.entity.js';
import {
  DryRunRequestEntity,
  RunEntity,
  RunErrorEntity,
  RunPageEntity,
} from '../../modules/scim-provider/runs/run.entity.js';

/** Every entity of the service, registered once for the one DataSource. */
export const ENTITIES = [
  UserEntity,
  GroupEntity,
  MembershipEntity,
  ChangeEventEntity,
  AdminTokenEntity,
  SourceEntity,
  SourceTokenEntity,
  LinkEntity,
  JobWorkerEntity,
  PropertyMappingEntity,
  ProviderEntity,
  ConnectionEntity,
  SentMemberEntity,
  RunEntity,
  RunPageEntity,
  RunErrorEntity,
  DryRunRequestEntity,
];
