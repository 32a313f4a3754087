/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
  },
  // jose and chokidar ship ES modules only; let swc turn them into CommonJS for jest's module system.
  transformIgnorePatterns: ['/node_modules/(?!(jose|chokidar|readdirp)/)'],
  testTimeout: 60000,
  maxWorkers: 2,
  // A throw-away PostgreSQL for the connector tests (TRIBUTARY_TEST_PG_URL overrides it).
  globalSetup: '<rootDir>/test/helpers/postgres-global-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/postgres-global-teardown.ts',
};
