"""The operator's console: navigation, overview, users and their actions, shared errors."""

EN = {
    "console.nav.overview": "Console",
    "console.nav.users": "Users",
    "console.nav.prices": "Prices",
    "console.nav.support": "Support inbox",
    "console.nav.audit": "Audit log",
    "console.signed_in_as": "Signed in as operator",
    "console.error.generic": "That did not work. Check the form and try again.",
    "console.error.forbidden": "Your role does not allow this.",
    "console.error.reason_required": "Give a reason.",
    "console.error.bad_amount": "Give an amount in dollars, not zero.",
    "console.error.user_not_found": "There is no such account.",
    "console.error.suspend_self": "You cannot suspend your own account.",
    "console.error.already_verified": "This address is confirmed already.",
}

ZH = {
    "console.nav.overview": "运营控制台",
    "console.nav.users": "用户",
    "console.nav.prices": "价格",
    "console.nav.support": "客服收件箱",
    "console.nav.audit": "审计日志",
    "console.signed_in_as": "当前操作员",
    "console.error.generic": "操作未成功。请检查表单后重试。",
    "console.error.forbidden": "你的角色不允许此操作。",
    "console.error.reason_required": "请填写原因。",
    "console.error.bad_amount": "请填写以美元计的金额，且不能为零。",
    "console.error.user_not_found": "没有这个账户。",
    "console.error.suspend_self": "你不能暂停自己的账户。",
    "console.error.already_verified": "该邮箱地址已经确认过了。",
}
