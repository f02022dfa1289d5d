import { ListQueryDto } from '../../../platform/http/openapi.js';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
  ValidateNested,
} from 'class-validator';

export class MemberRefDto {
  @ApiProperty({ enum: ['user', 'group'] }) @IsIn(['user', 'group']) type: 'user' | 'group';
  @ApiProperty({ format: 'uuid' }) @IsUUID() id: string;
}

export class GroupBodyDto {
  @ApiProperty({ example: 'Engineering' }) @IsString() @IsNotEmpty() @MaxLength(1024) displayName: string;
  @ApiPropertyOptional({ nullable: true, type: String })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  externalId?: string | null;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Other attributes (schema extensions under their URN)',
  })
  @IsOptional()
  @IsObject()
  attributes?: Record<string, unknown>;
}

export class CreateGroupDto extends GroupBodyDto {
  @ApiPropertyOptional({ type: [MemberRefDto], description: 'Initial members' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10_000)
  @ValidateNested({ each: true })
  @Type(() => MemberRefDto)
  members?: MemberRefDto[];
}

export class MembersBodyDto {
  @ApiProperty({ type: [MemberRefDto] })
  @IsArray()
  @ArrayMaxSize(10_000)
  @ValidateNested({ each: true })
  @Type(() => MemberRefDto)
  members: MemberRefDto[];
}

export class GroupDto extends GroupBodyDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() version: number;
  @ApiProperty({ description: 'Number of direct members' }) memberCount: number;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt: string;
  @ApiProperty({ type: String, format: 'date-time' }) updatedAt: string;
}

export class MemberDto {
  @ApiProperty({ enum: ['user', 'group'] }) type: 'user' | 'group';
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ type: String, nullable: true }) display: string | null;
}

export class MemberChangeDto {
  @ApiProperty({ type: [String], description: 'User ids actually changed' }) userIds: string[];
  @ApiProperty({ type: [String], description: 'Group ids actually changed' }) groupIds: string[];
}

export class GroupListQueryDto extends ListQueryDto {
  @ApiPropertyOptional({ description: 'Prefix of displayName, or exact externalId' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  q?: string;
}
