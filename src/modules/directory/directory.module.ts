import { Module } from '@nestjs/common';
import { ChangeRecorder } from './changes/change-recorder.js';
import { OutboxSignal } from './changes/outbox-signal.js';
import { GroupsService } from './groups/groups.service.js';
import { GroupsController } from './http/groups.controller.js';
import { UsersController } from './http/users.controller.js';
import { UsersService } from './users/users.service.js';

/** The bottom layer: users, groups, memberships and the change outbox. Imports no feature module. */
@Module({
  controllers: [UsersController, GroupsController],
  providers: [UsersService, GroupsService, ChangeRecorder, OutboxSignal],
  exports: [UsersService, GroupsService, ChangeRecorder],
})
export class DirectoryModule {}
