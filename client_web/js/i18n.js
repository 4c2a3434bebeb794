// The interface in English, simplified Chinese and traditional Chinese as written in Hong Kong
// (zh-HK, generated from the simplified strings by tools/make_zh_hk.py). The language comes
// from the saved choice, else the link's token (its `lang` claim: Cantonese reads zh-HK), else
// the browser's (navigator.language), and can be switched at any time; elements carrying
// data-i18n="key" are re-labelled in place, everything else asks `t()` when it draws.

import { loadPref, savePref } from "./prefs.js";
import { ZH_HK } from "./strings_zh_hk.js";

const STRINGS = {
  en: {
    "app.title": "Wealthroom",
    "status.connecting": "Connecting…",
    "status.connected": "Connected",
    "status.reconnecting": "Reconnecting…",
    "status.closed": "Disconnected",
    "status.expired": "Your link has expired. Please open a new one from the bank.",
    "status.removed": "You were removed from the room.",
    "status.invite-used": "This invitation has already been used. Ask for a new one.",
    "status.invite-revoked": "This invitation was withdrawn.",
    "invite.button": "Invite",
    "invite.title": "Invite a guest",
    "invite.uses": "Guests this link admits",
    "invite.create": "Create a link",
    "invite.link": "Link for your guest",
    "invite.qr": "QR code of the link",
    "invite.list": "Invitations",
    "invite.until": "good until {time}, {uses} use(s)",
    "invite.revoked": "withdrawn",
    "invite.revoke": "Withdraw",
    "invite.guests": "Guests in the room",
    "invite.no-guests": "No guest in the room.",
    "invite.remove": "Remove",
    "notice.guest-title": "You are a guest",
    "notice.ok": "I agree",
    "summary.button": "Download summary",
    "summary.failed": "The summary could not be downloaded ({status}).",
    "status.invalid": "This link is not valid for this room.",
    "status.left": "You left the room.",
    "status.no-token": "No access token in the link. Open the link the bank sent you.",
    "lang.toggle": "中文",
    "a11y.toggle": "Large text",
    "a11y.on": "Large text: on",
    "view.room": "Room view",
    "view.seat": "My seat",
    "view.thin": "Low-bandwidth view",
    "view.full": "Full 3D view",
    "view.thin-label": "The room, drawn by the server from your seat. Drag to look around.",
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
    "expert.why.dismissed": "sent away",
    "expert.why.idle": "no questions for a while",
    "expert.why.room full": "to make room",
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
    "handoff.read": "Your advisor has read our conversation.",
    "handoff.unavailable": "No advisor is free right now; you stay in the queue.",
    "handoff.cancelled": "The request for an advisor was cancelled.",
    "handoff.asked-you": "The customer would like to talk to you.",
    "ai.label": "AI-generated",
    "reason.complex": "it is a complex product, which a human advisor explains",
    "reason.not-assessed": "your risk profile has not been assessed yet",
    "reason.above-profile": "its risk class is above your risk profile",
    "reason.asked": "you asked for a person",
    "reason.interest": "you confirmed interest in a product",
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
    "console.brief": "The conversation so far ({n} turns)",
    "console.brief-interrupted": "interrupted",
    "console.brief-unanswered": "(not answered yet)",
    "console.brief-products": "Products discussed",
    "console.brief-decisions": "Suitability decisions",
    "seat.stand": "Stand up",
    "media.controls": "Voice and video",
    "media.mic-join": "Join with microphone",
    "media.cam-join": "Join with camera",
    "media.mic-on": "Microphone on",
    "media.mic-off": "Microphone off",
    "media.cam-on": "Camera on",
    "media.cam-off": "Camera off",
    "media.mic-starting": "Starting…",
    "media.cam-starting": "Starting…",
    "media.mic-none": "",
    "media.cam-none": "",
    "media.mic-press-off": "Press to switch your microphone off",
    "media.mic-press-on": "Press to switch your microphone on",
    "media.cam-press-off": "Press to switch your camera off",
    "media.cam-press-on": "Press to switch your camera on",
    "media.sound": "Turn on sound",
    "media.self": "You",
    "media.advisor": "Your advisor",
    "media.unavailable": "Voice and video are not available right now.",
    "media.dev.audio": "microphone",
    "media.dev.video": "camera",
    "media.dev.both": "microphone and camera",
    "media.err.not-found": "Your browser found no {devices}.",
    "media.err.not-allowed": "Your browser was not allowed to use the {devices}: allow it in the site settings (the icon beside the address), then press the button again.",
    "media.err.not-readable": "The {devices} could not be started: another application may be using it. Close that application and press the button again.",
    "media.err.overconstrained": "The {devices} cannot give the picture asked for.",
    "media.err.other": "The {devices} could not be opened ({msg}).",
    "media.got.audio": "You take part with your microphone only.",
    "media.got.video": "You take part with your camera only.",
    "media.got.both": "",
    "media.got.none": "You take part without microphone and camera: you still see and hear everyone.",
    "media.failed": "Voice and video could not start: {msg}",
    "media.why-denied": "access was refused",
    "media.why-missing": "none was found",
    "media.why-busy": "another app is using it",
    "media.why-other": "the browser would not open it",
    "voice.title": "Ask by voice",
    "voice.hold": "Hold to ask",
    "voice.listening": "Listening… let go to send",
    "voice.starting": "Getting the microphone ready…",
    "voice.free-listening": "Hands-free: just speak",
    "voice.free": "Hands-free",
    "voice.free-title": "Every sentence you say is a question, while no advisor is speaking",
    "voice.heard-asked": "Heard: “{text}”",
    "voice.heard-confirm": "Did you mean “{text}”?",
    "voice.heard-type": "Sorry, we cannot understand that language by voice yet. Please type your question.",
    "voice.heard-cut": "Heard (cut after 30 seconds): “{text}…” Please ask in shorter parts.",
    "voice.heard-none": "Nothing clear was heard. Hold the button while you speak, then let go.",
    "voice.yes": "Yes, ask it",
    "voice.no": "No",
    "voice.declined": "Not asked. Hold the button to ask again.",
    "voice.mic-denied": "The microphone is blocked for this page. Allow it in the browser's address bar to ask by voice, or type your question.",
    "voice.mic-missing": "No microphone was found. Connect one to ask by voice, or type your question.",
    "voice.mic-busy": "Another app is using the microphone. Close it and try again, or type your question.",
    "voice.mic-other": "The microphone could not be opened. Please type your question.",
    "rec.on": "Recording",
    "rec.title": "This conversation is recorded",
    "rec.days": "The recording is kept for {days} days.",
    "rec.ok": "I understand",
    "rec.leave": "Leave the room",
    "rec.started": "{name} started recording",
    "rec.stopped": "Recording stopped",
    "advisor.record": "Record",
    "advisor.record-stop": "Stop recording",
    "console.join-media": "Join rooms with camera and microphone",
    "appt.title": "Appointments",
    "appt.mine": "My appointments",
    "appt.none": "You have no appointment booked.",
    "appt.free": "Times you can book",
    "appt.no-free": "No free times at the moment.",
    "appt.zone": "Times in your time zone ({zone}).",
    "appt.with": "with {adv}",
    "appt.book": "Book",
    "appt.move": "Move",
    "appt.pick": "Choose a new time below",
    "appt.move-here": "Move here",
    "appt.cancel": "Cancel",
    "appt.now": "Its time has come",
    "appt.reminder": "Your appointment with {adv} ({at}) is now. Your room is open.",
    "appt.enter": "Enter the room",
    "appt.open": "Appointments",
    "appt.no-slot": "That time is no longer offered.",
    "appt.taken": "Someone else has just booked that time.",
    "appt.past": "That time has passed.",
    "appt.overlap": "That overlaps another appointment.",
    "appt.limit": "You already hold as many appointments as you may.",
    "appt.not-yours": "That appointment is not yours.",
    "appt.withdrawn": "{adv} cancelled your appointment of {at}. Please choose another time.",
    "appt.moved": "{adv} moved your appointment to {at}.",
    "console.slots": "My appointment slots",
    "console.slot-start": "Starts",
    "console.slot-length": "Minutes",
    "console.slot-publish": "Publish",
    "console.slot-free": "free",
    "console.slot-booked": "booked by {customer}",
    "console.slot-honoured": "{customer}: paged",
    "console.slots-empty": "No slots published.",
    "console.slot-move": "Move to",
    "console.first": "Your booked appointment: offered to you first",
    "console.decline": "Pass to a colleague",
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
    "view.thin": "低带宽视图",
    "view.full": "完整 3D 视图",
    "view.thin-label": "由服务器从你的座位绘制的房间。拖动即可环顾四周。",
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
    "expert.why.dismissed": "被请离",
    "expert.why.idle": "一段时间没有提问",
    "expert.why.room full": "为其他专家让位",
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
    "handoff.read": "您的顾问已阅读我们之前的对话。",
    "handoff.unavailable": "暂时没有空闲的顾问，您仍在排队中。",
    "handoff.cancelled": "顾问请求已取消。",
    "handoff.asked-you": "客户希望与您交谈。",
    "ai.label": "AI生成",
    "reason.complex": "这是复杂产品，须由真人顾问讲解",
    "reason.not-assessed": "您尚未完成风险承受能力评估",
    "reason.above-profile": "产品的风险等级高于您的风险承受能力",
    "reason.asked": "您希望与真人顾问交谈",
    "reason.interest": "您确认了对产品的兴趣",
    "screen.presented": "{name} 在屏幕上展示了“{title}”",
    "screen.cleared": "屏幕已清空",
    "portfolio.button": "我的投资组合",
    "portfolio.title": "我的投资组合",
    "portfolio.profile": "您的风险承受能力：C{risk}",
    "portfolio.product": "产品",
    "portfolio.risk": "风险",
    "portfolio.value": "市值",
    "portfolio.empty": "暂无持仓。",
    "status.invite-used": "此邀请已被使用，请索取新的邀请。",
    "status.invite-revoked": "此邀请已被撤回。",
    "invite.button": "邀请",
    "invite.title": "邀请访客",
    "invite.uses": "此链接可接纳的访客人数",
    "invite.create": "生成链接",
    "invite.link": "给访客的链接",
    "invite.qr": "链接的二维码",
    "invite.list": "邀请",
    "invite.until": "有效至 {time}，可用 {uses} 次",
    "invite.revoked": "已撤回",
    "invite.revoke": "撤回",
    "invite.guests": "房间内的访客",
    "invite.no-guests": "房间内没有访客。",
    "invite.remove": "请离",
    "notice.guest-title": "您是访客",
    "notice.ok": "我同意",
    "summary.button": "下载会谈摘要",
    "summary.failed": "无法下载摘要（{status}）。",
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
    "console.brief": "之前的对话（{n} 轮）",
    "console.brief-interrupted": "被打断",
    "console.brief-unanswered": "（尚未回答）",
    "console.brief-products": "讨论过的产品",
    "console.brief-decisions": "适合度判断",
    "seat.stand": "站起来",
    "media.controls": "语音和视频",
    "media.mic-join": "用麦克风加入",
    "media.cam-join": "用摄像头加入",
    "media.mic-on": "麦克风已开",
    "media.mic-off": "麦克风已关",
    "media.cam-on": "摄像头已开",
    "media.cam-off": "摄像头已关",
    "media.mic-starting": "正在开启…",
    "media.cam-starting": "正在开启…",
    "media.mic-none": "",
    "media.cam-none": "",
    "media.mic-press-off": "按下关闭麦克风",
    "media.mic-press-on": "按下打开麦克风",
    "media.cam-press-off": "按下关闭摄像头",
    "media.cam-press-on": "按下打开摄像头",
    "media.sound": "打开声音",
    "media.self": "您",
    "media.advisor": "您的顾问",
    "media.unavailable": "语音和视频暂时不可用。",
    "media.dev.audio": "麦克风",
    "media.dev.video": "摄像头",
    "media.dev.both": "麦克风和摄像头",
    "media.err.not-found": "浏览器没有找到{devices}。",
    "media.err.not-allowed": "浏览器未获准使用{devices}：请在网站设置（地址栏旁的图标）中允许，然后再按一次按钮。",
    "media.err.not-readable": "{devices}无法启动，可能正被其他应用程序占用。请关闭该程序后再按一次按钮。",
    "media.err.overconstrained": "{devices}无法提供所需的画面。",
    "media.err.other": "无法打开{devices}（{msg}）。",
    "media.got.audio": "您将仅用麦克风参与。",
    "media.got.video": "您将仅用摄像头参与。",
    "media.got.both": "",
    "media.got.none": "您将在不用麦克风和摄像头的情况下参与，仍可看到和听到所有人。",
    "media.failed": "语音和视频无法启动：{msg}",
    "media.why-denied": "访问被拒绝",
    "media.why-missing": "未找到设备",
    "media.why-busy": "设备正被其他应用使用",
    "media.why-other": "浏览器无法打开设备",
    "voice.title": "语音提问",
    "voice.hold": "按住提问",
    "voice.listening": "正在听…松开即发送",
    "voice.starting": "正在准备麦克风…",
    "voice.free-listening": "免提：直接说话",
    "voice.free": "免提",
    "voice.free-title": "没有顾问说话时，您说的每句话都会作为提问",
    "voice.heard-asked": "听到：“{text}”",
    "voice.heard-confirm": "您是想问“{text}”吗？",
    "voice.heard-type": "抱歉，暂时无法识别这种语言的语音，请输入您的问题。",
    "voice.heard-cut": "听到（超过 30 秒，已截断）：“{text}…” 请分几次简短提问。",
    "voice.heard-none": "没有听清。请按住按钮说话，说完再松开。",
    "voice.yes": "是，就问这个",
    "voice.no": "不是",
    "voice.declined": "未提问。请按住按钮重新提问。",
    "voice.mic-denied": "此页面的麦克风已被禁止。请在浏览器地址栏中允许使用麦克风以语音提问，或输入您的问题。",
    "voice.mic-missing": "未找到麦克风。请连接麦克风后语音提问，或输入您的问题。",
    "voice.mic-busy": "麦克风正被其他应用使用。请关闭该应用后重试，或输入您的问题。",
    "voice.mic-other": "无法打开麦克风。请输入您的问题。",
    "rec.on": "录制中",
    "rec.title": "本次会谈正在录制",
    "rec.days": "录制内容将保存 {days} 天。",
    "rec.ok": "我知道了",
    "rec.leave": "离开房间",
    "rec.started": "{name} 开始录制",
    "rec.stopped": "录制已停止",
    "advisor.record": "录制",
    "advisor.record-stop": "停止录制",
    "console.join-media": "以摄像头和麦克风进入房间",
    "appt.title": "预约",
    "appt.mine": "我的预约",
    "appt.none": "您还没有预约。",
    "appt.free": "可预约的时间",
    "appt.no-free": "目前没有可预约的时间。",
    "appt.zone": "时间按您所在的时区显示（{zone}）。",
    "appt.with": "顾问：{adv}",
    "appt.book": "预约",
    "appt.move": "改期",
    "appt.pick": "请在下方选择新时间",
    "appt.move-here": "改到这个时间",
    "appt.cancel": "取消",
    "appt.now": "预约时间已到",
    "appt.reminder": "您与{adv}的预约（{at}）现在开始，您的房间已开放。",
    "appt.enter": "进入房间",
    "appt.open": "预约",
    "appt.no-slot": "该时间已不再提供。",
    "appt.taken": "该时间刚被其他客户预约。",
    "appt.past": "该时间已过。",
    "appt.overlap": "与另一个预约时间重叠。",
    "appt.limit": "您的预约数量已达上限。",
    "appt.not-yours": "这不是您的预约。",
    "appt.withdrawn": "{adv}取消了您{at}的预约，请另选时间。",
    "appt.moved": "{adv}已将您的预约改到{at}。",
    "console.slots": "我的预约时段",
    "console.slot-start": "开始",
    "console.slot-length": "分钟",
    "console.slot-publish": "发布",
    "console.slot-free": "空闲",
    "console.slot-booked": "{customer} 已预约",
    "console.slot-honoured": "{customer}：已呼叫",
    "console.slots-empty": "尚未发布时段。",
    "console.slot-move": "改到",
    "console.first": "您的预约：优先交给您",
    "console.decline": "转给同事",
  },
  "zh-HK": ZH_HK,
};

