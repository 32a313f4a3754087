import { describeOptionDefault, optionsMarkdown, parseOptionValue, resolveTable, tableDefaults, type OptionSpec, type ResolvedOptions } from '../shared/options';

export { envName, flagName, type OptionKind, type OptionSpec } from '../shared/options';

/**
 * Every server option, declared once. The table produces the TypeScript type ({@link ServerOptions}),
 * the yargs flags of `tributary serve` (kebab-case of the key, plus `alias`), the `TRIBUTARY_*`
 * environment names (SCREAMING_SNAKE of the key) and the configuration table in docs/server.md.
 *
 * Kinds: `string`, `integer`, `boolean`, `duration` (seconds; accepts `90`, `"15m"`, `"1h"`, `"30d"`)
 * and `bytes` (accepts `1048576`, `"1MiB"`, `"64KiB"`).
 */
export const SERVER_OPTIONS = {
  dataPath: {
    kind: 'string',
    default: './data',
    alias: 'data',
    description: 'Directory holding the database (tributary.db) and the keys (keys/).',
  },
  address: { kind: 'string', default: '0.0.0.0', description: 'Address to listen on.' },
  port: { kind: 'integer', default: 9080, min: 0, max: 65535, description: 'HTTP and WebSocket port; 0 picks a free port.' },
  logLevel: {
    kind: 'string',
    default: 'info',
    choices: ['debug', 'info', 'warn', 'error', 'silent'],
    description: 'Least severe level written to the JSON log on stdout.',
  },
  accessTokenTtl: { kind: 'duration', default: 3600, description: 'Lifetime of an access token.' },
  refreshTokenTtl: { kind: 'duration', default: 30 * 86400, description: 'Lifetime of a refresh token.' },
  // Accounts and login providers (docs/security.md, "Accounts and tokens").
  registration: {
    kind: 'string',
    default: 'open',
    choices: ['open', 'closed'],
    description: 'open: anyone who can reach the server may register a password account (POST /auth with register: true; a warning is logged when listening on all interfaces); closed: only admins create accounts (tributary user create).',
  },
  loginFailuresPerAccount: { kind: 'integer', default: 5, min: 1, description: 'Failed password logins of one account before it backs off (1 s, doubling per further failure up to loginBackoffMax).' },
  loginFailuresPerAddress: { kind: 'integer', default: 30, min: 1, description: 'Failed password logins from one client address, over any accounts, before it backs off the same way.' },
  loginBackoffMax: { kind: 'duration', default: 15 * 60, description: 'Longest login back-off; failures older than twice this are forgotten.' },
  anonymousAuth: { kind: 'boolean', default: false, description: "Development only: enable the 'anonymous' login provider (every login a new user, no secret)." },
  nicknameAuth: { kind: 'boolean', default: false, description: "Development only: enable the 'nickname' login provider (whoever names a nickname is that user; is_admin makes an admin)." },
  jwtPublicKey: { kind: 'string', default: '', description: "Enables the 'jwt' login provider with this public key: a PEM file (SPKI or certificate) or the PEM text; RS256, ES256 or EdDSA." },
  jwtJwksUrl: { kind: 'string', default: '', description: "Enables the 'jwt' login provider with the keys published at this JWKS URL (cached; an unknown key id fetches them again, so rotated keys are picked up)." },
  jwtAlgorithms: { kind: 'string', default: 'RS256,ES256,EdDSA', description: 'Comma-separated JWT algorithms accepted (asymmetric only).' },
  jwtUserIdClaim: { kind: 'string', default: 'userId', description: "JWT claim holding the user id (ROS's default; most identity providers use sub)." },
  jwtAdminClaim: { kind: 'string', default: '', description: 'JWT claim that makes the user an admin when it is true; none by default.' },
  jwtIssuer: { kind: 'string', default: '', description: 'Required JWT issuer (iss), when set.' },
  jwtAudience: { kind: 'string', default: '', description: 'Required JWT audience (aud), when set.' },
  jwksCacheTtl: { kind: 'duration', default: 600, description: 'How long keys fetched from jwtJwksUrl are used before they are fetched again.' },
  maxMessageBytes: { kind: 'bytes', default: 16 * 1024 * 1024, min: 1024, description: 'Largest sync message accepted; a larger one gets LIMITS_EXCEEDED and ends the connection.' },
  maxSessionsPerConnection: { kind: 'integer', default: 10_000, min: 1, description: 'Most sessions bound at once on one connection (the admin runtime binds one per watched realm on a single connection).' },
  maxPathLength: { kind: 'integer', default: 1024, min: 2, description: 'Longest realm path, in characters.' },
  maxBodyBytes: { kind: 'bytes', default: 64 * 1024, min: 256, description: 'Largest HTTP request body (POST /auth).' },
  downloadBatchBytes: {
    kind: 'bytes',
    default: 256 * 1024,
    min: 1,
    description: 'Soft size bound of one DOWNLOAD (and of one STATE segment); a single larger changeset is still sent alone.',
  },
  downloadBatchChangesets: {
    kind: 'integer',
    default: 1000,
    min: 1,
    description:
      'Most history entries one DOWNLOAD is made from (a client\'s own count too, though it is not sent them): a catch-up over many small changesets goes out in several DOWNLOADs, one per turn of the event loop.',
  },
  coalesceDownloadsMs: {
    kind: 'integer',
    default: 2,
    min: 0,
    max: 60_000,
    description:
      "A session sent changes less than this many ms ago is being streamed to: a DOWNLOAD with changes for it that is about to go out while a group commit of other sessions' short writes runs (or is next, with no merge slices queued) waits for that one commit and carries its changes too, so under a stream each client gets fewer, larger messages. Acknowledgements alone never wait. 0 turns coalescing off.",
  },
  maxBufferedBytes: {
    kind: 'bytes',
    default: 8 * 1024 * 1024,
    min: 1,
    description: 'Downloads pause while a connection has more than this many bytes queued for sending.',
  },
  maxPendingUploadBytes: {
    kind: 'bytes',
    default: 4 * 1024 * 1024,
    min: 1,
    description:
      'Backpressure on uploads: when a connection has more than this many bytes of received UPLOADs not yet committed, the server stops reading that socket until half of them are committed.',
  },
  groupCommitTurns: {
    kind: 'integer',
    default: 1,
    min: 0,
    max: 10,
    description:
      'Event-loop turns the group commit waits after the first queued write before committing, so uploads read in those turns share one fsync; 0 commits in the turn the first write arrives.',
  },
  historyCacheBytes: {
    kind: 'bytes',
    default: 8 * 1024 * 1024,
    min: 0,
    description:
      'Memory for the newest history entries of active realms (encoded bytes; decoded copies take a few times more), so downloads and merges do not re-read and re-decode them; 0 turns the history cache off.',
  },
  maxClockSkew: {
    kind: 'duration',
    default: 3600,
    description:
      "How far a changeset's timestamp may be ahead of the server's clock; an upload beyond it is refused with BAD_CHANGESET_HEADER (the device clock is wrong), so one client cannot drag every replica's clock into the future.",
  },
  maxInstructionsPerChangeset: {
    kind: 'integer',
    default: 100_000,
    min: 1,
    description:
      'Most instructions in one changeset (one write transaction). A changeset is integrated in one step, so this bounds how long one upload can hold the server (about 0.7 s at the default on 2 cores); clients refuse bigger writes locally.',
  },
  maxInstructionsPerUpload: {
    kind: 'integer',
    default: 1_000_000,
    min: 1,
    description: 'Most instructions in one UPLOAD message (its changesets are integrated in slices; this bounds the memory one message takes).',
  },
  uploadSliceMs: {
    kind: 'integer',
    default: 2,
    min: 1,
    max: 10_000,
    description:
      "Milliseconds one commit job of an upload may spend merging before the rest of that upload goes into the next job, so a big upload or a long offline merge never holds up other sessions for long. Further slices commit in transactions of their own, alternating with other sessions' short writes.",
  },
  handshakeTimeout: {
    kind: 'duration',
    default: 10,
    description: 'A connection must finish its HTTP request or WebSocket upgrade within this; silent sockets are closed after it.',
  },
  frameTimeout: {
    kind: 'duration',
    default: 30,
    description: 'A message that stops arriving part-way for this long ends its connection with TIMED_OUT.',
  },
  maxPendingHandshakes: {
    kind: 'integer',
    default: 256,
    min: 1,
    description: 'Connections still in their handshake at once; past it the oldest is closed, so idle sockets cannot use up the file descriptors real clients need.',
  },
  maxInflightBytes: {
    kind: 'bytes',
    default: 256 * 1024 * 1024,
    min: 1024,
    description: 'Bytes of half-received messages held over all connections; past it the connection with the largest is refused with LIMITS_EXCEEDED.',
  },
  pingTimeout: {
    kind: 'duration',
    default: 15 * 60,
    description: 'A connection that sends nothing for this long is closed (clients PING at least every 10 minutes).',
  },
} as const satisfies Record<string, OptionSpec>;

