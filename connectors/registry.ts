import { TributaryError } from '../src/errors';
import type { ConnectorModule } from './contract';

/**
 * The connector types, keyed by the name `tributary connector <type>` takes. Each entry loads its
 * module only when asked for, so a server that never runs a connector never loads a driver.
 */
const TYPES: Record<string, { description: string; load: () => ConnectorModule }> = {
  postgres: {
    description: 'PostgreSQL: logical replication (pgoutput) into realms, the Adapter stream back into tables',
    load: () => (require('./postgres/module') as typeof import('./postgres/module')).postgresModule,
  },
};

export function connectorTypes(): { type: string; description: string }[] {
  return Object.entries(TYPES).map(([type, t]) => ({ type, description: t.description }));
}

export function loadConnectorModule(type: string): ConnectorModule {
  const t = TYPES[type];
  if (!t) throw new TributaryError('CONFIG_INVALID', `unknown connector type '${type}'; known: ${Object.keys(TYPES).join(', ')}`);
  return t.load();
}
