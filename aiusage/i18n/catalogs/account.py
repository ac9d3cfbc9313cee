"""Settings, data export and deletion, support form, cookie banner, footer: pages, notices,
errors and mails."""

EN = {
    "nav.settings": "Settings",
    "nav.support": "Support",
    "footer.cookie_settings": "Cookie settings",
    "footer.made": "aiusage — we meter your requests, never their content.",
    # settings
    "settings.email.title": "Email address",
    "settings.email.current": "Current address",
    "settings.email.new": "New email address",
    "settings.email.submit": "Send confirmation link",
    "settings.email.hint": (
        "We send a link to the new address. Your address changes when you open it."
    ),
    "settings.email.sent": (
        "We sent a confirmation link to the new address. Your email changes when you open it."
    ),
    "settings.password.title": "Password",
    "settings.password.current": "Current password",
    "settings.password.new": "New password (at least 8 characters)",
    "settings.password.submit": "Change password",
    "settings.password.hint": "Changing your password signs out your other browsers.",
    "settings.language.title": "Language",
    "settings.language.hint": "The dashboard and the emails we send you use this language.",
    "settings.alerts.title": "Low-balance alert",
    "settings.alerts.label": "Email me when my balance falls below (USD)",
    "settings.alerts.hint": (
        "Leave empty to use the default threshold shown; enter 0 to turn the alert off."
    ),
    "settings.alerts.submit": "Save threshold",
    "settings.alerts.saved": "The low-balance threshold is saved.",
    "settings.marketing.title": "Emails",
    "settings.marketing.label": "Send me product news and offers",
    "settings.marketing.hint": (
        "Account emails (confirmations, receipts, balance alerts) are always sent."
    ),
    "settings.marketing.saved": "Your email preference is saved.",
    "settings.sessions.title": "Sign out everywhere",
    "settings.sessions.hint": (
        "Ends every session of this account on every device, this browser included."
    ),
    "settings.sessions.submit": "Sign out everywhere",
    "settings.export.title": "Download your data",
    "settings.export.hint": (
        "A zip of JSON and CSV files: your account, keys' metadata (never a secret), usage, "
        "ledger and support messages."
    ),
    "settings.export.submit": "Download my data",
    "settings.delete.title": "Delete account",
    "settings.delete.hint": (
        "Sign-in, your proxy keys and your provider keys stop working at once. The rest of "
        "your personal data is purged after the grace period in the privacy policy; balance "
        "records are kept anonymised for accounting. This cannot be undone."
    ),
    "settings.delete.confirm": "Type your email address to confirm",
    "settings.delete.submit": "Delete my account",
    # support
    "support.intro": (
        "Questions, problems, requests about your data: write to us here. We answer by email "
        "at your account's address."
    ),
    "support.subject": "Subject",
    "support.body": "Message",
    "support.submit": "Send message",
    "support.sent": "Thank you, your message is sent. We will answer by email.",
    "support.history": "Your recent messages",
    "support.none": "You have not sent any message yet.",
    # consent banner
    "consent.text": (
        "With your consent we use Google Tag Manager for analytics, which sets cookies. The "
        "sign-in cookie is always used: it is strictly necessary."
    ),
    "consent.accept": "Accept analytics",
    "consent.decline": "Decline",
    "consent.more": "Privacy policy",
    # flash messages (query ?error= / ?notice=)
    "error.email_unchanged": "That is already your email address.",
    "error.bad_threshold": "Give the amount in dollars, e.g. 5 or 2.50.",
    "error.delete_confirm_mismatch": (
        "The address you typed is not your account's email address. Nothing was deleted."
    ),
    "error.support_subject_required": "Give your message a subject.",
    "error.support_subject_too_long": "The subject is too long (at most 200 characters).",
    "error.support_body_required": "Write your message.",
    "error.support_body_too_long": "The message is too long (at most 10,000 characters).",
    "notice.account_deleted": (
        "Your account is deleted. Your keys no longer work and you are signed out everywhere."
    ),
    "notice.email_changed": "Your email address is changed.",
    "notice.signed_out_everywhere": "You are signed out on every device.",
    # mails
    "mail.email_change.subject": "Confirm your new aiusage email address",
    "mail.email_change.body": (
        "Someone asked to change the email address of the aiusage account {old} to this "
        "address.\n\nConfirm the change by opening this link:\n{link}\n\nThe link works once "
        "and expires in {hours} hours. If it was not you, ignore this mail.\n"
    ),
    "mail.email_changed.subject": "Your aiusage email address was changed",
    "mail.email_changed.body": (
        "The email address of your aiusage account was changed to {new}.\n\nIf you did not "
        "do this, write to {contact} at once.\n"
    ),
    "mail.closed.subject": "Your aiusage account is deleted",
    "mail.closed.body": (
        "Your aiusage account is closed: you are signed out everywhere, your proxy keys no "
        "longer work and your stored provider keys are destroyed.\n\nThe rest of your personal "
        "data will be purged after {days} days (on {date}); balance records are kept "
        "anonymised for accounting.\n\nIf you did not ask for this, write to {contact} at "
        "once.\n"
    ),
    "mail.support.subject": "[aiusage support] {subject}",
    "mail.support.body": (
        "Support message #{id} from user {user_id} <{email}> (language: {locale}).\n\n"
        "Subject: {subject}\n\n{body}\n"
    ),
}

