// A member whose microphone or camera does not open: they join with what did (an advisor
// without a camera with the microphone, one with neither still sees and hears the room), and
// are told why in a sentence of their language, not the browser's error name.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { setLang, t } from "../js/i18n.js";
import { RoomMedia, deviceProblem, deviceProblemText } from "../js/media.js";

class FakeStream {
  constructor(tracks = []) {
    this.tracks = tracks;
  }
  addTrack(track) {
    this.tracks.push(track);
  }
  getTracks() {
    return this.tracks;
  }
}
globalThis.MediaStream ??= FakeStream;

function domError(name) {
  return Object.assign(new Error(name), { name });
}

/** A browser with these devices: kind -> (constraints) => the error name it fails with, or null. */
function browser(devices) {
  const asked = [];
  return {
    asked,
    async getUserMedia(constraints) {
      asked.push(constraints);
      const kinds = ["audio", "video"].filter((k) => constraints[k]);
      for (const kind of kinds) {
        const failure = devices[kind]?.(constraints[kind]);
        if (failure) throw domError(failure);
      }
      return new FakeStream(kinds.map((kind) => ({ kind, readyState: "live", enabled: true })));
    },
  };
}

function advisorMedia(devices) {
  const session = { welcome: { role: "advisor" }, joined: false, on() {}, send: () => true };
  const media = new RoomMedia(session, { devices, Peer: class {} });
  const failures = [];
  media.on("failed", (f) => failures.push(f));
  return { media, failures };
}

describe("opening the microphone and camera", () => {
  test("an advisor without a camera joins with the microphone and is told so", async () => {
    const { media, failures } = advisorMedia(browser({ video: () => "NotFoundError" }));
    const wanted = await media.start({ send: ["audio", "video"] });
    assert.deepEqual(wanted.send, ["audio"]);
    assert.ok(media.running);
    const [{ problem }] = failures;
    setLang("en");
    assert.equal(deviceProblemText(problem, t), "Your browser found no camera. You take part with your microphone only.");
    setLang("zh");
    assert.equal(deviceProblemText(problem, t), "浏览器没有找到摄像头。您将仅用麦克风参与。");
    setLang("en");
  });

  test("with neither device the advisor still joins, to see and hear the room", async () => {
    const { media, failures } = advisorMedia(browser({ audio: () => "NotFoundError", video: () => "NotFoundError" }));
    setLang("en");
    const wanted = await media.start({ send: ["audio", "video"] });
    assert.deepEqual(wanted.send, []);
    assert.ok(media.running);
    const text = deviceProblemText(failures[0].problem, t);
    assert.match(text, /^Your browser found no microphone and camera\. You take part without microphone and camera/);
  });

  test("a camera that cannot give our picture size is asked for its own", async () => {
    const devices = browser({ video: (c) => (c === true ? null : "OverconstrainedError") });
    const { media, failures } = advisorMedia(devices);
    const wanted = await media.start({ send: ["audio", "video"] });
    assert.deepEqual(wanted.send, ["audio", "video"]);
    assert.deepEqual(failures, []);
    assert.equal(devices.asked.at(-1).video, true);
  });

  test("each error reads as a sentence naming the device, in English and Chinese", () => {
    for (const [name, en, zh] of [
      ["NotFoundError", "found no camera", "没有找到摄像头"],
      ["NotAllowedError", "not allowed to use the camera", "未获准使用摄像头"],
      ["NotReadableError", "another application", "其他应用程序"],
      ["OverconstrainedError", "cannot give the picture", "无法提供所需的画面"],
      ["WeirdError", "could not be opened (WeirdError)", "无法打开摄像头（WeirdError）"],
    ]) {
      const problem = deviceProblem({ video: name }, ["audio"]);
      setLang("en");
      assert.ok(deviceProblemText(problem, t).includes(en), name);
      assert.ok(!deviceProblemText(problem, t).includes(name) || name === "WeirdError", name);
      setLang("zh");
      assert.ok(deviceProblemText(problem, t).includes(zh), name);
    }
    setLang("en");
  });

  test("two different failures are both told; nothing failed, nothing to tell", () => {
    const problem = deviceProblem({ audio: "NotReadableError", video: "NotAllowedError" }, []);
    assert.deepEqual(
      problem.causes.map((c) => [c.key, c.devices]),
      [
        ["media.err.not-readable", "media.dev.audio"],
        ["media.err.not-allowed", "media.dev.video"],
      ],
    );
    assert.equal(problem.outcome, "media.got.none");
    assert.equal(deviceProblem({}, ["audio", "video"]), null);
  });
});
