import { Body, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query, Req } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
} from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDate, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import type { Request } from 'express';
import { AdminController, ApiProblems, ListQueryDto, pageOf } from '../openapi.js';
import type { AdminTokenEntity } from './admin-token.entity.js';
import { AdminTokensService } from './admin-tokens.service.js';

export class CreateAdminTokenDto {
  @ApiProperty({ example: 'terraform', description: 'What the token is for' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @ApiPropertyOptional({ type: String, format: 'date-time', description: 'When the token stops working' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  expiresAt?: Date;
}

export class AdminTokenDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ description: 'Public prefix of the token, to recognise it' }) prefix: string;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) expiresAt: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastUsedAt: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) revokedAt: string | null;
}

export class CreatedAdminTokenDto extends AdminTokenDto {
  @ApiProperty({ description: 'The token itself. Shown only in this response: store it now.' })
  token: string;
}

const AdminTokenPage = pageOf(AdminTokenDto, 'AdminTokenPage');

const toDto = (t: AdminTokenEntity): AdminTokenDto => ({
  id: t.id,
  name: t.name,
  prefix: t.prefix,
  createdAt: t.createdAt.toISOString(),
  expiresAt: t.expiresAt?.toISOString() ?? null,
  lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
  revokedAt: t.revokedAt?.toISOString() ?? null,
});

@AdminController('admin-tokens', 'Admin tokens')
export class AdminTokensController {
  constructor(private readonly tokens: AdminTokensService) {}

  @Post()
  @ApiOperation({
    summary: 'Create an admin token',
    description: 'The token is returned once and stored only as a digest.',
  })
  @ApiCreatedResponse({ type: CreatedAdminTokenDto })
  @ApiProblems(400)
  async create(@Body() body: CreateAdminTokenDto): Promise<CreatedAdminTokenDto> {
    const { entity, token } = await this.tokens.create(body.name, body.expiresAt);
    return { ...toDto(entity), token };
  }

  @Get()
  @ApiOperation({ summary: 'List admin tokens (never their secrets)' })
  @ApiOkResponse({ type: AdminTokenPage })
  @ApiProblems(400)
  async list(@Query() query: ListQueryDto) {
    const page = await this.tokens.list(query.limit, query.cursor);
    return { items: page.items.map(toDto), nextCursor: page.nextCursor };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an admin token', description: 'Takes effect on the next request.' })
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiProblems(400, 404, 409)
  async revoke(@Param('id', new ParseUUIDPipe()) id: string, @Req() req: Request): Promise<void> {
    await this.tokens.revoke(id, req.admin!);
  }
}
