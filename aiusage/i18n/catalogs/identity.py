"""Sign in with Google and the account's sign-in methods: buttons, page, errors."""

EN = {
    "identity.google.continue": "Continue with Google",
    "identity.or": "or",
    "nav.sign_in_methods": "Sign-in methods",
    "identity.methods.intro": (
        "These are the ways you can sign in to this account. You can remove one as long as "
        "another remains."
    ),
    "identity.methods.password": "Password",
    "identity.methods.password_detail": "Email and password",
    "identity.methods.google": "Google",
    "identity.methods.remove": "Remove",
    "identity.methods.only_one": "This is your only sign-in method, so it cannot be removed.",
    "identity.methods.removed": "The sign-in method is removed.",
    "identity.methods.empty": "No sign-in methods found.",
    "error.google_not_configured": "Sign in with Google is not available on this site.",
    "error.google_unavailable": "Google could not be reached. Try again in a moment.",
    "error.google_state": (
        "The Google sign-in could not be matched to this browser (it expired or was started "
        "elsewhere). Start again."
    ),
    "error.google_nonce": (
        "Google's answer did not belong to this sign-in attempt, so it was refused. Start again."
    ),
    "error.google_token_expired": "Google's sign-in answer had expired. Start again.",
    "error.google_token_invalid": (
        "Google's sign-in answer could not be verified, so it was refused. Start again."
    ),
    "error.google_cancelled": "The Google sign-in was cancelled.",
    "error.google_failed": "Google refused the sign-in. Start again.",
    "error.google_no_email": (
        "Google did not share an email address, which we need to sign you in."
    ),
    "error.google_email_unverified": (
        "Google has not verified the email address of that Google account, so we cannot sign "
        "you in with it. Verify it with Google, or sign up with email and password."
    ),
    "error.google_already_linked": "That Google account is already linked to another account.",
    "error.google_account_closed": "The account for this Google sign-in is closed.",
    "error.sign_in_last_method": (
        "This is your only way to sign in. Add another before removing it."
    ),
    "error.sign_in_method_not_found": "This sign-in method does not exist.",
}

ZH = {
    "identity.google.continue": "使用 Google 账号继续",
    "identity.or": "或",
    "nav.sign_in_methods": "登录方式",
    "identity.methods.intro": "以下是登录此账户的方式。只要还保留另一种方式，就可以移除其中一种。",
    "identity.methods.password": "密码",
    "identity.methods.password_detail": "邮箱和密码",
    "identity.methods.google": "Google",
    "identity.methods.remove": "移除",
    "identity.methods.only_one": "这是你唯一的登录方式，因此无法移除。",
    "identity.methods.removed": "该登录方式已移除。",
    "identity.methods.empty": "没有找到登录方式。",
    "error.google_not_configured": "本站未启用 Google 登录。",
    "error.google_unavailable": "无法连接 Google，请稍后重试。",
    "error.google_state": (
        "无法将此次 Google 登录与当前浏览器对应（已过期或在其他地方发起）。请重新开始。"
    ),
    "error.google_nonce": "Google 的响应不属于本次登录请求，已被拒绝。请重新开始。",
    "error.google_token_expired": "Google 的登录响应已过期。请重新开始。",
    "error.google_token_invalid": "无法验证 Google 的登录响应，已被拒绝。请重新开始。",
    "error.google_cancelled": "Google 登录已取消。",
    "error.google_failed": "Google 拒绝了此次登录。请重新开始。",
    "error.google_no_email": "Google 没有提供邮箱地址，而我们需要它来为你登录。",
    "error.google_email_unverified": (
        "该 Google 账号的邮箱地址尚未经 Google 验证，因此无法用它登录。"
        "请先在 Google 完成验证，或使用邮箱和密码注册。"
    ),
    "error.google_already_linked": "该 Google 账号已关联到另一个账户。",
    "error.google_account_closed": "与此 Google 登录关联的账户已注销。",
    "error.sign_in_last_method": "这是你唯一的登录方式。请先添加另一种方式再移除它。",
    "error.sign_in_method_not_found": "该登录方式不存在。",
}
