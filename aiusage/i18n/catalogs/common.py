"""Texts shared by every page: brand, navigation, footer, language switcher."""

EN = {
    "brand.tagline": "AI API gateway",
    "nav.overview": "Overview",
    "nav.dashboard": "Dashboard",
    "nav.login": "Log in",
    "nav.signup": "Sign up",
    "nav.logout": "Log out",
    "nav.language": "Language",
    "footer.privacy": "Privacy",
    "footer.terms": "Terms",
    "common.loading": "Loading…",
    "common.save": "Save",
    "common.cancel": "Cancel",
    "common.delete": "Delete",
    "common.copy": "Copy",
    "common.copied": "Copied",
    "common.error_generic": "Something went wrong. Try again.",
}

ZH = {
    "brand.tagline": "AI API 网关",
    "nav.overview": "概览",
    "nav.dashboard": "控制台",
    "nav.login": "登录",
    "nav.signup": "注册",
    "nav.logout": "退出登录",
    "nav.language": "语言",
    "footer.privacy": "隐私政策",
    "footer.terms": "服务条款",
    "common.loading": "加载中…",
    "common.save": "保存",
    "common.cancel": "取消",
    "common.delete": "删除",
    "common.copy": "复制",
    "common.copied": "已复制",
    "common.error_generic": "出错了，请重试。",
}
