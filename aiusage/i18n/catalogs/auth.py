"""Landing page, sign-up, log-in, password reset: pages, errors, notices and mails."""

EN = {
    "landing.title": "One gateway for your AI model APIs",
    "landing.body": (
        "Point Claude Code, the Anthropic and OpenAI SDKs or curl at aiusage. We forward every "
        "request, meter its tokens and cost, charge it against your credit, and show you your "
        "spend over time — never the content."
    ),
    "landing.cta_signup": "Create an account",
    "landing.cta_login": "Log in",
    "auth.email": "Email",
    "auth.password": "Password",
    "auth.password_new": "Password (at least 8 characters)",
    "auth.login.title": "Log in",
    "auth.login.submit": "Log in",
    "auth.login.forgot": "Forgot your password?",
    "auth.login.to_signup": "Create an account",
    "auth.signup.title": "Create your account",
    "auth.signup.submit": "Sign up",
    "auth.signup.to_login": "Already have an account? Log in",
    "auth.forgot.title": "Reset your password",
    "auth.forgot.body": "We will mail you a link to choose a new password.",
    "auth.forgot.submit": "Send the link",
    "auth.reset.title": "Choose a new password",
    "auth.reset.password": "New password",
    "auth.reset.submit": "Save the new password",
    "overview.signed_in_as": "Signed in as",
    "overview.placeholder": "Your usage and balance will appear here.",
    "error.email_required": "Enter your email address.",
    "error.email_invalid": "That does not look like an email address.",
    "error.email_taken": "An account with this email already exists. Log in instead.",
    "error.password_required": "Enter a password.",
    "error.password_too_short": "Use at least 8 characters for your password.",
    "error.password_too_long": "Use at most 256 characters for your password.",
    "error.invalid_credentials": "Wrong email or password.",
    "error.email_not_verified": "Confirm your email address first: we sent you a link.",
    "error.account_suspended": "This account is suspended. Contact support to find out why.",
    "error.rate_limited": "Too many attempts. Wait a few minutes and try again.",
    "error.token_invalid": "This link is invalid or has expired. Ask for a new one.",
    "error.wrong_password": "Your current password is not right.",
    "error.current_password_required": "Enter your current password.",
    "error.csrf": "This form was not sent from this site. Reload the page and try again.",
    "error.too_large": "The form is too large.",
    "error.bad_request": "The request could not be read.",
    "error.signed_out": "Sign in again.",
    "notice.check_email": "Check your inbox: we sent you a link to confirm your email address.",
    "notice.verified": "Your email address is confirmed. You can log in now.",
    "notice.signed_out": "You are signed out.",
    "notice.reset_sent": (
        "If an account exists for that address, we sent it a link to reset the password."
    ),
    "notice.password_reset": "Your password is changed. Log in with the new one.",
    "notice.password_changed": "Your password is changed. Your other sessions were signed out.",
    "mail.verify.subject": "Confirm your aiusage email address",
    "mail.verify.body": (
        "Welcome to aiusage.\n\nConfirm your email address by opening this link:\n{link}\n\n"
        "The link works once and expires in {hours} hours. If you did not sign up, ignore "
        "this mail.\n"
    ),
    "mail.reset.subject": "Reset your aiusage password",
    "mail.reset.body": (
        "Someone asked to reset the password of this aiusage account.\n\n"
        "Choose a new password here:\n{link}\n\nThe link works once and expires in {minutes} "
        "minutes. If it was not you, ignore this mail: your password stays as it is.\n"
    ),
    "mail.signup_exists.subject": "Someone tried to sign up with your aiusage address",
    "mail.signup_exists.body": (
        "Someone tried to create a new aiusage account with this email address, but it "
        "already has an account. Nothing was changed.\n\nIf it was you, log in here:\n{login}\n"
        "\nor, if you do not remember your password, reset it here:\n{reset}\n\n"
        "If it was not you, ignore this mail: your account stays as it is.\n"
    ),
}

