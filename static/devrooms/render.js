// Rendering: builds DOM for the chat's data. User text only ever goes in through text nodes
// (textContent here, and format.js for a message's text).

import { formatMessage } from "./format.js";
import { CHATBOT } from "./protocol.js";

const timeOfDay = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });
const fullDateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });
const longDate = new Intl.DateTimeFormat(undefined, {
  weekday: "long",
  year: "numeric",
  month: "long",
  day: "numeric",
});
const byName = new Intl.Collator(undefined, { sensitivity: "accent" });

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Text whose direction comes from its own first strong character (Hebrew, Arabic, ...). */
function autoDirection(node) {
  node.dir = "auto";
  return node;
}

function timeElement(ms) {
  const when = new Date(ms);
  const time = element("time", "message__time", timeOfDay.format(when));
  time.dateTime = when.toISOString();
  time.title = fullDateTime.format(when);
  return time;
}

/** The local calendar day of a time, as a key that is equal for the same day. */
export function dayOf(ms) {
  const when = new Date(ms);
  return `${when.getFullYear()}-${when.getMonth()}-${when.getDate()}`;
}

function dayLabel(ms) {
  const yesterday = new Date();
  yesterday.setDate(yesterday.getDate() - 1);
  if (dayOf(ms) === dayOf(Date.now())) return "Today";
  if (dayOf(ms) === dayOf(yesterday.getTime())) return "Yesterday";
  return longDate.format(new Date(ms));
}

/** "Today", "Yesterday" or the date, above the first message of a day. */
export function daySeparator(ms) {
  const item = element("li", "day-separator");
  item.append(element("span", "day-separator__label", dayLabel(ms)));
  return item;
}

/** The line above the first message that came since this person last looked at the room. */
export function newSinceElement() {
  const item = element("li", "new-since");
  item.append(element("span", "new-since__label", "New since you were last here"));
  return item;
}

/**
 * A chat message or a ChatBot notice, as a list item. `people` are the names an @mention can
 * match; a message that mentions `me` is marked.
 */
export function messageElement(message, { me, people }) {
  if (message.username === CHATBOT) {
    const notice = element("li", "notice");
    notice.append(autoDirection(element("span", "notice__text", message.message)), " ");
    notice.append(timeElement(message.__createdtime__));
    return notice;
  }
  const mine = message.username === me;
  const item = element("li", mine ? "message message--mine" : "message");
  if (message.id) item.dataset.id = message.id;
  const header = element("p", "message__meta");
  header.append(autoDirection(element("span", "message__author", message.username)), " ");
  header.append(
    message.__createdtime__ ? timeElement(message.__createdtime__) : element("span", "message__time"),
  );
  const text = autoDirection(element("div", "message__text"));
  const { nodes, mentionsMe } = formatMessage(message.message, { people, me });
  text.append(...nodes);
  item.classList.toggle("message--mentions-me", mentionsMe && !mine);
  item.append(header, text);
  if (message.edited_ms) markEdited(item, message.edited_ms);
  return item;
}

/** The line under a message's text, for "edited" and our own message's actions. */
function footer(item) {
  let line = item.querySelector(".message__footer");
  if (!line) {
    line = element("p", "message__footer");
    item.querySelector(".message__text").after(line);
  }
  return line;
}

function markEdited(item, ms) {
  item.dataset.editedMs = String(ms);
  let mark = item.querySelector(".message__edited");
  if (!mark) {
    mark = element("span", "message__edited", "edited");
    footer(item).prepend(mark);
  }
  mark.title = `Edited ${fullDateTime.format(new Date(ms))}`;
}

/** A message's new text, from its author's edit (`{message, edited_ms}`), marked "edited". */
export function showEdited(item, { message, edited_ms: editedMs }, { me, people }) {
  const { nodes, mentionsMe } = formatMessage(message, { people, me });
  item.querySelector(".message__text").replaceChildren(...nodes);
  const mine = item.classList.contains("message--mine");
  item.classList.toggle("message--mentions-me", mentionsMe && !mine);
  markEdited(item, editedMs);
}

function smallButton(text, className, onClick) {
  const button = element("button", `button button--small ${className}`, text);
  button.type = "button";
  button.addEventListener("click", onClick);
  return button;
}

/** Edit and Delete on our own recent message. */
export function showActions(item, { onEdit, onDelete }) {
  const actions = element("span", "message__actions");
  actions.append(
    smallButton("Edit", "button--ghost", onEdit),
    " ",
    smallButton("Delete", "button--ghost", onDelete),
  );
  footer(item).append(actions);
}

export function hideActions(item) {
  item.querySelector(".message__actions")?.remove();
}

