import {
  Body,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Put,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { applyMergePatch } from '../../../lib/merge/json-merge-patch.js';
import { DomainError } from '../../../platform/errors/domain-error.js';
import { etagOf, versionFromIfMatch } from '../../../platform/http/etag.js';
import { AdminController, ApiProblems, ListQueryDto, pageOf } from '../../../platform/http/openapi.js';
import type { GroupEntity } from '../groups/group.entity.js';
import { GroupsService, type MemberSet } from '../groups/groups.service.js';
import {
  CreateGroupDto,
  GroupBodyDto,
  GroupDto,
  GroupListQueryDto,
  MemberChangeDto,
  MemberDto,
  MembersBodyDto,
  type MemberRefDto,
} from './group.dto.js';
import { adminOrigin, validated } from './users.controller.js';

const GroupPage = pageOf(GroupDto, 'GroupPage');
const MemberPage = pageOf(MemberDto, 'MemberPage');
const IF_MATCH = {
  name: 'If-Match',
  required: false,
  description: 'Only write if the version still matches',
};

const toDto = (g: GroupEntity, memberCount: number): GroupDto => ({
  id: g.id,
  displayName: g.displayName,
  externalId: g.externalId,
  attributes: g.attributes,
  version: g.version,
  memberCount,
  createdAt: g.createdAt.toISOString(),
  updatedAt: g.updatedAt.toISOString(),
});

const toMemberSet = (members: MemberRefDto[] = []): MemberSet => ({
  userIds: members.filter((m) => m.type === 'user').map((m) => m.id),
  groupIds: members.filter((m) => m.type === 'group').map((m) => m.id),
});

/** Admins' view of the directory's groups and memberships (user ∈ group, group ∈ group). */
@AdminController('groups', 'Directory')
export class GroupsController {
  constructor(private readonly groups: GroupsService) {}

  @Get()
  @ApiOperation({ summary: 'List groups' })
  @ApiOkResponse({ type: GroupPage })
  @ApiProblems(400)
  async list(@Query() query: GroupListQueryDto) {
    const result = await this.groups.list(query.limit, query.cursor, query.q);
    const items = await Promise.all(
      result.items.map(async (g) => toDto(g, await this.groups.memberCount(g.id))),
    );
    return { items, nextCursor: result.nextCursor };
  }

  @Post()
  @ApiOperation({ summary: 'Create a group, optionally with members' })
  @ApiCreatedResponse({ type: GroupDto })
  @ApiProblems(400)
  async create(@Body() body: CreateGroupDto, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const members = toMemberSet(body.members);
    const group = await this.groups.create(
      {
        displayName: body.displayName,
        externalId: body.externalId ?? null,
        attributes: body.attributes ?? {},
      },
      adminOrigin(req),
      members,
    );
    res.setHeader('ETag', etagOf(group.version)).setHeader('Location', `/api/v1/groups/${group.id}`);
    return toDto(group, await this.groups.memberCount(group.id));
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read a group' })
  @ApiOkResponse({ type: GroupDto })
  @ApiProblems(400, 404)
  async get(@Param('id', new ParseUUIDPipe()) id: string, @Res({ passthrough: true }) res: Response) {
    const group = await this.groups.get(id);
    res.setHeader('ETag', etagOf(group.version));
    return toDto(group, await this.groups.memberCount(id));
  }

  @Put(':id')
  @ApiOperation({ summary: 'Replace a group’s attributes (members are changed through /members)' })
  @ApiHeader(IF_MATCH)
  @ApiOkResponse({ type: GroupDto })
  @ApiProblems(400, 404, 412)
  async replace(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: GroupBodyDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { entity } = await this.groups.replace(id, { ...body }, adminOrigin(req), {
      expectedVersion: versionFromIfMatch(ifMatch),
    });
    res.setHeader('ETag', etagOf(entity.version));
    return toDto(entity, await this.groups.memberCount(id));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change a group (JSON merge patch, RFC 7396)' })
  @ApiHeader(IF_MATCH)
  @ApiBody({ schema: { type: 'object', example: { displayName: 'Platform Engineering' } } })
  @ApiOkResponse({ type: GroupDto })
  @ApiProblems(400, 404, 412)
  async patch(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() patch: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
      throw new DomainError('invalid_merge_patch', 'validation', 'A merge patch must be a JSON object');
    }
    const current = await this.groups.get(id);
    const view = {
      displayName: current.displayName,
      externalId: current.externalId,
      attributes: current.attributes,
    };
    const body = await validated(GroupBodyDto, applyMergePatch(view, patch));
    const { entity } = await this.groups.replace(id, { ...body }, adminOrigin(req), {
      expectedVersion: versionFromIfMatch(ifMatch) ?? current.version,
    });
    res.setHeader('ETag', etagOf(entity.version));
    return toDto(entity, await this.groups.memberCount(id));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a group (its memberships go with it)' })
  @ApiHeader(IF_MATCH)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblems(400, 404, 412)
  async delete(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Headers('if-match') ifMatch: string | undefined,
    @Req() req: Request,
  ) {
    await this.groups.delete(id, adminOrigin(req), { expectedVersion: versionFromIfMatch(ifMatch) });
  }

  @Get(':id/members')
  @ApiOperation({ summary: 'List a group’s direct members' })
  @ApiOkResponse({ type: MemberPage })
  @ApiProblems(400, 404)
  members(@Param('id', new ParseUUIDPipe()) id: string, @Query() page: ListQueryDto) {
    return this.groups.members(id, page.limit, page.cursor);
  }

  @Post(':id/members/add')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Add members',
    description: 'Idempotent; returns the members actually added. One outbox event for the set.',
  })
  @ApiOkResponse({ type: MemberChangeDto })
  @ApiProblems(400, 404)
  addMembers(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: MembersBodyDto,
    @Req() req: Request,
  ) {
    return this.groups.addMembers(id, toMemberSet(body.members), adminOrigin(req));
  }

  @Post(':id/members/remove')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Remove members',
    description: 'Idempotent; returns the members actually removed.',
  })
  @ApiOkResponse({ type: MemberChangeDto })
  @ApiProblems(400, 404)
  removeMembers(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: MembersBodyDto,
    @Req() req: Request,
  ) {
    return this.groups.removeMembers(id, toMemberSet(body.members), adminOrigin(req));
  }
}
