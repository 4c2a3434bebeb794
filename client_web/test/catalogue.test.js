// The JavaScript catalogue against SPEC.md, whose tables the server generates from
// protocol/messages.py (and a Python test keeps true): a field added, dropped, reordered or
// re-typed on one side only fails here, before it fails on the wire.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import {
  BRIEF_DECISION,
  BRIEF_PRODUCT,
  BRIEF_TURN,
  BRIEFING,
  CLIENT_MESSAGES,
  ENT,
  LOOK,
  RELIABLE,
  SERVER_MESSAGES,
} from "../js/messages.js";
import { CloseCode, ErrorCode } from "../js/protocol.js";

const spec = readFileSync(new URL("../../protocol/SPEC.md", import.meta.url), "utf8");
const catalogue = spec.slice(spec.indexOf("<!-- catalogue:begin"), spec.indexOf("<!-- catalogue:end"));

/** Sections of the catalogue: "### title" -> { "#### heading" -> table rows }. */
function sections(text) {
  const out = new Map();
  let section = null;
  let heading = null;
  for (const line of text.split("\n")) {
    if (line.startsWith("### ")) {
      section = new Map();
      out.set(line.slice(4), section);
      heading = "";
      section.set(heading, []);
    } else if (line.startsWith("#### ") && section) {
      heading = line.slice(5);
      section.set(heading, []);
    } else if (line.startsWith("| ") && section && !line.startsWith("| key ") && !line.startsWith("| code ")) {
      const cells = line
        .replaceAll("\\|", "\u0000")
        .split("|")
        .slice(1, -1)
        .map((c) => c.trim().replaceAll("\u0000", "|"));
      section.get(heading).push(cells);
    }
  }
  return out;
}

const parsed = sections(catalogue);

/** A struct's rows as SPEC.md prints them, less the prose column. */
function rows(struct) {
  if (struct.fields.length === 0) return [["", "(no fields besides `t`)", ""]];
  return struct.fields.map((f) => [`\`${f.key}\``, f.kind.describe(), f.required ? "yes" : "no"]);
}

function specRows(cells) {
  return cells.map((c) => c.slice(0, 3));
}

function checkMessages(title, table) {
  const section = parsed.get(title);
  assert.ok(section, `SPEC.md has no section ${title}`);
  const headings = [...section.keys()].filter((h) => h !== "");
  const types = headings.map((h) => h.match(/^`([^`]+)`/)[1]);
  assert.deepEqual([...table.keys()].sort(), [...types].sort(), `${title}: message types`);
  for (const heading of headings) {
    const type = heading.match(/^`([^`]+)`/)[1];
    test(`${title}: ${type}`, () => {
      assert.deepEqual(rows(table.get(type)), specRows(section.get(heading)));
      if (title === "Server to client") {
        assert.equal(RELIABLE.has(type), heading.includes("reliable"), `${type} reliability`);
      }
    });
  }
}

describe("messages", () => {
  checkMessages("Client to server", CLIENT_MESSAGES);
  checkMessages("Server to client", SERVER_MESSAGES);
});

describe("records", () => {
  test("entity record", () => {
    assert.deepEqual(rows(ENT), specRows(parsed.get("Entity record (`ents` items)").get("")));
  });
  test("appearance", () => {
    assert.deepEqual(rows(LOOK), specRows(parsed.get("Appearance (`look`)").get("")));
  });
  test("advisor briefing", () => {
    const map = (name, used) => specRows(parsed.get(`Map \`${name}\` (in ${used})`).get(""));
    assert.deepEqual(rows(BRIEFING), map("brief", "`briefing.brief`, `page.brief`"));
    assert.deepEqual(rows(BRIEF_TURN), map("brief_turn", "`brief.turns`"));
    assert.deepEqual(rows(BRIEF_PRODUCT), map("brief_product", "`brief.products`"));
    assert.deepEqual(rows(BRIEF_DECISION), map("brief_decision", "`brief.decisions`"));
  });
});

describe("codes", () => {
  const table = (title) =>
    Object.fromEntries(parsed.get(title).get("").map(([code, name]) => [name.replaceAll("`", ""), Number(code)]));
  test("error codes", () => assert.deepEqual({ ...ErrorCode }, table("Error codes (`error.code`)")));
  test("close codes", () => assert.deepEqual({ ...CloseCode }, table("Close codes")));
});