export const LANGS = Object.keys(STRINGS);
// Each language named in itself, for the chooser.
export const LANG_NAMES = { en: "English", zh: "简体中文", "zh-HK": "繁體中文（香港）" };
const HTML_LANG = { en: "en", zh: "zh-Hans", "zh-HK": "zh-Hant-HK" };
const CHINESE = new Set(["zh", "zh-HK"]);

/** The interface language for a BCP 47 tag (a browser's) or a token's `lang` claim. */
export function uiLang(tag) {
  const t = String(tag || "").toLowerCase();
  if (t === "yue" || /^(zh-(hk|mo|tw|hant)|yue)\b/.test(t)) return "zh-HK";
  return t.startsWith("zh") ? "zh" : "en";
}

function initialLang() {
  const saved = loadPref("lang");
  if (saved && LANGS.includes(saved)) return saved;
  return uiLang(globalThis.navigator?.language);
}

let lang = initialLang();
let lastChinese = CHINESE.has(lang) ? lang : uiLang(globalThis.navigator?.language) === "zh-HK" ? "zh-HK" : "zh";
const listeners = new Set();

export function currentLang() {
  return lang;
}

/** The string for `key` in the current language, with {name} placeholders filled in. */
export function t(key, params = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => (params[k] === undefined ? `{${k}}` : String(params[k])));
}