ZH = {
    "nav.settings": "设置",
    "nav.support": "客服",
    "footer.cookie_settings": "Cookie 设置",
    "footer.made": "aiusage —— 我们统计你的请求用量，从不保存请求内容。",
    # settings
    "settings.email.title": "邮箱地址",
    "settings.email.current": "当前地址",
    "settings.email.new": "新邮箱地址",
    "settings.email.submit": "发送确认链接",
    "settings.email.hint": "我们会把链接发送到新地址，你打开链接后邮箱地址才会更改。",
    "settings.email.sent": "我们已向新地址发送确认链接，打开链接后你的邮箱地址即会更改。",
    "settings.password.title": "密码",
    "settings.password.current": "当前密码",
    "settings.password.new": "新密码（至少 8 个字符）",
    "settings.password.submit": "修改密码",
    "settings.password.hint": "修改密码后，你在其他浏览器上的登录会被退出。",
    "settings.language.title": "语言",
    "settings.language.hint": "控制台和我们发给你的邮件都使用该语言。",
    "settings.alerts.title": "余额不足提醒",
    "settings.alerts.label": "余额低于以下金额时给我发邮件（美元）",
    "settings.alerts.hint": "留空则使用所示的默认阈值；输入 0 则关闭提醒。",
    "settings.alerts.submit": "保存阈值",
    "settings.alerts.saved": "余额不足提醒阈值已保存。",
    "settings.marketing.title": "邮件",
    "settings.marketing.label": "向我发送产品资讯和优惠信息",
    "settings.marketing.hint": "账户邮件（确认邮件、收据、余额提醒）始终会发送。",
    "settings.marketing.saved": "你的邮件偏好已保存。",
    "settings.sessions.title": "在所有设备上退出登录",
    "settings.sessions.hint": "结束此账户在所有设备上的全部会话，包括当前浏览器。",
    "settings.sessions.submit": "在所有设备上退出",
    "settings.export.title": "下载你的数据",
    "settings.export.hint": (
        "一个包含 JSON 和 CSV 文件的 zip 压缩包：你的账户、密钥的元数据（绝不含密钥本身）、"
        "用量、账目和客服消息。"
    ),
    "settings.export.submit": "下载我的数据",
    "settings.delete.title": "删除账户",
    "settings.delete.hint": (
        "登录、你的代理密钥和提供商密钥会立即失效。其余个人数据会在隐私政策所述的宽限期后"
        "清除；余额记录会匿名保留以供会计使用。此操作无法撤销。"
    ),
    "settings.delete.confirm": "输入你的邮箱地址以确认",
    "settings.delete.submit": "删除我的账户",
    # support
    "support.intro": (
        "有问题、遇到故障或有关于你的数据的请求？请在这里写信给我们。我们会回复到你账户的邮箱。"
    ),
    "support.subject": "主题",
    "support.body": "内容",
    "support.submit": "发送消息",
    "support.sent": "谢谢，你的消息已发送。我们会通过邮件回复你。",
    "support.history": "你最近的消息",
    "support.none": "你还没有发送过消息。",
    # consent banner
    "consent.text": (
        "经你同意后，我们会使用 Google Tag Manager 进行分析，它会设置 Cookie。登录 Cookie "
        "始终会使用：它是严格必要的。"
    ),
    "consent.accept": "接受分析",
    "consent.decline": "拒绝",
    "consent.more": "隐私政策",
    # flash messages
    "error.email_unchanged": "这已经是你的邮箱地址。",
    "error.bad_threshold": "请以美元填写金额，例如 5 或 2.50。",
    "error.delete_confirm_mismatch": "你输入的地址不是你账户的邮箱地址，没有删除任何内容。",
    "error.support_subject_required": "请填写消息主题。",
    "error.support_subject_too_long": "主题过长（最多 200 个字符）。",
    "error.support_body_required": "请填写消息内容。",
    "error.support_body_too_long": "消息过长（最多 10,000 个字符）。",
    "notice.account_deleted": "你的账户已删除。你的密钥已失效，你已在所有设备上退出登录。",
    "notice.email_changed": "你的邮箱地址已更改。",
    "notice.signed_out_everywhere": "你已在所有设备上退出登录。",
    # mails
    "mail.email_change.subject": "确认你的 aiusage 新邮箱地址",
    "mail.email_change.body": (
        "有人申请把 aiusage 账户 {old} 的邮箱地址更改为本地址。\n\n请打开以下链接确认更改：\n"
        "{link}\n\n该链接只能使用一次，{hours} 小时后失效。如果不是你本人操作，请忽略本邮件。\n"
    ),
    "mail.email_changed.subject": "你的 aiusage 邮箱地址已更改",
    "mail.email_changed.body": (
        "你的 aiusage 账户的邮箱地址已更改为 {new}。\n\n如果这不是你本人操作，请立即写信至 "
        "{contact}。\n"
    ),
    "mail.closed.subject": "你的 aiusage 账户已删除",
    "mail.closed.body": (
        "你的 aiusage 账户已关闭：你已在所有设备上退出登录，你的代理密钥已失效，你保存的提供商"
        "密钥已被销毁。\n\n其余个人数据将在 {days} 天后（{date}）清除；余额记录会匿名保留以供"
        "会计使用。\n\n如果这不是你本人的请求，请立即写信至 {contact}。\n"
    ),
    "mail.support.subject": "[aiusage 客服] {subject}",
    "mail.support.body": (
        "来自用户 {user_id} <{email}>（语言：{locale}）的客服消息 #{id}。\n\n"
        "主题：{subject}\n\n{body}\n"
    ),
}
