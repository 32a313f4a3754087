export { Dequeuer, type DequeuerOptions, type DequeuerStats, type DequeueTarget } from './dequeuer';
export { MessageBuffer, type MessageSource, type SourceMessage } from './message-source';
export { RabbitMqSource, type RabbitMqSourceOptions, type RabbitMqMessage } from './sources/rabbitmq';
export { JetStreamSource, type JetStreamSourceOptions, type JetStreamMessage } from './sources/nats-jetstream';
export { ProcessedBatchSchema, ProcessedMessageSchema, DeadLetterSchema } from './schemas';
export { RealmPool } from './realm-pool';
export type { PatternLogger } from './log';
export { Fetcher, type FetcherOptions, type FetcherStats } from './fetcher';
export {
  fetchRequestSchema,
  httpCall,
  isRetryable,
  HttpStatusError,
  PermanentError,
  type FetchStatus,
  type FetchRequestView,
  type CallContext,
  type CallFunction,
  type CallResult,
} from './fetch-request';
export { OwnerId } from './owner';
export { Poller, type PollerOptions, type PollerStats } from './poller';
export { httpJsonSource, PollHttpError, type PollFunction, type PollResult, type PollContext } from './poll-source';
export { applyDiff, type DiffCounts } from './diff';
export { PollerLeaseSchema } from './schemas';
