/**
 * findAndModify (the driver's findOneAndUpdate / findOneAndReplace / findOneAndDelete): the first
 * document matching `query` in `sort` order is updated, replaced or removed, and returned as it was
 * before (or after, with `new: true`); `upsert` inserts when nothing matched.
 */
import type { Document } from 'mongodb';
import { isPlainDocument } from '../bson-values';
import { fail } from '../errors';
import { compileProjection } from '../projection';
import { parseSort, sortDocuments } from '../sort';
import { checkCollation, checkWritable, collectionArgument, flag, optionalDocument } from './arguments';
import { applyChanges, blockedBy, collectionView, type CommandContext } from './context';
import { matchingDocuments } from './matching';
import { planDocumentUpdate, planUpsert, validateUpdateSpec } from './write-planning';
import { clockForUpdates, writeReplyFields } from './write-reply';

export async function findAndModifyCommand(ctx: CommandContext): Promise<Document> {
  const name = 'findAndModify' in ctx.command ? 'findAndModify' : 'findandmodify';
  const coll = collectionArgument(ctx.command, name, ctx.db);
  checkWritable(ctx.db, coll);
  checkCollation(ctx.command);
  const query = optionalDocument(ctx.command, 'query') ?? {};
  const sort = parseSort(optionalDocument(ctx.command, 'sort'));
  const project = compileProjection(optionalDocument(ctx.command, 'fields'));
  const remove = flag(ctx.command, 'remove', false);
  const returnNew = flag(ctx.command, 'new', false);
  const upsert = flag(ctx.command, 'upsert', false);
  if (Array.isArray(ctx.command.arrayFilters) && ctx.command.arrayFilters.length > 0) fail('NotImplemented', `arrayFilters are not implemented by the test server`);
  if (remove && (ctx.command.update !== undefined || returnNew || upsert)) {
    fail('FailedToParse', `Cannot specify update, new or upsert with remove: true`);
  }
  if (!remove && ctx.command.update === undefined) fail('FailedToParse', `Either an update or remove=true must be specified`);
  const update = remove ? undefined : validateUpdateSpec(ctx.command.update, false);
  const options = clockForUpdates(ctx);
  for (;;) {
    const view = collectionView(ctx, ctx.db, coll);
    let target: [string, Document] | undefined;
    if (sort.length === 0) target = matchingDocuments(view, query, 1)[0];
    else {
      const entries = matchingDocuments(view, query);
      const keyOf = new Map(entries.map(([k, d]) => [d, k]));
      const docs = sortDocuments(entries.map(([, d]) => d), sort);
      if (docs[0]) target = [keyOf.get(docs[0])!, docs[0]];
    }
    if (!target) {
      if (!upsert || !update) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null, ...writeReplyFields(ctx) };
      const planned = planUpsert(ctx.db, coll, view, query, update, options);
      const wait = blockedBy(ctx, ctx.db, coll, [planned.change.key]);
      if (wait) {
        await wait;
        continue;
      }
      applyChanges(ctx, [planned.change]);
      const inserted = planned.change.kind === 'insert' ? planned.change.after : undefined;
      return {
        lastErrorObject: { n: 1, updatedExisting: false, upserted: planned.id },
        value: returnNew && inserted ? project(inserted) : null,
        ...writeReplyFields(ctx),
      };
    }
    const [key, before] = target;
    const change = remove ? { kind: 'delete' as const, db: ctx.db, coll, key, before } : planDocumentUpdate(ctx.db, coll, key, before, update!, options);
    if (change) {
      const wait = blockedBy(ctx, ctx.db, coll, [key]);
      if (wait) {
        await wait;
        continue;
      }
      applyChanges(ctx, [change]);
    }
    const after = change && change.kind !== 'delete' ? change.after : before;
    const value = remove || !returnNew ? before : after;
    return {
      lastErrorObject: remove ? { n: 1 } : { n: 1, updatedExisting: true },
      value: isPlainDocument(value) ? project(value) : null,
      ...writeReplyFields(ctx),
    };
  }
}
