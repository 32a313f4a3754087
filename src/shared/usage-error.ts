/**
 * A mistake in how a command was called (a missing file, a bad flag value): the CLI prints its
 * message as one line on stderr and exits with status 1, without a stack.
 */
export class UsageError extends Error {
  override name = 'UsageError';
}