/** `t(key)` when there is such a string, else `fallback` (a server's text we have no key for). */
export function tOr(key, fallback) {
  return key in STRINGS.en ? t(key) : fallback;
}

/** A specialty's name in the current language. */
export function specialty(sp) {
  return t(`sp.${sp || "general"}`);
}

// What the server sends as fixed text, in any of its languages, and the key we say it with:
// shown in the reader's language, and again in the new one after a switch.
const AI_LABELS = new Set(["AI-generated", "AI生成"]);
// The server says the same to Cantonese speakers in traditional characters (rooms/handoff_words.py).
const REASONS = new Map([
  // Suitability reasons (avatars/suitability.py) and the hand-off notices (rooms/handoff_words.py).
  ["complex product: a human advisor explains it", "reason.complex"],
  ["这是复杂产品，须由真人顾问讲解", "reason.complex"],
  ["risk profile not assessed", "reason.not-assessed"],
  ["尚未完成风险承受能力评估", "reason.not-assessed"],
  ["above the customer's risk profile", "reason.above-profile"],
  ["产品的风险等级高于客户的风险承受能力", "reason.above-profile"],
  ["the customer asked for a person", "reason.asked"],
  ["客户希望与真人顾问交谈", "reason.asked"],
  ["the customer confirmed interest in a product", "reason.interest"],
  ["客户确认对产品感兴趣", "reason.interest"],
  ["這是複雜產品，須由真人顧問講解", "reason.complex"],
  ["尚未完成風險承受能力評估", "reason.not-assessed"],
  ["產品的風險等級高於客户的風險承受能力", "reason.above-profile"],
  ["客户希望與真人顧問交談", "reason.asked"],
  ["客户確認對產品感興趣", "reason.interest"],
]);

