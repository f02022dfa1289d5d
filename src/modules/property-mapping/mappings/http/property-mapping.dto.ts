import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { ListQueryDto } from '../../../../platform/http/openapi.js';
import { MAPPING_SCOPES, type MappingScope } from '../property-mapping.entity.js';

/** Longest accepted expression (a mapping is a function body, not a program). */
export const MAX_EXPRESSION_LENGTH = 65_536;

const EXPRESSION_DESCRIPTION =
  "The body of a JavaScript function (strict mode) that returns the mapping's contribution: an object, or null/undefined for none; " +
  'or calls skipObject(reason). It runs in an isolate with a CPU-time and a memory limit, sees the variables of its scope ' +
  '(source:user: scim, each attribute, source, user; provider:user: user, provider, connection; groups likewise) and a few helpers ' +
  '(skipObject, lower, upper, trim, slugify, split, join, firstOf, emailLocalPart, emailDomain, normalizeEmail, primaryOf).';

/** What an admin writes. */
export class MappingBodyDto {
  @ApiProperty({ example: 'Okta: department from costCenter', description: 'Unique, case-insensitively' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  @Matches(/\S/, { message: 'name must not be blank' })
  name: string;

  @ApiProperty({ enum: MAPPING_SCOPES, description: 'Where the mapping runs; cannot change after create' })
  @IsIn(MAPPING_SCOPES)
  scope: MappingScope;

  @ApiProperty({
    description: EXPRESSION_DESCRIPTION,
    example:
      "return { 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: upper(title) } };",
    maxLength: MAX_EXPRESSION_LENGTH,
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_EXPRESSION_LENGTH)
  expression: string;

  @ApiPropertyOptional({ default: '' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;
}

export class MappingDto extends MappingBodyDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({
    description: 'Shipped with the service: read-only, upgraded at startup; copy it to change it',
  })
  managed: boolean;
  @ApiProperty({
    type: String,
    nullable: true,
    example: 'default:provider:user',
    description: 'Stable key of a managed mapping',
  })
  managedKey: string | null;
  @ApiProperty({ description: 'Incremented on every change; send as If-Match to update safely' })
  version: number;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt: string;
  @ApiProperty({ type: String, format: 'date-time' }) updatedAt: string;
}

export class MappingListQueryDto extends ListQueryDto {
  @ApiPropertyOptional({ enum: MAPPING_SCOPES, description: 'Only mappings of this scope' })
  @IsOptional()
  @IsIn(MAPPING_SCOPES)
  scope?: MappingScope;
}

export class CopyMappingDto {
  @ApiPropertyOptional({ description: 'Name of the copy; default "<name> (copy)"' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  @Matches(/\S/, { message: 'name must not be blank' })
  name?: string;
}
