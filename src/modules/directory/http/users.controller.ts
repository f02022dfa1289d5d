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
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import type { Request, Response } from 'express';
import { applyMergePatch } from '../../../lib/merge/json-merge-patch.js';
import { DomainError } from '../../../platform/errors/domain-error.js';
import { flattenValidationErrors } from '../../../platform/errors/validation.js';
import { etagOf, versionFromIfMatch } from '../../../platform/http/etag.js';
import { AdminController, ApiProblems, pageOf } from '../../../platform/http/openapi.js';
import type { ChangeOrigin } from '../changes/change-event.entity.js';
import { UsersService } from '../users/users.service.js';
import { UserBodyDto, UserDto, UserListQueryDto } from './user.dto.js';
import { toUserDto, toUserInput, writableView } from './user.mapper.js';

const UserPage = pageOf(UserDto, 'UserPage');
const IF_MATCH = {
  name: 'If-Match',
  required: false,
  description: 'Only write if the version still matches (ETag from a read)',
};

export const adminOrigin = (req: Request): ChangeOrigin => ({
  type: 'admin',
  id: req.admin?.tokenId ?? null,
});

/** Admins' view of the directory's users. */
@AdminController('users', 'Directory')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ApiOperation({
    summary: 'List users',
    description: 'Keyset-paginated by id; `q` searches userName, displayName, externalId and email.',
  })
  @ApiOkResponse({ type: UserPage })
  @ApiProblems(400)
  async list(@Query() query: UserListQueryDto) {
    const result = await this.users.list(query.limit, query.cursor, query.q);
    return { items: result.items.map((u) => toUserDto(u)), nextCursor: result.nextCursor };
  }

  @Post()
  @ApiOperation({ summary: 'Create a user' })
  @ApiCreatedResponse({ type: UserDto })
  @ApiProblems(400, 409)
  async create(@Body() body: UserBodyDto, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const user = await this.users.create(toUserInput(body), adminOrigin(req));
    res.setHeader('ETag', etagOf(user.version)).setHeader('Location', `/api/v1/users/${user.id}`);
    return toUserDto(user, []);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read a user, with its direct groups' })
  @ApiOkResponse({ type: UserDto })
  @ApiProblems(400, 404)
  async get(@Param('id', new ParseUUIDPipe()) id: string, @Res({ passthrough: true }) res: Response) {
    const user = await this.users.get(id);
    res.setHeader('ETag', etagOf(user.version));
    return toUserDto(user, await this.users.groupsOf(id));
  }

  @Put(':id')
  @ApiOperation({ summary: 'Replace a user', description: 'Attributes left out are cleared.' })
  @ApiHeader(IF_MATCH)
  @ApiOkResponse({ type: UserDto })
  @ApiProblems(400, 404, 409, 412)
  async replace(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: UserBodyDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { entity } = await this.users.replace(id, toUserInput(body), adminOrigin(req), {
      expectedVersion: versionFromIfMatch(ifMatch),
    });
    res.setHeader('ETag', etagOf(entity.version));
    return toUserDto(entity, await this.users.groupsOf(id));
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Change a user (JSON merge patch, RFC 7396)',
    description: '`null` removes an attribute.',
  })
  @ApiHeader(IF_MATCH)
  @ApiBody({ schema: { type: 'object', example: { displayName: 'Ada L.', title: null } } })
  @ApiOkResponse({ type: UserDto })
  @ApiProblems(400, 404, 409, 412)
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
    const current = await this.users.get(id);
    const expectedVersion = versionFromIfMatch(ifMatch) ?? current.version;
    const merged = applyMergePatch(writableView(toUserDto(current)), patch);
    const body = await validated(UserBodyDto, merged);
    const { entity } = await this.users.replace(id, toUserInput(body), adminOrigin(req), { expectedVersion });
    res.setHeader('ETag', etagOf(entity.version));
    return toUserDto(entity, await this.users.groupsOf(id));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a user' })
  @ApiHeader(IF_MATCH)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblems(400, 404, 412)
  async delete(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Headers('if-match') ifMatch: string | undefined,
    @Req() req: Request,
  ) {
    await this.users.delete(id, adminOrigin(req), { expectedVersion: versionFromIfMatch(ifMatch) });
  }
}

/** Validates a plain object against a DTO class the way the global pipe does. */
export async function validated<T extends object>(cls: new () => T, value: unknown): Promise<T> {
  const instance = plainToInstance(cls, value);
  const errors = await validate(instance, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
  });
  if (errors.length > 0) {
    const list = flattenValidationErrors(errors);
    throw new DomainError(
      'validation_failed',
      'validation',
      `Invalid request: ${list.map((e) => `${e.field}: ${e.message}`).join('; ')}`,
      {
        errors: list,
      },
    );
  }
  return instance;
}
