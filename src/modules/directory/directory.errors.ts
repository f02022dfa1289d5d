import { DomainError } from '../../platform/errors/domain-error.js';

/** The directory module's error codes. */
export const DirectoryErrors = {
  userNotFound: (id: string) => new DomainError('user_not_found', 'not_found', `User ${id} does not exist`),
  groupNotFound: (id: string) =>
    new DomainError('group_not_found', 'not_found', `Group ${id} does not exist`),
  userNameTaken: (userName: string) =>
    new DomainError('user_name_taken', 'conflict', `The userName "${userName}" is already in use`, {
      errors: [{ field: 'userName', message: 'already in use (userName is unique, case-insensitively)' }],
    }),
  versionMismatch: (expected: number, actual: number) =>
    new DomainError(
      'version_mismatch',
      'precondition_failed',
      `Expected version ${expected}, but it is ${actual}`,
    ),
  membersNotFound: (kind: 'user' | 'group', ids: string[]) =>
    new DomainError('members_not_found', 'validation', `No ${kind} with id ${ids.join(', ')}`, {
      errors: ids.map((id) => ({ field: 'members', message: `${kind} ${id} does not exist` })),
    }),
  membershipCycle: (groupId: string, memberGroupId: string) =>
    new DomainError(
      'membership_cycle',
      'validation',
      `Group ${memberGroupId} cannot be a member of ${groupId}: it already contains it (directly or through nested groups)`,
    ),
};
