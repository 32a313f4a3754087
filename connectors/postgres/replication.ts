import { Client, type ClientConfig } from 'pg';
import { fromDriverError } from './errors';
import { decodeReplicationFrame, encodeStandbyStatus, type ReplicationFrame } from './pgoutput';
import { parseLsn, formatLsn, type Lsn } from './position';
import { TributaryError } from '../../src/errors';

/**
 * The streaming-replication connection (`replication=database`) over node-postgres: slot
 * creation with an exported snapshot, START_REPLICATION in CopyBoth mode, frames out, standby
 * status updates in. Holds no decoding or connector logic.
 */
export class ReplicationConnection {
  private readonly client: Client;
  private streaming = false;
  private ended = false;

  constructor(config: ClientConfig) {
    this.client = new Client({ ...config, replication: 'database' } as ClientConfig);
    this.client.on('error', () => undefined); // surfaced through the stream promise
  }

  async connect(): Promise<void> {
    try {
      await this.client.connect();
    } catch (e) {
      throw fromDriverError(e, 'opening the replication connection');
    }
  }

  /**
   * Creates a logical slot for pgoutput. With `exportSnapshot`, the returned snapshot stays
   * importable (SET TRANSACTION SNAPSHOT) until this connection runs its next command.
   */
  async createSlot(slot: string, exportSnapshot: boolean): Promise<{ consistentPoint: Lsn; snapshotName: string | null }> {
    try {
      const r = await this.client.query(`CREATE_REPLICATION_SLOT "${slot}" LOGICAL pgoutput ${exportSnapshot ? 'EXPORT_SNAPSHOT' : 'NOEXPORT_SNAPSHOT'}`);
      const row = r.rows[0] as { consistent_point: string; snapshot_name: string | null };
      return { consistentPoint: parseLsn(row.consistent_point), snapshotName: row.snapshot_name };
    } catch (e) {
      throw fromDriverError(e, `creating replication slot ${slot}`);
    }
  }

  /**
   * Streams from the slot (from its confirmed flush position when `from` is 0). Resolves when
   * the stream ends (stop()), rejects when the connection fails.
   */
  start(slot: string, from: Lsn, pluginOptions: Record<string, string>, onFrame: (frame: ReplicationFrame) => void): Promise<void> {
    const opts = Object.entries(pluginOptions)
      .map(([k, v]) => `"${k}" '${v.replace(/'/g, "''")}'`)
      .join(', ');
    const con = (this.client as unknown as { connection: NodeJS.EventEmitter }).connection;
    return new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (e: unknown) => {
        if (failed) return;
        failed = true;
        reject(fromDriverError(e, `streaming from slot ${slot}`));
      };
      con.on('copyData', (msg: { chunk: Buffer }) => {
        if (failed) return;
        try {
          onFrame(decodeReplicationFrame(msg.chunk));
        } catch (e) {
          fail(e);
          this.client.end().catch(() => undefined);
        }
      });
      this.client.once('error', fail);
      this.client.once('end', () => (this.ended ? resolve() : fail(new TributaryError('CONNECTOR_SOURCE_UNAVAILABLE', 'Connection terminated: the replication connection ended'))));
      this.streaming = true;
      this.client.query(`START_REPLICATION SLOT "${slot}" LOGICAL ${formatLsn(from)} (${opts})`).then(
        () => resolve(),
        (e) => (this.ended ? resolve() : fail(e)),
      );
    });
  }

  /** Tells the server what is durably processed; `flushed` lets it release WAL. */
  sendStatus(written: Lsn, flushed: Lsn, replyRequested = false): void {
    if (!this.streaming || this.ended) return;
    const con = (this.client as unknown as { connection: { sendCopyFromChunk(b: Buffer): void } }).connection;
    con.sendCopyFromChunk(encodeStandbyStatus(written, flushed, flushed, new Date(), replyRequested));
  }

  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.client.end().catch(() => undefined);
  }
}
