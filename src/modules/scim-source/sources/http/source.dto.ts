import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsDate,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
} from 'class-validator';
import { DELETE_BEHAVIORS, type DeleteBehavior } from '../source.entity.js';

const SLUG = /^[a-z0-9-]{1,64}$/;
const MAX_MAPPINGS = 100;
const MAX_GRACE_SECONDS = 30 * 24 * 3600;

export class CreateSourceDto {
  @ApiProperty({ example: 'Entra ID (production)' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @ApiProperty({
    example: 'entra',
    pattern: SLUG.source,
    description: 'Part of the SCIM base URL; unique and immutable',
  })
  @IsString()
  @Matches(SLUG, { message: 'slug must be 1–64 characters of a-z, 0-9 and "-"' })
  slug: string;

  @ApiPropertyOptional({
    default: true,
    description: 'A disabled source answers every SCIM request with 401',
  })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({
    type: [String],
    format: 'uuid',
    description: '`source:user` mapping ids in the order they run (default: the managed ones)',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_MAPPINGS)
  @IsUUID('all', { each: true })
  userMappings?: string[];

  @ApiPropertyOptional({
    type: [String],
    format: 'uuid',
    description: '`source:group` mapping ids in the order they run (default: the managed ones)',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_MAPPINGS)
  @IsUUID('all', { each: true })
  groupMappings?: string[];

  @ApiPropertyOptional({
    enum: DELETE_BEHAVIORS,
    default: 'delete',
    description: 'What a SCIM DELETE of a user does; groups are always deleted',
  })
  @IsOptional()
  @IsIn(DELETE_BEHAVIORS)
  deleteBehavior?: DeleteBehavior;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: 'When the generated token stops working (default: never)',
  })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  tokenExpiresAt?: Date;
}

/**
 * A JSON merge patch of a source's settings (RFC 7396). `null` for a mapping list restores the
 * managed defaults. `slug` may be sent only unchanged.
 */
export class UpdateSourceDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @IsNotEmpty() @MaxLength(200) name?: string;

  @ApiPropertyOptional({ description: 'Immutable: accepted only when unchanged' })
  @IsOptional()
  @IsString()
  slug?: string;

  @ApiPropertyOptional() @IsOptional() @IsBoolean() enabled?: boolean;

  @ApiPropertyOptional({ type: [String], format: 'uuid', nullable: true })
  @ValidateIf((o: UpdateSourceDto) => o.userMappings !== undefined && o.userMappings !== null)
  @IsArray()
  @ArrayMaxSize(MAX_MAPPINGS)
  @IsUUID('all', { each: true })
  userMappings?: string[] | null;

  @ApiPropertyOptional({ type: [String], format: 'uuid', nullable: true })
  @ValidateIf((o: UpdateSourceDto) => o.groupMappings !== undefined && o.groupMappings !== null)
  @IsArray()
  @ArrayMaxSize(MAX_MAPPINGS)
  @IsUUID('all', { each: true })
  groupMappings?: string[] | null;

  @ApiPropertyOptional({ enum: DELETE_BEHAVIORS })
  @IsOptional()
  @IsIn(DELETE_BEHAVIORS)
  deleteBehavior?: DeleteBehavior;
}

export class RotateTokenDto {
  @ApiPropertyOptional({
    minimum: 0,
    maximum: MAX_GRACE_SECONDS,
    default: 0,
    description: 'How long the replaced token keeps working',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_GRACE_SECONDS)
  graceSeconds?: number;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: 'When the new token stops working (default: never)',
  })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  expiresAt?: Date;
}

export class SourceDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'entra' }) slug: string;
  @ApiProperty() name: string;
  @ApiProperty() enabled: boolean;
  @ApiProperty({
    example: 'https://bridge.example.com/scim/entra/v2',
    description: 'Give this URL to the identity provider',
  })
  scimBaseUrl: string;
  @ApiProperty({ type: [String], format: 'uuid' }) userMappings: string[];
  @ApiProperty({ type: [String], format: 'uuid' }) groupMappings: string[];
  @ApiProperty({ enum: DELETE_BEHAVIORS }) deleteBehavior: DeleteBehavior;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Public prefix of the current token, to recognise it',
  })
  tokenPrefix: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) tokenExpiresAt: string | null;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt: string;
  @ApiProperty({ type: String, format: 'date-time' }) updatedAt: string;
}

export class CreatedSourceDto extends SourceDto {
  @ApiProperty({
    description: 'The bearer token for the identity provider. Shown only in this response: store it now.',
  })
  token: string;
}

export class SourceTokenDto {
  @ApiProperty({ description: 'The new bearer token. Shown only in this response: store it now.' })
  token: string;
  @ApiProperty() tokenPrefix: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) tokenExpiresAt: string | null;
}
