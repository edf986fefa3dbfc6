// One jest run for every workspace: @swc/jest strips types (tsc --build is the type check),
// and @coupons/* resolve to sources so tests never need a prior build.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const { workspaces } = JSON.parse(readFileSync(join(__dirname, 'package.json'), 'utf8'));
const packageName = (dir) =>
  JSON.parse(readFileSync(join(__dirname, dir, 'package.json'), 'utf8')).name;
const moduleNameMapper = Object.fromEntries(
  workspaces.map((dir) => [`^${packageName(dir)}$`, `<rootDir>/${dir}/src/index.ts`]),
);

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: workspaces.map((dir) => `<rootDir>/${dir}`),
  testMatch: ['**/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  moduleNameMapper,
  globalSetup: '<rootDir>/libs/redis-local/src/jest/globalSetup.ts',
  globalTeardown: '<rootDir>/libs/redis-local/src/jest/globalTeardown.ts',
  testTimeout: 30000,
};
