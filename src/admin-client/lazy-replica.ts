import type { CommitEvent, Replica } from '../store';

/** Properties a replica's users set on it; kept across close/reopen. */
const CARRIED = new Set<PropertyKey>(['observer', 'preImageHook', 'remoteApplier']);

/** A replica that opens its SQLite file on first use and can be closed while idle. */
export interface LazyReplica {
  /** Stands in for a {@link Replica} everywhere (sessions, Realm instances, trackers). */
  readonly replica: Replica;
  readonly isOpen: boolean;
  /** Closes the file now (only when no write is open); the next use opens it again. */
  evict(): boolean;
}

/**
 * A replica whose file is opened on demand and closed by {@link LazyReplica.evict}, so an admin
 * tool can keep a session bound for each of thousands of realms while only the busy ones hold a
 * database connection and caches. Commit listeners, the observer and the admin hooks survive a
 * reopen; `dataVersion` and `version` keep increasing across reopens (caches key on them).
 */
export function lazyReplica(open: () => Replica, onOpenChange?: (open: boolean) => void): LazyReplica {
  let current: Replica | null = null;
  let closed = false;
  let dataBase = 0;
  let versionBase = 0;
  const carried: Record<PropertyKey, unknown> = {};
  const listeners = new Set<(e: CommitEvent) => void>();

  const ensure = (): Replica => {
    if (current && !current.isClosed) return current;
    const r = open();
    for (const [k, v] of Object.entries(carried)) (r as unknown as Record<string, unknown>)[k] = v;
    r.onCommit((e) => {
      for (const l of [...listeners]) l(e);
    });
    current = r;
    onOpenChange?.(true);
    return r;
  };

  const proxy = new Proxy({} as Replica, {
    get(_target, prop) {
      switch (prop) {
        case 'isClosed':
          return closed;
        case 'dataVersion':
          return dataBase + (current?.dataVersion ?? 0);
        case 'version':
          return versionBase + (current?.version ?? 0);
        case 'isInWrite':
          return current?.isInWrite ?? false;
        case 'onCommit':
          return (l: (e: CommitEvent) => void) => {
            listeners.add(l);
            return () => listeners.delete(l);
          };
        case 'close':
          return () => {
            closed = true;
            listeners.clear();
            if (current) {
              current.close();
              current = null;
              onOpenChange?.(false);
            }
          };
        case 'then':
          return undefined; // not a thenable
      }
      if (CARRIED.has(prop)) return carried[prop as string];
      const r = ensure();
      const v = (r as unknown as Record<PropertyKey, unknown>)[prop];
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(r) : v;
    },
    set(_target, prop, value) {
      if (CARRIED.has(prop)) {
        carried[prop as string] = value;
        if (current) (current as unknown as Record<PropertyKey, unknown>)[prop] = value;
        return true;
      }
      (ensure() as unknown as Record<PropertyKey, unknown>)[prop] = value;
      return true;
    },
  });

  return {
    replica: proxy,
    get isOpen() {
      return current !== null;
    },
    evict() {
      if (!current) return true;
      if (current.isInWrite) return false;
      dataBase += current.dataVersion + 1;
      versionBase += current.version + 1;
      current.close();
      current = null;
      onOpenChange?.(false);
      return true;
    },
  };
}
