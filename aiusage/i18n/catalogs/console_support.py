"""The console's support inbox and audit log, and the reply mail a user receives."""

EN = {
    # the support inbox
    "console.support.filter.open": "Open",
    "console.support.filter.closed": "Closed",
    "console.support.filter.all": "All",
    "console.support.none": "No messages here.",
    "console.support.from": "From",
    "console.support.language": "Replies in",
    "console.support.received": "Received",
    "console.support.closed_at": "Closed",
    "console.support.status.open": "Open",
    "console.support.status.closed": "Closed",
    "console.support.source.form": "Contact form",
    "console.support.source.assistant": "From the assistant",
    "console.support.replies": "Replies",
    "console.support.no_replies": "No reply yet.",
    "console.support.reply_label": "Reply by email",
    "console.support.reply_hint": (
        "Plain text, at most 10,000 characters. It is mailed to the user in their language, "
        "with the subject “Re: …”, and kept with the message."
    ),
    "console.support.send": "Send reply",
    "console.support.close": "Close",
    "console.support.reopen": "Reopen",
    "console.support.older": "Older messages",
    "console.support.newest": "Newest messages",
    "console.support.sent": "Reply sent: it is on its way by email.",
    "console.support.closed": "Message closed.",
    "console.support.reopened": "Message reopened.",
    "console.support.unchanged": "Nothing changed: the message already was in that state.",
    "console.error.support_message_not_found": "There is no such message (it may be purged).",
    "console.error.support_reply_required": "Write your reply.",
    "console.error.support_reply_too_long": "The reply is too long: at most 10,000 characters.",
    "console.error.support_reply_invalid": (
        "The reply contains characters that cannot be sent (control characters)."
    ),
    "console.error.support_bad_filter": "Show open, closed or all messages.",
    # the audit log
    "console.audit.intro": (
        "Every change made in the console or with the command line: who, when (UTC), what, "
        "on what, why, and the values before and after. Entries cannot be changed or deleted."
    ),
    "console.audit.action": "Action",
    "console.audit.target_type": "Target type",
    "console.audit.target_id": "Target id",
    "console.audit.actor": "Operator",
    "console.audit.from": "From (UTC day)",
    "console.audit.to": "To (UTC day)",
    "console.audit.filter_hint": (
        "Action: exact (support.reply) or a prefix ending in a dot (credit.). Operator: the "
        "email address, or cli."
    ),
    "console.audit.apply": "Filter",
    "console.audit.clear": "Clear",
    "console.audit.who": "Who",
    "console.audit.target": "Target",
    "console.audit.reason": "Reason",
    "console.audit.change": "Change",
    "console.audit.none": "No entries match.",
    "console.audit.older": "Older entries",
    "console.audit.newest": "Newest entries",
    "console.error.audit_filter_invalid": "A filter is too long or has characters not allowed.",
    "console.error.audit_bad_date": "Give the days as dates, the first not after the last.",
    # the reply mail
    "mail.support_reply.subject": "Re: {subject}",
    "mail.support_reply.body": (
        "Hello,\n\naiusage support has answered your message “{subject}”:\n\n{reply}\n\n"
        "To write to us again, use the support page of your dashboard: {link}\n"
    ),
}

ZH = {
    # the support inbox
    "console.support.filter.open": "未关闭",
    "console.support.filter.closed": "已关闭",
    "console.support.filter.all": "全部",
    "console.support.none": "这里没有消息。",
    "console.support.from": "发件人",
    "console.support.language": "回复语言",
    "console.support.received": "收到于",
    "console.support.closed_at": "关闭于",
    "console.support.status.open": "未关闭",
    "console.support.status.closed": "已关闭",
    "console.support.source.form": "联系表单",
    "console.support.source.assistant": "来自智能助手",
    "console.support.replies": "回复",
    "console.support.no_replies": "尚未回复。",
    "console.support.reply_label": "通过邮件回复",
    "console.support.reply_hint": (
        "纯文本，最多 10,000 个字符。回复会以用户的语言、主题“Re: …”发送到用户的邮箱，"
        "并与该消息一起保存。"
    ),
    "console.support.send": "发送回复",
    "console.support.close": "关闭",
    "console.support.reopen": "重新打开",
    "console.support.older": "更早的消息",
    "console.support.newest": "最新的消息",
    "console.support.sent": "回复已发出，正通过邮件送达。",
    "console.support.closed": "消息已关闭。",
    "console.support.reopened": "消息已重新打开。",
    "console.support.unchanged": "没有变化：该消息已处于该状态。",
    "console.error.support_message_not_found": "没有这条消息（可能已被清除）。",
    "console.error.support_reply_required": "请填写回复内容。",
    "console.error.support_reply_too_long": "回复太长：最多 10,000 个字符。",
    "console.error.support_reply_invalid": "回复中含有无法发送的字符（控制字符）。",
    "console.error.support_bad_filter": "请选择显示未关闭、已关闭或全部消息。",
    # the audit log
    "console.audit.intro": (
        "在控制台或命令行中进行的每一项更改：操作人、时间（UTC）、操作、对象、原因，以及更改前后"
        "的值。记录无法修改或删除。"
    ),
    "console.audit.action": "操作",
    "console.audit.target_type": "对象类型",
    "console.audit.target_id": "对象 ID",
    "console.audit.actor": "操作员",
    "console.audit.from": "起始日（UTC）",
    "console.audit.to": "结束日（UTC）",
    "console.audit.filter_hint": (
        "操作：完整名称（support.reply）或以点结尾的前缀（credit.）。操作员：邮箱地址，或 cli。"
    ),
    "console.audit.apply": "筛选",
    "console.audit.clear": "清除",
    "console.audit.who": "操作人",
    "console.audit.target": "对象",
    "console.audit.reason": "原因",
    "console.audit.change": "更改",
    "console.audit.none": "没有符合条件的记录。",
    "console.audit.older": "更早的记录",
    "console.audit.newest": "最新的记录",
    "console.error.audit_filter_invalid": "某个筛选条件太长或含有不允许的字符。",
    "console.error.audit_bad_date": "请以日期填写起止日，且起始日不能晚于结束日。",
    # the reply mail
    "mail.support_reply.subject": "Re: {subject}",
    "mail.support_reply.body": (
        "你好，\n\naiusage 客服已回复你的消息“{subject}”：\n\n{reply}\n\n"
        "如需再次联系我们，请使用控制面板中的客服页面：{link}\n"
    ),
}