/** The AI label in the current language when `label` is the server's AI label in any. */
export function aiLabel(label) {
  if (!label || AI_LABELS.has(label)) return t("ai.label");
  return label;
}

/** Why a person takes over, in the current language when the server's text is a known one. */
export function reasonText(why) {
  const key = REASONS.get(why ?? "");
  return key ? t(key) : (why ?? "");
}

/** Switch the interface to `next`; a choice the reader made (`save`) is kept for next time. */
export function setLang(next, { save = true } = {}) {
  if (!LANGS.includes(next)) return;
  if (save) savePref("lang", next);
  if (next === lang) return;
  lang = next;
  if (CHINESE.has(next)) lastChinese = next;
  if (globalThis.document) applyStatic(document);
  for (const fn of listeners) fn(lang);
}

/** The token's language claim, unless the reader chose a language before. */
export function adoptTokenLang(claim) {
  if (!claim || loadPref("lang")) return;
  setLang(uiLang(claim), { save: false });
}

/** English, or back to the Chinese last used. */
export function toggleLang() {
  setLang(lang === "en" ? lastChinese : "en");
}

/** A <select> offering every language, following the current one. */
export function mountLangChooser(select) {
  select.replaceChildren(
    ...LANGS.map((code) => {
      const option = document.createElement("option");
      option.value = code;
      option.lang = HTML_LANG[code];
      option.textContent = LANG_NAMES[code];
      return option;
    }),
  );
  select.value = lang;
  select.addEventListener("change", () => setLang(select.value));
  onLangChange((now) => {
    select.value = now;
  });
}

/** Call `fn(lang)` whenever the language changes (to redraw dynamic text). */
export function onLangChange(fn) {
  listeners.add(fn);
}

/** Label every [data-i18n] element (text) and [data-i18n-placeholder] (placeholder). */
export function applyStatic(root) {
  document.documentElement.lang = HTML_LANG[lang];
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
}
