"""Billing: balance, top-up, history, low-balance alert, auto top-up, and their mails."""

EN = {
    "nav.billing": "Billing",
    "billing.balance": "Balance",
    "billing.card": "Saved card",
    "billing.no_card": "No card saved yet.",
    "billing.topup.title": "Add credit",
    "billing.topup.body": (
        "Pay by card on Stripe's page. The credit appears here as soon as Stripe confirms "
        "the payment."
    ),
    "billing.topup.custom": "Other amount (USD)",
    "billing.topup.range": "Any amount from",
    "billing.topup.range_to": "to",
    "billing.topup.submit": "Top up",
    "billing.topup.not_configured": (
        "Top-up is not configured on this server (no Stripe key). Everything else works; "
        "ask the operator for credit."
    ),
    "billing.history.title": "History",
    "billing.history.date": "Date",
    "billing.history.what": "What",
    "billing.history.amount": "Amount",
    "billing.history.balance_after": "Balance after",
    "billing.history.empty": "No balance changes yet.",
    "billing.history.usage_day": "Usage (daily total)",
    "billing.kind.topup": "Top-up",
    "billing.kind.usage": "Usage",
    "billing.kind.refund": "Refund",
    "billing.kind.adjustment": "Adjustment",
    "billing.kind.grant": "Credit granted",
    "billing.alert.title": "Low-balance alert",
    "billing.alert.body": (
        "We email you once when your balance falls below this amount, and again only after "
        "it has been topped up clearly above it. 0 turns the alert off."
    ),
    "billing.alert.threshold": "Alert me below (USD)",
    "billing.alert.saved": "Alert threshold saved.",
    "billing.auto.title": "Auto top-up",
    "billing.auto.body": (
        "When your balance falls below an amount, we charge your saved card for the amount "
        "you choose. If the card is declined, auto top-up turns itself off and we email you."
    ),
    "billing.auto.enabled": "Turn on auto top-up",
    "billing.auto.below": "When the balance is below (USD)",
    "billing.auto.amount": "Add (USD)",
    "billing.auto.interval": "At most one automatic charge every (minutes):",
    "billing.auto.needs_card": (
        "Auto top-up needs a saved card, and none is saved yet. Top up once by card under "
        '"Add credit" above: Stripe saves that card, and auto top-up then charges it.'
    ),
    "billing.auto.not_configured": (
        "Auto top-up is not available: card payments are not configured on this server (no "
        "Stripe key). Ask the operator for credit."
    ),
    "billing.auto.saved": "Auto top-up settings saved.",
    "billing.error.amount": "Give the amount in dollars, e.g. 10 or 2.50.",
    "billing.error.auto_range": (
        "The auto top-up amount must be within the top-up limits, and the trigger above 0."
    ),
    "billing.error.no_card": "Top up once by card first.",
    "billing.banner.low": "Your balance is low:",
    "billing.banner.cta": "Add credit",
    "billing.success.title": "Payment",
    "billing.success.pending": (
        "Waiting for Stripe to confirm your payment… This page updates by itself."
    ),
    "billing.success.credited": "Your payment is confirmed and the credit is in your balance.",
    "billing.success.unknown": "We know of no such payment for your account.",
    "billing.back": "Back to billing",
    "billing.pricing_link": "Prices per model",
    "billing.cancel.title": "Top-up cancelled",
    "billing.cancel.body": "You cancelled the payment. Nothing was charged.",
    "error.topup_amount_invalid": "Give the amount in dollars and cents, e.g. 10 or 12.50.",
    "error.topup_amount_range": "That amount is outside the allowed range.",
    "error.topup_not_configured": "Top-up is not configured on this server.",
    "error.stripe_unavailable": "The payment provider did not answer. Try again in a moment.",
    "mail.key_budget.subject": 'Key "{name}" has used {percent}% of its {period} budget',
    "mail.key_budget.body": (
        'Your aiusage key "{name}" has spent {spent} of its {period} budget of {budget} '
        "({percent}%).\n\nAt 100% its requests are refused (402) until the budget resets at "
        "{reset}. Change the budget or its alerts here:\n{link}\n"
    ),
    "mail.key_budget.period.day": "daily",
    "mail.key_budget.period.week": "weekly",
    "mail.key_budget.period.month": "monthly",
    "mail.low_balance.subject": "Your aiusage balance is low: {balance}",
    "mail.low_balance.body": (
        "Your aiusage balance is {balance}, below your alert threshold of {threshold}.\n\n"
        "When the balance runs out, requests through the proxy are refused (402). Add credit "
        "or change the threshold here:\n{link}\n\n"
        "We will not mail you about this again until your balance has been above {rearm}.\n"
    ),
    "mail.receipt.subject": "Receipt: {amount} added to your aiusage balance",
    "mail.receipt.body": (
        "Thank you. This is your receipt.\n\n"
        "Amount: {amount}\nPaid with: {method}\nNew balance: {balance}\nDate: {date}\n"
        "Reference: {reference}\n\nYour billing history: {link}\n"
    ),
    "mail.receipt.card": "card ending in {last4}",
    "mail.receipt.auto": "auto top-up, card ending in {last4}",
    "mail.auto_topup_declined.subject": "aiusage auto top-up failed: your card was declined",
    "mail.auto_topup_declined.body": (
        "We tried to top up your aiusage balance automatically, but the card was declined "
        "({reason}).\n\nAuto top-up is now turned off. Top up by hand or update your card "
        "here, then turn it on again:\n{link}\n"
    ),
    # The Connect page's first request, watched live (kept here beside the money texts:
    # it is the moment an account starts to spend).
    "connect.first.waiting": (
        "Waiting for your first request… Run one of the snippets below with your key; this "
        "turns green as soon as the request arrives."
    ),
    "connect.first.received": "First request received:",
    "connect.first.stopped": (
        "Stopped waiting for your first request. Reload this page to wait for it again."
    ),
}