type Table = typeof SERVER_OPTIONS;

/** The resolved server options (durations in seconds, sizes in bytes). */
export type ServerOptions = ResolvedOptions<Table>;
export type ServerOptionName = keyof ServerOptions;

/** Parses one option value (from a flag, the environment or a config object) into its canonical form. */
export function parseOption(key: ServerOptionName, raw: unknown): string | number | boolean {
  return parseOptionValue(key, SERVER_OPTIONS[key], raw);
}

/** The default of every option. */
export function defaultOptions(): ServerOptions {
  return tableDefaults(SERVER_OPTIONS);
}

/**
 * Resolves options: defaults, overridden by `TRIBUTARY_*` variables from `env`, overridden by
 * `given` (flags or a config object). Unknown keys in `given` are an error.
 */
export function resolveOptions(given: Partial<Record<string, unknown>> = {}, env: NodeJS.ProcessEnv = {}): ServerOptions {
  return resolveTable(SERVER_OPTIONS, 'server', given, env);
}

/** Human form of a default, for help text and docs. */
export function describeDefault(key: ServerOptionName): string {
  return describeOptionDefault(SERVER_OPTIONS[key]);
}

/** The configuration table of docs/server.md, generated from {@link SERVER_OPTIONS}. */
export function optionsMarkdownTable(): string {
  return optionsMarkdown(SERVER_OPTIONS);
}