ZH = {
    "landing.title": "一个网关，接入你的所有 AI 模型 API",
    "landing.body": (
        "把 Claude Code、Anthropic 和 OpenAI 的 SDK 或 curl 指向 aiusage。我们转发每一个请求，"
        "统计它的 token 用量与费用，从你的余额中扣费，并展示你随时间的花费——从不保存内容。"
    ),
    "landing.cta_signup": "创建账户",
    "landing.cta_login": "登录",
    "auth.email": "邮箱",
    "auth.password": "密码",
    "auth.password_new": "密码（至少 8 个字符）",
    "auth.login.title": "登录",
    "auth.login.submit": "登录",
    "auth.login.forgot": "忘记密码？",
    "auth.login.to_signup": "创建账户",
    "auth.signup.title": "创建你的账户",
    "auth.signup.submit": "注册",
    "auth.signup.to_login": "已有账户？登录",
    "auth.forgot.title": "重置密码",
    "auth.forgot.body": "我们会把设置新密码的链接发到你的邮箱。",
    "auth.forgot.submit": "发送链接",
    "auth.reset.title": "设置新密码",
    "auth.reset.password": "新密码",
    "auth.reset.submit": "保存新密码",
    "overview.signed_in_as": "当前登录",
    "overview.placeholder": "你的用量和余额将显示在这里。",
    "error.email_required": "请输入邮箱地址。",
    "error.email_invalid": "这看起来不是有效的邮箱地址。",
    "error.email_taken": "该邮箱已注册账户，请直接登录。",
    "error.password_required": "请输入密码。",
    "error.password_too_short": "密码至少需要 8 个字符。",
    "error.password_too_long": "密码最多 256 个字符。",
    "error.invalid_credentials": "邮箱或密码错误。",
    "error.email_not_verified": "请先确认你的邮箱地址：我们已给你发送了链接。",
    "error.account_suspended": "该账户已被暂停。请联系客服了解原因。",
    "error.rate_limited": "尝试次数过多，请几分钟后再试。",
    "error.token_invalid": "该链接无效或已过期，请重新申请。",
    "error.wrong_password": "当前密码不正确。",
    "error.current_password_required": "请输入当前密码。",
    "error.csrf": "该表单并非从本站提交。请刷新页面后重试。",
    "error.too_large": "表单内容过大。",
    "error.bad_request": "无法读取该请求。",
    "error.signed_out": "请重新登录。",
    "notice.check_email": "请查收邮件：我们已发送确认邮箱地址的链接。",
    "notice.verified": "你的邮箱地址已确认，现在可以登录了。",
    "notice.signed_out": "你已退出登录。",
    "notice.reset_sent": "如果该邮箱对应的账户存在，我们已发送重置密码的链接。",
    "notice.password_reset": "密码已修改，请使用新密码登录。",
    "notice.password_changed": "密码已修改，你在其他设备上的登录已全部退出。",
    "mail.verify.subject": "确认你的 aiusage 邮箱地址",
    "mail.verify.body": (
        "欢迎使用 aiusage。\n\n请打开以下链接确认你的邮箱地址：\n{link}\n\n"
        "该链接只能使用一次，{hours} 小时后失效。如果你没有注册过，请忽略本邮件。\n"
    ),
    "mail.reset.subject": "重置你的 aiusage 密码",
    "mail.reset.body": (
        "有人申请重置此 aiusage 账户的密码。\n\n请在这里设置新密码：\n{link}\n\n"
        "该链接只能使用一次，{minutes} 分钟后失效。如果不是你本人操作，请忽略本邮件，"
        "你的密码不会改变。\n"
    ),
    "mail.signup_exists.subject": "有人尝试用你的邮箱地址注册 aiusage",
    "mail.signup_exists.body": (
        "有人尝试用这个邮箱地址创建新的 aiusage 账户，但该地址已经有账户，因此没有做任何更改。"
        "\n\n如果是你本人，请在这里登录：\n{login}\n\n如果忘记了密码，请在这里重置：\n{reset}\n\n"
        "如果不是你本人操作，请忽略本邮件，你的账户不会有任何变化。\n"
    ),
}
