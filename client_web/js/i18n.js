// The interface in English and Chinese. The language comes from the saved choice, else the
// browser's (navigator.language), and can be switched at any time; elements carrying
// data-i18n="key" are re-labelled in place, everything else asks `t()` when it draws.

import { loadPref, savePref } from "./prefs.js";

const STRINGS = {
  en: {
    "app.title": "Wealthroom",
    "status.connecting": "Connecting…",
    "status.connected": "Connected",
    "status.reconnecting": "Reconnecting…",
    "status.closed": "Disconnected",
    "status.expired": "Your link has expired. Please open a new one from the bank.",
    "status.removed": "You were removed from the room.",
    "status.invalid": "This link is not valid for this room.",
    "status.left": "You left the room.",
    "status.no-token": "No access token in the link. Open the link the bank sent you.",
    "lang.toggle": "中文",
    "a11y.toggle": "Large text",
    "a11y.on": "Large text: on",
    "view.room": "Room view",
    "view.seat": "My seat",
    "vr.enter": "Enter VR",
    "vr.exit": "Exit VR",
    "help.button": "Talk to a person",
    "help.sent": "We are finding an advisor for you.",
    "chat.placeholder": "Write a message or a question…",
    "chat.send": "Send",
    "chat.ask": "Ask the experts",
    "chat.offline": "Not connected: your text is kept and you can send it when we are back.",
    "chat.label": "Conversation",
    "experts.title": "Digital experts",
    "experts.none": "No digital expert in the room.",
    "expert.arrived": "{name} ({label}), {sp} expert, joined the room",
    "expert.left": "{name} left the room",
    "member.joined": "{name} joined",
    "member.left": "{name} left",
    "member.you": "you",
    "asked": "{name} asked: {text}",
    "answer.risk": "Risk class R{risk}",
    "answer.sources": "Sources: {src}",
    "answer.handoff": "A human advisor takes over: {why}",
    "answer.concierge": "Concierge",
    "answer.interest": "I'm interested",
    "handoff.paging": "Finding an advisor for you…",
    "handoff.asking": "Asking {advisor} to join you…",
    "handoff.coming": "{advisor} is coming",
    "handoff.eta": "about {min} min",
    "handoff.arrived": "Your advisor {advisor} is here",
    "handoff.arrived-anon": "Your advisor is here",
    "handoff.unavailable": "No advisor is free right now; you stay in the queue.",
    "handoff.cancelled": "The request for an advisor was cancelled.",
    "screen.presented": "{name} put “{title}” on the screen",
    "screen.cleared": "The screen was cleared",
    "portfolio.button": "My portfolio",
    "portfolio.title": "My portfolio",
    "portfolio.profile": "Your risk profile: C{risk}",
    "portfolio.product": "Product",
    "portfolio.risk": "Risk",
    "portfolio.value": "Value",
    "portfolio.empty": "No holdings.",
    "stepup.title": "Confirm it is you",
    "stepup.prompt": "Enter the 6-digit code from your authenticator app.",
    "stepup.confirm": "Confirm",
    "stepup.cancel": "Cancel",
    "stepup.wrong": "That code was not accepted. Please try again.",
    "stepup.locked": "Too many attempts. Please wait, or call the bank.",
    "dialog.close": "Close",
    "error.generic": "The server refused that: {msg}",
    "advisor.title": "Advisor tools",
    "advisor.customer": "Customer: {name}",
    "advisor.profile": "Risk profile: C{risk}",
    "advisor.profile-unknown": "Risk profile: not known",
    "advisor.present": "Show a chart on the screen",
    "advisor.chart-title": "Title",
    "advisor.label": "Label",
    "advisor.value": "Value",
    "advisor.add-row": "Add a row",
    "advisor.show": "Show on screen",
    "advisor.clear": "Clear the screen",
    "advisor.summon": "Bring in an expert",
    "advisor.summon-go": "Bring in",
    "advisor.dismiss": "Send away",
    "advisor.dismiss-all": "Send all experts away",
    "sp.stocks": "stocks",
    "sp.bonds": "bonds",
    "sp.funds": "funds",
    "sp.insurance": "insurance",
    "sp.deposits": "deposits",
    "sp.fx": "foreign exchange",
    "sp.tax": "tax",
    "sp.general": "general",
    "console.title": "Advisor console",
    "console.presence": "My status",
    "presence.available": "Available",
    "presence.busy": "Busy",
    "presence.away": "Away",
    "console.queue": "Customers waiting",
    "console.empty": "Nobody is waiting.",
    "console.accept": "Accept",
    "console.open": "Open the room",
    "console.accepted": "Accepted. The room opens in a new tab.",
    "console.taken": "Someone else took that request.",
    "console.waiting": "waiting {min} min",
    "console.product": "Product: {product}",
    "seat.stand": "Stand up",
  },
  zh: {
    "app.title": "财富会客室",
    "status.connecting": "正在连接…",
    "status.connected": "已连接",
    "status.reconnecting": "正在重新连接…",
    "status.closed": "已断开",
    "status.expired": "链接已过期，请向银行索取新的链接。",
    "status.removed": "您已被移出房间。",
    "status.invalid": "此链接不适用于这个房间。",
    "status.left": "您已离开房间。",
    "status.no-token": "链接中没有访问令牌，请打开银行发给您的链接。",
    "lang.toggle": "English",
    "a11y.toggle": "大字模式",
    "a11y.on": "大字模式：开",
    "view.room": "房间视角",
    "view.seat": "我的座位",
    "vr.enter": "进入 VR",
    "vr.exit": "退出 VR",
    "help.button": "找真人顾问",
    "help.sent": "正在为您寻找顾问。",
    "chat.placeholder": "输入消息或问题…",
    "chat.send": "发送",
    "chat.ask": "请教专家",
    "chat.offline": "未连接：您输入的内容会保留，恢复连接后即可发送。",
    "chat.label": "对话",
    "experts.title": "数字专家",
    "experts.none": "房间里还没有数字专家。",
    "expert.arrived": "{name}（{label}），{sp}专家，进入了房间",
    "expert.left": "{name} 离开了房间",
    "member.joined": "{name} 进入了房间",
    "member.left": "{name} 离开了房间",
    "member.you": "您",
    "asked": "{name} 提问：{text}",
    "answer.risk": "风险等级 R{risk}",
    "answer.sources": "资料来源：{src}",
    "answer.handoff": "将由真人顾问接手：{why}",
    "answer.concierge": "礼宾",
    "answer.interest": "我有兴趣",
    "handoff.paging": "正在为您寻找顾问…",
    "handoff.asking": "正在邀请 {advisor} 为您服务…",
    "handoff.coming": "{advisor} 正在赶来",
    "handoff.eta": "约 {min} 分钟",
    "handoff.arrived": "您的顾问 {advisor} 已到达",
    "handoff.arrived-anon": "您的顾问已到达",
    "handoff.unavailable": "暂时没有空闲的顾问，您仍在排队中。",
    "handoff.cancelled": "顾问请求已取消。",
    "screen.presented": "{name} 在屏幕上展示了“{title}”",
    "screen.cleared": "屏幕已清空",
    "portfolio.button": "我的投资组合",
    "portfolio.title": "我的投资组合",
    "portfolio.profile": "您的风险承受能力：C{risk}",
    "portfolio.product": "产品",
    "portfolio.risk": "风险",
    "portfolio.value": "市值",
    "portfolio.empty": "暂无持仓。",
    "stepup.title": "确认是您本人",
    "stepup.prompt": "请输入身份验证器中的 6 位验证码。",
    "stepup.confirm": "确认",
    "stepup.cancel": "取消",
    "stepup.wrong": "验证码不正确，请重试。",
    "stepup.locked": "尝试次数过多，请稍候或致电银行。",
    "dialog.close": "关闭",
    "error.generic": "服务器拒绝了该操作：{msg}",
    "advisor.title": "顾问工具",
    "advisor.customer": "客户：{name}",
    "advisor.profile": "风险承受能力：C{risk}",
    "advisor.profile-unknown": "风险承受能力：未知",
    "advisor.present": "在屏幕上展示图表",
    "advisor.chart-title": "标题",
    "advisor.label": "名称",
    "advisor.value": "数值",
    "advisor.add-row": "添加一行",
    "advisor.show": "展示",
    "advisor.clear": "清空屏幕",
    "advisor.summon": "请一位专家",
    "advisor.summon-go": "请来",
    "advisor.dismiss": "请离开",
    "advisor.dismiss-all": "请所有专家离开",
    "sp.stocks": "股票",
    "sp.bonds": "债券",
    "sp.funds": "基金",
    "sp.insurance": "保险",
    "sp.deposits": "存款",
    "sp.fx": "外汇",
    "sp.tax": "税务",
    "sp.general": "综合",
    "console.title": "顾问工作台",
    "console.presence": "我的状态",
    "presence.available": "空闲",
    "presence.busy": "忙碌",
    "presence.away": "离开",
    "console.queue": "等待中的客户",
    "console.empty": "暂无等待的客户。",
    "console.accept": "接受",
    "console.open": "进入房间",
    "console.accepted": "已接受，房间将在新标签页中打开。",
    "console.taken": "该请求已被其他顾问接受。",
    "console.waiting": "已等待 {min} 分钟",
    "console.product": "产品：{product}",
    "seat.stand": "站起来",
  },
};

export const LANGS = Object.keys(STRINGS);

function initialLang() {
  const saved = loadPref("lang");
  if (saved && LANGS.includes(saved)) return saved;
  return (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
}

let lang = initialLang();
const listeners = new Set();

export function currentLang() {
  return lang;
}

/** The string for `key` in the current language, with {name} placeholders filled in. */
export function t(key, params = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => (params[k] === undefined ? `{${k}}` : String(params[k])));
}

/** A specialty's name in the current language. */
export function specialty(sp) {
  return t(`sp.${sp || "general"}`);
}

export function setLang(next) {
  if (!LANGS.includes(next) || next === lang) return;
  lang = next;
  savePref("lang", next);
  applyStatic(document);
  for (const fn of listeners) fn(lang);
}

export function toggleLang() {
  setLang(lang === "en" ? "zh" : "en");
}

/** Call `fn(lang)` whenever the language changes (to redraw dynamic text). */
export function onLangChange(fn) {
  listeners.add(fn);
}

/** Label every [data-i18n] element (text) and [data-i18n-placeholder] (placeholder). */
export function applyStatic(root) {
  document.documentElement.lang = lang === "zh" ? "zh-Hans" : "en";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
}
