// What the room shows in the reader's language though the server sent fixed text: the AI label
// and why a person takes over, from the server's own strings (read from its sources here, so a
// reason added there without a translation here fails).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import { aiLabel, currentLang, LANGS, reasonText, setLang, t, toggleLang, tOr, uiLang } from "../js/i18n.js";
import { ZH_HK } from "../js/strings_zh_hk.js";

const root = new URL("../../", import.meta.url);

/** The string constants `NAME = "..."` of a Python module of the server. */
function pythonStrings(path, names) {
  const source = readFileSync(new URL(path, root), "utf8");
  return names.map((name) => {
    const match = new RegExp(`^${name} = "(.*)"`, "m").exec(source);
    assert.ok(match, `${name} in ${path}`);
    return match[1];
  });
}

/** The Chinese the server says each English notice with (rooms/handoff_words.py). */
function serverChinese() {
  const source = readFileSync(new URL("rooms/handoff_words.py", root), "utf8");
  return [...source.matchAll(/^\s+[\w.]+: "(.+)",$/gm)].map((m) => m[1]);
}

const REASONS = pythonStrings("avatars/suitability.py", ["COMPLEX", "NOT_ASSESSED", "ABOVE_PROFILE"]);
const NOTICES = pythonStrings("rooms/handoff_words.py", ["ASKED", "INTEREST"]);

describe("fixed server text in the reader's language", () => {
  test("the AI label follows the page's language whatever language the server sent it in", () => {
    setLang("zh");
    assert.equal(aiLabel("AI-generated"), "AI生成");
    assert.equal(aiLabel(undefined), "AI生成");
    setLang("en");
    assert.equal(aiLabel("AI生成"), "AI-generated");
    assert.equal(aiLabel("Bank AI"), "Bank AI"); // a bank's own wording is shown as it is
  });

  test("every reason a person is called for reads in Chinese and English", () => {
    for (const lang of ["zh", "en"]) {
      setLang(lang);
      for (const why of [...REASONS, ...NOTICES]) {
        const shown = reasonText(why);
        assert.notEqual(shown, why, `${lang}: ${why}`);
        assert.equal(/[\u4e00-\u9fff]/.test(shown), lang === "zh", `${lang}: ${shown}`);
      }
    }
    setLang("en");
  });

  test("the server's Chinese notices come back to English after a switch", () => {
    setLang("en");
    const chinese = serverChinese().filter((text) => reasonText(text) !== text);
    assert.ok(chinese.length >= 5, chinese.join(", "));
    for (const text of chinese) assert.ok(!/[\u4e00-\u9fff]/.test(reasonText(text)), text);
  });

  test("a text without a key is shown as the server sent it", () => {
    assert.equal(reasonText("a reason from a newer server"), "a reason from a newer server");
    assert.equal(reasonText(undefined), "");
    assert.equal(tOr("expert.why.dismissed", "dismissed"), t("expert.why.dismissed"));
    assert.equal(tOr("expert.why.bored", "bored"), "bored");
  });
});

describe("traditional Chinese as Hong Kong writes it", () => {
  test("a Cantonese token or a Hong Kong, Macau, Taiwan or Hant browser reads zh-HK", () => {
    for (const tag of ["yue", "zh-HK", "zh-hk", "zh-Hant", "zh-Hant-HK", "zh-TW", "zh-MO"]) {
      assert.equal(uiLang(tag), "zh-HK", tag);
    }
    for (const tag of ["zh", "zh-CN", "zh-Hans", "zh-SG"]) assert.equal(uiLang(tag), "zh", tag);
    for (const tag of ["en", "en-GB", "fr", undefined, ""]) assert.equal(uiLang(tag), "en", String(tag));
  });

  test("every string exists in zh-HK, in traditional characters", () => {
    assert.deepEqual(LANGS, ["en", "zh", "zh-HK"]);
    setLang("zh-HK");
    assert.equal(t("help.button"), "找真人顧問");
    assert.equal(t("handoff.read"), "您的顧問已閲讀我們之前的對話。");
    assert.equal(aiLabel("AI-generated"), "AI生成");
    for (const key of Object.keys(ZH_HK)) {
      // None of the simplified-only characters of the zh table is left.
      assert.ok(!/[这们说请门顾问图书长开关]/.test(ZH_HK[key]), `${key}: ${ZH_HK[key]}`);
    }
    setLang("en");
  });

  test("every reason reads in zh-HK whichever script the server sent it in", () => {
    setLang("zh-HK");
    for (const why of [...REASONS, ...NOTICES, ...serverChinese()]) {
      const shown = reasonText(why);
      if (shown === why && !REASONS.includes(why) && !NOTICES.includes(why)) continue;
      assert.ok(!/[a-z]/.test(shown), `${why}: ${shown}`);
    }
    for (const traditional of ["客户希望與真人顧問交談", "這是複雜產品，須由真人顧問講解"]) {
      setLang("en");
      assert.ok(!/[\u4e00-\u9fff]/.test(reasonText(traditional)), traditional);
      setLang("zh-HK");
    }
    setLang("en");
  });

  test("the toggle goes back to the Chinese last used", () => {
    setLang("zh-HK");
    toggleLang();
    assert.equal(currentLang(), "en");
    toggleLang();
    assert.equal(currentLang(), "zh-HK");
    setLang("en");
  });
});
