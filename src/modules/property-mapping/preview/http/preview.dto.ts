import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsDefined,
  IsIn,
  IsObject,
  IsOptional,
  IsUUID,
  ValidateNested,
} from 'class-validator';
import { MAPPING_SCOPES, type MappingScope } from '../../mappings/property-mapping.entity.js';

/** What a mapping is tried on: exactly one of a directory user, a directory group, or a sample object. */
export class MappingSubjectDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'A directory user (for *:user scopes)' })
  @IsOptional()
  @IsUUID()
  userId?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'A directory group (for *:group scopes)' })
  @IsOptional()
  @IsUUID()
  groupId?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description:
      'A sample object: for source:* scopes the inbound SCIM payload (`scim`), for provider:* scopes the directory view (`user` or `group`).',
    example: { userName: 'ada@example.com', name: { givenName: 'Ada', familyName: 'Lovelace' } },
  })
  @IsOptional()
  @IsObject()
  sample?: Record<string, unknown>;
}

export class TestMappingDto extends MappingSubjectDto {}

export class TestResultDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: "The mapping's own contribution (null for none)",
  })
  result: Record<string, unknown> | null;
  @ApiProperty({ description: 'Evaluation time in milliseconds' }) durationMs: number;
}

export class PreviewDto {
  @ApiProperty({ enum: MAPPING_SCOPES }) @IsIn(MAPPING_SCOPES) scope: MappingScope;

  @ApiPropertyOptional({
    type: [String],
    format: 'uuid',
    description:
      'Mappings to run, in order. Default: the list of `sourceId`/`providerId` when given, else the managed defaults of the scope.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsUUID(undefined, { each: true })
  mappingIds?: string[];

  @ApiPropertyOptional({
    format: 'uuid',
    description: "Use this source's configured list and context (source:* scopes)",
  })
  @IsOptional()
  @IsUUID()
  sourceId?: string;

  @ApiPropertyOptional({
    format: 'uuid',
    description: "Use this provider's configured list and context (provider:* scopes)",
  })
  @IsOptional()
  @IsUUID()
  providerId?: string;

  @ApiProperty({ type: MappingSubjectDto })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => MappingSubjectDto)
  subject: MappingSubjectDto;
}

export class ContributionDto {
  @ApiProperty({ format: 'uuid' }) mappingId: string;
  @ApiProperty() name: string;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true }) contribution: Record<
    string,
    unknown
  > | null;
  @ApiProperty() durationMs: number;
}

export class PreviewResultDto {
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The merged, validated result' })
  result: Record<string, unknown>;
  @ApiProperty({ type: [ContributionDto], description: 'What each mapping returned, in order' })
  contributions: ContributionDto[];
}
