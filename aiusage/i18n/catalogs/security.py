"""Two-factor sign-in (settings, the code page) and the list of signed-in sessions."""

EN = {
    "security.two_factor.title": "Two-factor sign-in",
    "security.two_factor.hint": (
        "After your password (or Google), also ask for a code from an authenticator app on "
        "your phone, such as Google Authenticator, Microsoft Authenticator, 1Password or Aegis."
    ),
    "security.two_factor.password": "Your password",
    "security.two_factor.code": "Code from the app, or a backup code",
    "security.two_factor.confirm_code": "Six-digit code from the app",
    "security.two_factor.set_up": "Set up two-factor sign-in",
    "security.two_factor.scan": (
        "Scan this QR code with your authenticator app, then enter the six-digit code it shows."
    ),
    "security.two_factor.qr_alt": "QR code for your authenticator app",
    "security.two_factor.key_by_hand": "Cannot scan it? Enter this key in the app instead:",
    "security.two_factor.turn_on": "Turn on",
    "security.two_factor.cancel": "Cancel",
    "security.two_factor.status_on": "On since {date}. Backup codes left: {count}.",
    "security.two_factor.off_hint": (
        "To turn it off, enter a current code from the app or one of your backup codes."
    ),
    "security.two_factor.turn_off": "Turn off two-factor sign-in",
    "security.two_factor.backup_title": "Your backup codes",
    "security.two_factor.backup_hint": (
        "Each code signs you in once if you lose your phone. Keep them somewhere safe: they "
        "are shown only now."
    ),
    "security.two_factor.backup_saved": "I have saved them",
    "security.two_factor.turned_on": "Two-factor sign-in is on.",
    "security.two_factor.turned_off": "Two-factor sign-in is off.",
    "security.sessions.title": "Where you are signed in",
    "security.sessions.hint": (
        "The browsers signed in to this account, most recent first. Sign out any you do not "
        "recognise, then change your password."
    ),
    "security.sessions.device": "{browser} on {system}",
    "security.sessions.unknown_device": "Unknown device",
    "security.sessions.unknown_browser": "Unknown browser",
    "security.sessions.unknown_system": "an unknown system",
    "security.sessions.created": "Signed in {when}",
    "security.sessions.last_used": "Last active around {when}",
    "security.sessions.this_device": "This browser",
    "security.sessions.revoke": "Sign out",
    "security.sessions.sign_out": "Sign out here",
    "security.sessions.revoked": "That session is signed out.",
    "security.second_step.title": "Enter your code",
    "security.second_step.body": (
        "Two-factor sign-in is on for this account. Enter the six-digit code from your "
        "authenticator app, or one of your backup codes."
    ),
    "security.second_step.submit": "Sign in",
    "security.second_step.lost": (
        "Lost your phone and your backup codes? Contact the site's operator: they can turn "
        "two-factor sign-in off for your account."
    ),
    "security.second_step.back": "Back to log in",
    "error.two_factor_wrong_code": (
        "That code is not right. Check that the time on your phone is correct and try again."
    ),
    "error.two_factor_expired": "This sign-in has expired. Sign in again.",
    "error.two_factor_too_many": "Too many wrong codes. Sign in again.",
    "error.two_factor_rate_limited": "Too many wrong codes. Wait a few minutes and try again.",
    "error.two_factor_already_on": "Two-factor sign-in is already on.",
    "error.two_factor_off": "Two-factor sign-in is off.",
    "error.two_factor_enrolment_expired": "This set-up has expired. Start again.",
    "error.session_not_found": "This session has already ended.",
}

ZH = {
    "security.two_factor.title": "两步验证登录",
    "security.two_factor.hint": (
        "在输入密码（或使用 Google 登录）之后，还需输入手机上身份验证器应用生成的验证码，"
        "例如 Google Authenticator、Microsoft Authenticator、1Password 或 Aegis。"
    ),
    "security.two_factor.password": "你的密码",
    "security.two_factor.code": "应用中的验证码，或一个备用码",
    "security.two_factor.confirm_code": "应用中的六位验证码",
    "security.two_factor.set_up": "设置两步验证登录",
    "security.two_factor.scan": "用身份验证器应用扫描此二维码，然后输入应用显示的六位验证码。",
    "security.two_factor.qr_alt": "供身份验证器应用扫描的二维码",
    "security.two_factor.key_by_hand": "无法扫描？请在应用中手动输入此密钥：",
    "security.two_factor.turn_on": "开启",
    "security.two_factor.cancel": "取消",
    "security.two_factor.status_on": "自 {date} 起已开启。剩余备用码：{count} 个。",
    "security.two_factor.off_hint": "如需关闭，请输入应用中当前的验证码或一个备用码。",
    "security.two_factor.turn_off": "关闭两步验证登录",
    "security.two_factor.backup_title": "你的备用码",
    "security.two_factor.backup_hint": (
        "手机丢失时，每个备用码可用于登录一次。请妥善保存：它们只在此刻显示。"
    ),
    "security.two_factor.backup_saved": "我已保存",
    "security.two_factor.turned_on": "两步验证登录已开启。",
    "security.two_factor.turned_off": "两步验证登录已关闭。",
    "security.sessions.title": "已登录的设备",
    "security.sessions.hint": (
        "以下是登录此账户的浏览器，最近使用的排在前面。如有不认识的，请将其退出登录，然后修改密码。"
    ),
    "security.sessions.device": "{system} 上的 {browser}",
    "security.sessions.unknown_device": "未知设备",
    "security.sessions.unknown_browser": "未知浏览器",
    "security.sessions.unknown_system": "未知系统",
    "security.sessions.created": "登录于 {when}",
    "security.sessions.last_used": "最近活动约在 {when}",
    "security.sessions.this_device": "当前浏览器",
    "security.sessions.revoke": "退出登录",
    "security.sessions.sign_out": "在此退出登录",
    "security.sessions.revoked": "该会话已退出登录。",
    "security.second_step.title": "输入验证码",
    "security.second_step.body": (
        "此账户已开启两步验证登录。请输入身份验证器应用中的六位验证码，或一个备用码。"
    ),
    "security.second_step.submit": "登录",
    "security.second_step.lost": (
        "手机和备用码都丢失了？请联系本站运营者：他们可以为你的账户关闭两步验证登录。"
    ),
    "security.second_step.back": "返回登录",
    "error.two_factor_wrong_code": "验证码不正确。请确认手机上的时间准确后重试。",
    "error.two_factor_expired": "此次登录已过期，请重新登录。",
    "error.two_factor_too_many": "错误的验证码过多，请重新登录。",
    "error.two_factor_rate_limited": "错误的验证码过多，请几分钟后再试。",
    "error.two_factor_already_on": "两步验证登录已经开启。",
    "error.two_factor_off": "两步验证登录未开启。",
    "error.two_factor_enrolment_expired": "此次设置已过期，请重新开始。",
    "error.session_not_found": "该会话已经结束。",
}