/**
 * A box in place of our message's text, to edit it: Enter or Save saves (`onSave(text)`),
 * Shift+Enter adds a line, Escape or Cancel cancels. Returns the box's form.
 */
export function openEditor(item, text, { onSave, onCancel }) {
  const form = element("form", "message__editor");
  const box = element("textarea", "message__editor-input");
  box.value = text;
  box.rows = Math.min(8, text.split("\n").length);
  box.setAttribute("aria-label", "Edit your message");
  box.dir = "auto";
  const problem = element("p", "message__error");
  problem.setAttribute("role", "alert");
  problem.hidden = true;
  const buttons = element("p", "message__editor-buttons");
  const save = element("button", "button button--small button--primary", "Save");
  save.type = "submit";
  buttons.append(save, " ", smallButton("Cancel", "button--ghost", onCancel));
  form.append(box, problem, buttons);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onSave(box.value);
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      onCancel();
    } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  const shown = item.querySelector(".message__text");
  shown.hidden = true;
  shown.after(form);
  item.querySelector(".message__footer").hidden = true;
  box.focus();
  box.setSelectionRange(box.value.length, box.value.length);
  return form;
}

/** Back from the editor to the message's text; focus on its Edit button when it has one. */
export function closeEditor(item) {
  item.querySelector(".message__editor")?.remove();
  item.querySelector(".message__text").hidden = false;
  item.querySelector(".message__footer").hidden = false;
  item.querySelector(".message__actions button")?.focus();
}

export function showEditorProblem(item, text) {
  const problem = item.querySelector(".message__editor .message__error");
  problem.textContent = text;
  problem.hidden = false;
}

/** A message of ours the server has not confirmed yet: "sending…", or failed with Retry. */
export function pendingElement(text, { me, people }) {
  const item = messageElement({ username: me, message: text }, { me, people });
  item.classList.add("message--pending");
  item.append(element("p", "message__state"));
  return item;
}

/** "Sending…", or why it was not sent with Retry (when `onRetry` is given) and Discard. */
export function showPendingState(item, { failed, error, onRetry, onDiscard }) {
  const state = item.querySelector(".message__state");
  state.replaceChildren();
  item.classList.toggle("message--failed", failed);
  if (!failed) {
    state.textContent = "Sending…";
    return;
  }
  state.append(element("span", "message__error", `Not sent: ${error}`));
  if (onRetry) {
    const retry = element("button", "button button--small", "Retry");
    retry.type = "button";
    retry.addEventListener("click", onRetry);
    state.append(" ", retry);
  }
  const discard = element("button", "button button--small button--ghost", "Discard");
  discard.type = "button";
  discard.addEventListener("click", onDiscard);
  state.append(" ", discard);
}

/** The room's people in alphabetical order (a stable place for everyone), yourself in bold. */
export function renderPeople(list, counts, users, me) {
  const names = users.map((user) => user.username).sort((a, b) => byName.compare(a, b));
  list.replaceChildren(
    ...names.map((name) => {
      const item = element("li", "person");
      const label = autoDirection(element(name === me ? "strong" : "span", "person__name", name));
      label.title = name;
      item.append(label);
      if (name === me) {
        item.classList.add("person--me");
        item.append(" ", element("span", "person__you", "(you)"));
      }
      return item;
    }),
  );
  counts.heading.textContent = `(${names.length})`;
  counts.toggle.textContent = names.length === 1 ? "1 person" : `${names.length} people`;
}

export function typingText(names) {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return "Several people are typing…";
}

const CONNECTION_LABELS = {
  connecting: "Connecting…",
  joining: "Joining…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  refused: "Not in the room",
  removed: "Not in the room",
  closed: "Disconnected",
};

export function showConnectionState(node, state) {
  node.dataset.state = state;
  node.textContent = CONNECTION_LABELS[state] ?? state;
}

/** Put a problem in the visible status area, with an optional way out. */
export function showStatus(node, text, link) {
  node.replaceChildren(element("span", "status__text", text));
  if (link) {
    const anchor = element("a", "status__link", link.text);
    anchor.href = link.href;
    node.append(" ", anchor);
  }
  node.hidden = false;
}

export function clearStatus(node) {
  node.hidden = true;
  node.replaceChildren();
}

/** "123 / 10,000" near or over the limit; counts characters as the server does. */
export function showCounter(node, length, max) {
  const over = length > max;
  node.hidden = length < max * 0.8;
  node.classList.toggle("composer__counter--over", over);
  const count = `${length.toLocaleString()} / ${max.toLocaleString()}`;
  node.textContent = over ? `${count}: ${(length - max).toLocaleString()} too many` : count;
}
