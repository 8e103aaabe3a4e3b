// Paces the page's own events within the server's rate limit (CHAT_RATE_LIMIT events a second,
// bursts up to CHAT_RATE_BURST; docs/protocol.md, Part C): the same token bucket as the
// server's (realtime/connection.py), a little more cautious, so that a person who types fast
// waits a moment instead of being refused.

// Network delays can bunch events together on their way to the server: keep a margin.
const RATE_MARGIN = 0.9;
const FLOAT_SLACK = 1e-9;

export class Pacer {
  /** `rate` 0 means no limit, as on the server. */
  constructor({ rate, burst }) {
    this.rate = rate * RATE_MARGIN;
    this.burst = Math.max(1, burst - 1);
    this.waiting = []; // resolve functions, served first come first served
    this.timer = null;
    this.tokens = this.burst;
    this.updated = performance.now();
  }

  /** A new connection: the server's bucket for it starts full, and the join spends one. */
  restart() {
    this.tokens = this.burst - 1;
    this.updated = performance.now();
  }

  /** Resolves once the caller may send; callers go in the order they asked. */
  take() {
    if (this.rate <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.#serve();
    });
  }

  /**
   * Spend a token now, for an event worth dropping rather than delaying (typing): only while
   * nobody waits and over half the bucket is left, so messages keep their room.
   */
  tryTake() {
    if (this.rate <= 0) return true;
    this.#refill();
    if (this.waiting.length || this.tokens < this.burst / 2) return false;
    this.tokens -= 1;
    return true;
  }

  #refill() {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updated) / 1000) * this.rate);
    this.updated = now;
  }

  #serve() {
    this.#refill();
    while (this.waiting.length && this.tokens >= 1 - FLOAT_SLACK) {
      this.tokens -= 1;
      this.waiting.shift()();
    }
    if (this.waiting.length && !this.timer) {
      const wait = ((1 - this.tokens) / this.rate) * 1000;
      this.timer = setTimeout(() => {
        this.timer = null;
        this.#serve();
      }, wait);
    }
  }
}
