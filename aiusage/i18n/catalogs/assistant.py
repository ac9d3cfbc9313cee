"""The onsite assistant: the floating button, its panel and its messages.

`assistant.note` is filled when the app is built ({days}: the support retention the purge
applies to conversations, as on the privacy page)."""

EN = {
    "assistant.open": "Ask the assistant",
    "assistant.title": "Help assistant",
    "assistant.note": (
        "Answers are written by an AI model from aiusage's documentation and may be wrong. "
        "Your questions are sent to the model provider; the conversation is kept for {days} "
        "days, like support messages. Never paste a key or a password."
    ),
    "assistant.empty": ("Ask how to connect your tools, about keys, prices, credit or your data."),
    "assistant.placeholder": "Your question",
    "assistant.send": "Send",
    "assistant.thinking": "Looking it up…",
    "assistant.you": "You",
    "assistant.bot": "Assistant",
    "assistant.new": "New conversation",
    "assistant.close": "Close",
    "assistant.handover": "Hand over to support",
    "assistant.handover.signed_in": (
        "Support receives this conversation and answers at your account's email address."
    ),
    "assistant.handover.signed_out": (
        "Support receives this conversation and answers by email. Your address:"
    ),
    "assistant.email": "Email address",
    "assistant.handover.send": "Send to support",
    "assistant.handed_over": "Sent to support: they will answer by email.",
    "assistant.error.question_required": "Type a question.",
    "assistant.error.question_too_long": "Ask in at most 1,000 characters.",
    "assistant.error.bad_text": "The question contains characters that are not allowed.",
    "assistant.error.secret": (
        "That looks like a key or a password. Never paste one here: ask without it."
    ),
    "assistant.error.conversation_full": (
        "This conversation is long enough: start a new one, or hand it over to support."
    ),
    "assistant.error.rate_limited": "Too many questions. Wait a few minutes and try again.",
    "assistant.error.unavailable": (
        "The assistant cannot answer right now. Try again later, or hand the conversation "
        "over to support."
    ),
    "assistant.error.nothing_to_hand_over": "Ask a question first.",
    "assistant.error.already_handed_over": "This conversation was already sent to support.",
}

ZH = {
    "assistant.open": "询问助手",
    "assistant.title": "帮助助手",
    "assistant.note": (
        "回答由 AI 模型根据 aiusage 的文档生成，可能有误。你的问题会发送给模型提供商；对话与客服"
        "消息一样保存 {days} 天。切勿在此粘贴密钥或密码。"
    ),
    "assistant.empty": "可以询问如何接入你的工具，以及密钥、价格、余额或你的数据等问题。",
    "assistant.placeholder": "你的问题",
    "assistant.send": "发送",
    "assistant.thinking": "正在查找…",
    "assistant.you": "你",
    "assistant.bot": "助手",
    "assistant.new": "新对话",
    "assistant.close": "关闭",
    "assistant.handover": "转交客服",
    "assistant.handover.signed_in": "客服会收到这段对话，并回复到你账户的邮箱地址。",
    "assistant.handover.signed_out": "客服会收到这段对话，并通过邮件回复。你的邮箱地址：",
    "assistant.email": "邮箱地址",
    "assistant.handover.send": "发送给客服",
    "assistant.handed_over": "已发送给客服：他们会通过邮件回复你。",
    "assistant.error.question_required": "请输入问题。",
    "assistant.error.question_too_long": "问题最多 1,000 个字符。",
    "assistant.error.bad_text": "问题中含有不允许的字符。",
    "assistant.error.secret": "这看起来像密钥或密码。切勿在此粘贴：请去掉它再提问。",
    "assistant.error.conversation_full": "这段对话已经够长了：请开始新对话，或将其转交客服。",
    "assistant.error.rate_limited": "提问过于频繁，请等几分钟再试。",
    "assistant.error.unavailable": "助手暂时无法回答。请稍后再试，或将对话转交客服。",
    "assistant.error.nothing_to_hand_over": "请先提一个问题。",
    "assistant.error.already_handed_over": "这段对话已经发送给客服。",
}
