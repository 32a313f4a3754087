/**
 * The connector kit: the database-neutral parts of a connector (docs/connectors/kit.md). A
 * connector implements its database's half behind these interfaces and gets the rest.
 *
 * @example
 * import { defineConnectorModule, errorClassifier, RealmSink, ApplyLoop } from '../kit';
 */
export { ApplyLoop, RACE_RETRIES, type ApplyLoopOptions, type ApplyTarget } from './apply-loop';
export { connectorCommands, type ConnectorCliOptions } from './cli';
export { commonFields, commonOptions, commonTableFields, CONNECTOR_NAME, loadConfigFile, placementRule, type ColumnMappingInput, type CommonConnectorConfig, type CommonOptions, type CommonTableMappingInput, type InitialLoad, type SchemaChangesInput, type SchemaChangesOptions } from './config';
export { boolean, ConfigError, custom, func, integer, Issues, object, oneOf, record, required, string, validate, withDefault, type ConfigIssue, type ConfigIssueCode, type Resolved, type Rule } from './config-schema';
export { PendingRealmWrites, type CaptureProtection, type ConflictPolicy } from './conflict';
export { crashPoint, type CrashPoint } from './crash-points';
export { formatDeadLetter, instructionsJson, jsonSafe, type DeadLetter, type DeadLetterCode, type DeadLetterRecord, type DeadLetterStore } from './dead-letters';
export { configurationError, connectorError, errorClassifier, errorCodeOf, errorText, NETWORK_CODES, type ApplyFailureKind, type Classification, type DriverErrorCodes, type ErrorClassifier } from './errors';
export { decodeCompositeKey, encodeCompositeKey, keyText, objectKeyId } from './keys';
export { recordLoadPosition, writeLoadBatch } from './load';
export { loadProgressLogger, type LoadProgress } from './load-progress';
export { defineConnectorModule, type ConnectorDefinition } from './module';
export { PlacementRouter, placementPattern, resolvePlacement, templateColumns, type PlacedTable, type Placement, type PlacementRows, type ResolvedPlacement } from './placement';
export { indexFromRealms } from './placement-index';
export { controlRealmPath, STATE_TYPE, stateSchema, type PositionCodec } from './position';
export { quiesce, quiesceConnector, type QuiesceParts, type QuiesceStatus } from './quiesce';
export { adapterReady, adminTokenOf, adminUserOf, clearLoadMark, ControlRealm, httpUrl, openAdapter, resetControlRealm } from './realm-side';
export { normalizeShape, RealmSink, type PropertyShape, type RowLink, type SinkCodec, type SinkObserver, type SinkTable, type UnresolvedLinks } from './realm-sink';
export { freshTransactions, rejectTransaction, type ApplyPositionStore, type RejectHost } from './reject';
export { APPLY_BACKOFF, runStreamLoop, startWithRetry, STREAM_BACKOFF, type StartRetryOptions, type StreamLoopOptions } from './retry';
export { runConnector, type RunOptions } from './run';
export { newApplyStatus, type ApplyStatus, type CommonConnectorStatus, type ConnectorState } from './status';
export { checkSyncServer, formatChecks, runChecks, type ConnectionCheck, type TestConnectionResult } from './test-connection';
export { TransactionBuffer } from './transaction-buffer';
export { collectTouched, identityKey, InstructionNotes, objectIdOf, touch, type Collected, type KeyKind, type Note, type TouchMapping, type Touched } from './touched';
export { PositionWaiters } from './waiters';