ZH = {
    "nav.billing": "账单",
    "billing.balance": "余额",
    "billing.card": "已保存的银行卡",
    "billing.no_card": "尚未保存银行卡。",
    "billing.topup.title": "充值",
    "billing.topup.body": (
        "在 Stripe 的页面上用银行卡付款。Stripe 确认付款后，额度会立即显示在这里。"
    ),
    "billing.topup.custom": "其他金额（美元）",
    "billing.topup.range": "金额范围：",
    "billing.topup.range_to": "至",
    "billing.topup.submit": "充值",
    "billing.topup.not_configured": (
        "此服务器未配置充值功能（没有 Stripe 密钥）。其他功能均可正常使用；如需额度请联系运营方。"
    ),
    "billing.history.title": "记录",
    "billing.history.date": "日期",
    "billing.history.what": "项目",
    "billing.history.amount": "金额",
    "billing.history.balance_after": "变动后余额",
    "billing.history.empty": "暂无余额变动。",
    "billing.history.usage_day": "用量（按日汇总）",
    "billing.kind.topup": "充值",
    "billing.kind.usage": "用量",
    "billing.kind.refund": "退款",
    "billing.kind.adjustment": "调整",
    "billing.kind.grant": "赠送额度",
    "billing.alert.title": "余额不足提醒",
    "billing.alert.body": (
        "余额低于此金额时，我们会给您发送一封邮件；只有在充值使余额明显高于该金额后再次低于它，"
        "才会再次提醒。设为 0 即关闭提醒。"
    ),
    "billing.alert.threshold": "余额低于此值时提醒（美元）",
    "billing.alert.saved": "提醒金额已保存。",
    "billing.auto.title": "自动充值",
    "billing.auto.body": (
        "当余额低于设定金额时，我们会从您保存的银行卡扣取您选择的金额。如果扣款被拒，"
        "自动充值会自动关闭，并通过邮件通知您。"
    ),
    "billing.auto.enabled": "开启自动充值",
    "billing.auto.below": "余额低于（美元）时",
    "billing.auto.amount": "充值（美元）",
    "billing.auto.interval": "两次自动扣款的最短间隔（分钟）：",
    "billing.auto.needs_card": (
        "自动充值需要一张已保存的银行卡，目前还没有。请先在上方“充值”处用银行卡充值一次："
        "Stripe 会保存这张卡，之后自动充值就从这张卡扣款。"
    ),
    "billing.auto.not_configured": (
        "自动充值不可用：此服务器未配置银行卡付款（没有 Stripe 密钥）。如需额度，请联系运营方。"
    ),
    "billing.auto.saved": "自动充值设置已保存。",
    "billing.error.amount": "请以美元填写金额，例如 10 或 2.50。",
    "billing.error.auto_range": "自动充值金额必须在充值上下限之内，触发金额必须大于 0。",
    "billing.error.no_card": "请先用银行卡充值一次。",
    "billing.banner.low": "您的余额不足：",
    "billing.banner.cta": "充值",
    "billing.success.title": "付款",
    "billing.success.pending": "正在等待 Stripe 确认付款……此页面会自动更新。",
    "billing.success.credited": "付款已确认，额度已计入您的余额。",
    "billing.success.unknown": "您的账户中没有这笔付款。",
    "billing.back": "返回账单",
    "billing.pricing_link": "各模型价格",
    "billing.cancel.title": "已取消充值",
    "billing.cancel.body": "您取消了付款，未产生任何扣款。",
    "error.topup_amount_invalid": "请以美元填写金额，最多两位小数，例如 10 或 12.50。",
    "error.topup_amount_range": "该金额超出允许的范围。",
    "error.topup_not_configured": "此服务器未配置充值功能。",
    "error.stripe_unavailable": "支付服务没有响应，请稍后再试。",
    "mail.key_budget.subject": "密钥“{name}”已用掉{period}预算的 {percent}%",
    "mail.key_budget.body": (
        "您的 aiusage 密钥“{name}”已花费 {spent}，{period}预算为 {budget}（{percent}%）。\n\n"
        "达到 100% 后，该密钥的请求将被拒绝（402），直到预算在 {reset} 重置。"
        "在这里修改预算或提醒：\n{link}\n"
    ),
    "mail.key_budget.period.day": "每日",
    "mail.key_budget.period.week": "每周",
    "mail.key_budget.period.month": "每月",
    "mail.low_balance.subject": "您的 aiusage 余额不足：{balance}",
    "mail.low_balance.body": (
        "您的 aiusage 余额为 {balance}，已低于您设置的提醒金额 {threshold}。\n\n"
        "余额用完后，通过代理发出的请求将被拒绝（402）。请在此充值或修改提醒金额：\n{link}\n\n"
        "在您的余额重新高于 {rearm} 之前，我们不会再就此发送邮件。\n"
    ),
    "mail.receipt.subject": "收据：已向您的 aiusage 余额充值 {amount}",
    "mail.receipt.body": (
        "感谢您的付款，以下是您的收据。\n\n"
        "金额：{amount}\n支付方式：{method}\n新余额：{balance}\n日期：{date}\n"
        "编号：{reference}\n\n账单记录：{link}\n"
    ),
    "mail.receipt.card": "尾号 {last4} 的银行卡",
    "mail.receipt.auto": "自动充值，尾号 {last4} 的银行卡",
    "mail.auto_topup_declined.subject": "aiusage 自动充值失败：银行卡被拒绝",
    "mail.auto_topup_declined.body": (
        "我们尝试为您的 aiusage 余额自动充值，但银行卡被拒绝（{reason}）。\n\n"
        "自动充值现已关闭。请在此手动充值或更新银行卡，然后重新开启：\n{link}\n"
    ),
    "connect.first.waiting": (
        "正在等待你的第一个请求……用你的密钥运行下面任一代码片段，请求一到达，这里就会变成绿色。"
    ),
    "connect.first.received": "已收到第一个请求：",
    "connect.first.stopped": "已停止等待第一个请求。重新加载此页面即可继续等待。",
}
