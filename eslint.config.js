// @ts-check
import tseslint from 'typescript-eslint';

const MODULES = ['directory', 'property-mapping', 'scim-source', 'scim-provider'];

/** Forbids importing another module except through its index.ts. */
const deepImport = {
  regex: `^(\\.\\./)+(?:modules/)?(${MODULES.join('|')})/(?!index\\.js$).+`,
  message: 'Import another module only through its index.ts.',
};

const restrict = (...patterns) => ['error', { patterns }];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '.tmp/**',
      'data/**',
      'scripts/**',
      '*.js',
      '*.mjs',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
    },
  },
  // lib/ is pure TypeScript: no framework, no ORM, nothing outside lib/.
  {
    files: ['src/lib/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        {
          group: ['@nestjs/*', 'typeorm', 'typeorm/*', 'pg', 'express'],
          message: 'lib/ is pure: no Nest, TypeORM or HTTP.',
        },
        { regex: '^(\\.\\./)+(platform|modules|config)/', message: 'lib/ imports nothing outside lib/.' },
      ),
    },
  },
  // platform/ is plumbing: it knows no feature module (the entity/migration registries excepted).
  {
    files: ['src/platform/**/*.ts'],
    ignores: ['src/platform/database/entities.ts', 'src/platform/database/migrations/**'],
    rules: {
      'no-restricted-imports': restrict({
        regex: '^(\\.\\./)+modules/',
        message: 'platform/ imports no feature module.',
      }),
    },
  },
  // directory is the bottom layer.
  {
    files: ['src/modules/directory/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict({
        regex: '^(\\.\\./)+(property-mapping|scim-source|scim-provider)/',
        message: 'The directory imports no other feature module; others listen to its events.',
      }),
    },
  },
  // Sources and providers never import each other; they meet in the directory and its outbox.
  {
    files: ['src/modules/scim-source/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(deepImport, {
        regex: '^(\\.\\./)+scim-provider/',
        message: 'scim-source never imports scim-provider.',
      }),
    },
  },
  {
    files: ['src/modules/scim-provider/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(deepImport, {
        regex: '^(\\.\\./)+scim-source/',
        message: 'scim-provider never imports scim-source.',
      }),
    },
  },
  {
    files: ['src/modules/property-mapping/**/*.ts'],
    rules: { 'no-restricted-imports': restrict(deepImport) },
  },
  // Tests may be looser.
  {
    files: ['**/*.spec.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
