/** What other modules may import from the directory. */
export { DirectoryModule } from './directory.module.js';
export {
  UsersService,
  type UserInput,
  type UserWriteOptions,
  type WriteOptions,
  type WriteResult,
} from './users/users.service.js';
export type { UserCompanion } from './users/user-inserts.js';
export { GroupsService, type GroupInput, type MemberSet } from './groups/groups.service.js';
export { ChangeRecorder, type ChangeToRecord } from './changes/change-recorder.js';
export { OUTBOX_CHANNEL } from './changes/outbox-signal.js';
export type { ChangeOrigin, ChangeKind, ObjectType } from './changes/change-event.entity.js';
export { ChangeEventEntity } from './changes/change-event.entity.js';
export { UserEntity, type UserKind } from './users/user.entity.js';
export { GroupEntity } from './groups/group.entity.js';
export { DirectoryErrors } from './directory.errors.js';
export { inTransaction } from './transaction.js';
export {
  userToView,
  viewToUserInput,
  groupToView,
  viewToGroupInput,
  type UserView,
  type GroupView,
} from './users/user-view.js';
