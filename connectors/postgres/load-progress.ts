/** Progress of one table's initial load (or a side table's scan), for `onProgress` callbacks. */
export interface LoadProgress {
  table: string;
  rows: number;
  /** The planner's estimate of the table's rows (pg_class.reltuples), or null. */
  estimate: number | null;
  done: boolean;
}
