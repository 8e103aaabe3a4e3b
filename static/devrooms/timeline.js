// The room's stream as shown: messages and notices in the server's order (time, then id),
// our pending messages after them, a person's consecutive messages grouped under one name,
// a line above each day, and a line above what is new since the person was last here.

import { dayOf, daySeparator, newSinceElement } from "./render.js";

const GROUP_WITHIN_MS = 5 * 60 * 1000;

/** Whether `a` comes before `b` in the room's order (docs/protocol.md, "Ordering"). */
export const before = (a, b) => a.time < b.time || (a.time === b.time && a.id < b.id);

export class Timeline {
  /** `list` holds the stream; `firstPending()` is the first of our pending items in it. */
  constructor(list, { firstPending }) {
    this.list = list;
    this.firstPending = firstPending;
    this.entries = []; // {time, id, author, element, separator?, newSince?}; notices: id ""
    this.ids = new Set();
  }

  has(id) {
    return this.ids.has(id);
  }

  /** The element shown for message `id`, or null. */
  element(id) {
    return this.entries.find((entry) => entry.id === id)?.element ?? null;
  }

  get length() {
    return this.entries.length;
  }

  oldest() {
    return this.entries.find((entry) => entry.id);
  }

  newest() {
    return this.entries.findLast((entry) => entry.id);
  }

  /** Put an item in its place; `author` is null for a notice, which is never grouped. */
  insert({ time, id, author, element }) {
    const entry = { time, id, author, element };
    let index = this.entries.length;
    while (index > 0 && before(entry, this.entries[index - 1])) index -= 1;
    const next = this.entries[index];
    this.list.insertBefore(element, next ? firstNode(next) : this.firstPending());
    this.entries.splice(index, 0, entry);
    if (id) this.ids.add(id);
    this.#decorate(index);
    this.#decorate(index + 1);
  }

  remove(id) {
    const index = this.entries.findIndex((entry) => entry.id === id);
    if (index === -1) return;
    const [entry] = this.entries.splice(index, 1);
    entry.element.remove();
    entry.separator?.remove();
    const next = this.entries[index];
    if (entry.newSince && next && !next.newSince) next.newSince = entry.newSince;
    else entry.newSince?.remove();
    this.ids.delete(id);
    this.#decorate(index);
  }

  /** Mark the first message of somebody else's after `lastSeen` ({time, id}); once. */
  markNewSince(lastSeen, me) {
    if (!lastSeen || this.entries.some((entry) => entry.newSince)) return;
    const entry = this.entries.find(
      (candidate) => candidate.id && candidate.author !== me && before(lastSeen, candidate),
    );
    if (!entry) return;
    const line = newSinceElement();
    this.list.insertBefore(line, firstNode(entry));
    entry.newSince = line;
  }

  /** The day line above `index` when its day differs, and grouping with the one before. */
  #decorate(index) {
    const entry = this.entries[index];
    if (!entry) return;
    const previous = this.entries[index - 1];
    const newDay = !previous || dayOf(previous.time) !== dayOf(entry.time);
    if (newDay && !entry.separator) {
      entry.separator = daySeparator(entry.time);
      entry.element.before(entry.separator);
    } else if (!newDay && entry.separator) {
      entry.separator.remove();
      delete entry.separator;
    }
    const grouped =
      !newDay &&
      entry.author !== null &&
      previous.author === entry.author &&
      entry.time - previous.time <= GROUP_WITHIN_MS;
    entry.element.classList.toggle("message--grouped", grouped);
  }
}

/** An entry's first node in the list: its new-since line, its day line, or itself. */
function firstNode(entry) {
  return entry.newSince ?? entry.separator ?? entry.element;
}
