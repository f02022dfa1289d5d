import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
  ValidateNested,
  ArrayMaxSize,
  IsArray,
} from 'class-validator';
import { ListQueryDto } from '../../../platform/http/openapi.js';
import { ENTERPRISE_USER_SCHEMA } from '../../../lib/scim/schema.types.js';

const S = 1024;

export class NameDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(S) formatted?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(S) familyName?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(S) givenName?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(S) middleName?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(S) honorificPrefix?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(S) honorificSuffix?: string;
}

/** An item of a multi-valued attribute (emails, phoneNumbers, ims, photos, entitlements, roles, x509Certificates). */
export class MultiValueDto {
  @ApiProperty({ example: 'ada@example.com' }) @IsString() @MaxLength(S) value: string;
  @ApiPropertyOptional({ example: 'work' }) @IsOptional() @IsString() @MaxLength(64) type?: string;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() primary?: boolean;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(S) display?: string;
}

export class AddressDto {
  @ApiPropertyOptional({ example: 'work' }) @IsOptional() @IsString() @MaxLength(64) type?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(S) formatted?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(S) streetAddress?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(S) locality?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(S) region?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(S) postalCode?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(S) country?: string;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() primary?: boolean;
}

export class ManagerDto {
  @ApiProperty({ description: 'Directory id of the manager' }) @IsString() @MaxLength(S) value: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(S) displayName?: string;
}

export class EnterpriseUserDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(S) employeeNumber?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(S) costCenter?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(S) organization?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(S) division?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(S) department?: string;
  @ApiPropertyOptional({ type: ManagerDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => ManagerDto)
  manager?: ManagerDto;
}

const multi = (description: string) => ({ type: [MultiValueDto] as [typeof MultiValueDto], description });

/** The writable attributes of a user (SCIM names, plain JSON). */
export class UserBodyDto {
  @ApiProperty({ example: 'ada@example.com', description: 'Unique, case-insensitively' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(512)
  userName: string;

  @ApiPropertyOptional({ nullable: true, type: String }) @IsOptional() @IsString() @MaxLength(S) externalId?:
    string | null;
  @ApiPropertyOptional({ nullable: true, type: String })
  @IsOptional()
  @IsString()
  @MaxLength(S)
  displayName?: string | null;
  @ApiPropertyOptional({ default: true }) @IsOptional() @IsBoolean() active?: boolean;
  @ApiPropertyOptional({
    enum: ['person', 'service'],
    default: 'person',
    description: '`service` marks a service account',
  })
  @IsOptional()
  @IsIn(['person', 'service'])
  kind?: 'person' | 'service';

  @ApiPropertyOptional({ type: NameDto }) @IsOptional() @ValidateNested() @Type(() => NameDto) name?: NameDto;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(S) nickName?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(S) profileUrl?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(S) title?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(S) userType?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) preferredLanguage?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) locale?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) timezone?: string;

  @ApiPropertyOptional(multi('Email addresses'))
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => MultiValueDto)
  emails?: MultiValueDto[];

  @ApiPropertyOptional(multi('Phone numbers'))
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => MultiValueDto)
  phoneNumbers?: MultiValueDto[];

  @ApiPropertyOptional(multi('Instant messaging addresses'))
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => MultiValueDto)
  ims?: MultiValueDto[];

  @ApiPropertyOptional(multi('Photo URLs'))
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => MultiValueDto)
  photos?: MultiValueDto[];

  @ApiPropertyOptional({ type: [AddressDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => AddressDto)
  addresses?: AddressDto[];

  @ApiPropertyOptional(multi('Entitlements'))
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @ValidateNested({ each: true })
  @Type(() => MultiValueDto)
  entitlements?: MultiValueDto[];

  @ApiPropertyOptional(multi('Roles'))
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @ValidateNested({ each: true })
  @Type(() => MultiValueDto)
  roles?: MultiValueDto[];

  @ApiPropertyOptional(multi('X.509 certificates (base64 DER)'))
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => MultiValueDto)
  x509Certificates?: MultiValueDto[];

  @ApiPropertyOptional({ type: EnterpriseUserDto, name: ENTERPRISE_USER_SCHEMA })
  @IsOptional()
  @ValidateNested()
  @Type(() => EnterpriseUserDto)
  [ENTERPRISE_USER_SCHEMA]?: EnterpriseUserDto;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'object' },
    description: 'Other schema extensions, keyed by their URN (free-form attributes)',
    example: { 'urn:acme:params:scim:schemas:extension:2.0:User': { badgeId: '42' } },
  })
  @IsOptional()
  @IsObject()
  extensions?: Record<string, Record<string, unknown>>;
}

export class UserDto extends UserBodyDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ description: 'Incremented on every change; send as If-Match to update safely' })
  version: number;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt: string;
  @ApiProperty({ type: String, format: 'date-time' }) updatedAt: string;
  @ApiPropertyOptional({
    description: 'Direct group memberships (on single reads)',
    type: 'array',
    items: { type: 'object', properties: { id: { type: 'string' }, displayName: { type: 'string' } } },
  })
  groups?: { id: string; displayName: string }[];
}

export class UserListQueryDto extends ListQueryDto {
  @ApiPropertyOptional({ description: 'Prefix of userName or displayName; exact externalId or email' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  q?: string;
}
