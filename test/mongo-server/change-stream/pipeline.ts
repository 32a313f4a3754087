/**
 * The stages a change stream pipeline may carry after `$changeStream`: $match, $project, $unset,
 * $addFields/$set with literal values. An event whose `_id` (its resume token) a stage removed or
 * changed fails the stream with ChangeStreamFatalError (280), as in MongoDB: such an event could
 * never be resumed from.
 */
import type { Document } from 'mongodb';
import { identical, isPlainDocument } from '../bson-values';
import { ErrorCode, fail, MongoCommandError } from '../errors';
import { compileFilter } from '../filter';
import { compileProjection } from '../projection';

export type EventStage = (event: Document) => Document | undefined;

export function compileEventStages(stages: readonly Document[]): EventStage[] {
  return stages.map((stage) => {
    const keys = Object.keys(stage);
    if (keys.length !== 1) fail('FailedToParse', `A pipeline stage specification object must contain exactly one field.`);
    const name = keys[0]!;
    const spec = stage[name];
    switch (name) {
      case '$match': {
        const predicate = compileFilter(spec as Document);
        return (event) => (predicate(event) ? event : undefined);
      }
      case '$project': {
        const project = compileProjection(spec as Document);
        return (event) => project(event);
      }
      case '$unset': {
        const fields = Array.isArray(spec) ? spec : [spec];
        const project = compileProjection(Object.fromEntries(fields.map((f) => [String(f), 0])));
        return (event) => project(event);
      }
      case '$addFields':
      case '$set': {
        if (!isPlainDocument(spec)) fail('FailedToParse', `${name} specification stage must be an object`);
        for (const value of Object.values(spec)) {
          if ((typeof value === 'string' && value.startsWith('$')) || (isPlainDocument(value) && Object.keys(value).some((k) => k.startsWith('$')))) {
            fail('NotImplemented', `expressions in ${name} are not implemented by the test server; only literal values`);
          }
        }
        return (event) => ({ ...event, ...spec });
      }
      case '$changeStream':
        throw new MongoCommandError(ErrorCode.ChangeStreamNotFirst, `$changeStream is only valid as the first stage in a pipeline`);
      default:
        throw new MongoCommandError(
          ErrorCode.IllegalOperation,
          `Stage ${name} is not allowed in a change stream pipeline on the test server (supported: $match, $project, $unset, $addFields, $set)`,
        );
    }
  });
}

/** Runs the stages; undefined when a $match dropped the event. */
export function applyEventStages(event: Document, stages: readonly EventStage[]): Document | undefined {
  const token = event._id;
  let out: Document | undefined = event;
  for (const stage of stages) {
    out = stage(out);
    if (!out) return undefined;
  }
  if (!identical(out._id, token)) {
    throw new MongoCommandError(
      ErrorCode.ChangeStreamFatalError,
      `Encountered an event whose _id field, which contains the resume token, was modified by the pipeline. Modifying the _id field of an event makes it impossible to resume the stream from that point. Only transformations that retain the unmodified _id field are allowed.`,
    );
  }
  return out;
}
