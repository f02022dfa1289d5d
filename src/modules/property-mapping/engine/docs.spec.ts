import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HELPERS_DOC } from '../../../platform/sandbox/sandbox.js';
import { DEFAULT_MAPPINGS } from '../defaults/default-mappings.js';
import { MAPPING_SCOPES } from '../mappings/property-mapping.entity.js';
import { CONTEXT_VARIABLES } from './mapping-context.js';

const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
// The README's "Property mappings" section, up to the next top-level section.
const doc = readme.slice(readme.indexOf('\n## Property mappings'), readme.indexOf('\n## Architecture'));

describe("the README's Property mappings section", () => {
  it('documents every helper', () => {
    for (const helper of HELPERS_DOC) expect(doc).toContain(`\`${helper.name}(`);
  });

  it('documents the variables of every scope', () => {
    for (const scope of MAPPING_SCOPES) {
      expect(doc).toMatch(new RegExp(`^\\|\\s*\`${scope}\`\\s*\\|`, 'm'));
      for (const variable of CONTEXT_VARIABLES[scope]) {
        if (!variable.name.startsWith('<')) expect(doc).toContain(`\`${variable.name}\``);
      }
    }
  });

  it('lists every managed mapping with its fixed id', () => {
    for (const mapping of DEFAULT_MAPPINGS) {
      expect(doc).toMatch(new RegExp(`\\|\\s*\`${mapping.id}\`\\s*\\|\\s*\`${mapping.managedKey}\`\\s*\\|`));
    }
  });
});
