// Changes to messages already sent: everyone's edits and deletions as they come (also when
// they come before the message itself, in history read just before the change), and Edit and
// Delete on our own messages for CHAT_EDIT_SECONDS after sending them (docs/protocol.md,
// `edit_message` and `delete_message`).

import { NO_ANSWER, errorText } from "./errors.js";
import { DELETE_MESSAGE, EDIT_MESSAGE, ErrorCode } from "./protocol.js";
import {
  closeEditor,
  hideActions,
  openEditor,
  showActions,
  showEditorProblem,
  showEdited,
} from "./render.js";

const EARLY_CHANGES_KEPT = 200;
const FINAL = new Set([ErrorCode.EDIT_TOO_LATE, ErrorCode.MESSAGE_NOT_FOUND]);
const NOTHING_LEFT = "A message needs some text. To remove it, use Delete.";

export class MessageChanges {
  /**
   * `timeline` shows the messages; `request(event, data)` resolves to the server's ack;
   * `context()` is `{me, people}` for rendering; `editSeconds` is CHAT_EDIT_SECONDS and
   * `limit` the longest message. `onProblem(text)` shows what went wrong with a deletion, and
   * `onDeleted()` is called once one of ours is gone.
   */
  constructor({ timeline, request, context, editSeconds, limit, onProblem, onDeleted }) {
    Object.assign(this, { timeline, request, context, limit, onProblem, onDeleted });
    this.editMs = editSeconds * 1000;
    this.early = new Map(); // id -> an edit {message, edited_ms}, or null for a deletion
    this.windows = new Map(); // id of our message -> the timer that withdraws Edit and Delete
    this.texts = new WeakMap(); // element of our message -> its text as sent or last edited
    this.stopped = false;
  }

  /** Whether message `id` was deleted before it could be shown. */
  isDeleted(id) {
    return this.early.has(id) && this.early.get(id) === null;
  }

  /** A message was just shown: apply what changed it first; offer Edit and Delete on ours. */
  shown(message, item) {
    if (message.username === this.context().me) this.texts.set(item, message.message);
    const change = this.early.get(message.id);
    this.early.delete(message.id);
    if (change) this.#apply(item, change);
    if (this.texts.has(item)) this.#offer(message, item);
  }

  /** `message_edited`, or a message shown already that comes again with an edit. */
  edited(change) {
    const item = this.timeline.element(change.id);
    if (item) this.#apply(item, change);
    else this.#remember(change.id, change);
  }

  /** `message_deleted`. */
  deleted(id) {
    this.#withdraw(id);
    if (this.timeline.has(id)) this.timeline.remove(id);
    else this.#remember(id, null);
  }

  /** Out of the room: nothing can be changed any more. */
  stop() {
    this.stopped = true;
    for (const id of [...this.windows.keys()]) this.#withdraw(id);
  }

  #apply(item, change) {
    if (Number(item.dataset.editedMs ?? 0) >= change.edited_ms) return; // we have a later one
    if (this.texts.has(item)) this.texts.set(item, change.message);
    showEdited(item, change, this.context());
  }

  #remember(id, change) {
    this.early.set(id, change);
    if (this.early.size > EARLY_CHANGES_KEPT) this.early.delete(this.early.keys().next().value);
  }

  #offer(message, item) {
    const left = message.__createdtime__ + this.editMs - Date.now();
    if (this.stopped || left <= 0 || this.windows.has(message.id)) return;
    showActions(item, {
      onEdit: () => this.#edit(message.id, item),
      onDelete: () => this.#delete(message.id),
    });
    this.windows.set(
      message.id,
      setTimeout(() => this.#withdraw(message.id), left),
    );
  }

  #withdraw(id) {
    clearTimeout(this.windows.get(id));
    this.windows.delete(id);
    const item = this.timeline.element(id);
    if (item) hideActions(item);
  }

  #edit(id, item) {
    if (item.querySelector(".message__editor")) return;
    const before = this.texts.get(item);
    openEditor(item, before, {
      onSave: (text) => this.#save(id, item, before, text),
      onCancel: () => closeEditor(item),
    });
  }

  async #save(id, item, before, text) {
    if (text === before) return closeEditor(item);
    if (!text.trim()) return showEditorProblem(item, NOTHING_LEFT);
    const ack = await this.#ask(EDIT_MESSAGE, { id, message: text });
    if (!ack.ok) {
      if (FINAL.has(ack.error.code)) this.#withdraw(id);
      return showEditorProblem(item, errorText(ack.error, { limit: this.limit }));
    }
    this.#apply(item, { message: text, edited_ms: ack.edited_ms });
    closeEditor(item);
  }

  async #delete(id) {
    if (!window.confirm("Delete this message for everyone?")) return;
    const ack = await this.#ask(DELETE_MESSAGE, { id });
    if (ack.ok) {
      this.deleted(id);
      this.onDeleted();
      return;
    }
    if (FINAL.has(ack.error.code)) this.#withdraw(id);
    this.onProblem(errorText(ack.error, { limit: this.limit }));
  }

  async #ask(event, data) {
    try {
      return await this.request(event, data);
    } catch {
      return { ok: false, error: { message: NO_ANSWER } };
    }
  }
}
