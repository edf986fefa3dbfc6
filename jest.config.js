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

const common = {
  testEnvironment: 'node',
  rootDir: __dirname,
  roots: workspaces.map((dir) => `<rootDir>/${dir}`),
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  moduleNameMapper,
};

/**
 * Two projects: unit tests (`*.test.ts`) need nothing started; integration tests
 * (`*.int.test.ts`) talk to the standalone Redis and the Redis Cluster the global setup starts
 * on private ports. Jest runs a project's global setup only when it has tests in the run, so
 * `npx jest libs/campaign` does not wait for a cluster.
 */
/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 30000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['**/test/**/*.test.ts'],
      testPathIgnorePatterns: [...common.testPathIgnorePatterns, '\\.int\\.test\\.ts$'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['**/test/**/*.int.test.ts'],
      testPathIgnorePatterns: [...common.testPathIgnorePatterns, '/loadtests/chaos/'],
      globalSetup: '<rootDir>/libs/redis-local/src/jest/globalSetup.ts',
      globalTeardown: '<rootDir>/libs/redis-local/src/jest/globalTeardown.ts',
    },
    /**
     * The chaos suite starts service and recorder processes, a nine-node Redis Cluster and load:
     * beside other suites on two cores it starves them into command timeouts. `npm test` runs it
     * after the others, one file at a time (`jest --selectProjects chaos --runInBand`).
     */
    {
      ...common,
      displayName: 'chaos',
      testMatch: ['<rootDir>/loadtests/chaos/test/**/*.int.test.ts'],
      globalSetup: '<rootDir>/libs/redis-local/src/jest/globalSetup.ts',
      globalTeardown: '<rootDir>/libs/redis-local/src/jest/globalTeardown.ts',
    },
  ],
};
