/**
 * What `require('tributary')` gives a function file run by the CLI: this running package (its
 * public entry), wherever the functions folder lives. Loaded on first use.
 */
export const PACKAGE_MODULES: Record<string, () => unknown> = {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  tributary: () => require('../index'),
};
