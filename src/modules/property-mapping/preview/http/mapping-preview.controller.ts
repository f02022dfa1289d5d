import { Body, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { AdminController, ApiProblems } from '../../../../platform/http/openapi.js';
import { MappingPreviewService } from '../mapping-preview.service.js';
import { PreviewDto, PreviewResultDto, TestMappingDto, TestResultDto } from './preview.dto.js';

/** Trying mappings without writing anything. */
@AdminController('property-mappings', 'Property mappings')
export class MappingPreviewController {
  constructor(private readonly preview: MappingPreviewService) {}

  @Post('preview')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Preview the final payload of a mapping list',
    description:
      "Runs the mappings in order on a subject, deep-merges and validates as a sync would, and returns the result with each mapping's contribution. " +
      'A failing mapping, a skipObject() call or an invalid result is a 400 problem naming the mapping.',
  })
  @ApiOkResponse({ type: PreviewResultDto })
  @ApiProblems(400)
  run(@Body() body: PreviewDto) {
    return this.preview.preview(body);
  }

  @Post(':id/test')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Test one property mapping',
    description:
      'Evaluates the mapping on a directory user, a directory group or a sample, and returns its own contribution (not merged or validated).',
  })
  @ApiOkResponse({ type: TestResultDto })
  @ApiProblems(400, 404)
  test(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: TestMappingDto) {
    return this.preview.test(id, body);
  }
}
