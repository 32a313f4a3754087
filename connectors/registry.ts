import { TributaryError } from '../src/errors';
import type { ConnectorModule, ConnectorType } from './contract';

/**
 * The connector types, keyed by the name `tributary connector <type>` takes. Each entry loads its
 * module only when asked for, so a server that never runs a connector never loads a driver; the
 * CLI's texts are here so `--help` loads none either. A new connector adds one entry
 * (docs/connectors/kit.md, "Adding a connector").
 */
const TYPES: ConnectorType[] = [
  {
    type: 'postgres',
    description: 'PostgreSQL: logical replication (pgoutput) into realms, the Adapter stream back into tables',
    cli: {
      status: "Print the connector's database side without starting it: slot (active or not), retained WAL, wal_status, lag behind the current WAL, publication, apply positions, dead letters, warnings.",
      reset:
        'Reset a stopped connector so its next start loads afresh: drops its replication slot and origin, deletes its apply positions and its completed-load record in the control realm. Refused (PG_SLOT_ACTIVE) while a connector runs. The realms keep serving clients meanwhile.',
      resetConfirm: 'This drops its replication slot and apply positions; the next start reloads every table.',
    },
    load: () => (require('./postgres/module') as typeof import('./postgres/module')).postgresModule,
  },
  {
    type: 'mongodb',
    description: 'MongoDB: change streams into realms (resume tokens kept in the realms), the Adapter stream back into collections in session transactions',
    cli: {
      status: "Print the connector's database side without starting it: apply positions per realm and dead letters in the mapped database.",
      reset: 'Reset a stopped connector so its next start loads afresh: deletes its apply positions and its completed-load record (with the resume point) in the control realm. The realms keep serving clients meanwhile.',
      resetConfirm: 'This deletes its apply positions and resume point; the next start reloads every collection.',
    },
    load: () => (require('./mongodb/module') as typeof import('./mongodb/module')).mongodbModule,
  },
  {
    type: 'sqlserver',
    aliases: ['mssql'],
    description: 'SQL Server: Change Tracking (CHANGETABLE polled) into realms, the Adapter stream back into tables',
    cli: {
      status:
        "Print the connector's database side without starting it: the current Change Tracking version, the saved capture version and tables re-loaded, each table's min valid version (warning when the saved version is older), apply positions, dead letters.",
      reset:
        'Reset a stopped connector so its next start loads afresh: deletes its capture and apply positions and counter totals from the tributary_* tables, and its completed-load record in the control realm. The realms keep serving clients meanwhile.',
      resetConfirm: 'This deletes its capture and apply positions; the next start reloads every table.',
    },
    load: () => (require('./sqlserver/module') as typeof import('./sqlserver/module')).sqlserverModule,
  },
];

export function connectorTypes(): ConnectorType[] {
  return TYPES;
}

export function loadConnectorModule(type: string): ConnectorModule {
  const t = TYPES.find((x) => x.type === type || x.aliases?.includes(type));
  if (!t) throw new TributaryError('CONFIG_INVALID', `unknown connector type '${type}'; known: ${TYPES.flatMap((x) => [x.type, ...(x.aliases ?? [])]).join(', ')}`);
  return t.load();
}
