// A message's text as DOM nodes: links, @mentions and a small Markdown subset (`code`,
// fenced code blocks, **bold**, _italic_, > quotes). This module builds DOM nodes and sets
// user text only through text nodes, so no HTML from a message is ever parsed: there is no
// innerHTML here and no sanitiser to depend on. The stored text stays what was sent.

const WORD = "[\\p{L}\\p{N}_]";
const LINK_REL = "noopener noreferrer nofollow";
const TRAILING_PUNCTUATION = /[.,:;!?'"]+$/;

function node(tag, className, children = []) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  element.append(...children);
  return element;
}

const escapeRegExp = (text) => text.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");

// The pattern of the latest people list: built again only when the list changes.
let cached = { people: null, pattern: null };

/** One regular expression for every inline form; a person's name is matched whole. */
function inlinePattern(people) {
  if (cached.people === people) return cached.pattern;
  const names = [...people].sort((a, b) => b.length - a.length).map(escapeRegExp);
  const forms = [
    "`(?<code>[^`\\n]+)`",
    "\\*\\*(?<bold>(?=\\S)[^\\n]*?\\S)\\*\\*",
    `(?<!${WORD})_(?<italic>(?=[^\\s_])[^\\n]*?[^\\s_])_(?!${WORD})`,
    `(?<!${WORD}|[@./])(?<url>(?:https?://|www\\.)[^\\s<>]+)`,
  ];
  if (names.length) forms.push(`(?<!${WORD})@(?<mention>${names.join("|")})(?!${WORD})`);
  cached = { people, pattern: new RegExp(forms.join("|"), "giu") };
  return cached.pattern;
}

/** Where a URL found in text really ends: not at a closing full stop or an unopened ")". */
function urlEnd(raw) {
  let url = raw.replace(TRAILING_PUNCTUATION, "");
  while (url.endsWith(")") && url.split("(").length < url.split(")").length) {
    url = url.slice(0, -1).replace(TRAILING_PUNCTUATION, "");
  }
  return url.length;
}

/** A link that opens in a new tab, for http and https addresses only; otherwise null. */
function linkElement(text) {
  let url;
  try {
    url = new URL(/^www\./i.test(text) ? `https://${text}` : text);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  const anchor = node("a", "message__link", [text]);
  anchor.href = url.href;
  anchor.target = "_blank";
  anchor.rel = LINK_REL;
  return anchor;
}

function inlineNodes(text, context) {
  const pattern = inlinePattern(context.people);
  const nodes = [];
  let position = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index < position) continue;
    const { code, bold, italic, url, mention } = match.groups;
    let made = null;
    let end = match.index + match[0].length;
    if (code !== undefined) {
      made = node("code", "md-code", [code]);
    } else if (bold !== undefined) {
      made = node("strong", "", inlineNodes(bold, context));
    } else if (italic !== undefined) {
      made = node("em", "", inlineNodes(italic, context));
    } else if (url !== undefined) {
      end = match.index + urlEnd(url);
      made = linkElement(text.slice(match.index, end));
    } else {
      const isMe = mention.toLocaleLowerCase() === context.me.toLocaleLowerCase();
      made = node("span", isMe ? "mention mention--me" : "mention", [match[0]]);
      context.mentionsMe ||= isMe;
    }
    if (!made) continue;
    if (match.index > position) nodes.push(text.slice(position, match.index));
    nodes.push(made);
    position = end;
  }
  if (position < text.length) nodes.push(text.slice(position));
  return nodes;
}

/** Split into blocks: fenced code (only when the fence is closed), quotes, and text. */
function blocks(text) {
  const lines = text.split("\n");
  const found = [];
  const add = (type, line) => {
    const last = found.at(-1);
    if (last && last.type === type && type !== "code") last.lines.push(line);
    else found.push({ type, lines: [line] });
  };
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index];
    const close = line.startsWith("```") ? lines.findIndex((l, i) => i > index && /^```\s*$/.test(l)) : -1;
    if (close !== -1) {
      found.push({ type: "code", lines: lines.slice(index + 1, close) });
      index = close;
    } else if (line.startsWith(">")) {
      add("quote", line.replace(/^> ?/, ""));
    } else {
      add("text", line);
    }
  }
  return found;
}

function blockElement(block, context) {
  const text = block.lines.join("\n");
  if (block.type === "code") {
    const pre = node("pre", "md-pre", [node("code", "", [text])]);
    pre.dir = "ltr";
    return pre;
  }
  const element = node(block.type === "quote" ? "blockquote" : "div", `md-${block.type}`);
  element.dir = "auto";
  element.append(...inlineNodes(text, context));
  return element;
}

/**
 * The nodes for a message's text, and whether it mentions `me`.
 * `people` are the names that @mentions can match (the room's people).
 */
export function formatMessage(text, { people, me }) {
  const context = { people, me, mentionsMe: false };
  const found = blocks(text);
  const nodes =
    found.length === 1 && found[0].type === "text"
      ? inlineNodes(text, context)
      : found.map((block) => blockElement(block, context));
  return { nodes, mentionsMe: context.mentionsMe };
}
