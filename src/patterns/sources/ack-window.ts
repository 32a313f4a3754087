/**
 * Turns acknowledgements that arrive in any order into cumulative ones (AMQP `basic.ack` with
 * `multiple`), for a channel whose deliveries carry increasing tags.
 *
 * An AMQP cumulative ack settles *every* outstanding delivery up to its tag, so it may only be sent
 * up to the end of the prefix of deliveries that are all settled: acknowledged by the caller (and
 * not yet sent), or already settled at the broker (acknowledged singly, requeued, rejected). A
 * delivery after a gap (an earlier one still being worked on) waits until the gap closes; on close
 * {@link takeUnsent} hands those back so they can be acknowledged singly.
 *
 * @example
 * const window = new AckWindow();
 * window.delivered(1); window.delivered(2); window.delivered(3);
 * window.settle(2, 'acknowledge'); // → 0: delivery 1 is still open
 * window.settle(1, 'acknowledge'); // → 2: send basic.ack(2, multiple)
 */
export class AckWindow {
  /** Delivery tags in delivery order; `head` is the first not yet known settled. */
  private tags: number[] = [];
  private head = 0;
  /** Settled tags at or after `head`: true when acknowledged here but not yet sent. */
  private readonly settled = new Map<number, boolean>();

  delivered(tag: number): void {
    this.tags.push(tag);
  }

  /**
   * Records that `tag` is settled: `'acknowledge'` for an acknowledgement still to send,
   * `'settled'` when the broker already knows (sent singly, nack, reject). Returns the tag to send a
   * cumulative acknowledgement up to, or 0 when there is none to send yet.
   */
  settle(tag: number, how: 'acknowledge' | 'settled'): number {
    this.settled.set(tag, how === 'acknowledge');
    let upTo = 0;
    while (this.head < this.tags.length) {
      const t = this.tags[this.head]!;
      const unsent = this.settled.get(t);
      if (unsent === undefined) break;
      if (unsent) upTo = t;
      this.settled.delete(t);
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.tags.length) {
      this.tags = this.tags.slice(this.head);
      this.head = 0;
    }
    return upTo;
  }

  /** Acknowledged tags still waiting behind a gap (now counted as sent); for closing the channel. */
  takeUnsent(): number[] {
    const out: number[] = [];
    for (const [tag, unsent] of this.settled) {
      if (!unsent) continue;
      out.push(tag);
      this.settled.set(tag, false);
    }
    return out;
  }

  /** Deliveries not yet settled or not yet acknowledged to the broker. */
  get outstanding(): number {
    return this.tags.length - this.head;
  }
}
