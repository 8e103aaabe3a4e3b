// Rendering: builds DOM for the chat's data. User text only ever goes in through textContent.

import { CHATBOT } from "./protocol.js";

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const fullDateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function timeElement(ms) {
  const when = new Date(ms);
  const time = element("time", "message__time", dateTime.format(when));
  time.dateTime = when.toISOString();
  time.title = fullDateTime.format(when);
  return time;
}

/** A chat message or a ChatBot notice, as a list item. */
export function messageElement(message, { mine }) {
  if (message.username === CHATBOT) {
    const notice = element("li", "notice");
    notice.append(element("span", "notice__text", message.message), " ");
    notice.append(timeElement(message.__createdtime__));
    return notice;
  }
  const item = element("li", mine ? "message message--mine" : "message");
  if (message.id) item.dataset.id = message.id;
  const header = element("p", "message__meta");
  header.append(element("span", "message__author", message.username), " ");
  header.append(
    message.__createdtime__ ? timeElement(message.__createdtime__) : element("span", "message__time"),
  );
  item.append(header, element("p", "message__text", message.message));
  return item;
}

/** A message of ours the server has not confirmed yet: "sending…", or failed with Retry. */
export function pendingElement(text, username) {
  const item = messageElement({ username, message: text }, { mine: true });
  item.classList.add("message--pending");
  item.append(element("p", "message__state"));
  return item;
}

export function showPendingState(item, { failed, error, onRetry, onDiscard }) {
  const state = item.querySelector(".message__state");
  state.replaceChildren();
  item.classList.toggle("message--failed", failed);
  if (!failed) {
    state.textContent = "Sending…";
    return;
  }
  const retry = element("button", "button button--small", "Retry");
  retry.type = "button";
  retry.addEventListener("click", onRetry);
  const discard = element("button", "button button--small button--ghost", "Discard");
  discard.type = "button";
  discard.addEventListener("click", onDiscard);
  state.append(element("span", "message__error", `Not sent: ${error}`), " ", retry, " ", discard);
}

/** The room's people in join order, yourself in bold. */
export function renderPeople(list, count, users, me) {
  list.replaceChildren(
    ...users.map((user) => {
      const item = element("li", "person");
      if (user.username === me) {
        item.classList.add("person--me");
        item.append(element("strong", "person__name", user.username), " ");
        item.append(element("span", "person__you", "(you)"));
      } else {
        item.append(element("span", "person__name", user.username));
      }
      return item;
    }),
  );
  count.textContent = `(${users.length})`;
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
