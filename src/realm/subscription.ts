import { TributaryError } from '../errors';
import type { SyncSessionHandle } from './sync-types';

/** realm-js `Realm.Sync.SubscriptionState`. */
export const SubscriptionState = { Error: -1, Creating: 2, Pending: 0, Complete: 1, Invalidated: 3 } as const;
export type SubscriptionStateValue = (typeof SubscriptionState)[keyof typeof SubscriptionState];

type SubscriptionListener = (subscription: Subscription, state: SubscriptionStateValue) => void;

/**
 * realm-js query-based sync's `results.subscribe(name?)`. Tributary synchronises every realm fully,
 * so a subscription has nothing to fetch: it is `Pending` until the realm has downloaded what the
 * server had when it was made, then `Complete` (or `Error` with `error`); `unsubscribe()` makes it
 * `Invalidated`. The Results it was made from hold the objects, as in realm-js.
 */
export class Subscription {
  private state_: SubscriptionStateValue = SubscriptionState.Pending;
  private error_: string | undefined;
  private readonly listeners = new Set<SubscriptionListener>();

  constructor(
    readonly name: string,
    readonly objectType: string,
    session: SyncSessionHandle | null,
    private readonly registry: Map<string, Subscription>,
  ) {
    registry.set(name, this);
    const done = session ? session.downloadAllServerChanges() : Promise.resolve();
    done.then(
      () => this.set(SubscriptionState.Complete),
      (e: Error) => {
        this.error_ = e.message;
        this.set(SubscriptionState.Error);
      },
    );
  }

  get state(): SubscriptionStateValue {
    return this.state_;
  }

  /** The error message when `state` is `Error`. */
  get error(): string | undefined {
    return this.error_;
  }

  addListener(callback: SubscriptionListener): void {
    if (typeof callback !== 'function') throw new TributaryError('INVALID_ARGUMENT', 'addListener expects a function (subscription, state)');
    this.listeners.add(callback);
  }

  removeListener(callback: SubscriptionListener): void {
    this.listeners.delete(callback);
  }

  removeAllListeners(): void {
    this.listeners.clear();
  }

  unsubscribe(): void {
    this.registry.delete(this.name);
    this.set(SubscriptionState.Invalidated);
  }

  private set(state: SubscriptionStateValue): void {
    if (this.state_ === state || this.state_ === SubscriptionState.Invalidated) return;
    this.state_ = state;
    for (const l of [...this.listeners]) {
      try {
        l(this, state);
      } catch {
        // a failing listener must not stop the others
      }
    }
  }
}
