/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
  },
  // jose ships ES modules only; let swc turn it into CommonJS for jest's module system.
  transformIgnorePatterns: ['/node_modules/(?!(jose)/)'],
  testTimeout: 60000,
  maxWorkers: 2,
};
